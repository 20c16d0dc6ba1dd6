/* libpysplit.so: the Python binding's ground truth. pysplit_round(units)
 * spins 7 units in pysplit_work_70 and then 3 in pysplit_work_30: called
 * through ctypes, the true split of the library's CPU time is 70/30 %.
 * A unit is about 2 ms of identical work, so a round is about 20 ms. */
#include <stdint.h>

static volatile uint64_t sink;

/* Inline: the time is the work function's own (flat). */
#define SPIN(units)                                                              \
	do {                                                                     \
		uint64_t x = sink;                                               \
		for (long i = 0; i < (units) * 2000000L; i++)                       \
			x = x * 6364136223846793005ull + 1442695040888963407ull; \
		sink = x;                                                        \
	} while (0)

__attribute__((noinline)) void pysplit_work_70(void)
{
	SPIN(7);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void pysplit_work_30(void)
{
	SPIN(3);
	__asm__ volatile("" ::: "memory");
}

void pysplit_round(void)
{
	pysplit_work_70();
	pysplit_work_30();
	__asm__ volatile("" ::: "memory");
}
