/* Metric series (METRIC records) in the model's one series store, beside
 * counters; units and rates from the names; the overhead budget's rate
 * series; monitor series in a capture without heap tracking leave the
 * heap model alone. */
#include <math.h>
#include <string.h>

#include "../../src/capture/encoding.h"
#include "../../src/capture/format.h"
#include "../../src/model/profile.h"
#include "../../src/report/report.h"
#include "builder.h"
#include "unit.h"

enum { S_MAIN = 1, S_RSS, S_CPU, S_LOAD, S_HZ, S_QUEUE, S_COUNT };
static const char *const strings[S_COUNT] = {
	[S_MAIN] = "main", [S_RSS] = "process_resident_memory_bytes",
	[S_CPU] = "process_cpu_user_ns_total", [S_LOAD] = "system_load1_milli",
	[S_HZ] = "oneprof_sample_hz", [S_QUEUE] = "queue",
};

#define MS 1000000ull

static struct profile *monitored(void)
{
	struct tb_capture *c = tb_capture_new();
	for (unsigned i = 1; i < S_COUNT; i++)
		tb_capture_string(c, i, strings[i]);
	TB_REC(c, CAPTURE_REC_THREAD, 100, S_MAIN, 0);
	/* RSS in steps of 10 MiB; CPU 250 ms per second, then 500 ms; load
	 * 1.5; the rate halved twice. */
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t t = i * 1000 * MS;
		TB_REC(c, CAPTURE_REC_METRIC, t, S_RSS, (i + 1) * 10485760);
		TB_REC(c, CAPTURE_REC_METRIC, t, S_CPU, i < 3 ? i * 250 * MS : 500 * MS + 500 * MS);
		TB_REC(c, CAPTURE_REC_METRIC, t, S_LOAD, 1500);
		TB_REC(c, CAPTURE_REC_METRIC, t, S_HZ, i == 0 ? 99 : i == 1 ? 49 : 24);
	}
	TB_REC(c, CAPTURE_REC_COUNTER, 500 * MS, S_QUEUE, zigzag_encode(-3), 1);
	TB_REC(c, CAPTURE_REC_END, 3000 * MS, 0, 0, 0);
	char err[256];
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	if (!p)
		printf("    load failed: %s\n", err);
	return p;
}

TEST(metrics_one_store_with_counters)
{
	struct profile *p = monitored();
	if (!p)
		return;
	CHECK(!p->heap); /* no heap tracking in the config: RSS is no heap data */
	CHECK(p->spans && p->spans->nseries == 5);
	if (!p->spans || p->spans->nseries != 5)
		goto out;
	const struct profile_series *rss = metric_find(p, "process_resident_memory_bytes");
	const struct profile_series *q = metric_find(p, "queue");
	CHECK(rss && rss->source == SERIES_METRIC && rss->level && rss->n == 4);
	CHECK(q && q->source == SERIES_COUNTER && q->n == 1);
	CHECK(!metric_find(p, "nothing"));
	/* Counters stay the span report's; metrics are not counters. */
	size_t counters = 0;
	for (size_t i = 0; i < p->spans->nseries; i++)
		counters += p->spans->series[i].source == SERIES_COUNTER;
	CHECK_EQ_INT(counters, 1);
out:
	profile_free(p);
}

TEST(metrics_units_and_rates)
{
	struct profile *p = monitored();
	if (!p)
		return;
	struct metric_desc d;
	struct metric_stats st;
	const struct profile_series *rss = metric_find(p, "process_resident_memory_bytes");
	const struct profile_series *cpu = metric_find(p, "process_cpu_user_ns_total");
	const struct profile_series *load = metric_find(p, "system_load1_milli");
	const struct profile_series *q = metric_find(p, "queue");
	if (!rss || !cpu || !load || !q) {
		CHECK(!"series missing");
		goto out;
	}
	metric_describe(rss, &d);
	CHECK_STR(d.unit, "bytes");
	CHECK(!d.rate);
	CHECK(metric_stats(rss, &st));
	CHECK_EQ_INT(st.n, 4);
	CHECK_EQ_INT((long long)st.min, 10485760);
	CHECK_EQ_INT((long long)st.max, 41943040);
	CHECK_EQ_INT((long long)st.last, 41943040);
	CHECK_EQ_INT((long long)st.mean, 26214400);

	/* ns of CPU per second of wall time, as percent of one core: 25, 25,
	 * 50; the mean over the whole series (1000 ms in 3 s) 33.3. */
	metric_describe(cpu, &d);
	CHECK_STR(d.unit, "%core");
	CHECK(d.rate);
	CHECK(metric_stats(cpu, &st));
	CHECK_EQ_INT(st.n, 3);
	CHECK(fabs(st.min - 25) < 1e-9 && fabs(st.max - 50) < 1e-9 && fabs(st.last - 50) < 1e-9);
	CHECK(fabs(st.mean - 100.0 / 3) < 1e-9);

	metric_describe(load, &d);
	CHECK(metric_stats(load, &st));
	CHECK(fabs(st.max - 1.5) < 1e-12);

	/* A program's counter is shown as it is. */
	metric_describe(q, &d);
	CHECK(!d.rate);
	CHECK(metric_stats(q, &st));
	CHECK_EQ_INT((long long)st.last, -3);
out:
	profile_free(p);
}

TEST(metrics_rate_lowered)
{
	struct profile *p = monitored();
	if (!p)
		return;
	uint64_t from = 0, to = 0, when = 0;
	CHECK(metric_rate_lowered(p, &from, &to, &when));
	CHECK_EQ_INT(from, 99);
	CHECK_EQ_INT(to, 24);
	CHECK_EQ_INT(when, 1000 * MS);
	profile_free(p);
}
