/* Cost of one span begin/end pair, measured inside the process.
 *
 *   span-cost PAIRS REPS
 *
 * Runs REPS rounds of PAIRS pairs for each way of making a span, with an
 * uninstrumented round of the same loop between them, and prints the
 * median cost per pair over the loop alone:
 *   macro  ONEPROF_SPAN("bench") in a function (a static site: the hot
 *          path users should write)
 *   func   oneprof_span_begin("bench") / oneprof_span_end() called directly
 * Built with ONEPROF_OPTIONAL, so it runs with no library at all (the
 * macros skip; func is not run), with liboneprof loaded and spans off
 * (ONEPROF_SPANS=0) and under 'oneprof record'. */
#define ONEPROF_OPTIONAL
#include "oneprof.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The same body in every variant: one volatile add, not inlined. */
static __attribute__((noinline)) void plain(uint64_t i)
{
	sink += i;
}

static __attribute__((noinline)) void with_macro(uint64_t i)
{
	ONEPROF_SPAN("bench");
	sink += i;
}

static __attribute__((noinline)) void with_func(uint64_t i)
{
	oneprof_span_begin("bench");
	sink += i;
	oneprof_span_end();
}

static double per_pair(void (*fn)(uint64_t), uint64_t pairs)
{
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < pairs; i++)
		fn(i);
	return (double)(now_ns() - t0) / (double)pairs;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	uint64_t pairs = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	int reps = argc > 2 ? atoi(argv[2]) : 21;
	if (reps < 1 || reps > 1000 || pairs == 0) {
		fprintf(stderr, "usage: span-cost PAIRS REPS (REPS 1..1000)\n");
		return 2;
	}
	int on = &oneprof_spans_on != NULL && oneprof_spans_on;
	struct {
		const char *name;
		void (*fn)(uint64_t);
	} variants[] = { { "macro", with_macro }, { "func", with_func } };
	double base[1000], cost[1000];
	per_pair(plain, pairs); /* warm up */
	printf("spans %s\n", on ? "on" : &oneprof_spans_on ? "off (library loaded)" : "off (no library)");
	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		if (variants[v].fn == with_func && !&oneprof_span_begin)
			continue;
		for (int r = 0; r < reps; r++) {
			base[r] = per_pair(plain, pairs);
			cost[r] = per_pair(variants[v].fn, pairs) - base[r];
		}
		double b = median(base, reps);
		printf("%-6s %.2f ns per pair (loop alone %.2f ns)\n", variants[v].name,
		       median(cost, reps), b);
	}
	printf("pairs %llu\n", (unsigned long long)(pairs * (uint64_t)reps));
	return 0;
}
