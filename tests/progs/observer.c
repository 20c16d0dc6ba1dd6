/* Observers (oneprof_observe) against what the program knows it did:
 * 1000 spans "obs" at depth 1 under "outer", 500 allocations of 4096
 * bytes, and CPU in burn(). It waits (at most 10 s) until the observers
 * have seen every span and allocation and no more samples come, then
 * removes them, makes 100 more
 * spans that must not be seen, and prints:
 *   spans N depth1 N outer N allocs N bytes N samples N burn N same-thread N after N
 * where burn counts samples whose stack holds a pc inside burn(), and
 * same-thread counts callbacks that ran on the program's own thread (the
 * rules say: never). */
#define _GNU_SOURCE
#define ONEPROF_OPTIONAL
#include <errno.h>
#include <oneprof.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic unsigned long spans, depth1, outer, allocs, bytes, samples, burns, same_thread;
static _Atomic unsigned long after;
static _Atomic int removed;
static pid_t main_tid;

__attribute__((noinline)) static double burn(long n)
{
	double x = 0;
	for (long i = 0; i < n; i++)
		x += (double)i * 1e-9;
	return x;
}
/* burn() is small: its code lies within this many bytes of its entry. */
#define BURN_BYTES 256

static void on_event(const struct oneprof_event *ev, void *user)
{
	(void)user;
	if (gettid() == main_tid)
		same_thread++;
	if (atomic_load(&removed)) {
		after++;
		return;
	}
	switch (ev->kind) {
	case ONEPROF_EVENT_SPAN_END:
		if (!strcmp(ev->name, "obs")) {
			spans++;
			if (ev->depth == 1)
				depth1++;
		} else if (!strcmp(ev->name, "outer") && ev->depth == 0) {
			outer++;
		}
		break;
	case ONEPROF_EVENT_ALLOC:
		if (ev->size == 4096) {
			allocs++;
			bytes += ev->size;
		}
		break;
	case ONEPROF_EVENT_SAMPLE:
		samples++;
		for (unsigned i = 0; i < ev->npcs; i++)
			if (ev->pcs[i] >= (uintptr_t)burn && ev->pcs[i] < (uintptr_t)burn + BURN_BYTES) {
				burns++;
				break;
			}
		break;
	}
}

static void burn_never(const struct oneprof_event *ev, void *user)
{
	(void)ev;
	(void)user;
}

int main(void)
{
	main_tid = gettid();
	if (!&oneprof_observe) {
		fprintf(stderr, "observer: run it under 'oneprof record'\n");
		return 1;
	}
	const int kinds[] = { ONEPROF_EVENT_SPAN_END, ONEPROF_EVENT_ALLOC, ONEPROF_EVENT_SAMPLE };
	for (int i = 0; i < 3; i++)
		if (oneprof_observe(kinds[i], on_event, NULL) != 0) {
			fprintf(stderr, "observer: oneprof_observe failed\n");
			return 1;
		}
	if (oneprof_observe(99, on_event, NULL) != -EINVAL)
		fprintf(stderr, "observer: a bad kind was accepted\n");
	if (oneprof_unobserve(ONEPROF_EVENT_SAMPLE, burn_never, NULL) != -ENOENT)
		fprintf(stderr, "observer: removing an unknown observer did not say ENOENT\n");

	oneprof_span_begin("outer");
	for (int i = 0; i < 1000; i++) {
		oneprof_span_begin("obs");
		oneprof_span_end();
	}
	oneprof_span_end();
	static void *blocks[500];
	for (int i = 0; i < 500; i++)
		blocks[i] = malloc(4096);
	for (int i = 0; i < 500; i++)
		free(blocks[i]);
	volatile double sink = burn(400000000);
	(void)sink;

	struct timespec nap = { 0, 10000000 };
	for (int i = 0; i < 1000 && (spans < 1000 || allocs < 500 || outer < 1); i++)
		nanosleep(&nap, NULL);
	/* The writer may still hold burn()'s last samples: wait until the
	 * count has stood still for longer than the writer holds samples
	 * (ONEPROF_FLUSH_MS, 1 s by default). */
	for (int still = 0, i = 0; still < 120 && i < 1000; i++) {
		unsigned long before = samples;
		nanosleep(&nap, NULL);
		still = samples == before ? still + 1 : 0;
	}
	for (int i = 0; i < 3; i++)
		oneprof_unobserve(kinds[i], on_event, NULL);
	int again = oneprof_unobserve(ONEPROF_EVENT_SAMPLE, on_event, NULL);
	atomic_store(&removed, 1);
	for (int i = 0; i < 100; i++) {
		oneprof_span_begin("obs");
		oneprof_span_end();
	}
	nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
	printf("spans %lu depth1 %lu outer %lu allocs %lu bytes %lu samples %lu burn %lu "
	       "same-thread %lu after %lu unobserve-again %d\n",
	       spans, depth1, outer, allocs, bytes, samples, burns, same_thread, after, again);
	return 0;
}
