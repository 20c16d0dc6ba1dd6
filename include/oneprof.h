/* oneprof public C API.
 *
 * liboneprof.so is the in-process agent. Loaded with LD_PRELOAD (which
 * 'oneprof record' does), it samples every thread of the program and
 * writes a capture; its settings come from ONEPROF_* environment
 * variables (see doc/oneprof-record.md). The calls below let a program
 * that links it ask about the agent, and instrument itself: spans, labels,
 * counters, operation counts and runtime events (doc/instrumentation.md).
 *
 * A program may use this API without linking liboneprof: define
 * ONEPROF_OPTIONAL before including this header and every declaration is
 * weak. Run normally, the macros then do nothing; run under 'oneprof
 * record', the preloaded agent supplies the definitions. Call the
 * functions themselves only where oneprof_spans_on is true, or through
 * the macros, which check. */
#ifndef ONEPROF_H
#define ONEPROF_H

#ifdef __cplusplus
extern "C" {
#endif

#define ONEPROF_VERSION_MAJOR 0
#define ONEPROF_VERSION_MINOR 1
#define ONEPROF_VERSION_PATCH 0
#define ONEPROF_VERSION_STRING "0.1.0"

#if defined(__GNUC__) && defined(ONEPROF_OPTIONAL)
#define ONEPROF_API __attribute__((visibility("default"), weak))
#elif defined(__GNUC__)
#define ONEPROF_API __attribute__((visibility("default")))
#else
#define ONEPROF_API
#endif

/* The version of the loaded agent, e.g. "0.1.0". */
ONEPROF_API const char *oneprof_version(void);

/* 1 when the agent is sampling this process, 0 when it is not (never
 * started, disabled by a bad setting, paused, or in a forked child with
 * ONEPROF_FOLLOW_FORK=0). */
ONEPROF_API int oneprof_is_active(void);

/* The path of the capture being written, or NULL when not active. The
 * string belongs to the agent. */
ONEPROF_API const char *oneprof_output_path(void);

/* Resume and pause sampling, e.g. to profile one window of a long-running
 * service. The agent starts sampling at once unless ONEPROF_PAUSED=1; the
 * toggle signal (ONEPROF_TOGGLE_SIGNAL) flips the same switch from outside.
 * While paused no timer runs. Return 0, or a negative errno value (-ESRCH:
 * the agent is not running in this process). Safe from any thread, not
 * from a signal handler. */
ONEPROF_API int oneprof_start(void);
ONEPROF_API int oneprof_stop(void);

/* --- In-process recordings -----------------------------------------------
 *
 * A program (or a language binding) that loads liboneprof.so itself, with
 * dlopen rather than LD_PRELOAD, records windows of its own run: begin
 * writes a new capture, end completes and closes it (readable at once),
 * and a later begin starts another. Loaded that way the library starts
 * no recording by itself.
 *
 * settings: the ONEPROF_* settings of 'oneprof record' (doc/record.md) as
 * "NAME=VALUE" items separated by spaces, commas or newlines, the prefix
 * optional: "HZ=250 WALL=1". NULL or "" for the defaults.
 *
 * Limits when dlopen'ed: the calling thread is sampled, and every thread
 * that makes a span or pushes a label (it registers then); threads
 * started otherwise are not, and HEAP=1 is refused (-ENOTSUP), since
 * malloc and pthread_create are the agent's only when it is preloaded.
 * Run under 'oneprof record' for every thread and the heap.
 *
 * Return 0 or a negative errno value, with a message from
 * oneprof_last_error(): -EALREADY: a recording is running; -EBUSY: the
 * agent was preloaded and records the whole process (pause and resume it
 * with oneprof_stop/oneprof_start); -EINVAL: a bad setting; -ENOTSUP:
 * HEAP=1 without preloading; -EACCES, -ENOENT...: the output cannot be
 * created; end: -ESRCH: nothing is running; -EPERM: the running
 * recording is the preloaded agent's whole-process one. Not thread-safe:
 * call begin and end from one thread at a time. */
ONEPROF_API int oneprof_session_begin(const char *output, const char *settings);
ONEPROF_API int oneprof_session_end(void);
/* 0: nothing records; 1: a recording begun by oneprof_session_begin(); 2:
 * the preloaded agent's recording of the whole process. */
ONEPROF_API int oneprof_session_active(void);
/* The message of the last failed session call, "" after a success. The
 * string belongs to the agent. */
ONEPROF_API const char *oneprof_last_error(void);

/* --- Spans ---------------------------------------------------------------
 *
 * A span is a named interval on one thread; spans nest. Begin and end cost
 * a timestamp and 16 bytes in the thread's own buffer: no lock, no
 * allocation, no string copy. A name is recorded as its pointer and read
 * when the agent writes the span out, so it must stay valid until the
 * recording ends: a string literal, or a string from oneprof_intern().
 * Spans are not async-signal-safe: never call them from a signal handler.
 *
 * Misuse is counted and reported, never fatal: an end without a begin is
 * ignored, spans still open when their thread exits end there (marked
 * unclosed), a NULL name becomes "(null)", a name over 1024 bytes is cut. */

/* What a span stands for; reports and timelines group by it. */
enum oneprof_kind {
	ONEPROF_KIND_CUSTOM = 0,
	ONEPROF_KIND_FUNCTION = 1,   /* a function of the program or of the language it runs */
	ONEPROF_KIND_MODULE = 2,     /* loading or initialising a module */
	ONEPROF_KIND_EXPRESSION = 3, /* evaluating an expression or statement */
};

/* Where spans begin in the source, in static storage: the fastest way to
 * begin a span (ONEPROF_SPAN makes one per use). file may be NULL, line 0. */
struct oneprof_site {
	const char *name;
	const char *file;
	unsigned line;
	unsigned kind; /* enum oneprof_kind */
};

/* Non-zero while the agent records spans in this process. The macros test
 * it inline, so instrumentation left in costs a load and a branch when
 * nothing records. */
ONEPROF_API extern volatile int oneprof_spans_on;

ONEPROF_API void oneprof_span_begin(const char *name);
ONEPROF_API void oneprof_span_begin_kind(unsigned kind, const char *name);
ONEPROF_API void oneprof_span_begin_site(const struct oneprof_site *site);
/* Ends the innermost open span of the calling thread. */
ONEPROF_API void oneprof_span_end(void);

/* Attributes of the innermost open span. key follows the rule for names;
 * a string value is copied (at most 255 bytes). */
ONEPROF_API void oneprof_span_attr(const char *key, const char *value);
ONEPROF_API void oneprof_span_attr_int(const char *key, long long value);

/* A copy of s that lives until the process exits, the same pointer for
 * equal strings: for names made at run time. Takes a lock; call it once
 * per distinct name, not per span. NULL when s is NULL or memory ran out. */
ONEPROF_API const char *oneprof_intern(const char *s);

/* --- Labels --------------------------------------------------------------
 *
 * Labels say which unit of work a thread is serving ("request=checkout").
 * Every CPU sample and heap event taken while a label is pushed on the
 * thread carries it: pprof exports them as sample labels and reports
 * select them with --tag-focus key=value. key and value are copied. A push
 * costs a hash lookup (it interns the thread's whole label set); at most
 * 65536 distinct sets are kept, later ones count as dropped. */
ONEPROF_API void oneprof_label_push(const char *key, const char *value);
ONEPROF_API void oneprof_label_pop(void);

/* --- Counters, operation counts and runtime events ------------------------
 *
 * Counters are process-wide named values, recorded as time series (about
 * every 50 ms, and at the end): oneprof_counter_add() for totals,
 * oneprof_counter_set() for levels. Names follow the rule for span names. */
ONEPROF_API void oneprof_counter_add(const char *name, long long delta);
ONEPROF_API void oneprof_counter_set(const char *name, long long value);

/* n operations of a kind ("bytecode", "query") done by the calling thread,
 * charged to its innermost open span. */
ONEPROF_API void oneprof_ops(const char *kind, unsigned long long n);

/* A garbage collection on the calling thread, and what it reclaimed. */
ONEPROF_API void oneprof_gc_begin(void);
ONEPROF_API void oneprof_gc_end(unsigned long long bytes_reclaimed);

/* --- HTTP request metrics ----------------------------------------------
 *
 * One served HTTP request, for the metrics endpoint (ONEPROF_METRICS_ADDR,
 * doc/metrics.md): http_server_request_duration_seconds and
 * http_server_response_body_size_bytes histograms by method, route and
 * status code, http_server_requests_total by status class and
 * http_server_errors_total (5xx). route is the route template
 * ("/users/{id}"), not the path, so that series stay few; after
 * ONEPROF_HTTP_ROUTES distinct routes, further ones count as "other".
 * Methods outside RFC 9110 and PATCH count as "_OTHER". A few atomic
 * adds, no allocation; safe from any thread, not from a signal handler.
 * Does nothing unless the endpoint is on. */
ONEPROF_API void oneprof_http_observe(const char *method, const char *route, int status,
				      unsigned long long duration_ns, unsigned long long bytes);

/* --- Observers -----------------------------------------------------------
 *
 * A callback for events as the agent writes them out: on the agent's own
 * writer thread, some milliseconds after the fact, never on the thread
 * that made the event. Rules: return quickly (the writer waits); do not
 * call the span, label or counter API (those calls are ignored there);
 * allocating is fine (not recorded). The event and what it points to are
 * valid during the call only. */
enum oneprof_event_kind {
	ONEPROF_EVENT_SPAN_END = 1,
	ONEPROF_EVENT_SAMPLE = 2,
	ONEPROF_EVENT_ALLOC = 3,
};

struct oneprof_event {
	int kind;                   /* enum oneprof_event_kind */
	int tid;
	unsigned long long time_ns; /* since the recording started; a span's end */
	/* ONEPROF_EVENT_SPAN_END */
	const char *name;
	unsigned span_kind;         /* enum oneprof_kind */
	unsigned depth;             /* 0: outermost */
	unsigned long long duration_ns;
	/* ONEPROF_EVENT_SAMPLE: the stack, leaf first */
	const unsigned long long *pcs;
	unsigned npcs;
	/* ONEPROF_EVENT_ALLOC */
	unsigned long long address, size;
};

typedef void (*oneprof_observer)(const struct oneprof_event *event, void *user);

/* Adds or removes an observer of one event kind (at most 16 in all).
 * Return 0 or a negative errno value (-EINVAL: bad kind, -ENOSPC: full,
 * -ENOENT: removing one never added). */
ONEPROF_API int oneprof_observe(int kind, oneprof_observer fn, void *user);
ONEPROF_API int oneprof_unobserve(int kind, oneprof_observer fn, void *user);

/* Flight-recorder mode (ONEPROF_SPAN_MODE=flight): writes the spans of the
 * last ONEPROF_SPAN_WINDOW seconds now, as ONEPROF_DUMP_SIGNAL does.
 * Returns 0, -ESRCH when the agent is not running, -EINVAL when it is not
 * in flight-recorder mode. */
ONEPROF_API int oneprof_dump(void);

/* --- Macros --------------------------------------------------------------
 *
 * ONEPROF_SPAN("name") opens a span that ends when the enclosing scope
 * does; ONEPROF_FUNCTION() names it after the function. ONEPROF_LABEL(k,
 * v) pushes a label for the rest of the scope. */
struct oneprof_scope {
	int on;
};

static inline int oneprof_scope_begin(const struct oneprof_site *site)
{
#ifdef ONEPROF_OPTIONAL
	if (&oneprof_spans_on == 0)
		return 0;
#endif
	if (__builtin_expect(!oneprof_spans_on, 1))
		return 0;
	oneprof_span_begin_site(site);
	return 1;
}

static inline void oneprof_scope_end(struct oneprof_scope *scope)
{
	if (__builtin_expect(scope->on, 0))
		oneprof_span_end();
}

static inline int oneprof_scope_label(const char *key, const char *value)
{
#ifdef ONEPROF_OPTIONAL
	if (&oneprof_spans_on == 0)
		return 0;
#endif
	if (__builtin_expect(!oneprof_spans_on, 1))
		return 0;
	oneprof_label_push(key, value);
	return 1;
}

static inline void oneprof_scope_unlabel(struct oneprof_scope *scope)
{
	if (__builtin_expect(scope->on, 0))
		oneprof_label_pop();
}

#define ONEPROF_CAT_(a, b) a##b
#define ONEPROF_CAT(a, b) ONEPROF_CAT_(a, b)

#define ONEPROF_SPAN_KIND(kind, name)                                                      \
	static const struct oneprof_site ONEPROF_CAT(oneprof_site_, __LINE__) = {         \
		(name), __FILE__, __LINE__, (kind)                                          \
	};                                                                                 \
	struct oneprof_scope ONEPROF_CAT(oneprof_scope_, __LINE__)                         \
		__attribute__((cleanup(oneprof_scope_end))) = {                            \
			oneprof_scope_begin(&ONEPROF_CAT(oneprof_site_, __LINE__))          \
		}
#define ONEPROF_SPAN(name) ONEPROF_SPAN_KIND(ONEPROF_KIND_CUSTOM, name)
#define ONEPROF_FUNCTION() ONEPROF_SPAN_KIND(ONEPROF_KIND_FUNCTION, __func__)
#define ONEPROF_LABEL(key, value)                                                          \
	struct oneprof_scope ONEPROF_CAT(oneprof_label_, __LINE__)                         \
		__attribute__((cleanup(oneprof_scope_unlabel))) = {                        \
			oneprof_scope_label((key), (value))                                 \
		}

#ifdef __cplusplus
}
#endif

#endif
