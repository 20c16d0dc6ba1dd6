/* Prometheus exposition writer (see expo.h). The rules it follows: one
 * unbroken group of lines per family, HELP and TYPE before the first
 * sample, label values escaped, histogram buckets cumulative in rising
 * order with a +Inf bucket equal to _count, and in OpenMetrics a counter
 * family named without _total and the body ending in "# EOF". */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expo.h"
#include "../util/escape.h"

void expo_init(struct expo *e, char *buf, size_t cap, enum expo_format fmt)
{
	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->cap = cap > EXPO_RESERVE ? cap - EXPO_RESERVE : 0;
	e->fmt = fmt;
	e->skipping = true; /* no family yet */
	if (cap)
		buf[0] = '\0';
}

/* Appends to the current family; when it does not fit, the family is
 * taken back whole and its further lines are skipped. */
__attribute__((format(printf, 2, 3))) static void put(struct expo *e, const char *fmt, ...)
{
	if (e->skipping)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->buf + e->len, e->cap - e->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= e->cap - e->len) {
		e->len = e->family_start;
		e->buf[e->len] = '\0';
		e->skipping = true;
		e->dropped++;
		return;
	}
	e->len += (size_t)n;
}

/* Escapes s: backslash and newline always, the double quote in label
 * values only (HELP text keeps it). */
static bool escape(char *out, size_t cap, const char *s, bool quote)
{
	size_t o = 0;
	const char *p = s, *end = s + strlen(s);
	bool whole = true;
	while (*p) {
		char esc = *p == '\\' ? '\\' : *p == '\n' ? 'n' : (*p == '"' && quote) ? '"' : 0;
		size_t n = esc ? 2 : esc_utf8_len(p, (size_t)(end - p));
		if (o + (n ? n : 1) + 1 > cap) {
			whole = false;
			break;
		}
		if (esc) {
			out[o++] = '\\';
			out[o++] = esc;
			p++;
		} else if (!n) {
			out[o++] = '?';
			p++;
		} else {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		}
	}
	if (cap)
		out[o] = '\0';
	return whole;
}

bool expo_escape_label(char *out, size_t cap, const char *s)
{
	return escape(out, cap, s, true);
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

void expo_family(struct expo *e, const char *name, enum expo_type type, const char *unit,
		 const char *help)
{
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->type = type;
	e->family_start = e->len;
	e->skipping = false;
	/* Text 0.0.4 names a counter family as its samples are named. */
	const char *suffix = type == EXPO_COUNTER && e->fmt == EXPO_TEXT ? "_total" : "";
	char h[512];
	escape(h, sizeof(h), help, false);
	put(e, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, suffix, h, name, suffix,
	    type_names[type]);
	if (unit && e->fmt == EXPO_OPENMETRICS)
		put(e, "# UNIT %s %s\n", name, unit);
}

static void put_labels(struct expo *e, const char *const *labels, const char *le)
{
	if ((!labels || !labels[0]) && !le)
		return;
	put(e, "{");
	const char *sep = "";
	for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		char v[1024];
		expo_escape_label(v, sizeof(v), labels[i + 1]);
		put(e, "%s%s=\"%s\"", sep, labels[i], v);
		sep = ",";
	}
	if (le)
		put(e, "%sle=\"%s\"", sep, le);
	put(e, "}");
}

/* The shortest of %.15g and %.17g that reads back as v. */
static const char *shortest(double v)
{
	static __thread char s[40];
	snprintf(s, sizeof(s), "%.15g", v);
	if (strtod(s, NULL) != v)
		snprintf(s, sizeof(s), "%.17g", v);
	return s;
}

/* A sample value: whole numbers exactly, others with enough digits to
 * read back the same double. */
static void put_value(struct expo *e, double v)
{
	if (isnan(v))
		put(e, " NaN\n");
	else if (isinf(v))
		put(e, v > 0 ? " +Inf\n" : " -Inf\n");
	else if (v == floor(v) && fabs(v) < 1e15)
		put(e, " %.0f\n", v);
	else
		put(e, " %s\n", shortest(v));
}

void expo_sample(struct expo *e, const char *const *labels, double value)
{
	put(e, "%s%s", e->name, e->type == EXPO_COUNTER ? "_total" : "");
	put_labels(e, labels, NULL);
	put_value(e, value);
}

void expo_histogram(struct expo *e, const char *const *labels, const double *bounds,
		    const uint64_t *counts, size_t nbounds, double sum)
{
	uint64_t total = 0;
	for (size_t i = 0; i <= nbounds; i++) {
		char le[32];
		total += counts[i];
		if (i < nbounds)
			snprintf(le, sizeof(le), "%s", shortest(bounds[i]));
		else
			snprintf(le, sizeof(le), "+Inf");
		put(e, "%s_bucket", e->name);
		put_labels(e, labels, le);
		put_value(e, (double)total);
	}
	put(e, "%s_sum", e->name);
	put_labels(e, labels, NULL);
	put_value(e, sum);
	put(e, "%s_count", e->name);
	put_labels(e, labels, NULL);
	put_value(e, (double)total);
}

size_t expo_finish(struct expo *e)
{
	e->cap += EXPO_RESERVE; /* the reserve is for these lines */
	if (e->dropped) {
		uint64_t dropped = e->dropped;
		expo_family(e, "oneprof_metrics_families_dropped", EXPO_GAUGE, NULL,
			    "metric families left out of this exposition: the output buffer "
			    "(ONEPROF_METRICS_MAX_BYTES) was full");
		expo_sample(e, NULL, (double)dropped);
	}
	e->skipping = false;
	if (e->fmt == EXPO_OPENMETRICS)
		put(e, "# EOF\n");
	return e->len;
}

enum expo_format expo_negotiate(const char *accept)
{
	return accept && strstr(accept, "application/openmetrics-text") ? EXPO_OPENMETRICS
									 : EXPO_TEXT;
}

const char *expo_content_type(enum expo_format fmt)
{
	return fmt == EXPO_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				       : "text/plain; version=0.0.4; charset=utf-8";
}

void expo_process(struct expo *e, const struct procfs_process *p)
{
	if (p->have & PROCFS_STAT) {
		expo_family(e, "process_cpu_seconds", EXPO_COUNTER, "seconds",
			    "Total user and system CPU time spent in seconds.");
		expo_sample(e, NULL, (double)(p->user_ns + p->system_ns) / 1e9);
		expo_family(e, "process_resident_memory_bytes", EXPO_GAUGE, "bytes",
			    "Resident memory size in bytes.");
		expo_sample(e, NULL, (double)p->resident_bytes);
		expo_family(e, "process_virtual_memory_bytes", EXPO_GAUGE, "bytes",
			    "Virtual memory size in bytes.");
		expo_sample(e, NULL, (double)p->virtual_bytes);
		expo_family(e, "process_start_time_seconds", EXPO_GAUGE, "seconds",
			    "Start time of the process since unix epoch in seconds.");
		expo_sample(e, NULL, (double)p->start_time_ns / 1e9);
		expo_family(e, "process_threads", EXPO_GAUGE, NULL, "Number of OS threads in the process.");
		expo_sample(e, NULL, (double)p->threads);
		expo_family(e, "oneprof_process_page_faults", EXPO_COUNTER, NULL,
			    "Page faults of the process, by kind (minor: no disk read).");
		expo_sample(e, (const char *const[]){ "kind", "minor", NULL }, (double)p->minor_faults);
		expo_sample(e, (const char *const[]){ "kind", "major", NULL }, (double)p->major_faults);
	}
	if (p->have & PROCFS_STATUS) {
		expo_family(e, "oneprof_process_peak_resident_memory_bytes", EXPO_GAUGE, "bytes",
			    "Peak resident memory size in bytes (VmHWM).");
		expo_sample(e, NULL, (double)p->peak_resident_bytes);
		expo_family(e, "oneprof_process_context_switches", EXPO_COUNTER, NULL,
			    "Context switches of the process's threads, by kind.");
		expo_sample(e, (const char *const[]){ "kind", "voluntary", NULL },
			    (double)p->voluntary_switches);
		expo_sample(e, (const char *const[]){ "kind", "involuntary", NULL },
			    (double)p->involuntary_switches);
	}
	if (p->have & PROCFS_FDS) {
		expo_family(e, "process_open_fds", EXPO_GAUGE, NULL, "Number of open file descriptors.");
		expo_sample(e, NULL, (double)p->open_fds);
		if (p->max_fds) {
			expo_family(e, "process_max_fds", EXPO_GAUGE, NULL,
				    "Maximum number of open file descriptors.");
			expo_sample(e, NULL, (double)p->max_fds);
		}
	}
}
