/* The text reports on a hand-built profile with known numbers: top,
 * tree (callers and callees with their shares), peek, traces, per-thread
 * split, percentages of the unfiltered total, name fitting and colour. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/model/filter.h"
#include "../../src/report/internal.h"
#include "test_report_util.h"
#include "unit.h"

static char *run(const struct profile *p, struct report_options o)
{
	int rc;
	char err[256] = "";
	char *out = rt_report(p, p, &o, &rc, err, sizeof(err));
	if (rc != 0)
		printf("    report error: %s\n", err);
	return out;
}

TEST(report_top_flat_and_cum)
{
	struct profile *p = rt_profile();
	char *out = run(p, (struct report_options){ .kind = REPORT_TOP });
	char line[256];
	/* 7 of 12 samples, flat and cum; sum% runs on. */
	CHECK_STR(rt_line(out, "work_a", line, sizeof(line)),
		  "      70ms  58.3%  58.3%       70ms  58.3%  work_a");
	CHECK_STR(rt_line(out, "work_b", line, sizeof(line)),
		  "      30ms  25.0%  83.3%       30ms  25.0%  work_b");
	CHECK_STR(rt_line(out, "  main", line, sizeof(line)),
		  "       0ns   0.0%  91.7%      110ms  91.7%  main");
	/* Recursion counts once per stack. */
	CHECK_STR(rt_line(out, "  rec", line, sizeof(line)),
		  "       0ns   0.0%  91.7%       20ms  16.7%  rec");
	CHECK(strstr(out, "Showing top 6 of 6 functions, sorted by flat time") != NULL);
	CHECK(strstr(out, "\033[") == NULL); /* no colour unless asked */
	free(out);

	out = run(p, (struct report_options){ .kind = REPORT_TOP, .sort_cum = true, .nodecount = 2 });
	CHECK(strstr(out, "Showing top 2 of 6 functions, sorted by cumulative time") != NULL);
	const char *main_at = strstr(out, "  main"), *run_at = strstr(out, "  run");
	CHECK(main_at && run_at && main_at < run_at);
	CHECK(strstr(out, "work_a") == NULL);
	free(out);
	profile_free(p);
}

TEST(report_tree_callers_and_callees)
{
	struct profile *p = rt_profile();
	char *out = run(p, (struct report_options){ .kind = REPORT_TREE });
	/* work_a's entry: callers run (5 of 7) and rec (2 of 7) above it. */
	const char *entry = strstr(out, "| work_a\n");
	CHECK(entry != NULL);
	const char *start = out;
	for (const char *s = out; (s = strstr(s, "+-------------\n")) && s < entry; s++)
		start = s;
	char block[1024];
	snprintf(block, sizeof(block), "%.*s", (int)(entry - start), start);
	CHECK(strstr(block, "      50ms  71.4%  |   run\n") != NULL);
	CHECK(strstr(block, "      20ms  28.6%  |   rec\n") != NULL);
	/* run's entry: callees work_a 5 and work_b 3 of its 8, below it. */
	entry = strstr(out, "| run\n");
	CHECK(entry != NULL);
	const char *end = entry ? strstr(entry, "+-------------") : NULL;
	CHECK(end != NULL);
	if (entry && end) {
		snprintf(block, sizeof(block), "%.*s", (int)(end - entry), entry);
		CHECK(strstr(block, "      50ms  62.5%  |   work_a\n") != NULL);
		CHECK(strstr(block, "      30ms  37.5%  |   work_b\n") != NULL);
	}
	/* rec calls itself: the edge counts once per stack (2 samples). */
	CHECK(strstr(out, "      20ms 100.0%  |   rec\n") != NULL);
	free(out);
	profile_free(p);
}

TEST(report_peek_only_matching)
{
	struct profile *p = rt_profile();
	char *out = run(p, (struct report_options){ .kind = REPORT_PEEK, .peek = "^work_" });
	CHECK(strstr(out, "Showing 2 of 2 functions matching '^work_'") != NULL);
	CHECK(strstr(out, "| work_a\n") != NULL);
	CHECK(strstr(out, "| work_b\n") != NULL);
	CHECK(strstr(out, "| main\n") == NULL);
	CHECK_EQ_INT(rt_count(out, "|   run\n"), 2); /* the caller of both */
	free(out);

	/* No match, and a bad regex: errors that say so. */
	int rc;
	char err[256] = "";
	struct report_options o = { .kind = REPORT_PEEK, .peek = "zzz" };
	free(rt_report(p, p, &o, &rc, err, sizeof(err)));
	CHECK_EQ_INT(rc, -1);
	CHECK(strstr(err, "--peek 'zzz' matches no function") != NULL);
	o.peek = "(";
	free(rt_report(p, p, &o, &rc, err, sizeof(err)));
	CHECK_EQ_INT(rc, -1);
	CHECK(strstr(err, "--peek '(' is not a valid regular expression") != NULL);
	profile_free(p);
}

TEST(report_traces_hottest_first)
{
	struct profile *p = rt_profile();
	char *out = run(p, (struct report_options){ .kind = REPORT_TRACES });
	CHECK(strstr(out, "Showing the 5 hottest of 5 distinct stacks, 100.0% of the time") != NULL);
	CHECK_EQ_INT(rt_count(out, " samples, "), 5);
	const char *first = strstr(out, "      50ms  41.7%  5 samples, 1 thread\n"
					"           | work_a\n"
					"           | run\n"
					"           | main\n");
	const char *second = strstr(out, "      30ms  25.0%  3 samples, 1 thread\n");
	CHECK(first && second && first < second);
	CHECK(strstr(out, "| (no frames)") != NULL);
	free(out);

	out = run(p, (struct report_options){ .kind = REPORT_TRACES, .nodecount = 2 });
	CHECK(strstr(out, "Showing the 2 hottest of 5 distinct stacks, 66.7% of the time") != NULL);
	CHECK_EQ_INT(rt_count(out, " samples, "), 2);
	free(out);
	profile_free(p);
}

TEST(report_traces_merge_equal_names)
{
	/* Two stacks of the same functions at different addresses, on two
	 * threads: one trace, two threads. */
	struct profile *p = tb_empty_profile();
	tb_add_function(p, "main");
	tb_add_function(p, "f");
	tb_add_location(p, 0x10, -1, 0);
	tb_add_location(p, 0x20, -1, 1);
	tb_add_location(p, 0x24, -1, 1);
	tb_add_stack(p, (const uint32_t[]){ 1, 0 }, 2);
	tb_add_stack(p, (const uint32_t[]){ 2, 0 }, 2);
	tb_add_thread(p, 1, "a");
	tb_add_thread(p, 2, "b");
	tb_add_sample(p, 0, 0, 2, 0);
	tb_add_sample(p, 1, 1, 3, 0);
	char *out = run(p, (struct report_options){ .kind = REPORT_TRACES });
	CHECK(strstr(out, "Showing the 1 hottest of 1 distinct stacks") != NULL);
	CHECK(strstr(out, "      50ms 100.0%  5 samples, 2 threads\n") != NULL);
	free(out);
	profile_free(p);
}

TEST(report_filtered_percentages_of_all)
{
	struct profile *p = rt_profile();
	struct profile_filter f;
	profile_filter_init(&f);
	profile_filter_add(&f.focus, "work_b");
	char err[256];
	struct profile *v = profile_filter(p, &f, err, sizeof(err));
	struct report_options o = { .kind = REPORT_TOP };
	int rc;
	char *out = rt_report(v, p, &o, &rc, err, sizeof(err));
	char line[256];
	/* 3 of all 12 samples, not of the 3 kept. */
	CHECK_STR(rt_line(out, "work_b", line, sizeof(line)),
		  "      30ms  25.0%  25.0%       30ms  25.0%  work_b");
	CHECK(strstr(out, "work_a") == NULL);
	free(out);

	FILE *mf = tmpfile();
	report_filtered(v, p, "focus 'work_b'", mf);
	char *buf = rt_slurp(mf);
	CHECK(strstr(buf, "Filters:  focus 'work_b': kept 3 of 12 samples (25.0%), 30ms of 120ms") !=
	      NULL);
	free(buf);
	profile_view_free(v);
	profile_filter_release(&f);
	profile_free(p);
}

TEST(report_per_thread)
{
	struct profile *p = rt_profile();
	char *out = run(p, (struct report_options){ .kind = REPORT_TOP, .per_thread = true });
	const char *one = strstr(out, "=== Thread 100 one: 8 samples, 80ms, 66.7% of all samples ===");
	const char *two = strstr(out, "=== Thread 101 two: 4 samples, 40ms, 33.3% of all samples ===");
	CHECK(one && two && one < two); /* busiest first */
	/* Percentages of the thread's own time: work_b is 3 of thread two's 4. */
	CHECK(two && strstr(two, "      30ms  75.0%  75.0%       30ms  75.0%  work_b") != NULL);
	/* work_a is 7 of thread one's 8. */
	CHECK(one && strstr(one, "      70ms  87.5%  87.5%       70ms  87.5%  work_a") != NULL);
	free(out);
	profile_free(p);
}

TEST(report_fit_elides_in_the_middle)
{
	char buf[128];
	CHECK_STR(report_fit(buf, sizeof(buf), "short", 20), "short");
	CHECK_STR(report_fit(buf, sizeof(buf), "abcdefghijklmnopqrstuvwxyz", 0),
		  "abcdefghijklmnopqrstuvwxyz");
	CHECK_STR(report_fit(buf, sizeof(buf), "abcdefghijklmnopqrstuvwxyz", 11), "abcd...wxyz");
	CHECK_EQ_INT(strlen(report_fit(buf, sizeof(buf), "abcdefghijklmnopqrstuvwxyz", 12)), 12);
	/* Multi-byte characters are never cut: 10 "é" fitted to 7. */
	const char *e10 = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
	CHECK_STR(report_fit(buf, sizeof(buf), e10, 7), "\xc3\xa9\xc3\xa9...\xc3\xa9\xc3\xa9");
}

TEST(report_width_and_colour)
{
	struct profile *p = tb_empty_profile();
	const char *longname = "a_very_long_namespace::with_a_long_class<and, templates>::method_name";
	tb_add_function(p, longname);
	tb_add_location(p, 0x10, -1, 0);
	tb_add_stack(p, (const uint32_t[]){ 0 }, 1);
	tb_add_thread(p, 1, "t");
	tb_add_sample(p, 0, 0, 1, 0);
	char *out = run(p, (struct report_options){ .kind = REPORT_TOP, .width = 80 });
	char line[256];
	rt_line(out, "a_very", line, sizeof(line));
	CHECK_EQ_INT(strlen(line), 80);
	CHECK(strstr(line, "a_very_long_name") != NULL && strstr(line, "...") != NULL &&
	      strstr(line, "::method_name") != NULL);
	free(out);

	out = run(p, (struct report_options){ .kind = REPORT_TOP, .color = true });
	CHECK(strstr(out, RC_BOLD "      flat") != NULL);
	CHECK(strstr(out, RC_HOT) != NULL); /* 100% of the time */
	free(out);
	profile_free(p);
}

TEST(report_and_exports_of_an_empty_profile)
{
	struct profile *p = tb_empty_profile();
	const enum report_kind kinds[] = { REPORT_TOP, REPORT_TREE, REPORT_TRACES };
	for (size_t i = 0; i < 3; i++) {
		char *out = run(p, (struct report_options){ .kind = kinds[i], .per_thread = i == 2 });
		CHECK(out != NULL);
		free(out);
	}
	char *out = run(p, (struct report_options){ .kind = REPORT_TOP });
	CHECK(strstr(out, "Showing top 0 of 0 functions") != NULL);
	free(out);
	const struct exporter *ex[] = { &export_speedscope, &export_chrome, &export_json,
					&export_perfview };
	for (size_t i = 0; i < 4; i++) {
		out = rt_export(ex[i], p);
		CHECK(out != NULL && *out);
		free(out);
	}
	profile_free(p);
}
