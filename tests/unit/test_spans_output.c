/* The span outputs on a hand-built profile with known spans: the text
 * report's numbers, the spans JSON, Chrome complete events that nest
 * exactly, counters and the GC track, speedscope's evented profiles. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/report/internal.h"
#include "test_report_util.h"
#include "unit.h"

#define MS 1000000ull

/*
 * Sites: 0 main (function), 1 parse (function), 2 load "cfg" (module),
 * 3 eval (expression).
 * Spans:
 *   0 main   thread 0  [0, 100ms]
 *   1 parse  thread 0  [10, 40ms]  under 0, 3 "query" ops
 *   2 eval   thread 0  [20, 30ms]  under 1, attributes expr="1+1", n=7
 *   3 parse  thread 0  [50, 60ms]  under 0
 *   4 load   thread 1  [5, 25ms]   unclosed, 2 allocations of 4096 bytes
 * Tree: main 100ms (self 60), main/parse 40ms x2 (self 30),
 * main/parse/eval 10ms, load 20ms. Top-level total 120ms.
 * Two "query" ops outside spans on thread 1; GC pauses [70, 75ms] and
 * [72, 80ms]; counter "queue" 1 at 10ms, 4 at 90ms.
 */
static struct profile *span_profile(void)
{
	struct profile *p = rt_profile();
	struct profile_spans *s = xcalloc(1, sizeof(*s));
	static const struct profile_span_site sites[] = {
		{ "main", "main.c", 10, 1 },
		{ "parse", "", 0, 1 },
		{ "load \"cfg\"", "", 0, 2 },
		{ "eval", "", 0, 3 },
	};
	s->nsites = 4;
	s->sites = xcalloc(4, sizeof(*s->sites));
	memcpy(s->sites, sites, sizeof(sites));

	s->nattrs = 2;
	s->attrs = xcalloc(2, sizeof(*s->attrs));
	s->attrs[0] = (struct profile_span_attr){ "expr", "1+1", 0 };
	s->attrs[1] = (struct profile_span_attr){ "n", NULL, 7 };
	s->nops = 2;
	s->ops = xcalloc(2, sizeof(*s->ops));
	s->ops[0] = (struct profile_span_ops){ 1, 0, "query", 3 };
	s->ops[1] = (struct profile_span_ops){ SPAN_NONE, 1, "query", 2 };

	s->nspans = 5;
	s->spans = xcalloc(5, sizeof(*s->spans));
	s->spans[0] = (struct profile_span){ .start_ns = 0, .end_ns = 100 * MS, .thread = 0,
					     .site = 0, .parent = SPAN_NONE };
	s->spans[1] = (struct profile_span){ .start_ns = 10 * MS, .end_ns = 40 * MS, .site = 1,
					     .parent = 0, .depth = 1, .ops = 0, .nops = 1 };
	s->spans[2] = (struct profile_span){ .start_ns = 20 * MS, .end_ns = 30 * MS, .site = 3,
					     .parent = 1, .depth = 2, .attr = 0, .nattrs = 2 };
	s->spans[3] = (struct profile_span){ .start_ns = 50 * MS, .end_ns = 60 * MS, .site = 1,
					     .parent = 0, .depth = 1 };
	s->spans[4] = (struct profile_span){ .start_ns = 5 * MS, .end_ns = 25 * MS, .thread = 1,
					     .site = 2, .parent = SPAN_NONE, .unclosed = true,
					     .alloc_count = 2, .alloc_bytes = 4096 };

	s->nnodes = 5;
	s->nodes = xcalloc(5, sizeof(*s->nodes));
	s->nodes[0] = (struct span_node){ .site = SPAN_NONE, .child = 1 };
	s->nodes[1] = (struct span_node){ 0, 0, 2, 4, 1, 100 * MS, 60 * MS, 0, 0, 0 };
	s->nodes[2] = (struct span_node){ 1, 1, 3, 0, 2, 40 * MS, 30 * MS, 0, 0, 0 };
	s->nodes[3] = (struct span_node){ 3, 2, 0, 0, 1, 10 * MS, 10 * MS, 0, 0, 0 };
	s->nodes[4] = (struct span_node){ 2, 0, 0, 0, 1, 20 * MS, 20 * MS, 2, 4096, 4096 };
	s->span_nodes = xcalloc(5, sizeof(uint32_t));
	static const uint32_t span_nodes[] = { 1, 2, 3, 2, 4 };
	memcpy(s->span_nodes, span_nodes, sizeof(span_nodes));

	s->ngcs = 2;
	s->gcs = xcalloc(2, sizeof(*s->gcs));
	s->gcs[0] = (struct profile_gc){ 0, 70 * MS, 75 * MS, 1000, false };
	s->gcs[1] = (struct profile_gc){ 1, 72 * MS, 80 * MS, 500, false };
	s->nseries = 1;
	s->series = xcalloc(1, sizeof(*s->series));
	s->series[0].name = "queue";
	s->series[0].n = 2;
	s->series[0].points = xcalloc(2, sizeof(struct profile_series_point));
	s->series[0].points[0] = (struct profile_series_point){ 10 * MS, 1 };
	s->series[0].points[1] = (struct profile_series_point){ 90 * MS, 4 };
	s->notes[CAPTURE_SPAN_UNCLOSED] = 1;
	s->notes[CAPTURE_SPAN_TOO_SHORT] = 5;

	p->lost = xcalloc(1, sizeof(*p->lost));
	p->lost[0] = (struct profile_lost){ CAPTURE_LOST_SPAN_EVENT, 1, 2 };
	p->nlost = p->cap_lost = 1;
	p->spans = s;
	return p;
}

/* Frees what span_profile() added by hand, before profile_free(): the
 * strings are static here, where the model interns its own. */
static void span_profile_free(struct profile *p)
{
	struct profile_spans *s = p->spans;
	free(s->sites);
	free(s->attrs);
	free(s->ops);
	free(s->spans);
	free(s->nodes);
	free(s->span_nodes);
	free(s->gcs);
	free(s->series[0].points);
	free(s->series);
	free(s);
	p->spans = NULL;
	profile_free(p);
}

static char *spans_report(const struct profile *p, size_t nodecount)
{
	FILE *f = tmpfile();
	struct report_options o = { .nodecount = nodecount };
	report_spans(p, f, &o);
	return rt_slurp(f);
}

TEST(spans_report_numbers)
{
	struct profile *p = span_profile();
	char *out = spans_report(p, 0);
	char line[512];
	CHECK(strstr(out, "spans: 5 spans on 2 threads, 4 sites, recording 1.00s\n") != NULL);
	CHECK(strstr(out, "Dropped: 2 span events") != NULL);
	CHECK(strstr(out, "Notes: unclosed 1, shorter than the minimum duration 5\n") != NULL);
	CHECK(strstr(out, "Unclosed: 1 span still open") != NULL);
	CHECK(strstr(out, "percentages of 120ms, the top-level spans' total") != NULL);
	CHECK_STR(rt_line(out, "main [function]", line, sizeof(line)),
		  "     100ms  83.3%       60ms  50.0%         1      100ms         0B        0  "
		  "main [function]");
	CHECK_STR(rt_line(out, "parse [function]", line, sizeof(line)),
		  "      40ms  33.3%       30ms  25.0%         2       20ms         0B        3  "
		  "parse [function]");
	CHECK_STR(rt_line(out, "[module]", line, sizeof(line)),
		  "      20ms  16.7%       20ms  16.7%         1       20ms    4.00KiB        0  "
		  "load \"cfg\" [module]");
	CHECK(strstr(out, "GC: 2 pauses, 13ms in all (1.3% of the recording), longest 8.0ms, "
			  "1.46 KiB reclaimed\n") != NULL);
	CHECK(strstr(out, "Operations: query 5\n") != NULL);
	CHECK(strstr(out, "  queue                          4\n") != NULL);
	/* The tree: main, then parse (40ms) indented, eval under it, then load. */
	CHECK(strstr(out, "Call tree: 4 of 4 nodes") != NULL);
	const char *m = strstr(out, "  main\n"), *pa = strstr(out, "    parse\n");
	const char *ev = strstr(out, "      eval\n"), *ld = strstr(out, "  load \"cfg\"\n");
	CHECK(m && pa && ev && ld && m < pa && pa < ev && ev < ld);
	CHECK_STR(rt_line(out, "    parse\n", line, sizeof(line)),
		  "      40ms       30ms         2         0B        3    parse");
	free(out);

	/* -n 2: the two heaviest sites and nodes. */
	out = spans_report(p, 2);
	CHECK(strstr(out, "by total time: 2 of 4 sites") != NULL);
	CHECK(strstr(out, "Call tree: 2 of 4 nodes") != NULL);
	CHECK(strstr(out, "      eval\n") == NULL);
	free(out);
	span_profile_free(p);
}

TEST(spans_json_export)
{
	struct profile *p = span_profile();
	char *out = rt_export(&export_spans, p);
	CHECK(out != NULL);
	if (!out) {
		span_profile_free(p);
		return;
	}
	CHECK(strstr(out, "\"duration_ns\":1000000000,\"spans\":5,\"threads_with_spans\":2,"
			  "\"unclosed_spans\":1}") != NULL);
	CHECK(strstr(out, "{\"id\":0,\"name\":\"main\",\"kind\":\"function\",\"file\":\"main.c\","
			  "\"line\":10}") != NULL);
	CHECK(strstr(out, "{\"site\":1,\"name\":\"parse\",\"calls\":2,\"total_ns\":40000000,"
			  "\"self_ns\":30000000,\"alloc_bytes\":0,\"alloc_count\":0,"
			  "\"ops\":{\"query\":3}}") != NULL);
	CHECK(strstr(out, "\"ops_outside_spans\":{\"query\":2}") != NULL);
	CHECK(strstr(out, "\"gc\":{\"count\":2,\"total_ns\":13000000,\"max_ns\":8000000,"
			  "\"reclaimed_bytes\":1500}") != NULL);
	CHECK(strstr(out, "\"counters\":{\n\"queue\":4}") != NULL);
	CHECK(strstr(out, "\"notes\":{\"unclosed\":1,\"too_short\":5}") != NULL);
	CHECK(strstr(out, "\"dropped\":{\"span_events\":2,\"label_sets\":0}") != NULL);
	/* Nested: main holds parse, parse holds eval; load after main. */
	CHECK(strstr(out, "\"call_tree\":[\n{\"name\":\"main\",\"kind\":\"function\",\"site\":0,"
			  "\"calls\":1,\"total_ns\":100000000,\"self_ns\":60000000") != NULL);
	CHECK(strstr(out, "\"children\":[\n{\"name\":\"parse\",") != NULL);
	CHECK(strstr(out, "\"children\":[\n{\"name\":\"eval\",\"kind\":\"expression\"") != NULL);
	CHECK(strstr(out, "{\"name\":\"load \\\"cfg\\\"\",\"kind\":\"module\",\"site\":2,\"calls\":1,"
			  "\"total_ns\":20000000,\"self_ns\":20000000,\"alloc_bytes\":4096,"
			  "\"alloc_count\":2,\"total_alloc_bytes\":4096,\"ops\":{},\"children\":[]}]}\n") !=
	      NULL);
	free(out);
	span_profile_free(p);

	/* No spans: a valid document with nothing in it (the command line
	 * refuses such a capture before). */
	p = rt_profile();
	out = rt_export(&export_spans, p);
	CHECK(out && strstr(out, "\"spans\":0,\"threads_with_spans\":0") != NULL);
	CHECK(out && strstr(out, "\"call_tree\":[]}\n") != NULL);
	free(out);
	profile_free(p);
}

/* ts and dur of the X event named name on tid, in ns (ts -1 if none). */
static void x_event(const char *out, const char *name, uint64_t tid, int64_t *ts, int64_t *dur)
{
	char key[128];
	snprintf(key, sizeof(key), "{\"name\":\"%s\",\"cat\":", name);
	*ts = *dur = -1;
	for (const char *s = out; (s = strstr(s, key)); s++) {
		const char *x = strstr(s, "\"ph\":\"X\",\"ts\":");
		const char *end = strchr(s, '\n');
		if (!x || (end && x > end))
			continue;
		char tidkey[64];
		snprintf(tidkey, sizeof(tidkey), "\"tid\":%" PRIu64 ",", tid);
		const char *t = strstr(s, tidkey);
		if (!t || (end && t > end))
			continue;
		double a = strtod(x + 14, NULL);
		const char *d = strstr(x, "\"dur\":");
		*ts = (int64_t)(a * 1000 + 0.5);
		*dur = (int64_t)(strtod(d + 6, NULL) * 1000 + 0.5);
		return;
	}
}

TEST(spans_chrome_events)
{
	struct profile *p = span_profile();
	char *out = rt_export(&export_chrome, p);
	CHECK(out != NULL);
	if (!out) {
		span_profile_free(p);
		return;
	}
	/* The samples are still there. */
	CHECK_EQ_INT(rt_count(out, "\"ph\":\"i\",\"s\":\"t\""), 11);
	CHECK_EQ_INT(rt_count(out, "\"ph\":\"X\""), 5 + 2);
	CHECK(strstr(out, "{\"name\":\"eval\",\"cat\":\"expression\",\"ph\":\"X\",\"ts\":20000.000,"
			  "\"dur\":10000.000,\"pid\":42,\"tid\":100,\"args\":{\"expr\":\"1+1\",\"n\":7}}") !=
	      NULL);
	CHECK(strstr(out, "{\"name\":\"parse\",\"cat\":\"function\",\"ph\":\"X\",\"ts\":10000.000,"
			  "\"dur\":30000.000,\"pid\":42,\"tid\":100,\"args\":{\"ops\":{\"query\":3}}}") !=
	      NULL);
	CHECK(strstr(out, "\"tid\":101,\"args\":{\"alloc_bytes\":4096,\"alloc_count\":2,"
			  "\"unclosed\":true}}") != NULL);
	/* Children inside their parents on one tid. */
	int64_t mts, mdur, pts, pdur, ets, edur;
	x_event(out, "main", 100, &mts, &mdur);
	x_event(out, "parse", 100, &pts, &pdur);
	x_event(out, "eval", 100, &ets, &edur);
	CHECK(mts == 0 && mdur == (int64_t)(100 * MS));
	CHECK(pts >= mts && pts + pdur <= mts + mdur);
	CHECK(ets >= pts && ets + edur <= pts + pdur);
	/* Counters and the GC track: the second pause starts where the
	 * first ended, so slices on the track never overlap. */
	CHECK(strstr(out, "{\"name\":\"queue\",\"ph\":\"C\",\"ts\":90000.000,\"pid\":42,\"tid\":100,"
			  "\"args\":{\"value\":4}}") != NULL);
	CHECK(strstr(out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":42,\"tid\":4194346,"
			  "\"args\":{\"name\":\"GC\"}}") != NULL);
	CHECK(strstr(out, "{\"name\":\"GC\",\"cat\":\"gc\",\"ph\":\"X\",\"ts\":75000.000,"
			  "\"dur\":5000.000,\"pid\":42,\"tid\":4194346,\"args\":{\"reclaimed_bytes\":500,"
			  "\"thread\":101}}") != NULL);
	free(out);
	span_profile_free(p);
}

TEST(spans_speedscope_evented)
{
	struct profile *p = span_profile();
	char *out = rt_export(&export_speedscope, p);
	CHECK(out != NULL);
	if (!out) {
		span_profile_free(p);
		return;
	}
	/* Sampled profiles stay; span sites follow the 7 function frames. */
	CHECK_EQ_INT(rt_count(out, "\"type\":\"sampled\""), 2);
	CHECK(strstr(out, "{\"name\":\"[unknown]\"},\n{\"name\":\"main\",\"file\":\"main.c\","
			  "\"line\":10},\n{\"name\":\"parse\"},\n{\"name\":\"load \\\"cfg\\\"\"},\n"
			  "{\"name\":\"eval\"}]}") != NULL);
	CHECK(strstr(out, "{\"type\":\"evented\",\"name\":\"one (tid 100) spans\","
			  "\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":100000000,\n"
			  "\"events\":[{\"type\":\"O\",\"at\":0,\"frame\":7},"
			  "{\"type\":\"O\",\"at\":10000000,\"frame\":8},"
			  "{\"type\":\"O\",\"at\":20000000,\"frame\":10},"
			  "{\"type\":\"C\",\"at\":30000000,\"frame\":10},"
			  "{\"type\":\"C\",\"at\":40000000,\"frame\":8},"
			  "{\"type\":\"O\",\"at\":50000000,\"frame\":8},"
			  "{\"type\":\"C\",\"at\":60000000,\"frame\":8},"
			  "{\"type\":\"C\",\"at\":100000000,\"frame\":7}]}") != NULL);
	CHECK(strstr(out, "{\"type\":\"evented\",\"name\":\"two (tid 101) spans\","
			  "\"unit\":\"nanoseconds\",\"startValue\":5000000,\"endValue\":25000000,\n"
			  "\"events\":[{\"type\":\"O\",\"at\":5000000,\"frame\":9},"
			  "{\"type\":\"C\",\"at\":25000000,\"frame\":9}]}") != NULL);
	CHECK_EQ_INT(rt_count(out, "\"type\":\"O\""), rt_count(out, "\"type\":\"C\""));
	free(out);
	span_profile_free(p);
}
