/* oneprof libuv event-loop monitor.
 *
 * Header-only, compiled into the program that runs the loop: the agent
 * never links libuv. Include it after <uv.h> and oneprof.h (define
 * ONEPROF_OPTIONAL first to run without liboneprof: every call then does
 * nothing unless the agent is preloaded).
 *
 *   struct oneprof_uv *m = oneprof_uv_monitor(loop, 100);  // every 100 ms
 *   ...
 *   oneprof_uv_monitor_stop(m);  // before closing the loop
 *
 * Every interval a timer of its own (unreferenced: it never keeps the loop
 * alive, nor counts as one of its active handles) sets these counters
 * (oneprof_counter_set), which land in the capture's series
 * ('oneprof report --metrics'):
 *   uv_loop_lag_ns          how late the timer fired: time the loop spent
 *                           in callbacks that blocked it
 *   uv_loop_lag_max_ns      the largest lag so far
 *   uv_loop_idle_ns         the loop's time idle in its poll, a running
 *                           total; needs uv_loop_configure(loop,
 *                           UV_METRICS_IDLE_TIME) before uv_run, else it
 *                           stays 0
 *   uv_loop_active_handles  active referenced handles (timers, sockets...)
 *   uv_loop_active_requests requests in flight (writes, fs, getaddrinfo...)
 */
#ifndef ONEPROF_UV_H
#define ONEPROF_UV_H

#include <stdlib.h>
#include <uv.h>

#include "oneprof.h"

#ifdef __cplusplus
extern "C" {
#endif

struct oneprof_uv {
	uv_timer_t timer;
	uint64_t interval_ns;
	uint64_t expected_ns; /* uv_hrtime() at which the timer should fire */
	uint64_t max_lag_ns;
};

static inline void oneprof_uv__set(const char *name, uint64_t v)
{
#ifdef ONEPROF_OPTIONAL
	if (!oneprof_counter_set)
		return; /* run without the agent */
#endif
	oneprof_counter_set(name, (long long)v);
}

static inline void oneprof_uv__tick(uv_timer_t *t)
{
	struct oneprof_uv *m = (struct oneprof_uv *)t->data;
	uint64_t now = uv_hrtime();
	uint64_t lag = now > m->expected_ns ? now - m->expected_ns : 0;
	if (lag > m->max_lag_ns)
		m->max_lag_ns = lag;
	m->expected_ns = now + m->interval_ns;
	oneprof_uv__set("uv_loop_lag_ns", lag);
	oneprof_uv__set("uv_loop_lag_max_ns", m->max_lag_ns);
	oneprof_uv__set("uv_loop_idle_ns", uv_metrics_idle_time(t->loop));
	oneprof_uv__set("uv_loop_active_handles", t->loop->active_handles);
	oneprof_uv__set("uv_loop_active_requests", t->loop->active_reqs.count);
}

static inline void oneprof_uv__closed(uv_handle_t *h)
{
	free(h->data);
}

/* Starts monitoring `loop` every interval_ms (at least 1); NULL when out
 * of memory or the timer cannot start. Call from the loop's thread. */
static inline struct oneprof_uv *oneprof_uv_monitor(uv_loop_t *loop, unsigned interval_ms)
{
	struct oneprof_uv *m = (struct oneprof_uv *)calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (interval_ms < 1)
		interval_ms = 1;
	m->interval_ns = (uint64_t)interval_ms * 1000000u;
	if (uv_timer_init(loop, &m->timer) != 0) {
		free(m);
		return NULL;
	}
	m->timer.data = m;
	/* The lag is measured against the loop's own clock as the timer
	 * sees it, plus the interval. */
	uv_update_time(loop);
	m->expected_ns = uv_hrtime() + m->interval_ns;
	if (uv_timer_start(&m->timer, oneprof_uv__tick, interval_ms, interval_ms) != 0) {
		/* The handle is the loop's now: it goes through uv_close. */
		uv_close((uv_handle_t *)&m->timer, oneprof_uv__closed);
		return NULL;
	}
	uv_unref((uv_handle_t *)&m->timer);
	oneprof_uv__tick(&m->timer); /* the values at the start (lag 0) */
	m->expected_ns = uv_hrtime() + m->interval_ns;
	return m;
}

/* Stops and frees the monitor (its memory goes when the loop runs the
 * close callback: run the loop once more before uv_loop_close). */
static inline void oneprof_uv_monitor_stop(struct oneprof_uv *m)
{
	if (!m)
		return;
	uv_timer_stop(&m->timer);
	uv_close((uv_handle_t *)&m->timer, oneprof_uv__closed);
}

#ifdef __cplusplus
}
#endif

#endif
