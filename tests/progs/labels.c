/* Ground truth for labels: CPU time and allocations under known labels.
 *   labels [UNITS]
 * The main thread spins 1 unit under request=small and 3 units under
 * request=large (nested inside tenant=acme), so CPU samples split 1:3;
 * the same blocks allocate 1 MiB and 3 MiB (in 4 KiB blocks, freed) under
 * those labels. A second thread allocates 512 KiB with no labels. It also
 * counts: counter "jobs" +1 per unit, level "queue" set to 7 at the end.
 * Built without liboneprof: the calls are weak and skipped when absent. */
#define ONEPROF_OPTIONAL
#include "oneprof.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile unsigned long sink;

static void __attribute__((noinline)) spin(double seconds)
{
	double end = now() + seconds;
	while (now() < end)
		for (int i = 0; i < 1000; i++)
			sink += (unsigned long)i * 7;
}

static void __attribute__((noinline)) allocate(size_t bytes)
{
	for (size_t done = 0; done < bytes; done += 4096) {
		char *p = malloc(4096);
		if (!p)
			abort();
		p[0] = 1;
		sink += (unsigned long)p[0];
		free(p);
	}
}

static void work(const char *request, double units, double unit_s)
{
	if (oneprof_label_push)
		oneprof_label_push("request", request);
	allocate((size_t)units << 20);
	spin(units * unit_s);
	if (oneprof_counter_add)
		for (int i = 0; i < (int)units; i++)
			oneprof_counter_add("jobs", 1);
	if (oneprof_label_pop)
		oneprof_label_pop();
}

static void *other(void *arg)
{
	(void)arg;
	allocate(512 << 10);
	return NULL;
}

int main(int argc, char **argv)
{
	double unit_s = argc > 1 ? atof(argv[1]) : 0.25;
	pthread_t th;
	pthread_create(&th, NULL, other, NULL);
	pthread_join(th, NULL);
	if (oneprof_label_push)
		oneprof_label_push("tenant", "acme");
	work("small", 1, unit_s);
	work("large", 3, unit_s);
	if (oneprof_label_pop)
		oneprof_label_pop();
	if (oneprof_counter_set)
		oneprof_counter_set("queue", 7);
	printf("done\n");
	return 0;
}
