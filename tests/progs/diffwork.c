/* Ground truth for oneprof diff: work_a does FACTOR units of work per
 * round, work_b one; between a run with factor 1 and one with factor 2
 * work_a's share of the CPU time goes from 1/2 to 2/3. The true shares
 * are measured, not assumed: each function's thread CPU time is printed
 * ("cpu_a NS", "cpu_b NS", "cpu_total NS"), so tests compare the reported
 * change with what the kernel counted.
 *
 * Usage: diffwork FACTOR [ROUNDS]   (ROUNDS default 20) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;

/* A non-leaf call so each work function keeps a frame (see split.c). */
__attribute__((noinline)) void enter(void) { __asm__ volatile("" ::: "memory"); }

/* A macro, not a function: an inlined function would show in reports as
 * its own (inline) frame and take the flat time from work_a and work_b. */
#define SPIN(units)                                                              \
	do {                                                                     \
		uint64_t x = sink;                                               \
		for (long i = 0; i < (units) * 10000000L; i++)                      \
			x = x * 6364136223846793005ull + 1442695040888963407ull; \
		sink = x;                                                        \
	} while (0)

__attribute__((noinline)) void work_a(long factor) { enter(); SPIN(factor); }
__attribute__((noinline)) void work_b(void) { enter(); SPIN(1); }

static uint64_t cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long factor = argc > 1 ? atol(argv[1]) : 1;
	long rounds = argc > 2 ? atol(argv[2]) : 20;
	if (factor < 1 || rounds < 1) {
		fprintf(stderr, "usage: diffwork FACTOR [ROUNDS] (both at least 1)\n");
		return 2;
	}
	uint64_t start = cpu_now(), a = 0, b = 0;
	for (long r = 0; r < rounds; r++) {
		uint64_t t0 = cpu_now();
		work_a(factor);
		uint64_t t1 = cpu_now();
		work_b();
		uint64_t t2 = cpu_now();
		a += t1 - t0;
		b += t2 - t1;
	}
	printf("cpu_a %llu\ncpu_b %llu\ncpu_total %llu\n", (unsigned long long)a,
	       (unsigned long long)b, (unsigned long long)(cpu_now() - start));
	return 0;
}
