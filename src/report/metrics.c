/* oneprof report --metrics: every time series of a capture (the monitor's
 * METRIC series, the program's counters, the heap's live bytes) with its
 * unit, samples, min, mean, max and last value and a sparkline, then what
 * the profiler itself cost and whether the overhead budget lowered the
 * sampling rate.
 *
 * Units come from the series' name (doc/capture-format.md): a running
 * total ("_total") is shown as its rate between samples. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "internal.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

void metric_describe(const struct profile_series *sr, struct metric_desc *d)
{
	const char *n = sr->name ? sr->name : "";
	memset(d, 0, sizeof(*d));
	d->scale = 1;
	d->unit = "count";
	if (sr->source == SERIES_COUNTER)
		return; /* the program's own values, shown as they are */
	d->rate = ends_with(n, "_total");
	if (ends_with(n, "_ns_total")) {
		d->unit = "%core"; /* ns of CPU per s of wall time, in percent */
		d->scale = 1e-7;
	} else if (ends_with(n, "_bytes") || ends_with(n, "_bytes_total")) {
		d->unit = d->rate ? "bytes/s" : "bytes";
	} else if (ends_with(n, "_milli")) {
		d->unit = "value";
		d->scale = 1e-3;
	} else if (ends_with(n, "_hz")) {
		d->unit = "Hz";
	} else if (d->rate) {
		d->unit = "/s";
	}
}

size_t metric_values(const struct profile_series *sr, const struct metric_desc *d,
		     double *out, uint64_t *times)
{
	size_t n = 0;
	for (size_t i = 0; i < sr->n; i++) {
		double v = sr->points[i].value;
		if (d->rate) {
			if (i == 0)
				continue;
			uint64_t dt = sr->points[i].time_ns - sr->points[i - 1].time_ns;
			if (!dt)
				continue;
			v = (v - sr->points[i - 1].value) * 1e9 / (double)dt;
		}
		if (times)
			times[n] = sr->points[i].time_ns;
		out[n++] = v * d->scale;
	}
	return n;
}

bool metric_stats(const struct profile_series *sr, struct metric_stats *st)
{
	struct metric_desc d;
	metric_describe(sr, &d);
	memset(st, 0, sizeof(*st));
	if (!sr->n)
		return false;
	double *v = xmalloc(sr->n * sizeof(double));
	size_t n = metric_values(sr, &d, v, NULL);
	st->n = n;
	for (size_t i = 0; i < n; i++) {
		if (!i || v[i] < st->min)
			st->min = v[i];
		if (!i || v[i] > st->max)
			st->max = v[i];
		st->mean += v[i];
	}
	if (n) {
		st->mean /= (double)n;
		st->last = v[n - 1];
	}
	/* A total's mean rate over the whole series, not the mean of its
	 * rates: right even when samples are unevenly spaced. */
	if (d.rate && n) {
		const struct profile_series_point *a = &sr->points[0], *b = &sr->points[sr->n - 1];
		if (b->time_ns > a->time_ns)
			st->mean = (b->value - a->value) * 1e9 / (double)(b->time_ns - a->time_ns) *
				   d.scale;
	}
	free(v);
	return n > 0;
}

const struct profile_series *metric_find(const struct profile *p, const char *name)
{
	for (size_t i = 0; p->spans && i < p->spans->nseries; i++)
		if (p->spans->series[i].name && !strcmp(p->spans->series[i].name, name))
			return &p->spans->series[i];
	return NULL;
}

bool metric_rate_lowered(const struct profile *p, uint64_t *from, uint64_t *to, uint64_t *when)
{
	const struct profile_series *hz = metric_find(p, "oneprof_sample_hz");
	if (!hz || !hz->n)
		return false;
	/* The monitor's first snapshot comes before its first budget check. */
	*from = (uint64_t)hz->points[0].value;
	*to = *from;
	*when = 0;
	for (size_t i = 0; i < hz->n; i++) {
		if (hz->points[i].value < (double)*to) {
			if (*to == *from)
				*when = hz->points[i].time_ns;
			*to = (uint64_t)hz->points[i].value;
		}
	}
	return *to < *from;
}

static void format_value(char *buf, size_t len, double v)
{
	double a = fabs(v);
	if (a != 0 && (a >= 1e15 || a < 1e-3))
		snprintf(buf, len, "%.3e", v);
	else if (a >= 1e6 || v == floor(v))
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.3f", v);
}

#define SPARK 24

static void sparkline(const double *v, size_t n, FILE *out)
{
	static const char *const ticks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	if (!n)
		return;
	double lo = v[0], hi = v[0];
	for (size_t i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	size_t cols = n < SPARK ? n : SPARK;
	for (size_t c = 0; c < cols; c++) {
		/* Each column's largest value: a short peak stays visible. */
		size_t a = c * n / cols, b = (c + 1) * n / cols;
		double m = v[a];
		for (size_t i = a; i < b; i++)
			m = v[i] > m ? v[i] : m;
		int k = hi > lo ? (int)lround(7.0 * (m - lo) / (hi - lo)) : 0;
		fputs(ticks[k], out);
	}
}

void report_metrics(const struct profile *p, FILE *out, const struct report_options *o)
{
	const struct profile_spans *s = p->spans;
	size_t nseries = s ? s->nseries : 0;
	fprintf(out, "\n%sMetrics%s (%zu series; a _total is shown as its rate per second; "
		     "%%core: percent of one CPU)\n",
		report_c(o, RC_BOLD), report_c(o, RC_OFF), nseries);
	size_t room = 44;
	fprintf(out, "  %-*s %-7s %7s %12s %12s %12s %12s  %s\n", (int)room, "series", "unit",
		"samples", "min", "mean", "max", "last", "over time");
	for (size_t i = 0; i < nseries; i++) {
		const struct profile_series *sr = &s->series[i];
		struct metric_desc d;
		struct metric_stats st;
		metric_describe(sr, &d);
		metric_stats(sr, &st);
		char name[256], mn[32], me[32], mx[32], la[32];
		format_value(mn, sizeof(mn), st.min);
		format_value(me, sizeof(me), st.mean);
		format_value(mx, sizeof(mx), st.max);
		format_value(la, sizeof(la), st.last);
		fprintf(out, "  %-*s %-7s %7zu %12s %12s %12s %12s  ", (int)room,
			report_fit(name, sizeof(name), sr->name ? sr->name : "", room), d.unit, st.n,
			st.n ? mn : "-", st.n ? me : "-", st.n ? mx : "-", st.n ? la : "-");
		double *v = xmalloc((sr->n + 1) * sizeof(double));
		sparkline(v, metric_values(sr, &d, v, NULL), out);
		free(v);
		fputc('\n', out);
	}

	/* What profiling cost: the agent's threads and the sampling handler. */
	const struct profile_series *cpu = metric_find(p, "oneprof_agent_cpu_ns_total");
	const struct profile_series *handler = metric_find(p, "oneprof_handler_ns_total");
	if (cpu && cpu->n >= 2) {
		const struct profile_series_point *a = &cpu->points[0], *b = &cpu->points[cpu->n - 1];
		double spent = b->value - a->value, wall = (double)(b->time_ns - a->time_ns);
		double in_handler = 0;
		if (handler && handler->n >= 2)
			in_handler = handler->points[handler->n - 1].value - handler->points[0].value;
		char t1[32], t2[32], t3[32];
		report_format_ns(t1, sizeof(t1), spent);
		report_format_ns(t2, sizeof(t2), in_handler);
		report_format_ns(t3, sizeof(t3), wall);
		fprintf(out, "\nProfiler overhead: %.4f%% of one core (agent threads %s, sampling "
			     "handler %s, over %s)\n",
			wall > 0 ? 100.0 * (spent + in_handler) / wall : 0.0, t1, t2, t3);
	}
	uint64_t ppm = profile_config_u64(p, "max_overhead_ppm", 0);
	uint64_t from, to, when;
	if (metric_rate_lowered(p, &from, &to, &when)) {
		char t[32];
		report_format_ns(t, sizeof(t), (double)when);
		fprintf(out, "Sampling rate LOWERED by the overhead budget (%.4g%% of one core): "
			     "from %" PRIu64 " Hz to %" PRIu64 " Hz, first at %s (each sample still "
			     "carries the CPU time it stands for; there are fewer of them)\n",
			(double)ppm / 1e4, from, to, t);
	} else if (ppm) {
		fprintf(out, "Overhead budget: %.4g%% of one core, never exceeded; sampling rate "
			     "kept at %" PRIu64 " Hz\n", (double)ppm / 1e4, p->hdr.hz);
	}
}
