/* A call-heavy program for per-call tracing cost: recursive Fibonacci,
 * every call a function entry and exit.
 *
 *   calls N      computes fib(N) and prints the number of calls
 *
 * Built three ways by the Makefile: plain; with -pg for uftrace; and with
 * -DTRACE_ONEPROF, where each call is an ONEPROF_FUNCTION() span. */
#ifdef TRACE_ONEPROF
#define ONEPROF_OPTIONAL
#include "oneprof.h"
#define TRACE() ONEPROF_FUNCTION()
#else
#define TRACE() ((void)0)
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t calls;

static __attribute__((noinline)) uint64_t fib(unsigned n)
{
	TRACE();
	calls++;
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 27;
	uint64_t r = fib(n);
	printf("fib %llu calls %llu\n", (unsigned long long)r, (unsigned long long)calls);
	return 0;
}
