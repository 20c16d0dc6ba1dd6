/* A tiny JIT: copies a counting loop into anonymous executable memory,
 * names it in /tmp/perf-PID.map the way runtimes do (with malformed lines
 * around it, as a careless writer might leave), and runs it. Ground truth
 * for the JIT symbol tests: the time goes to "jit_hot_loop".
 * Usage: jitgen [MILLISECONDS] (default 1000). x86-64 only; elsewhere it
 * prints "jitgen: skipped" and exits 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char **argv)
{
#if defined(__x86_64__)
	long ms = argc > 1 ? atol(argv[1]) : 1000;
	/* mov rax, rdi; 1: dec rax; jnz 1b; ret */
	static const unsigned char code[] = { 0x48, 0x89, 0xf8, 0x48, 0xff, 0xc8, 0x75, 0xfb, 0xc3 };
	unsigned char *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memset(mem, 0xcc, 4096);
	memcpy(mem + 64, code, sizeof(code));
	if (mprotect(mem, 4096, PROT_READ | PROT_EXEC) != 0)
		return 1;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "not a map line\n");
	fprintf(f, "%lx 40 jit_stale_entry\n", (unsigned long)(uintptr_t)(mem + 64));
	fprintf(f, "%lx %zx jit_hot_loop\n", (unsigned long)(uintptr_t)(mem + 64), sizeof(code));
	fprintf(f, "zzzz 10 bad_start\n");
	fclose(f);
	unsigned long (*fn)(unsigned long) = (unsigned long (*)(unsigned long))(void *)(mem + 64);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long sum = 0;
	do
		sum += fn(10000000);
	while (elapsed_ms(&t0) < ms);
	printf("jitgen: %s %lu\n", path, sum & 1);
	return 0;
#else
	(void)argc;
	(void)argv;
	printf("jitgen: skipped (x86-64 only)\n");
	return 0;
#endif
}
