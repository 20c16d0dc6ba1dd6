/* Ground truth for the metrics endpoint tests: known spans, counters,
 * HTTP requests and threads, then it stays alive to be scraped.
 *
 *   metricsprog SPANS SECONDS [THREADS [ROUTES]]
 *
 * SPANS spans named "work" and 3 named with a quote, a backslash and a
 * newline; the HTTP requests of the table below plus ROUTES requests to
 * routes /r1../rROUTES; THREADS threads in all (the main one included);
 * "ready" on stdout once everything is made; exits after SECONDS. Runs
 * without the agent too (the calls are weak). */
#define ONEPROF_OPTIONAL
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "oneprof.h"

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void observe(const char *method, const char *route, int status, double seconds,
		    unsigned long long bytes)
{
	if (oneprof_http_observe)
		oneprof_http_observe(method, route, status, (unsigned long long)(seconds * 1e9), bytes);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: metricsprog SPANS SECONDS [THREADS [ROUTES]]\n");
		return 2;
	}
	long spans = atol(argv[1]), seconds = atol(argv[2]);
	long threads = argc > 3 ? atol(argv[3]) : 1, routes = argc > 4 ? atol(argv[4]) : 0;
	for (long i = 0; i < spans; i++) {
		ONEPROF_SPAN("work");
		volatile unsigned x = 0;
		for (int k = 0; k < 1000; k++)
			x += (unsigned)k;
	}
	for (int i = 0; i < 3; i++) {
		ONEPROF_SPAN("we\"ird\\name\nline");
	}
	if (oneprof_counter_set) {
		oneprof_counter_set("queue depth", 42);
		oneprof_counter_add("jobs\"done\\", 7);
	}
	/* Durations chosen well inside one bucket each (bounds 5 ms, 10 ms,
	 * 25 ms, 50 ms, 75 ms, ..., 1 s, 2.5 s). */
	for (int i = 0; i < 4; i++)
		observe("GET", "/users/{id}", 200, 0.003, 500);
	observe("GET", "/users/{id}", 404, 0.020, 10);
	observe("POST", "/orders", 201, 0.060, 2000);
	observe("POST", "/orders", 201, 0.060, 2000);
	observe("POST", "/orders", 503, 1.5, 0);
	observe("BREW", "/teapot", 418, 0.001, 0);
	observe("GET", "/q\"uote\\back\nline", 302, 0.001, 0);
	for (long i = 1; i <= routes; i++) {
		char r[32];
		snprintf(r, sizeof(r), "/r%ld", i);
		observe("GET", r, 200, 0.001, 0);
	}
	for (long i = 1; i < threads; i++) {
		pthread_t t;
		pthread_create(&t, NULL, idle, NULL);
	}
	printf("ready\n");
	fflush(stdout);
	struct timespec end, now;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	do {
		usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	return 0;
}
