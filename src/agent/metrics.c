/* The metrics endpoint (ONEPROF_METRICS_ADDR): one agent thread serves
 * GET /metrics in the Prometheus text format or OpenMetrics, with the
 * process_* families, the profiler's own oneprof_* metrics, a duration
 * histogram per span name, the program's counters, and the HTTP request
 * metrics of oneprof_http_observe().
 *
 * Who writes what:
 *   - the writer thread: span durations (metrics_span_end), samples and
 *     losses; it alone adds span names, so that table takes no lock;
 *   - any program thread: oneprof_http_observe(), atomic adds into
 *     fixed tables (a new route takes a lock once, like a new counter);
 *   - the server thread: reads all of it and writes the exposition into a
 *     buffer of ONEPROF_METRICS_MAX_BYTES it maps once; nothing is
 *     allocated while serving.
 * Every table is bounded by a setting; what does not fit is counted and
 * exported (oneprof_*_dropped_total). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../capture/format.h"
#include "agent.h"
#include "expo.h"
#include "httpd.h"
#include "oneprof.h"
#include "procfs.h"

/* Span duration buckets, seconds: 1-2.5-5 steps from 1 µs to 10 s. */
static const uint64_t span_bounds_ns[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000,
	250000000, 500000000, 1000000000, 2500000000u, 5000000000u, 10000000000u,
};
#define SPAN_BUCKETS (sizeof(span_bounds_ns) / sizeof(span_bounds_ns[0]))
/* HTTP request duration buckets, seconds: OpenTelemetry's recommended
 * boundaries for http.server.request.duration. */
static const uint64_t http_bounds_ns[] = {
	5000000, 10000000, 25000000, 50000000, 75000000, 100000000, 250000000,
	500000000, 750000000, 1000000000, 2500000000u, 5000000000u, 7500000000u, 10000000000u,
};
#define HTTP_BUCKETS (sizeof(http_bounds_ns) / sizeof(http_bounds_ns[0]))
/* Response body size buckets, bytes: powers of ten from 100 B to 10 MB. */
static const uint64_t size_bounds[] = { 100, 1000, 10000, 100000, 1000000, 10000000 };
#define SIZE_BUCKETS (sizeof(size_bounds) / sizeof(size_bounds[0]))

/* Longer span names and routes are cut (and may then share a series). */
#define METRIC_NAME_MAX 128

struct span_hist {
	_Atomic uint64_t hash; /* 0: free; published after the name */
	char name[METRIC_NAME_MAX];
	_Atomic uint64_t counts[SPAN_BUCKETS + 1];
	_Atomic uint64_t sum_ns;
};

/* HTTP methods of RFC 9110 and PATCH; others count as _OTHER, as the
 * OpenTelemetry conventions say. */
static const char *const http_methods[] = { "GET",     "HEAD",  "POST",  "PUT",  "DELETE",
					    "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER" };
#define HTTP_METHODS 10
/* Status classes: 1xx..5xx, and [0] for a status outside 100..599. */
#define HTTP_CLASSES 6

struct http_route {
	_Atomic uint64_t hash; /* 0: free */
	char name[METRIC_NAME_MAX];
	_Atomic uint64_t requests[HTTP_METHODS][HTTP_CLASSES];
};

/* One (route, method, status) series of the histograms. key: route slot
 * + 2 (1: "other") << 24 | method << 12 | status. */
struct http_series {
	_Atomic uint64_t key; /* 0: free */
	_Atomic uint64_t dur[HTTP_BUCKETS + 1];
	_Atomic uint64_t dur_sum_ns;
	_Atomic uint64_t size[SIZE_BUCKETS + 1];
	_Atomic uint64_t size_sum;
};

static struct {
	_Atomic bool on; /* tables mapped and counting */
	int lfd, wake_fd;
	pthread_t thread;
	bool thread_started;
	_Atomic bool stop;
	struct httpd_addr bound;
	char *out;
	size_t out_cap;
	/* span names: written by the writer only */
	struct span_hist *spans;
	size_t span_slots, nspans;
	/* HTTP */
	struct http_route *routes, other;
	size_t route_slots, nroutes;
	pthread_mutex_t routes_lock;
	struct http_series *series;
	size_t series_slots;
	_Atomic size_t nseries;
	/* counted drops and totals */
	_Atomic uint64_t span_names_dropped, routes_overflow, series_dropped;
	_Atomic uint64_t samples, lost[CAPTURE_LOST_COUNTER + 1];
	_Atomic uint64_t scrapes;
} m = { .lfd = -1, .wake_fd = -1, .routes_lock = PTHREAD_MUTEX_INITIALIZER };

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;
	while (p < n)
		p <<= 1;
	return p;
}

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static uint64_t name_hash(const char *s, size_t len)
{
	return XXH3_64bits(s, len) | 1;
}

/* --- the writer's side --- */

void metrics_note_samples(uint64_t count)
{
	if (atomic_load_explicit(&m.on, memory_order_relaxed))
		atomic_fetch_add_explicit(&m.samples, count, memory_order_relaxed);
}

void metrics_note_lost(uint64_t source, uint64_t count)
{
	if (source <= CAPTURE_LOST_COUNTER)
		atomic_fetch_add_explicit(&m.lost[source], count, memory_order_relaxed);
}

static size_t bucket_of(const uint64_t *bounds, size_t n, uint64_t v)
{
	size_t i = 0;
	while (i < n && v > bounds[i])
		i++;
	return i;
}

void metrics_span_end(const char *name, uint64_t dur_ns)
{
	if (!atomic_load_explicit(&m.on, memory_order_relaxed))
		return;
	if (!name)
		name = "(null)";
	size_t len = strnlen(name, METRIC_NAME_MAX - 1);
	uint64_t h = name_hash(name, len);
	struct span_hist *s;
	for (size_t i = h & (m.span_slots - 1);; i = (i + 1) & (m.span_slots - 1)) {
		s = &m.spans[i];
		uint64_t sh = atomic_load_explicit(&s->hash, memory_order_relaxed);
		if (sh == h && !strncmp(s->name, name, len) && !s->name[len])
			break;
		if (!sh) {
			/* Half the slots at most, so probes stay short. */
			if (m.nspans >= agent.cfg.metrics_span_names) {
				atomic_fetch_add_explicit(&m.span_names_dropped, 1, memory_order_relaxed);
				return;
			}
			memcpy(s->name, name, len);
			s->name[len] = '\0';
			m.nspans++;
			atomic_store_explicit(&s->hash, h, memory_order_release);
			break;
		}
	}
	size_t b = bucket_of(span_bounds_ns, SPAN_BUCKETS, dur_ns);
	atomic_fetch_add_explicit(&s->counts[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_ns, dur_ns, memory_order_relaxed);
}

/* --- HTTP request metrics (any thread) --- */

static unsigned method_index(const char *method)
{
	for (unsigned i = 0; method && i < HTTP_METHODS - 1; i++)
		if (!strcmp(method, http_methods[i]))
			return i;
	return HTTP_METHODS - 1;
}

/* The route's slot (its index + 2), or 1 ("other") when the table is
 * full. */
static size_t route_slot(const char *route)
{
	if (!route)
		route = "(null)";
	size_t len = strnlen(route, METRIC_NAME_MAX - 1);
	uint64_t h = name_hash(route, len);
	for (int locked = 0; locked < 2; locked++) {
		if (locked)
			pthread_mutex_lock(&m.routes_lock);
		for (size_t i = h & (m.route_slots - 1);; i = (i + 1) & (m.route_slots - 1)) {
			struct http_route *r = &m.routes[i];
			uint64_t rh = atomic_load_explicit(&r->hash, memory_order_acquire);
			if (rh == h && !strncmp(r->name, route, len) && !r->name[len]) {
				if (locked)
					pthread_mutex_unlock(&m.routes_lock);
				return i + 2;
			}
			if (rh)
				continue;
			if (!locked)
				break; /* new: add it under the lock, looking again */
			size_t slot = 1;
			if (m.nroutes < agent.cfg.http_routes) {
				memcpy(r->name, route, len);
				r->name[len] = '\0';
				m.nroutes++;
				atomic_store_explicit(&r->hash, h, memory_order_release);
				slot = i + 2;
			}
			pthread_mutex_unlock(&m.routes_lock);
			if (slot == 1)
				atomic_fetch_add_explicit(&m.routes_overflow, 1, memory_order_relaxed);
			return slot;
		}
	}
	return 1; /* not reached */
}

static struct http_route *route_at(size_t slot)
{
	return slot == 1 ? &m.other : &m.routes[slot - 2];
}

/* The series of key, added when new; NULL when the table is full. */
static struct http_series *series_for(uint64_t key)
{
	uint64_t h = XXH3_64bits(&key, sizeof(key));
	for (size_t i = h & (m.series_slots - 1);; i = (i + 1) & (m.series_slots - 1)) {
		struct http_series *s = &m.series[i];
		uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
		if (k == key)
			return s;
		if (k)
			continue;
		if (atomic_fetch_add(&m.nseries, 1) >= agent.cfg.http_series) {
			atomic_fetch_sub(&m.nseries, 1);
			return NULL;
		}
		uint64_t expected = 0;
		if (atomic_compare_exchange_strong(&s->key, &expected, key))
			return s;
		atomic_fetch_sub(&m.nseries, 1);
		if (expected == key)
			return s;
	}
}

void oneprof_http_observe(const char *method, const char *route, int status,
			  unsigned long long duration_ns, unsigned long long bytes)
{
	if (!atomic_load_explicit(&m.on, memory_order_relaxed))
		return;
	unsigned mi = method_index(method);
	unsigned cls = status >= 100 && status <= 599 ? (unsigned)status / 100 : 0;
	size_t slot = route_slot(route);
	atomic_fetch_add_explicit(&route_at(slot)->requests[mi][cls], 1, memory_order_relaxed);
	uint64_t key = (uint64_t)slot << 24 | (uint64_t)mi << 12 | (cls ? (unsigned)status : 0);
	struct http_series *s = series_for(key);
	if (!s) {
		atomic_fetch_add_explicit(&m.series_dropped, 1, memory_order_relaxed);
		return;
	}
	size_t b = bucket_of(http_bounds_ns, HTTP_BUCKETS, duration_ns);
	atomic_fetch_add_explicit(&s->dur[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->dur_sum_ns, duration_ns, memory_order_relaxed);
	b = bucket_of(size_bounds, SIZE_BUCKETS, bytes);
	atomic_fetch_add_explicit(&s->size[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->size_sum, bytes, memory_order_relaxed);
}

/* --- the exposition --- */

static void load_counts(const _Atomic uint64_t *from, uint64_t *to, size_t n)
{
	for (size_t i = 0; i < n; i++)
		to[i] = atomic_load_explicit(&from[i], memory_order_relaxed);
}

static void bounds_seconds(const uint64_t *ns, double *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (double)ns[i] / 1e9;
}

static void put_counter(struct expo *e, const char *name, const char *help, uint64_t v)
{
	expo_family(e, name, EXPO_COUNTER, NULL, help);
	expo_sample(e, NULL, (double)v);
}

static void own_metrics(struct expo *e)
{
	put_counter(e, "oneprof_samples", "CPU or wall-clock samples the profiler wrote.",
		    atomic_load(&m.samples));
	static const char *const sources[] = { NULL, "cpu_sample", "heap_event", "span_event",
					       "label_set", "counter" };
	expo_family(e, "oneprof_lost_events", EXPO_COUNTER, NULL,
		    "Events the profiler lost, by source (see the capture's LOST records).");
	for (size_t i = 1; i <= CAPTURE_LOST_COUNTER; i++)
		expo_sample(e, (const char *const[]){ "source", sources[i], NULL },
			    (double)atomic_load(&m.lost[i]));
	expo_family(e, "oneprof_cpu_seconds", EXPO_COUNTER, "seconds",
		    "CPU time of the profiler's own threads (writer, ticker, metrics server).");
	expo_sample(e, NULL, (double)threads_own_cpu_ns() / 1e9);
	/* glibc's count: the agent's sampled heap events do not carry the
	 * sizes of frees, so it cannot know live bytes itself. */
	struct mallinfo2 mi = mallinfo2();
	expo_family(e, "oneprof_heap_live_bytes", EXPO_GAUGE, "bytes",
		    "Bytes of the malloc heap in use (glibc's count, arenas and mmapped blocks).");
	expo_sample(e, NULL, (double)(mi.uordblks + mi.hblkhd));
	put_counter(e, "oneprof_span_names_dropped",
		    "Span ends left out of oneprof_span_duration_seconds: more names than "
		    "ONEPROF_METRICS_SPAN_NAMES.",
		    atomic_load(&m.span_names_dropped));
	put_counter(e, "oneprof_http_routes_overflow",
		    "HTTP requests counted under route=\"other\": more routes than ONEPROF_HTTP_ROUTES.",
		    atomic_load(&m.routes_overflow));
	put_counter(e, "oneprof_http_series_dropped",
		    "HTTP requests left out of the histograms: more series than ONEPROF_HTTP_SERIES.",
		    atomic_load(&m.series_dropped));
	put_counter(e, "oneprof_metrics_scrapes", "Scrapes of this endpoint answered.",
		    atomic_load(&m.scrapes));
}

static void span_metrics(struct expo *e)
{
	double bounds[SPAN_BUCKETS];
	bounds_seconds(span_bounds_ns, bounds, SPAN_BUCKETS);
	expo_family(e, "oneprof_span_duration_seconds", EXPO_HISTOGRAM, "seconds",
		    "Durations of the program's spans, by span name.");
	for (size_t i = 0; i < m.span_slots; i++) {
		struct span_hist *s = &m.spans[i];
		if (!atomic_load_explicit(&s->hash, memory_order_acquire))
			continue;
		uint64_t counts[SPAN_BUCKETS + 1];
		load_counts(s->counts, counts, SPAN_BUCKETS + 1);
		expo_histogram(e, (const char *const[]){ "name", s->name, NULL }, bounds, counts,
			       SPAN_BUCKETS, (double)atomic_load(&s->sum_ns) / 1e9);
	}
}

static void on_counter(const char *name, int64_t value, void *arg)
{
	expo_sample(arg, (const char *const[]){ "name", name, NULL }, (double)value);
}

static void status_text(uint64_t key, char *out, size_t cap)
{
	unsigned status = key & 0xfff;
	if (status)
		snprintf(out, cap, "%u", status);
	else
		snprintf(out, cap, "other");
}

static void http_metrics(struct expo *e)
{
	static const char *const classes[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	expo_family(e, "http_server_requests", EXPO_COUNTER, NULL,
		    "HTTP requests served, by method, route and status class.");
	for (size_t slot = 1; slot < m.route_slots + 2; slot++) {
		struct http_route *r = route_at(slot);
		if (slot > 1 && !atomic_load_explicit(&r->hash, memory_order_acquire))
			continue;
		const char *name = slot == 1 ? "other" : r->name;
		for (unsigned mi = 0; mi < HTTP_METHODS; mi++)
			for (unsigned c = 0; c < HTTP_CLASSES; c++) {
				uint64_t n = atomic_load_explicit(&r->requests[mi][c], memory_order_relaxed);
				if (n)
					expo_sample(e, (const char *const[]){ "http_request_method", http_methods[mi],
									      "http_route", name,
									      "http_response_status_class", classes[c], NULL },
						    (double)n);
			}
	}
	expo_family(e, "http_server_errors", EXPO_COUNTER, NULL,
		    "HTTP requests answered with a 5xx status, by method and route.");
	for (size_t slot = 1; slot < m.route_slots + 2; slot++) {
		struct http_route *r = route_at(slot);
		if (slot > 1 && !atomic_load_explicit(&r->hash, memory_order_acquire))
			continue;
		for (unsigned mi = 0; mi < HTTP_METHODS; mi++) {
			uint64_t n = atomic_load_explicit(&r->requests[mi][5], memory_order_relaxed);
			if (n)
				expo_sample(e, (const char *const[]){ "http_request_method", http_methods[mi],
								      "http_route", slot == 1 ? "other" : r->name, NULL },
					    (double)n);
		}
	}
	double dur_bounds[HTTP_BUCKETS], sz_bounds[SIZE_BUCKETS];
	bounds_seconds(http_bounds_ns, dur_bounds, HTTP_BUCKETS);
	for (size_t i = 0; i < SIZE_BUCKETS; i++)
		sz_bounds[i] = (double)size_bounds[i];
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			expo_family(e, "http_server_request_duration_seconds", EXPO_HISTOGRAM, "seconds",
				    "Duration of HTTP server requests.");
		else
			expo_family(e, "http_server_response_body_size_bytes", EXPO_HISTOGRAM, "bytes",
				    "Size of HTTP server response bodies.");
		for (size_t i = 0; i < m.series_slots; i++) {
			struct http_series *s = &m.series[i];
			uint64_t key = atomic_load_explicit(&s->key, memory_order_acquire);
			if (!key)
				continue;
			size_t slot = key >> 24;
			char status[16];
			status_text(key, status, sizeof(status));
			const char *labels[] = { "http_request_method", http_methods[(key >> 12) & 0xfff],
						 "http_route", slot == 1 ? "other" : route_at(slot)->name,
						 "http_response_status_code", status, NULL };
			uint64_t counts[HTTP_BUCKETS + 1];
			if (pass == 0) {
				load_counts(s->dur, counts, HTTP_BUCKETS + 1);
				expo_histogram(e, labels, dur_bounds, counts, HTTP_BUCKETS,
					       (double)atomic_load(&s->dur_sum_ns) / 1e9);
			} else {
				load_counts(s->size, counts, SIZE_BUCKETS + 1);
				expo_histogram(e, labels, sz_bounds, counts, SIZE_BUCKETS,
					       (double)atomic_load(&s->size_sum));
			}
		}
	}
}

static size_t body(void *arg, enum expo_format fmt, char *buf, size_t cap)
{
	(void)arg;
	struct expo e;
	expo_init(&e, buf, cap, fmt);
	struct procfs_process p;
	char failed[128];
	procfs_read_process(0, &p, failed, sizeof(failed));
	expo_process(&e, &p);
	own_metrics(&e);
	span_metrics(&e);
	expo_family(&e, "oneprof_user_value", EXPO_GAUGE, NULL,
		    "The program's counters (oneprof_counter_add/set), by name.");
	counters_each(on_counter, &e);
	http_metrics(&e);
	atomic_fetch_add(&m.scrapes, 1);
	return expo_finish(&e);
}

static void *server_main(void *arg)
{
	(void)arg;
	heap_busy_enter(); /* nothing here is the program's */
	while (!atomic_load(&m.stop)) {
		int rc = httpd_serve_once(m.lfd, m.wake_fd, 1000, body, NULL, m.out, m.out_cap);
		if (rc < 0) {
			fprintf(stderr, "oneprof: metrics endpoint stopped: %s; profiling continues\n",
				strerror(-rc));
			break;
		}
	}
	return NULL;
}

/* --- lifecycle --- */

/* Mapped once per process: a later recording (a session) serves on with
 * the tables and histograms of the first, since the program's threads
 * may be updating them at any moment. */
static bool map_tables(void)
{
	if (m.spans && m.routes && m.series && m.out)
		return true;
	m.span_slots = pow2_at_least(2 * (size_t)agent.cfg.metrics_span_names);
	m.route_slots = pow2_at_least(2 * (size_t)agent.cfg.http_routes);
	m.series_slots = pow2_at_least(2 * (size_t)agent.cfg.http_series);
	m.out_cap = agent.cfg.metrics_max_bytes;
	m.spans = map(m.span_slots * sizeof(*m.spans));
	m.routes = map(m.route_slots * sizeof(*m.routes));
	m.series = map(m.series_slots * sizeof(*m.series));
	m.out = map(m.out_cap);
	return m.spans && m.routes && m.series && m.out;
}

void metrics_start(void)
{
	if (!agent.cfg.metrics_addr[0] || agent.cfg.descendant)
		return;
	char text[96], why[256];
	struct httpd_addr a;
	if (httpd_parse_addr(agent.cfg.metrics_addr, &a, why, sizeof(why)) != 0)
		return; /* the config loader refused it already */
	httpd_addr_text(&a, text, sizeof(text));
	int fd = httpd_listen(&a, &m.bound);
	if (fd < 0) {
		fprintf(stderr,
			"oneprof: cannot serve metrics on %s (ONEPROF_METRICS_ADDR=%s): %s; metrics "
			"disabled; profiling continues (choose a free port, or port 0 for any)\n",
			text, agent.cfg.metrics_addr, strerror(-fd));
		return;
	}
	m.lfd = fd;
	m.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!map_tables() || m.wake_fd < 0) {
		fprintf(stderr, "oneprof: cannot serve metrics on %s: out of memory; metrics "
			"disabled; profiling continues (lower ONEPROF_METRICS_MAX_BYTES)\n", text);
		close(fd);
		m.lfd = -1;
		return;
	}
	atomic_store(&m.on, true);
	atomic_store(&m.stop, false);
	int rc = threads_create_unprofiled(&m.thread, server_main, NULL);
	if (rc != 0) {
		fprintf(stderr, "oneprof: cannot start the metrics thread: %s; metrics disabled; "
			"profiling continues\n", strerror(rc));
		atomic_store(&m.on, false);
		close(fd);
		m.lfd = -1;
		return;
	}
	m.thread_started = true;
	httpd_addr_text(&m.bound, text, sizeof(text));
	fprintf(stderr, "oneprof: metrics on http://%s/metrics\n", text);
}

void metrics_stop(void)
{
	if (!m.thread_started)
		return;
	atomic_store(&m.stop, true);
	uint64_t one = 1;
	if (write(m.wake_fd, &one, sizeof(one)) < 0) {
		/* the thread still sees m.stop within its poll timeout */
	}
	pthread_join(m.thread, NULL);
	m.thread_started = false;
	atomic_store(&m.on, false);
	close(m.lfd);
	close(m.wake_fd);
	m.lfd = m.wake_fd = -1;
}

/* In a fork child: the server thread is the parent's; the child serves
 * nothing (a second server could not bind the same port anyway). */
void metrics_forget(void)
{
	atomic_store(&m.on, false);
	m.thread_started = false;
	if (m.lfd >= 0)
		close(m.lfd);
	if (m.wake_fd >= 0)
		close(m.wake_fd);
	m.lfd = m.wake_fd = -1;
	pthread_mutex_init(&m.routes_lock, NULL);
}
