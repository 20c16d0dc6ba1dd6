/* The text readers (src/model/folded_read.c, perf_script_read.c) and
 * format detection (src/model/load.c): what valid input gives, and that
 * malformed lines are counted with the first one's line and problem,
 * never read as samples (run under ASan in unit-tests-asan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/model/profile.h"
#include "unit.h"

static struct profile *load(const char *text, enum profile_format force, const char *index,
			    const struct profile_text_limits *lim, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct profile *p = profile_load_stream(f, "t", force, index, lim, 0, err, errlen);
	fclose(f);
	return p;
}

/* Function name of frame i (leaf first) of stack s. */
static const char *frame(const struct profile *p, size_t s, size_t i)
{
	const struct profile_stack *st = &p->stacks[s];
	if (i >= st->n)
		return "(none)";
	return p->functions[p->locations[st->locations[i]].function].name;
}

TEST(text_detect)
{
	const char *folded = "main;work 12\n";
	const char *perf = "app 10/11 [000] 1.5: 1000 cpu-clock:\n\t12f4 work+0x4 (/bin/app)\n\n";
	CHECK_EQ_INT(profile_detect((const uint8_t *)folded, strlen(folded)),
		     PROFILE_FORMAT_FOLDED);
	CHECK_EQ_INT(profile_detect((const uint8_t *)perf, strlen(perf)),
		     PROFILE_FORMAT_PERF_SCRIPT);
	CHECK_EQ_INT(profile_detect((const uint8_t *)"hello\n", 6), PROFILE_FORMAT_UNKNOWN);
	CHECK_EQ_INT(profile_detect((const uint8_t *)"\x89OPF\r\n\x1a\n", 8),
		     PROFILE_FORMAT_CAPTURE);
	CHECK_EQ_INT(profile_detect((const uint8_t *)"\x1f\x8b", 2), PROFILE_FORMAT_PPROF);
	CHECK_EQ_INT(profile_detect((const uint8_t *)"a 1\0", 4), PROFILE_FORMAT_UNKNOWN);
	CHECK_EQ_INT(profile_format_parse("perf-script"), PROFILE_FORMAT_PERF_SCRIPT);
	CHECK_EQ_INT(profile_format_parse("x"), PROFILE_FORMAT_UNKNOWN);
}

TEST(folded_read_valid)
{
	char err[512] = "";
	struct profile *p = load("# note\nmain;a;b 3\nmain;a 2\n\nmain;a;b 4\n", PROFILE_FORMAT_UNKNOWN,
				 NULL, NULL, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_STR(p->import.format, "folded");
	CHECK_EQ_INT(p->total_count, 9);
	CHECK_EQ_INT(p->nstacks, 2);   /* main;a;b twice is one stack */
	CHECK_EQ_INT(p->nsamples, 2);  /* coalesced */
	CHECK_EQ_INT(p->nfunctions, 3);
	CHECK_STR(frame(p, 0, 0), "b"); /* leaf first */
	CHECK_STR(frame(p, 0, 2), "main");
	CHECK_EQ_INT(p->import.bad, 0);
	CHECK_STR(p->pprof_type, "samples");
	profile_free(p);
}

TEST(folded_read_malformed)
{
	char err[512] = "";
	struct profile *p = load("main;a 5\nno count\nmain;b 1.5\nmain;c 1 2\n 7\nmain;d 0\n"
				 "main;e 99999999999999999999999\n",
				 PROFILE_FORMAT_FOLDED, NULL, NULL, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_INT(p->total_count, 5);
	CHECK_EQ_INT(p->import.bad, 5);
	CHECK_EQ_INT(p->import.first_bad_line, 2);
	CHECK(strstr(p->import.bad_why, "not a number") != NULL);
	CHECK_EQ_INT(p->import.zero, 1);
	profile_free(p);

	/* Nothing valid: an error naming the file, the line and the fix. */
	p = load("x\ny\n", PROFILE_FORMAT_FOLDED, NULL, NULL, err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "'t'") && strstr(err, "line 1") && strstr(err, "root;caller;leaf COUNT"));
	p = load("", PROFILE_FORMAT_FOLDED, NULL, NULL, err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "no samples in it") != NULL);
}

TEST(folded_read_depth_limit)
{
	char err[512] = "";
	struct profile_text_limits lim = { 2, 0 };
	struct profile *p = load("r;m;l 1\n", PROFILE_FORMAT_FOLDED, NULL, &lim, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_INT(p->stacks[0].n, 2);
	CHECK_STR(frame(p, 0, 0), "l");
	CHECK_EQ_INT(p->import.truncated, 1);
	profile_free(p);
}

static const char perf_text[] =
	"# ========\n"
	"# captured on: x\n"
	"app 100/100 [001] 10.000000000: 1000000 cpu-clock:u: \n"
	"\t    12f4 work+0x34 (/bin/app)\n"
	"\t    13b9 run(int, char)+0x9 (/bin/app)\n"
	"\t   7f00a [unknown] (/lib/libc.so.6)\n"
	"\n"
	"   my worker 100/101 [000] 10.001000000: 1000000 cpu-clock:u: \n"
	"\t    12f4 work+0x34 (/bin/app)\n"
	"\t          app.c:12\n"
	"\n"
	"app 100/100 [001] 10.002000000: 50 cycles: \n"
	"\t    12f4 work+0x34 (/bin/app)\n"
	"\n"
	"\t    dead beef (x)\n";

TEST(perf_script_read_valid)
{
	char err[512] = "";
	struct profile *p = load(perf_text, PROFILE_FORMAT_UNKNOWN, NULL, NULL, err, sizeof(err));
	CHECK(p != NULL);
	if (!p) {
		printf("    %s\n", err);
		return;
	}
	CHECK_STR(p->import.format, "perf script");
	CHECK_STR(p->pprof_type, "cpu");
	CHECK_STR(p->pprof_unit, "nanoseconds");
	CHECK_EQ_INT(p->total_count, 2);
	CHECK_EQ_INT(p->total_cpu_ns, 2000000);
	CHECK_EQ_INT(p->hdr.hz, 1000);
	CHECK_EQ_INT(p->nthreads, 2);
	CHECK_STR(p->threads[1].name, "my worker");
	CHECK_EQ_INT(p->threads[1].tid, 101);
	CHECK_EQ_INT(p->threads[1].pid, 100);
	CHECK_EQ_INT(p->nprocesses, 1);
	CHECK_STR(frame(p, 0, 0), "work");
	CHECK_STR(frame(p, 0, 1), "run(int, char)");
	CHECK_STR(frame(p, 0, 2), "libc.so.6+0x7f00a");
	CHECK_EQ_INT(p->nmappings, 2);
	CHECK_EQ_INT(p->import.other_event, 1);
	CHECK_STR(p->import.other_event_name, "cycles");
	CHECK_EQ_INT(p->import.stray_lines, 1);
	CHECK_EQ_INT(p->import.bad, 1); /* the indented line outside any sample */
	CHECK_EQ_INT(p->import.first_bad_line, 15);
	CHECK_EQ_INT(p->samples_end_ns, 1000000);
	profile_free(p);

	/* The other event on request: its period is a count of cycles. */
	p = load(perf_text, PROFILE_FORMAT_UNKNOWN, "cycles", NULL, err, sizeof(err));
	CHECK(p != NULL);
	if (p) {
		CHECK_STR(p->pprof_type, "cycles");
		CHECK_STR(p->pprof_unit, "count");
		CHECK_EQ_INT(p->total_cpu_ns, 50);
		CHECK_EQ_INT(p->import.other_event, 2);
		profile_free(p);
	}
	p = load(perf_text, PROFILE_FORMAT_UNKNOWN, "nope", NULL, err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "no samples of event 'nope'") != NULL);
}

TEST(perf_script_read_no_callchain)
{
	char err[512] = "";
	/* perf record without -g, default fields: tid only, ip sym dso on
	 * the header line. */
	struct profile *p = load("app 42 5.0: 250000 task-clock: 12f4 work+0x34 (/bin/app)\n",
				 PROFILE_FORMAT_PERF_SCRIPT, NULL, NULL, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_INT(p->total_cpu_ns, 250000);
	CHECK_EQ_INT(p->threads[0].tid, 42);
	CHECK_STR(frame(p, 0, 0), "work");
	profile_free(p);
}

TEST(perf_script_read_malformed)
{
	char err[512] = "";
	const char *bad[] = {
		"garbage\n\tmore garbage\n",
		"app: \n",
		"app x/y 1.0: 5 cpu-clock:\n",
		"\t\t\n\n\n",
		"app 1/1 1.0: 5 cpu-clock:\n\t" "ffffffffffffffffffffffff big (x)\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct profile *p = load(bad[i], PROFILE_FORMAT_PERF_SCRIPT, NULL, NULL, err,
					 sizeof(err));
		/* Either nothing (an error naming the fix) or a profile whose
		 * stacks hold only what parsed. */
		if (!p)
			CHECK(strstr(err, "perf record -g") != NULL);
		else
			CHECK(p->nsamples == 1 && p->stacks[0].n == 0);
		profile_free(p);
	}
}
