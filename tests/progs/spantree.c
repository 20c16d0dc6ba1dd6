/* Ground truth for span timing: two threads each run a known nested tree
 *   outer > { spin30 (30 ms busy), sleep20 (20 ms asleep),
 *             inner > { spin10 (10 ms busy) } }
 * with attributes (thread=N, phase=inner), 1000 "bytecode" ops and a GC
 * of 4096 bytes in inner, and 10 x 100000 bytes malloc'ed (and freed) in
 * spin30. outer and spin10 use ONEPROF_SPAN, the others the functions.
 * Each span's own CLOCK_MONOTONIC measurement goes to OUTFILE, one line
 * per span:
 *   tid depth name start_ns end_ns
 * taken just before the begin call and just after the end call. Runs
 * unchanged without the agent. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define ONEPROF_OPTIONAL
#include <oneprof.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define THREADS 2
#define LINES 8

struct line {
	int depth;
	const char *name;
	unsigned long long start, end;
};

static struct result {
	pid_t tid;
	struct line lines[LINES];
	int n;
} results[THREADS];

static unsigned long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static int on(void)
{
	return &oneprof_spans_on && oneprof_spans_on;
}

static volatile unsigned long long sink;

static void spin(unsigned long long ns)
{
	unsigned long long end = now() + ns;
	while (now() < end)
		sink++;
}

static int add(struct result *r, int depth, const char *name, unsigned long long start)
{
	r->lines[r->n] = (struct line){ depth, name, start, 0 };
	return r->n++;
}

static void spin30(struct result *r)
{
	int i = add(r, 1, "spin30", now());
	if (on())
		oneprof_span_begin_kind(ONEPROF_KIND_FUNCTION, "spin30");
	void *blocks[10];
	for (int k = 0; k < 10; k++) {
		blocks[k] = malloc(100000);
		memset(blocks[k], 1, 100000);
	}
	spin(30000000);
	for (int k = 0; k < 10; k++)
		free(blocks[k]);
	if (on())
		oneprof_span_end();
	r->lines[i].end = now();
}

static void sleep20(struct result *r)
{
	int i = add(r, 1, "sleep20", now());
	if (on())
		oneprof_span_begin("sleep20");
	struct timespec ts = { 0, 20000000 };
	while (nanosleep(&ts, &ts) != 0)
		;
	if (on())
		oneprof_span_end();
	r->lines[i].end = now();
}

static void spin10(struct result *r)
{
	int j = add(r, 2, "spin10", now());
	{
		ONEPROF_SPAN("spin10");
		spin(10000000);
	}
	r->lines[j].end = now();
}

static void inner(struct result *r)
{
	int i = add(r, 1, "inner", now());
	if (on()) {
		oneprof_span_begin("inner");
		oneprof_span_attr_int("thread", r - results);
		oneprof_span_attr("phase", "inner");
		oneprof_ops("bytecode", 1000);
		oneprof_gc_begin();
		oneprof_gc_end(4096);
	}
	spin10(r);
	if (on())
		oneprof_span_end();
	r->lines[i].end = now();
}

static void outer(struct result *r)
{
	ONEPROF_SPAN("outer");
	spin30(r);
	sleep20(r);
	inner(r);
}

static void *run(void *arg)
{
	struct result *r = arg;
	r->tid = (pid_t)syscall(SYS_gettid);
	int i = add(r, 0, "outer", now());
	outer(r);
	r->lines[i].end = now();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: spantree OUTFILE\n");
		return 2;
	}
	pthread_t th[THREADS];
	for (int k = 0; k < THREADS; k++)
		pthread_create(&th[k], NULL, run, &results[k]);
	for (int k = 0; k < THREADS; k++)
		pthread_join(th[k], NULL);
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	for (int k = 0; k < THREADS; k++)
		for (int j = 0; j < results[k].n; j++)
			fprintf(f, "%d %d %s %llu %llu\n", (int)results[k].tid, results[k].lines[j].depth,
				results[k].lines[j].name, results[k].lines[j].start,
				results[k].lines[j].end);
	return fclose(f) != 0;
}
