/* The monitor's interval as ONEPROF_MONITOR and 'oneprof record
 * --monitor' give it: 0 (off), 1 (every second) or a number with its unit,
 * "100ms" or "2s". In a header so the CLI, which refuses a bad value
 * before the program starts, and the agent parse it alike. */
#ifndef AGENT_INTERVAL_H
#define AGENT_INTERVAL_H

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MONITOR_DEFAULT_MS 1000
#define MONITOR_MIN_MS 10
#define MONITOR_MAX_MS 3600000

/* 0 and the interval in *ms, or -1 when s is not one. */
static inline int monitor_parse_interval_ms(const char *s, unsigned *ms)
{
	if (!strcmp(s, "0") || !strcmp(s, "1")) {
		*ms = *s == '1' ? MONITOR_DEFAULT_MS : 0;
		return 0;
	}
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno)
		return -1;
	if (!strcmp(end, "s"))
		v *= 1000;
	else if (strcmp(end, "ms"))
		return -1;
	if (v < MONITOR_MIN_MS || v > MONITOR_MAX_MS)
		return -1;
	*ms = (unsigned)(v + 0.5);
	return 0;
}

#endif
