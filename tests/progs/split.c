/* Ground truth for CPU accuracy: two threads, each repeatedly calling
 * work_50, work_30 and work_20, which spin 5, 3 and 2 units of identical
 * work: the true split of CPU time is 50/30/20 %. Built with frame
 * pointers, no inlining and no sibling calls.
 *
 * A unit is long (about 20 ms): a periodic sampler then lands in each
 * function's stretch of time a count fixed to within one sample, so the
 * measured split converges fast instead of carrying binomial noise.
 *
 * Usage: split [ROUNDS]  (rounds of work per thread, default 10)
 * Prints the process CPU time it used, as measured by the kernel, so tests
 * can compare sample counts with rate x CPU time. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;

/* GCC keeps no frame in a leaf function even with -fno-omit-frame-pointer;
 * calling this makes each work function a non-leaf with a real frame, so
 * its own caller is known in every sample. */
__attribute__((noinline)) void enter(void) { __asm__ volatile("" ::: "memory"); }

#define SPIN(units)                                                              \
	do {                                                                     \
		uint64_t x = sink;                                               \
		for (long i = 0; i < (units) * 20000000L; i++)                      \
			x = x * 6364136223846793005ull + 1442695040888963407ull; \
		sink = x;                                                        \
	} while (0)

__attribute__((noinline)) void work_50(void) { enter(); SPIN(5); }
__attribute__((noinline)) void work_30(void) { enter(); SPIN(3); }
__attribute__((noinline)) void work_20(void) { enter(); SPIN(2); }

static void *thread_main(void *arg)
{
	long rounds = (long)(intptr_t)arg;
	for (long r = 0; r < rounds; r++) {
		work_50();
		work_30();
		work_20();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10;
	pthread_t t;
	pthread_create(&t, NULL, thread_main, (void *)(intptr_t)rounds);
	thread_main((void *)(intptr_t)rounds);
	pthread_join(t, NULL);
	struct timespec cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	printf("cpu_ns %lld\n", (long long)cpu.tv_sec * 1000000000ll + cpu.tv_nsec);
	return 0;
}
