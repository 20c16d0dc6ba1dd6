/* Ground truth for CPU accuracy: N threads (default 2), each repeatedly calling
 * work_50, work_30 and work_20, which spin 5, 3 and 2 units of identical
 * work: the true split of CPU time is 50/30/20 %. Built with frame
 * pointers, no inlining and no sibling calls.
 *
 * A unit is long (about 20 ms): a periodic sampler then lands in each
 * function's stretch of time a count fixed to within one sample, so the
 * measured split converges fast instead of carrying binomial noise.
 *
 * Usage: split [ROUNDS [THREADS]]  (rounds per thread, default 10; threads,
 * default 2)
 * Prints the process CPU time it used, as measured by the kernel, so tests
 * can compare sample counts with rate x CPU time. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* A unit: about 20 ms. */
#define SPLIT_UNIT 20000000L
#include "split_work.h"

#ifdef SHARED_ROUND
/* In a shared library (libsplitround.so, built without frame pointers):
 * the stack then runs work_* <- run_round (library) <- thread_main. */
void run_round(void (*a)(void), void (*b)(void), void (*c)(void));
#else
__attribute__((noinline)) static void run_round(void (*a)(void), void (*b)(void), void (*c)(void))
{
	a();
	b();
	c();
}
#endif

static void *thread_main(void *arg)
{
	long rounds = (long)(intptr_t)arg;
	for (long r = 0; r < rounds; r++)
		run_round(work_50, work_30, work_20);
	return NULL;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10;
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	pthread_t t[64];
	if (threads < 1 || threads > 64)
		return 2;
	for (int i = 1; i < threads; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)rounds);
	thread_main((void *)(intptr_t)rounds);
	for (int i = 1; i < threads; i++)
		pthread_join(t[i], NULL);
	struct timespec cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	printf("cpu_ns %lld\n", (long long)cpu.tv_sec * 1000000000ll + cpu.tv_nsec);
	return 0;
}
