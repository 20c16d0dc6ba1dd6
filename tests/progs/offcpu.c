/* A known off-CPU split: the main thread loops over offcpu_burn (30 ms
 * of spinning) and a 70 ms wait, for SECONDS seconds: 70% of its wall
 * time off-CPU in the waiting function, 30% on-CPU in the burner. Both
 * go by the monotonic clock, so the split holds on a loaded machine too
 * (the burner is then partly preempted, still in the burner; a wait
 * then also lasts until the thread gets a CPU back). At exit it prints
 * the split it really had: "wait W% burn B%".
 *
 * The wait is made with the syscall instruction inside the waiting
 * function itself: a libc wrapper built without frame pointers would hide
 * its caller from a frame-pointer stack, and the test checks that the
 * waiting function is the stack's leaf user frame.
 *
 * Usage: offcpu SECONDS [sleep|vfork]
 *   sleep (default): offcpu_sleep waits in nanosleep (state S).
 *   vfork: offcpu_vfork_wait vforks a child that sleeps 70 ms and exits;
 *          the parent waits for it uninterruptibly (state D).
 * Prints "ready" first, so a test can attach. Built with frame pointers. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) void offcpu_sleep(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_nanosleep), "D"(&ts), "S"(0L)
			 : "rcx", "r11", "memory");
	(void)ret;
#else
	syscall(SYS_nanosleep, &ts, NULL);
#endif
}

/* The child sleeps with raw syscalls only and exits without returning:
 * it shares the parent's memory and stack until it exits. */
__attribute__((noinline)) void offcpu_vfork_wait(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("mov %[vfork], %%eax\n\t"
			 "syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov %[sleep], %%eax\n\t"
			 "mov %[ts], %%rdi\n\t"
			 "xor %%esi, %%esi\n\t"
			 "syscall\n\t"
			 "mov %[exit], %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n\t"
			 "1:"
			 : "=&a"(ret)
			 : [vfork] "i"(SYS_vfork), [sleep] "i"(SYS_nanosleep),
			   [exit] "i"(SYS_exit), [ts] "r"(&ts)
			 : "rcx", "r11", "rdi", "rsi", "memory");
	(void)ret;
#else
	offcpu_sleep(ns);
#endif
}

__attribute__((noinline)) void offcpu_burn(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	uint64_t x = sink;
	do {
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
	} while (now_ns() < end);
	sink = x;
}

/* The wall time really spent in each: a wait also lasts until the thread
 * gets a CPU again, which takes longer on a loaded machine. */
static uint64_t burn_total, wait_total;

__attribute__((noinline)) void offcpu_loop(double seconds, int vfork_mode)
{
	uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
	uint64_t t0 = now_ns();
	while (t0 < end) {
		offcpu_burn(30000000);
		uint64_t t1 = now_ns();
		if (vfork_mode)
			offcpu_vfork_wait(70000000);
		else
			offcpu_sleep(70000000);
		uint64_t t2 = now_ns();
		burn_total += t1 - t0;
		wait_total += t2 - t1;
		t0 = t2;
	}
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	int vfork_mode = argc > 2 && !strcmp(argv[2], "vfork");
	if (!(seconds > 0) || seconds > 600) {
		fprintf(stderr, "usage: offcpu SECONDS [sleep|vfork]\n");
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	offcpu_loop(seconds, vfork_mode);
	printf("wait %.1f%% burn %.1f%%\n", 100.0 * (double)wait_total / (double)(wait_total + burn_total),
	       100.0 * (double)burn_total / (double)(wait_total + burn_total));
	return 0;
}
