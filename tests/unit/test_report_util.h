/* Shared by the report, filter and exporter unit tests: one hand-built
 * profile whose numbers are known, and running a report or an exporter
 * into memory. */
#ifndef TEST_REPORT_UTIL_H
#define TEST_REPORT_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/export/export.h"
#include "../../src/model/profile.h"
#include "../../src/report/report.h"
#include "../../src/util/util.h"
#include "builder.h"

/* A name every output must escape: quotes, backslash, XML specials, a
 * folded separator, a newline, a tab and a byte that is not UTF-8. */
#define RT_HOSTILE "q\"\\<&>;\n\t\xff end"

/*
 * Functions: 0 main, 1 run, 2 work_a, 3 work_b, 4 rec, 5 RT_HOSTILE.
 * Threads: 0 (tid 100, "one"), 1 (tid 101, "two"). 10 ms per sample.
 *   stack 0  main;run;work_a       thread 0, 5 samples
 *   stack 1  main;run;work_b       thread 1, 3 samples
 *   stack 2  main;rec;rec;work_a   thread 0, 2 samples (recursion)
 *   stack 3  main;HOSTILE          thread 1, 1 sample
 *   stack 4  (no frames)           thread 0, 1 sample
 * Flat: work_a 7, work_b 3, hostile 1. Cum: main 11, run 8, work_a 7,
 * work_b 3, rec 2 (once per stack), hostile 1. Total 12.
 */
#define RT_TOTAL 12

static inline struct profile *rt_profile(void)
{
	struct profile *p = tb_empty_profile();
	static const char cmdline[] = "/usr/bin/prog\0--fast\0";
	p->hdr.cmdline.s = xstrndup(cmdline, sizeof(cmdline) - 1);
	p->hdr.cmdline.len = sizeof(cmdline) - 1;
	p->hdr.pid = 42;
	p->hdr.hz = 100;
	p->duration_ns = 1000000000ull;
	const char *names[] = { "main", "run", "work_a", "work_b", "rec", RT_HOSTILE };
	for (uint32_t i = 0; i < 6; i++) {
		tb_add_function(p, names[i]);
		tb_add_location(p, 0x1000 + 0x100 * i, -1, i);
	}
	tb_add_location(p, 0x1410, -1, 4); /* 6: rec, its recursive call site */
	tb_add_stack(p, (const uint32_t[]){ 2, 1, 0 }, 3);
	tb_add_stack(p, (const uint32_t[]){ 3, 1, 0 }, 3);
	tb_add_stack(p, (const uint32_t[]){ 2, 6, 4, 0 }, 4);
	tb_add_stack(p, (const uint32_t[]){ 5, 0 }, 2);
	tb_add_stack(p, NULL, 0);
	tb_add_thread(p, 100, "one");
	tb_add_thread(p, 101, "two");
	/* Samples in time order, threads interleaved. */
	uint64_t t = 0;
	for (int i = 0; i < 5; i++)
		tb_add_sample(p, 0, 0, 1, t += 10000000);
	for (int i = 0; i < 3; i++)
		tb_add_sample(p, 1, 1, 1, t += 10000000);
	tb_add_sample(p, 0, 2, 2, t += 10000000);
	tb_add_sample(p, 1, 3, 1, t += 10000000);
	tb_add_sample(p, 0, 4, 1, t += 10000000);
	for (size_t i = 0; i < p->nsamples; i++) {
		p->threads[p->samples[i].thread].samples += p->samples[i].count;
		p->threads[p->samples[i].thread].sampled_cpu_ns += p->samples[i].cpu_ns;
	}
	return p;
}

/* Everything written to a temporary file, as a string (caller frees).
 * A tmpfile rather than open_memstream: GCC's -Wdangling-pointer takes
 * the stream's buffer for the local it was given. */
static inline char *rt_slurp(FILE *f)
{
	long len = ftell(f);
	char *buf = xmalloc(len > 0 ? (size_t)len + 1 : 1);
	rewind(f);
	size_t n = len > 0 ? fread(buf, 1, (size_t)len, f) : 0;
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Output of an exporter, or NULL (and the message printed) on error. */
static inline char *rt_export(const struct exporter *ex, const struct profile *p)
{
	FILE *f = tmpfile();
	char err[256] = "";
	int rc = export_run(ex, p, f, err, sizeof(err));
	char *out = rt_slurp(f);
	if (rc != 0) {
		printf("    export error: %s\n", err);
		free(out);
		return NULL;
	}
	return out;
}

/* Output of a report; *rc gets report_run()'s result, err its message. */
static inline char *rt_report(const struct profile *view, const struct profile *all,
			      const struct report_options *o, int *rc, char *err, size_t errlen)
{
	FILE *f = tmpfile();
	*rc = report_run(view, all, f, o, err, errlen);
	return rt_slurp(f);
}

/* Occurrences of needle in haystack. */
static inline int rt_count(const char *haystack, const char *needle)
{
	int n = 0;
	for (const char *s = haystack; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

/* The line of text containing needle (a copy in buf), or "". */
static inline const char *rt_line(const char *text, const char *needle, char *buf, size_t len)
{
	const char *at = strstr(text, needle);
	if (!at) {
		buf[0] = '\0';
		return buf;
	}
	size_t start = (size_t)(at - text);
	while (start > 0 && text[start - 1] != '\n')
		start--;
	size_t n = strcspn(text + start, "\n");
	snprintf(buf, len, "%.*s", (int)n, text + start);
	return buf;
}

#endif
