/* A libuv loop with known numbers, for the loop monitor (oneprof_uv.h):
 *   - KEEPERS timers that never fire during the run, a blocker timer and
 *     a stopper timer: ACTIVE_HANDLES = KEEPERS + 2 referenced handles
 *     while the monitor starts (the monitor's own timer is unreferenced);
 *   - one work request in the thread pool for WORK_MS: one active
 *     request meanwhile;
 *   - the blocker busy-waits BLOCK_MS inside its callback at 300 ms, so
 *     the monitor's timer (every INTERVAL_MS) fires at least BLOCK_MS -
 *     INTERVAL_MS late;
 *   - the stopper ends everything at 1200 ms.
 * Prints those constants, one "name value" a line, for the test. */
#define ONEPROF_OPTIONAL
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "oneprof.h"
#include "oneprof_uv.h"

#define KEEPERS 5
#define INTERVAL_MS 50
#define BLOCK_MS 250
#define WORK_MS 400

static uv_timer_t keepers[KEEPERS], blocker, stopper;
static uv_work_t work;
static struct oneprof_uv *mon;

static void never(uv_timer_t *t)
{
	(void)t;
}

static void block(uv_timer_t *t)
{
	(void)t;
	uint64_t end = uv_hrtime() + (uint64_t)BLOCK_MS * 1000000u;
	while (uv_hrtime() < end)
		; /* a callback that hogs the loop */
}

static void stop(uv_timer_t *t)
{
	(void)t;
	for (int i = 0; i < KEEPERS; i++)
		uv_close((uv_handle_t *)&keepers[i], NULL);
	uv_close((uv_handle_t *)&blocker, NULL);
	uv_close((uv_handle_t *)&stopper, NULL);
	oneprof_uv_monitor_stop(mon);
}

static void in_pool(uv_work_t *w)
{
	(void)w;
	usleep(WORK_MS * 1000);
}

static void after_pool(uv_work_t *w, int status)
{
	(void)w;
	(void)status;
}

int main(void)
{
	uv_loop_t *loop = uv_default_loop();
	if (uv_loop_configure(loop, UV_METRICS_IDLE_TIME) != 0) {
		fprintf(stderr, "uvloop: this libuv cannot measure idle time\n");
		return 1;
	}
	for (int i = 0; i < KEEPERS; i++) {
		uv_timer_init(loop, &keepers[i]);
		uv_timer_start(&keepers[i], never, 100000, 100000);
	}
	uv_timer_init(loop, &blocker);
	uv_timer_start(&blocker, block, 300, 0);
	uv_timer_init(loop, &stopper);
	uv_timer_start(&stopper, stop, 1200, 0);
	uv_queue_work(loop, &work, in_pool, after_pool);
	mon = oneprof_uv_monitor(loop, INTERVAL_MS);
	if (!mon) {
		fprintf(stderr, "uvloop: cannot start the loop monitor\n");
		return 1;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	printf("active_handles %d\nactive_requests 1\nmin_lag_ns %d\n", KEEPERS + 2,
	       (BLOCK_MS - INTERVAL_MS) * 1000000);
	return 0;
}
