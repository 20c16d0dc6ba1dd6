/* Loads two copies of one shared library (same build-id, two paths, two
 * load addresses) and spends time in each copy's lib_hot.
 * Usage: dlhot LIB1 LIB2 [MILLISECONDS] (default 1000). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: dlhot LIB1 LIB2 [MILLISECONDS]\n");
		return 2;
	}
	long ms = argc > 3 ? atol(argv[3]) : 1000;
	unsigned long (*hot[2])(unsigned long);
	for (int i = 0; i < 2; i++) {
		void *h = dlopen(argv[1 + i], RTLD_NOW | RTLD_LOCAL);
		if (!h || !(*(void **)&hot[i] = dlsym(h, "lib_hot"))) {
			fprintf(stderr, "dlhot: %s\n", dlerror());
			return 1;
		}
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long sum = 0;
	do
		sum += hot[0](200000) + hot[1](200000);
	while (elapsed_ms(&t0) < ms);
	printf("dlhot: %p %p %lu\n", *(void **)&hot[0], *(void **)&hot[1], sum & 1);
	return 0;
}
