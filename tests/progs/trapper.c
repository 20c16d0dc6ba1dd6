/* A program that uses SIGTRAP itself, to check that sampling by SIGTRAP
 * (src/agent/trap.c) leaves it alone: it burns CPU (samples arrive), then
 * installs its own SIGTRAP handler and traps 4 times (raise and int3),
 * burning CPU again meanwhile; its handler must see exactly its own 4
 * traps, and sigaction must report its handler back. With "die" it then
 * restores the default and traps once more: the program dies by SIGTRAP,
 * as it would without a profiler. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile uint64_t sink;
static volatile sig_atomic_t traps;

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void burn(double seconds)
{
	double end = cpu_now() + seconds;
	while (cpu_now() < end)
		for (int i = 0; i < 100000; i++)
			sink = sink * 6364136223846793005ull + 1;
}

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	traps++;
}

int main(int argc, char **argv)
{
	burn(0.3);
	struct sigaction sa, back;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, NULL);
	for (int i = 0; i < 3; i++) {
		raise(SIGTRAP);
		burn(0.1);
	}
#if defined(__x86_64__)
	__asm__ volatile("int3");
#else
	raise(SIGTRAP);
#endif
	burn(0.1);
	sigaction(SIGTRAP, NULL, &back);
	printf("own traps seen: %d\n", (int)traps);
	printf("sigaction reports own handler: %s\n",
	       (back.sa_flags & SA_SIGINFO) && back.sa_sigaction == on_trap ? "yes" : "no");
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "die") == 0) {
		signal(SIGTRAP, SIG_DFL);
		burn(0.1);
		raise(SIGTRAP);
		printf("still alive after SIGTRAP\n");
	}
	return 0;
}
