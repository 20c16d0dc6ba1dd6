/* Agent configuration from ONEPROF_* environment variables, validated
 * once at start. A bad value disables profiling with one message; the
 * program itself always runs. The same table reads the settings string of
 * oneprof_session_begin(): one parser, looked up through a function. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "interval.h"
#include "httpd.h"

extern char **environ;

struct setting {
	const char *name;
	uint64_t min, max, def;
	const char *help;
	size_t offset; /* into struct agent_config; 0 for output */
	int size;      /* bytes of the field */
};

#define FIELD(f) offsetof(struct agent_config, f), (int)sizeof(((struct agent_config *)0)->f)

static const struct setting settings[] = {
	{ "ONEPROF_HZ", 1, 10000, 99, "samples per second of CPU time per thread", FIELD(hz) },
	{ "ONEPROF_MAX_DEPTH", 1, 1024, 128, "most frames kept per stack", FIELD(max_depth) },
	{ "ONEPROF_RING_SIZE", 4096, 1ull << 30, 256 << 10,
	  "bytes of sample buffer per thread (K, M and G suffixes allowed)", FIELD(ring_bytes) },
	{ "ONEPROF_FLUSH_MS", 10, 60000, 1000,
	  "most milliseconds of samples held before they reach the file", FIELD(flush_ms) },
	{ "ONEPROF_FOLLOW_FORK", 0, 1, 1,
	  "1: a forked child keeps profiling into its own capture", FIELD(follow_fork) },
	{ "ONEPROF_INHERIT", 0, 1, 1, "1: programs this one execs are profiled too",
	  FIELD(inherit) },
	{ "ONEPROF_PAUSED", 0, 1, 0,
	  "1: start with sampling paused until oneprof_start() or the toggle signal",
	  FIELD(start_paused) },
	{ "ONEPROF_WALL", 0, 1, 0,
	  "1: sample wall-clock time, running and blocked threads alike", FIELD(wall) },
	{ "ONEPROF_HEAP", 0, 1, 0, "1: track the malloc family", FIELD(heap) },
	{ "ONEPROF_HEAP_SAMPLE", 0, 1ull << 40, 0,
	  "mean bytes between sampled allocations; 0 records every one", FIELD(heap_sample) },
	{ "ONEPROF_HEAP_RING_SIZE", 65536, 1ull << 30, 4 << 20,
	  "bytes of heap event buffer per thread, and a quarter more for new stacks (K, M and G "
	  "suffixes allowed)",
	  FIELD(heap_ring_bytes) },
	{ "ONEPROF_SPANS", 0, 1, 1, "1: record the spans the program makes (oneprof.h)",
	  FIELD(spans) },
	{ "ONEPROF_SPAN_RING_SIZE", 4096, 1ull << 30, 1 << 20,
	  "bytes of span buffer per thread (K, M and G suffixes allowed)", FIELD(span_ring_bytes) },
	{ "ONEPROF_SPAN_WINDOW", 1, 86400, 10,
	  "seconds of spans a flight-recorder dump writes", FIELD(span_window) },
	{ "ONEPROF_SPAN_MIN_NS", 0, 1ull << 40, 0,
	  "shortest span recorded, in nanoseconds; 0 records every one", FIELD(span_min_ns) },
	{ "ONEPROF_SPAN_MAX_DEPTH", 1, 65535, 256,
	  "deepest nesting of spans recorded", FIELD(span_max_depth) },
	{ "ONEPROF_METRICS_MAX_BYTES", 65536, 1ull << 30, 1 << 20,
	  "bytes of one metrics exposition (K, M and G suffixes allowed)", FIELD(metrics_max_bytes) },
	{ "ONEPROF_METRICS_SPAN_NAMES", 1, 65536, 256,
	  "span names with a duration histogram on the metrics endpoint", FIELD(metrics_span_names) },
	{ "ONEPROF_HTTP_ROUTES", 1, 65536, 100,
	  "HTTP routes counted apart; further ones count as route=\"other\"", FIELD(http_routes) },
	{ "ONEPROF_HTTP_SERIES", 1, 1 << 20, 1000,
	  "(method, route, status) series of the HTTP histograms", FIELD(http_series) },
};

/* Where the settings come from: the environment, or a session's string. */
typedef const char *(*config_lookup)(const char *name);
static const char *env_lookup(const char *name)
{
	return getenv(name);
}
static config_lookup lookup = env_lookup;

/* The last bad setting, for the environment's message or
 * oneprof_last_error(). */
static char bad_name[64], bad_value[256], bad_why[512];

static int bad(const char *name, const char *value, const char *why)
{
	snprintf(bad_name, sizeof(bad_name), "%s", name);
	snprintf(bad_value, sizeof(bad_value), "%s", value);
	snprintf(bad_why, sizeof(bad_why), "%s", why);
	return -EINVAL;
}

/* Whole number with an optional K/M/G (powers of 1024) suffix. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || (shift && v > (~0ull >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int load_number(const struct setting *st, struct agent_config *cfg)
{
	uint64_t v = st->def;
	const char *s = lookup(st->name);
	if (s) {
		char why[160];
		if (parse_size(s, &v) != 0 || v < st->min || v > st->max) {
			snprintf(why, sizeof(why),
				 "is not a whole number from %llu to %llu (%s)",
				 (unsigned long long)st->min, (unsigned long long)st->max, st->help);
			return bad(st->name, s, why);
		}
	}
	char *field = (char *)cfg + st->offset;
	if (st->size == sizeof(uint64_t))
		*(uint64_t *)field = v;
	else if (st->size == sizeof(bool))
		*(bool *)field = v != 0;
	else
		*(unsigned *)field = (unsigned)v;
	return 0;
}

/* "PROF", "SIGPROF", "RTMIN+4", "SIGRTMIN+4" or a number. Signals the
 * program cannot do without (KILL, STOP, SEGV...) are refused. */
static int parse_signal(const char *s)
{
	static const struct { const char *name; int signo; } names[] = {
		{ "PROF", SIGPROF }, { "VTALRM", SIGVTALRM }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 }, { "ALRM", SIGALRM },
	};
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].signo;
	char *end;
	long n;
	if (!strncmp(s, "RTMIN+", 6) && isdigit((unsigned char)s[6])) {
		n = SIGRTMIN + strtol(s + 6, &end, 10);
	} else if (isdigit((unsigned char)*s)) {
		n = strtol(s, &end, 10);
	} else {
		return -1;
	}
	if (*end)
		return -1;
	bool allowed = n == SIGPROF || n == SIGVTALRM || n == SIGUSR1 || n == SIGUSR2 ||
		       n == SIGALRM || (n >= SIGRTMIN && n <= SIGRTMAX);
	return allowed ? (int)n : -1;
}

#define SIGNAL_CHOICES "PROF, VTALRM, USR1, USR2, ALRM, RTMIN+N or a number among those"

static int load_signal_and_timer(struct agent_config *cfg)
{
	const char *s = lookup("ONEPROF_SIGNAL");
	cfg->signo = SIGPROF;
	cfg->signal_chosen = s != NULL;
	if (s && (cfg->signo = parse_signal(s)) < 0)
		return bad("ONEPROF_SIGNAL", s, "is not a usable signal (" SIGNAL_CHOICES ")");
	s = lookup("ONEPROF_TOGGLE_SIGNAL");
	cfg->toggle_signo = 0;
	if (s && *s) {
		if ((cfg->toggle_signo = parse_signal(s)) < 0)
			return bad("ONEPROF_TOGGLE_SIGNAL", s,
				   "is not a usable signal (" SIGNAL_CHOICES ")");
		if (cfg->toggle_signo == cfg->signo)
			return bad("ONEPROF_TOGGLE_SIGNAL", s,
				   "is the profiling signal too (choose another, e.g. USR2)");
	}
	s = lookup("ONEPROF_DUMP_SIGNAL");
	cfg->dump_signo = 0;
	if (s && *s && strcmp(s, "0")) {
		if ((cfg->dump_signo = parse_signal(s)) < 0)
			return bad("ONEPROF_DUMP_SIGNAL", s,
				   "is not a usable signal (" SIGNAL_CHOICES ", or 0 for none)");
		if (cfg->dump_signo == cfg->signo || cfg->dump_signo == cfg->toggle_signo)
			return bad("ONEPROF_DUMP_SIGNAL", s,
				   "is the profiling or toggle signal too (choose another, e.g. USR1)");
	}
	s = lookup("ONEPROF_METRICS_ADDR");
	cfg->metrics_addr[0] = '\0';
	if (s && *s) {
		struct httpd_addr a;
		char why[200];
		if (strlen(s) >= sizeof(cfg->metrics_addr))
			return bad("ONEPROF_METRICS_ADDR", s,
				   "is too long (use PORT, HOST:PORT or [IPV6]:PORT)");
		if (httpd_parse_addr(s, &a, why, sizeof(why)) != 0)
			return bad("ONEPROF_METRICS_ADDR", s, why);
		snprintf(cfg->metrics_addr, sizeof(cfg->metrics_addr), "%s", s);
	}
	s = lookup("ONEPROF_SPAN_MODE");
	cfg->span_mode = 0;
	if (s && strcmp(s, "drop")) {
		if (strcmp(s, "flight"))
			return bad("ONEPROF_SPAN_MODE", s, "is not one of drop, flight");
		cfg->span_mode = 1;
	}
	static const char *const timers[] = { "perf", "timer", "itimer" };
	s = lookup("ONEPROF_TIMER");
	cfg->timer = SAMPLER_PERF;
	if (s) {
		size_t i = 0;
		while (i < 3 && strcmp(s, timers[i]))
			i++;
		if (i == 3)
			return bad("ONEPROF_TIMER", s, "is not one of perf, timer, itimer");
		cfg->timer = (unsigned)i;
		if (i == SAMPLER_ITIMER && cfg->signo != SIGPROF)
			return bad("ONEPROF_TIMER", s, "needs ONEPROF_SIGNAL=PROF");
		if (i == SAMPLER_ITIMER && cfg->wall)
			return bad("ONEPROF_TIMER", s,
				   "measures CPU time only, and ONEPROF_WALL=1 asks for wall-clock time");
	}
	return 0;
}

#define MONITOR_HEAP_MS 100 /* heap tracking's RSS series, without ONEPROF_MONITOR */

static int load_monitor(struct agent_config *cfg)
{
	const char *s = lookup("ONEPROF_MONITOR");
	cfg->monitor_ms = cfg->heap ? MONITOR_HEAP_MS : 0;
	if (s && monitor_parse_interval_ms(s, &cfg->monitor_ms) != 0)
		return bad("ONEPROF_MONITOR", s,
			   "is not 0, 1 or an interval from 10ms to 3600s (like 100ms or 2s)");
	s = lookup("ONEPROF_MAX_OVERHEAD");
	cfg->max_overhead_ppm = 0;
	if (s && *s && strcmp(s, "0")) {
		char *end;
		errno = 0;
		double pct = strtod(s, &end);
		if (!isdigit((unsigned char)*s) || errno || *end || pct < 0.0001 || pct > 100)
			return bad("ONEPROF_MAX_OVERHEAD", s,
				   "is not a percentage of one core from 0.0001 to 100 (like 1 or 0.5), "
				   "or 0 for no budget");
		cfg->max_overhead_ppm = (uint64_t)(pct * 10000 + 0.5);
		/* The budget is kept by the monitor: it runs at its default
		 * interval when not asked for. */
		if (!cfg->monitor_ms)
			cfg->monitor_ms = MONITOR_DEFAULT_MS;
	}
	return 0;
}

static bool binding_variable(const char *entry);

static bool known(const char *entry)
{
	static const char *const others[] = { "ONEPROF_OUTPUT", "ONEPROF_ROOT_PID",
					      "ONEPROF_SIGNAL", "ONEPROF_TIMER",
					      "ONEPROF_TOGGLE_SIGNAL", "ONEPROF_AGENT",
					      "ONEPROF_SPAN_MODE", "ONEPROF_DUMP_SIGNAL",
					      "ONEPROF_METRICS_ADDR",
					      "ONEPROF_MONITOR", "ONEPROF_MAX_OVERHEAD" };
	size_t len = strcspn(entry, "=");
	if (binding_variable(entry))
		return true;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strlen(settings[i].name) == len && !strncmp(entry, settings[i].name, len))
			return true;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (strlen(others[i]) == len && !strncmp(entry, others[i], len))
			return true;
	return false;
}

/* The Python binding's variables, in the environment of every process it
 * starts: known (no warning), but no setting of the agent's. */
static bool binding_variable(const char *entry)
{
	static const char *const names[] = { "ONEPROF_LIB", "ONEPROF_TOOLS_LIB",
					     "ONEPROF_LIB_DIR", "ONEPROF_QUIET" };
	size_t len = strcspn(entry, "=");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(entry, names[i], len))
			return true;
	return false;
}

bool agent_config_env_given(void)
{
	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, "ONEPROF_", 8) && !binding_variable(*e))
			return true;
	return false;
}

/* Every table setting and the signal, timer and span-mode choices, from
 * lookup; -EINVAL with bad_* set on a bad one. */
static int load_settings(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (load_number(&settings[i], cfg) != 0)
			return -EINVAL;
	if (load_signal_and_timer(cfg) != 0)
		return -EINVAL;
	/* The ring index math needs a power of two: round down. */
	cfg->ring_bytes = 1ull << (63 - __builtin_clzll(cfg->ring_bytes));
	cfg->heap_ring_bytes = 1ull << (63 - __builtin_clzll(cfg->heap_ring_bytes));
	cfg->span_ring_bytes = 1ull << (63 - __builtin_clzll(cfg->span_ring_bytes));
	if (cfg->heap_sample)
		cfg->heap = true; /* ONEPROF_HEAP_SAMPLE alone asks for the heap too */
	return load_monitor(cfg); /* after the heap: it sets the default interval */
}

static int env_bad(const char *name, const char *value, const char *why)
{
	if (name != bad_name)
		bad(name, value, why);
	fprintf(stderr,
		"oneprof: %s='%s' %s; profiling disabled for this run (fix or unset %s)\n",
		bad_name, bad_value, bad_why, bad_name);
	return -EINVAL;
}

int agent_config_load(struct agent_config *cfg)
{
	lookup = env_lookup;
	if (load_settings(cfg) != 0)
		return env_bad(bad_name, NULL, NULL);

	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, "ONEPROF_", 8) && !known(*e))
			fprintf(stderr, "oneprof: ignoring unknown setting %.*s (see 'oneprof help record')\n",
				(int)strcspn(*e, "="), *e);

	const char *out = getenv("ONEPROF_OUTPUT");
	const char *root = getenv("ONEPROF_ROOT_PID");
	pid_t pid = getpid();
	if (out && !*out)
		return env_bad("ONEPROF_OUTPUT", out, "is empty (it names the capture file)");
	cfg->output_default = !out;
	if (!out)
		snprintf(cfg->output, sizeof(cfg->output), "oneprof.%d.opf", (int)pid);
	else
		snprintf(cfg->output, sizeof(cfg->output), "%s", out);
	/* A descendant that exec'd with the agent still preloaded. */
	cfg->descendant = root && atol(root) != (long)pid;
	if (strlen(cfg->output) >= sizeof(cfg->output) - 1)
		return env_bad("ONEPROF_OUTPUT", out, "is too long");
	return 0;
}

/* --- a session's settings ---
 * "HZ=250 WALL=1" or "ONEPROF_HZ=250,ONEPROF_WALL=1": NAME=VALUE items
 * separated by spaces, commas, semicolons or newlines, named as the
 * ONEPROF_* variables with or without the prefix. Copied into session_buf
 * as NUL-terminated "ONEPROF_NAME=VALUE" items. */
#define SESSION_SETTINGS_MAX 4096
static char session_buf[SESSION_SETTINGS_MAX + 1024];
static size_t session_len;

static const char *session_lookup(const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL; /* the last one given wins, as in a shell */
	for (size_t i = 0; i < session_len; i += strlen(session_buf + i) + 1)
		if (!strncmp(session_buf + i, name, n) && session_buf[i + n] == '=')
			found = session_buf + i + n + 1;
	return found;
}

int agent_config_session(struct agent_config *cfg, const char *output, const char *given,
			 char *err, size_t errlen)
{
	session_len = 0;
	if (!given)
		given = "";
	if (strlen(given) > SESSION_SETTINGS_MAX) {
		snprintf(err, errlen, "oneprof: the settings string is %zu bytes, over the limit of "
			 "%d; give fewer settings", strlen(given), SESSION_SETTINGS_MAX);
		return -EINVAL;
	}
	for (const char *p = given; *p;) {
		p += strspn(p, " \t\n,;");
		size_t len = strcspn(p, " \t\n,;");
		if (!len)
			break;
		const char *eq = memchr(p, '=', len);
		bool prefixed = len > 8 && !strncmp(p, "ONEPROF_", 8);
		char item[512];
		snprintf(item, sizeof(item), "%s%.*s", prefixed ? "" : "ONEPROF_", (int)len, p);
		if (!eq || eq == p) {
			snprintf(err, errlen, "oneprof: setting '%.*s' is not NAME=VALUE; write e.g. "
				 "'HZ=250 WALL=1'", (int)len, p);
			return -EINVAL;
		}
		if (!known(item) || !strncmp(item, "ONEPROF_OUTPUT=", 15) ||
		    !strncmp(item, "ONEPROF_ROOT_PID=", 17) || !strncmp(item, "ONEPROF_AGENT=", 14) || !strncmp(item, "ONEPROF_LIB", 11) ||
		    !strncmp(item, "ONEPROF_QUIET=", 14)) {
			snprintf(err, errlen, "oneprof: setting '%.*s' is not one a session takes; "
				 "'oneprof help record' lists the ONEPROF_* settings, and the "
				 "output is the first argument", (int)(eq - p), p);
			return -EINVAL;
		}
		size_t ilen = strlen(item);
		if (session_len + ilen + 1 > sizeof(session_buf)) {
			snprintf(err, errlen, "oneprof: the settings string is too long; give fewer");
			return -EINVAL;
		}
		memcpy(session_buf + session_len, item, ilen + 1);
		session_len += ilen + 1;
		p += len;
	}
	lookup = session_lookup;
	int rc = load_settings(cfg);
	lookup = env_lookup;
	if (rc != 0) {
		const char *short_name = !strncmp(bad_name, "ONEPROF_", 8) ? bad_name + 8 : bad_name;
		snprintf(err, errlen, "oneprof: setting %s='%s' %s; fix it in the settings given",
			 short_name, bad_value, bad_why);
		return rc;
	}
	if (!output || !*output) {
		snprintf(err, errlen, "oneprof: no output file given; name the capture to write, "
			 "e.g. 'profile.opf'");
		return -EINVAL;
	}
	if (strlen(output) >= sizeof(cfg->output) - 1) {
		snprintf(err, errlen, "oneprof: output path is %zu bytes, too long; choose a "
			 "shorter one", strlen(output));
		return -ENAMETOOLONG;
	}
	snprintf(cfg->output, sizeof(cfg->output), "%s", output);
	cfg->output_default = false;
	cfg->descendant = false;
	return 0;
}
