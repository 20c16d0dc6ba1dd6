/* Runtime control ground truth: three phases of equal CPU work, work_a,
 * work_b and work_c. Only work_b runs while sampling is on:
 *   window api     oneprof_stop() before work_a, oneprof_start() before
 *                  work_b, oneprof_stop() again before work_c;
 *   window signal  raise(SIGUSR2) before and after work_b, recorded with
 *                  --paused --toggle-signal USR2.
 * The API is looked up with dlsym, the way a program that may or may not
 * run under oneprof finds it. Prints each phase's CPU time. */
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile uint64_t sink;

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Distinct constants: identical bodies would be folded into one
 * function by the compiler, and every sample would name the same one. */
#define WORK(name, k)                                                       \
	__attribute__((noinline)) static double name(void)                  \
	{                                                                   \
		double t0 = cpu_seconds();                                  \
		for (long i = 0; i < 150000000; i++)                        \
			sink = sink * (k) + (uint64_t)i;                    \
		return cpu_seconds() - t0;                                  \
	}
WORK(work_a, 6364136223846793005u)
WORK(work_b, 2862933555777941757u)
WORK(work_c, 3202034522624059733u)

/* The toggle is carried out by the agent's writer thread within its
 * drain interval: give it time. */
static void settle(void)
{
	struct timespec ts = { 0, 150 * 1000000L };
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int by_signal = argc > 1 && !strcmp(argv[1], "signal");
	int (*start)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "oneprof_start");
	int (*stop)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "oneprof_stop");
	if (!by_signal && (!start || !stop)) {
		fprintf(stderr, "window: oneprof_start/oneprof_stop not found\n");
		return 1;
	}
	if (!by_signal && stop() != 0)
		return 1;
	double a = work_a();
	if (by_signal) {
		raise(SIGUSR2);
		settle();
	} else if (start() != 0) {
		return 1;
	}
	double b = work_b();
	if (by_signal) {
		raise(SIGUSR2);
		settle();
	} else if (stop() != 0) {
		return 1;
	}
	double c = work_c();
	printf("work_a %.3f\nwork_b %.3f\nwork_c %.3f\n", a, b, c);
	return 0;
}
