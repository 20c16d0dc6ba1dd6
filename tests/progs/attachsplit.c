/* A known split for attaching to: THREADS threads (default 2) named
 * split-0, split-1, ..., each calling work_50, work_30 and work_20 (5, 3
 * and 2 units of identical work: a 50/30/20 split of CPU time) until the
 * program is killed. Prints "ready" once every thread is named, so a test
 * attaches to a steady state. Built with frame pointers (the kernel's
 * frame-pointer callchains need them), and without (attachsplit-nofp, for
 * --call-graph dwarf).
 *
 * Usage: attachsplit [THREADS [SECONDS]]  (SECONDS: exit after that long,
 * default 60, so a failed test leaves nothing running for long) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A unit: about 4 ms, so a short recording still sees whole cycles. */
#define SPLIT_UNIT 4000000L
#include "split_work.h"

static void *thread_main(void *arg)
{
	char name[16];
	snprintf(name, sizeof(name), "split-%d", (int)(intptr_t)arg);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		work_50();
		work_30();
		work_20();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 2;
	int seconds = argc > 2 ? atoi(argv[2]) : 60;
	if (threads < 1 || threads > 64)
		return 2;
	pthread_t t;
	for (int i = 0; i < threads; i++)
		pthread_create(&t, NULL, thread_main, (void *)(intptr_t)i);
	usleep(50000);
	printf("ready\n");
	fflush(stdout);
	sleep((unsigned)seconds);
	return 0;
}
