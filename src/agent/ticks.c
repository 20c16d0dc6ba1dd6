/* The agent's event clock: what spans and heap events are stamped with.
 *
 * An event path cannot afford clock_gettime (tens of nanoseconds in the
 * vDSO, more in a virtual machine, per allocation or span edge). Where the
 * TSC is invariant (constant_tsc and nonstop_tsc), ticks are rdtsc counts
 * since the capture start; elsewhere they are CLOCK_MONOTONIC nanoseconds
 * since the start, and conversion is the identity.
 *
 * The writer turns ticks into nanoseconds with calibration points it takes
 * itself, one per drain (ticks_calibrate): piecewise linear between them,
 * so the conversion is continuous and increasing, and an event is only
 * ever placed between two clock readings that bracket it. */
#include <stdio.h>
#include <string.h>

#include "agent.h"

bool ticks_tsc;
uint64_t ticks_tsc0;
struct ticks_segment ticks_seg;

static bool tsc_usable(void)
{
#if defined(__x86_64__)
	static int known = -1; /* checked once per process */
	if (known >= 0)
		return known;
	known = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		known = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
		break;
	}
	fclose(f);
	return known;
#else
	return false;
#endif
}

/* Calibration points (ticks, ns since start), oldest first, bounded: a
 * ring, the oldest dropped when full (events that old were drained). */
#define CAL_MAX 4096
static struct cal {
	uint64_t ticks, ns;
	double rate; /* ns per tick from the previous point to this one */
} cal[CAL_MAX];
static unsigned cal_first, cal_n;

/* Conversions go to the slow path until it picks a segment. */
static const struct ticks_segment no_segment = { 1, 0, 0, 0 };

static struct cal *cal_at(unsigned i)
{
	return &cal[(cal_first + i) % CAL_MAX];
}

/* rdtsc, clock, rdtsc: the clock read lies between the two ticks. */
static struct cal cal_take(void)
{
	struct cal c = { 0, 0, 1.0 };
	if (!ticks_tsc) {
		c.ns = c.ticks = agent_now_ns() - agent.start_ns;
		return c;
	}
	uint64_t a = ticks_rdtsc();
	uint64_t ns = agent_now_ns();
	uint64_t b = ticks_rdtsc();
	c.ticks = ((a + (b - a) / 2) - ticks_tsc0) & TICKS_MASK;
	c.ns = ns - agent.start_ns;
	return c;
}

void ticks_start(void)
{
	ticks_tsc = tsc_usable();
	if (ticks_tsc)
		ticks_tsc0 = ticks_rdtsc();
	/* Ticks are ns already: the identity, inline. */
	ticks_seg = ticks_tsc ? no_segment
			      : (struct ticks_segment){ 0, UINT64_MAX, UINT64_MAX, 1ull << 32 };
	cal_first = cal_n = 0;
	cal[0] = cal_take();
	cal_n = 1;
}

uint64_t ticks_calibrate(void)
{
	struct cal c = cal_take();
	struct cal *last = cal_at(cal_n - 1);
	if (c.ticks <= last->ticks || c.ns < last->ns)
		return last->ticks;
	c.rate = (double)(c.ns - last->ns) / (double)(c.ticks - last->ticks);
	if (cal_n == CAL_MAX) {
		cal_first = (cal_first + 1) % CAL_MAX;
		cal_n--;
	}
	*cal_at(cal_n++) = c;
	if (ticks_tsc)
		ticks_seg = no_segment; /* it may have been extended past the old end */
	return c.ticks;
}

uint64_t ticks_latest(void)
{
	return cal_at(cal_n - 1)->ticks;
}

uint64_t ticks_latest_ns(void)
{
	return cal_at(cal_n - 1)->ns;
}

/* On segment i (from point i - 1 to point i), which later conversions
 * try first, inline, while t lies inside it. */
static uint64_t on_segment(unsigned i, uint64_t t)
{
	const struct cal *a = cal_at(i - 1), *b = cal_at(i);
	if (t >= a->ticks && t <= b->ticks)
		ticks_seg = (struct ticks_segment){ a->ticks, b->ticks, b->ns,
						    (uint64_t)(b->rate * 4294967296.0) };
	double ns = (double)b->ns - ((double)b->ticks - (double)t) * b->rate;
	return ns < 0 ? 0 : (uint64_t)ns;
}

uint64_t ticks_to_ns_slow(uint64_t t)
{
	if (!ticks_tsc)
		return t;
	if (cal_n < 2)
		return cal_at(0)->ns;
	/* Before the first point or after the last, the nearest segment
	 * extends. */
	unsigned lo = 0, hi = cal_n - 1, i;
	if (t >= cal_at(hi)->ticks) {
		i = hi;
	} else if (t <= cal_at(0)->ticks) {
		i = 1;
	} else {
		while (hi - lo > 1) {
			unsigned mid = lo + (hi - lo) / 2;
			if (cal_at(mid)->ticks <= t)
				lo = mid;
			else
				hi = mid;
		}
		i = hi;
	}
	return on_segment(i, t);
}
