/* spanflood N [dump|signal]: one thread makes N begin/end pairs as fast
 * as it can, with an attribute "seq" (the pair's number) on every 16th
 * span, and prints how many span events it made: "events N". With "dump"
 * (flight recorder) it calls oneprof_dump() after half of them; with
 * "signal" it sends itself SIGUSR2 (the dump signal) there instead. */
#define ONEPROF_OPTIONAL
#include <oneprof.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: spanflood N [dump]\n");
		return 2;
	}
	long long n = atoll(argv[1]);
	int dump = argc > 2 && !strcmp(argv[2], "dump");
	int sig = argc > 2 && !strcmp(argv[2], "signal");
	unsigned long long events = 0;
	if (!&oneprof_spans_on || !oneprof_spans_on) {
		printf("events 0\n");
		return 0;
	}
	for (long long i = 0; i < n; i++) {
		oneprof_span_begin("flood");
		if (i % 16 == 0) {
			oneprof_span_attr_int("seq", i);
			events++;
		}
		oneprof_span_end();
		events += 2;
		if (dump && i == n / 2 && &oneprof_dump)
			oneprof_dump();
		if (sig && i == n / 2)
			raise(SIGUSR2);
	}
	printf("events %llu\n", events);
	return 0;
}
