/* Span API misuse, which the agent counts and survives:
 *   - an end without a begin;
 *   - a thread exiting with 2 spans open;
 *   - a NULL name;
 *   - a 5000-byte name.
 * spanmisuse late: run WITHOUT the agent preloaded. A thread is created,
 * then the library named by $ONEPROF_LIB is dlopen'ed (with ONEPROF_OUTPUT
 * set its constructor starts the agent), and the thread, unknown to the
 * agent, makes spans "late" (x3, attribute "n") through dlsym'd pointers. */
#define ONEPROF_OPTIONAL
#include <dlfcn.h>
#include <oneprof.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char long_name[5001];

static int on(void)
{
	return &oneprof_spans_on && oneprof_spans_on;
}

static void *two_open(void *arg)
{
	(void)arg;
	if (on()) {
		oneprof_span_begin("left-open-1");
		oneprof_span_begin("left-open-2");
	}
	return NULL;
}

static void (*late_begin)(const char *);
static void (*late_end)(void);
static void (*late_attr)(const char *, long long);
static pthread_barrier_t go;

static void *late_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&go); /* until the library is loaded */
	for (int i = 0; i < 3; i++) {
		late_begin("late");
		late_attr("n", i);
		late_end();
	}
	return NULL;
}

static int late(void)
{
	const char *lib = getenv("ONEPROF_LIB");
	pthread_t th;
	pthread_barrier_init(&go, NULL, 2);
	pthread_create(&th, NULL, late_thread, NULL);
	void *h = lib ? dlopen(lib, RTLD_NOW | RTLD_GLOBAL) : NULL;
	if (!h) {
		fprintf(stderr, "spanmisuse: cannot load $ONEPROF_LIB: %s\n", lib ? dlerror() : "unset");
		return 1;
	}
	late_begin = (void (*)(const char *))dlsym(h, "oneprof_span_begin");
	late_end = (void (*)(void))dlsym(h, "oneprof_span_end");
	late_attr = (void (*)(const char *, long long))dlsym(h, "oneprof_span_attr_int");
	if (!late_begin || !late_end || !late_attr) {
		fprintf(stderr, "spanmisuse: span functions missing from %s\n", lib);
		return 1;
	}
	pthread_barrier_wait(&go);
	pthread_join(th, NULL);
	printf("late spans 3\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "late"))
		return late();
	if (!on()) {
		printf("agent not running\n");
		return 0;
	}
	oneprof_span_end(); /* nothing open */
	pthread_t th;
	pthread_create(&th, NULL, two_open, NULL);
	pthread_join(th, NULL);
	oneprof_span_begin(NULL);
	oneprof_span_end();
	memset(long_name, 'x', sizeof(long_name) - 1);
	oneprof_span_begin(long_name);
	oneprof_span_end();
	oneprof_span_begin("fine");
	oneprof_span_end();
	printf("misuse done\n");
	return 0;
}
