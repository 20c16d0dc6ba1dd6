/* Ground truth for inlined frames and source lines: hot_outer's loop
 * calls step(), which calls mix(), both forced inline; nearly all the time
 * is in mix's loop. The LINE and DECL markers name the lines that
 * tests/e2e/t90_dwarf.sh expects in the report and the pprof file.
 * Usage: inline [MILLISECONDS] (default 1000). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

static inline __attribute__((always_inline)) unsigned long mix(unsigned long x) /* DECL:mix */
{
	for (int i = 0; i < 64; i++) /* LINE:mix-loop */
		x = x * 6364136223846793005ul + 1442695040888963407ul; /* LINE:mix-body */
	return x;
}

static inline __attribute__((always_inline)) unsigned long step(unsigned long x) /* DECL:step */
{
	return mix(x) ^ (x >> 7); /* LINE:step-calls-mix */
}

__attribute__((noinline)) unsigned long hot_outer(unsigned long x, long n) /* DECL:hot_outer */
{
	for (long i = 0; i < n; i++)
		x = step(x + (unsigned long)i); /* LINE:outer-calls-step */
	return x;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 1000;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		sink = hot_outer(sink, 20000);
	while (elapsed_ms(&t0) < ms);
	printf("inline: done\n");
	return 0;
}
