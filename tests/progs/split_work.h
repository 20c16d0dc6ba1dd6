/* The work of the known-split programs (split.c, attachsplit.c):
 * work_50, work_30 and work_20 spin 5, 3 and 2 units of identical work,
 * SPLIT_UNIT iterations of a multiply-add a unit (the includer defines
 * it), so the true split of their CPU time is 50/30/20 %.
 *
 * GCC keeps no frame in a leaf function even with -fno-omit-frame-pointer;
 * calling enter() makes each work function a non-leaf with a real frame,
 * so its own caller is known in every sample. Built with -DFRAMELESS (and
 * -fomit-frame-pointer) the work functions are frameless leaves instead:
 * the case only unwinding from .eh_frame gets right. */
#ifndef TESTS_SPLIT_WORK_H
#define TESTS_SPLIT_WORK_H

#include <stdint.h>

static volatile uint64_t sink;

#ifdef FRAMELESS
#define enter() ((void)0)
#else
__attribute__((noinline)) void enter(void) { __asm__ volatile("" ::: "memory"); }
#endif

#define SPIN(units)                                                              \
	do {                                                                     \
		uint64_t x = sink;                                               \
		for (long i = 0; i < (units) * (SPLIT_UNIT); i++)                \
			x = x * 6364136223846793005ull + 1442695040888963407ull; \
		sink = x;                                                        \
	} while (0)

__attribute__((noinline)) void work_50(void) { enter(); SPIN(5); }
__attribute__((noinline)) void work_30(void) { enter(); SPIN(3); }
__attribute__((noinline)) void work_20(void) { enter(); SPIN(2); }

#endif
