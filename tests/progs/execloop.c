/* Burns a few ms of CPU, then execs itself with a smaller count: an exec
 * storm under the profiler. Any profiling signal left pending or timer
 * left armed across an exec would kill one of the images (the default
 * action of SIGPROF). Exits 0 after the last image. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile uint64_t sink;

__attribute__((noinline)) void burn(long n)
{
	for (long i = 0; i < n; i++)
		sink = sink * 6364136223846793005ull + 1;
}

int main(int argc, char **argv)
{
	int left = argc > 1 ? atoi(argv[1]) : 100;
	burn(3000000);
	if (left <= 0)
		return 0;
	char num[16];
	snprintf(num, sizeof(num), "%d", left - 1);
	execl("/proc/self/exe", argv[0], num, (char *)NULL);
	perror("execl");
	return 1;
}
