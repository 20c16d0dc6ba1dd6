/* Allocations at more distinct stacks than a profiler's per-thread table
 * of stacks already sent may hold, each stack with its own size, so a
 * stack named by a stale table entry shows as bytes that do not match it.
 *
 * Usage: heapstacks ROUNDS
 *
 * 2^BITS paths, each a chain of BITS calls, one per bit of the path's
 * number from the lowest: go_one() for a 1, go_zero() for a 0. At the end
 * of each, at_path() allocates 16 + path bytes and frees them. Every path
 * runs once a round, for ROUNDS rounds, all on the main thread. The
 * ground-truth line gives paths, rounds, allocations (paths * rounds)
 * and bytes (the sum over paths of (16 + path) * rounds). */
#include <stdio.h>
#include <stdlib.h>

#define BITS 13
#define PATHS (1u << BITS)

static void *volatile sink;
static volatile int after_call; /* a store after each call: no tail calls */

static void step(unsigned path, unsigned level);

static __attribute__((noinline)) void at_path(unsigned path)
{
	sink = malloc(16 + path);
	free(sink);
	after_call++;
}

static __attribute__((noinline)) void go_one(unsigned path, unsigned level)
{
	step(path, level + 1);
	after_call++;
}

static __attribute__((noinline)) void go_zero(unsigned path, unsigned level)
{
	step(path, level + 1);
	after_call += 2; /* not go_one's code, which the compiler would merge */
}

static __attribute__((noinline)) void step(unsigned path, unsigned level)
{
	if (level == BITS)
		at_path(path);
	else if (path >> level & 1)
		go_one(path, level);
	else
		go_zero(path, level);
	after_call++;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0); /* stdio allocates nothing */
	int rounds = argc == 2 ? atoi(argv[1]) : 0;
	if (rounds < 1) {
		fprintf(stderr, "usage: heapstacks ROUNDS (1 or more)\n");
		return 2;
	}
	unsigned long long bytes = 0;
	for (int r = 0; r < rounds; r++)
		for (unsigned p = 0; p < PATHS; p++) {
			step(p, 0);
			bytes += 16 + p;
		}
	printf("paths=%u rounds=%d allocations=%llu bytes=%llu\n", PATHS, rounds,
	       (unsigned long long)PATHS * (unsigned)rounds, bytes);
	return 0;
}
