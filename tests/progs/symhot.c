/* One hot, exported function for the odd-binary tests (stripped, PIE and
 * not, .dynsym only, truncated), and a vDSO mode.
 * Usage: symhot [MILLISECONDS] (default 1000)   time in symhot_work
 *        symhot vdso [MILLISECONDS]              time in clock_gettime (vDSO) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile unsigned long symhot_sink;

__attribute__((noinline)) void symhot_work(long n)
{
	unsigned long x = symhot_sink;
	for (long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + (unsigned long)i;
	symhot_sink = x;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char **argv)
{
	int vdso = argc > 1 && strcmp(argv[1], "vdso") == 0;
	long ms = argc > 1 + vdso ? atol(argv[1 + vdso]) : 1000;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (vdso) {
		/* Reading the clock is nearly all this loop does. */
		do
			for (int i = 0; i < 1000; i++)
				clock_gettime(CLOCK_MONOTONIC, &t);
		while (elapsed_ms(&t0) < ms);
	} else {
		do
			symhot_work(100000);
		while (elapsed_ms(&t0) < ms);
	}
	printf("symhot: done\n");
	return 0;
}
