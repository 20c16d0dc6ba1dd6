/* Private interface between the files of the in-process agent
 * (liboneprof.so). Nothing here is exported: the version script exports
 * only the public API of include/oneprof.h and the interposed libc calls.
 *
 * Threads of the agent's design:
 *   - application threads: the SIGPROF handler writes raw samples into the
 *     thread's own ring (async-signal-safe: no malloc, lock or stdio);
 *   - one writer thread: drains the rings, interns stacks, records module
 *     mappings and writes the capture. */
#ifndef AGENT_H
#define AGENT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ring.h"

#define AGENT_HIDDEN __attribute__((visibility("hidden")))

/* A CPU sample in a ring: SAMPLE_WORDS header words, then the frames.
 *   [0] length in words (the ring's), [1] time since start (ns),
 *   [2] count (low 32 bits) | walk end reason << 32 | frames << 40,
 *   [3] CPU time of the thread since its previous sample (ns),
 *   [4] the thread's label set (labels.c). */
#define SAMPLE_WORDS 5
/* [2] packs count (low 24 bits) | thread state << 24 (CAPTURE_STATE_*,
 * wall-clock mode) | walk end reason << 32 | frames << 40. */
#define SAMPLE_COUNT_MASK 0xffffffu

/* A wall-clock ticker sample: the same header plus [5] the agent_thread.
 * End reason WALL_REPEAT with no frames: "the stack of this thread's
 * latest sample, again". */
#define WALL_WORDS 6
#define WALL_REPEAT 0xffu
#define WALL_BLOCKED_MAX 128

/* A thread's heap events (heap.c) go to two rings. Its stream ring
 * (ring.h) holds the events as the thread encoded them for its
 * HEAP_STREAM (doc/capture-format.md), which the writer copies out
 * without decoding them. What the writer must do before an event goes in
 * a record of the thread's heap ring, its side ring:
 *   [0] length in words | HEAP_REC_* flags | stack slot <<
 *       HEAP_REC_SLOT_SHIFT | label set << 32,
 *   [1] the stream position of the event it goes before,
 *   then with HEAP_REC_PCS a word of walk end reason | frames << 8 and
 *   the frames, the stack the slot names from that event on (the writer
 *   interns it and puts the slot's definition in the stream); with
 *   HEAP_REC_OBSERVED the allocation's time (ticks), address and size,
 *   for the writer's observers.
 * HEAP_REC_RESET: the thread's time, address and slots start over with
 * the event (a new thread, or a new recording); the writer says so in
 * the stream first. HEAP_REC_LABELS: the event names a label set that
 * the thread has not named since its stream started; the writer defines
 * it in the capture first.
 * The orphan ring's events (heap.c) are records of their own: [0] length
 * | HEAP_REC_ALLOC, [1] time (ticks), [2] address, [3] tid, and for an
 * allocation [4] size, [5] the caller.
 * Bit 63 stays clear: the ring's padding mark. */
#define HEAP_REC_LEN(w0) ((w0) & 0xff)
#define HEAP_REC_ALLOC (1ull << 8)
#define HEAP_REC_PCS (1ull << 9)
#define HEAP_REC_RESET (1ull << 10)
#define HEAP_REC_OBSERVED (1ull << 11)
#define HEAP_REC_LABELS (1ull << 12)
#define HEAP_REC_SLOT_SHIFT 16
#define HEAP_REC_SLOT(w0) ((unsigned)((w0) >> HEAP_REC_SLOT_SHIFT) & (HEAP_SEEN - 1))
#define HEAP_REC_LABEL_SET(w0) ((uint32_t)((w0) >> 32))
/* An event's bytes at most: head, address, size, slot, label set */
#define HEAP_REC_MAX_BYTES 40
_Static_assert(HEAP_REC_MAX_BYTES <= STREAM_RING_SLACK, "an event fits the slack past the ring");
/* Heap streams count time in units of 2^HEAP_TICK_SHIFT event-clock ticks
 * (6 ns at 2.5 GHz), their HEAP_CLOCK points too: a thread's events are
 * tens of ns apart, and the difference then mostly fits the head's first
 * byte. */
#define HEAP_TICK_SHIFT 4
#define HEAP_MAX_DEPTH 128 /* frames of an allocation's stack, at most */
#define HEAP_SEEN 4096     /* per-thread cache of stacks sent: slots */
_Static_assert(HEAP_SEEN <= 1u << (32 - HEAP_REC_SLOT_SHIFT), "a slot fits its bits");
_Static_assert(2 + 1 + HEAP_MAX_DEPTH + 3 <= 0xff, "a side record's length fits its bits");
/* Per-thread cache of recent stack walks (heap.c), after the HEAP_SEEN
 * hashes in the memory mapped with the thread's heap ring. */
#define HEAP_STACK_CACHE_BYTES (80u << 10)

/* Instrumentation (include/oneprof.h): observers (observe.c) and label
 * sets (labels.c). The writer hands each event to the observers of its
 * kind; observe_wanted() is the cheap test before building one. */
struct oneprof_event;
bool observe_wanted(int kind) AGENT_HIDDEN;
extern _Atomic unsigned observe_count[] AGENT_HIDDEN;
/* Whether allocations have observers (observe_count[ONEPROF_EVENT_ALLOC]):
 * the heap hooks' test, inline. */
static inline bool observe_allocs_wanted(void)
{
	return __builtin_expect(atomic_load_explicit(&observe_count[3], memory_order_relaxed) != 0, 0);
}
void observe_emit(const struct oneprof_event *ev) AGENT_HIDDEN;

/* Writer side of labels.c and counters.c: define label sets up to id in
 * the capture; write the counters that changed. *_forget: in a followed
 * fork child, whose capture starts empty. */
void labels_define(uint32_t id) AGENT_HIDDEN;
void labels_forget(void) AGENT_HIDDEN;
void counters_write(uint64_t time) AGENT_HIDDEN;
void counters_forget(void) AGENT_HIDDEN;
/* Every counter's name and value, for the metrics endpoint (any thread). */
void counters_each(void (*fn)(const char *name, int64_t value, void *arg), void *arg) AGENT_HIDDEN;

/* Timers, best first; ONEPROF_TIMER picks the first one to try. */
enum sampler_kind {
	SAMPLER_PERF = 0, /* perf_event task clock per thread */
	SAMPLER_TIMER,    /* timer_create(CLOCK_THREAD_CPUTIME_ID) per thread */
	SAMPLER_ITIMER,   /* setitimer(ITIMER_PROF), process-wide */
	SAMPLER_WALL,     /* wall-clock ticker thread (ONEPROF_WALL=1) */
};

struct agent_config {
	char output[4096]; /* as configured; agent.path is the file written */
	bool output_default; /* ONEPROF_OUTPUT unset: oneprof.PID.opf */
	unsigned hz;
	int signo;
	bool signal_chosen; /* ONEPROF_SIGNAL named it: never SIGTRAP delivery */
	unsigned timer; /* enum sampler_kind to try first */
	bool descendant; /* under 'oneprof record', not the recorded process */
	bool follow_fork; /* a forked child keeps profiling into its own capture */
	bool inherit;     /* programs this one execs are profiled too */
	bool start_paused;
	int toggle_signo; /* 0: none */
	bool wall;        /* wall-clock sampling: running and blocked threads */
	unsigned max_depth;
	uint64_t ring_bytes;
	unsigned flush_ms;
	bool heap;            /* track the malloc family */
	uint64_t heap_sample; /* mean bytes between samples; 0: every event */
	uint64_t heap_ring_bytes;
	/* Spans (spans.c) */
	bool spans;              /* ONEPROF_SPANS */
	uint64_t span_ring_bytes;
	unsigned span_mode;      /* 0: drop, 1: flight recorder */
	unsigned span_window;    /* flight recorder: seconds kept */
	uint64_t span_min_ns;    /* shorter spans are left out */
	unsigned span_max_depth; /* deeper spans are not recorded */
	int dump_signo;          /* 0: none */
	/* Metrics endpoint (metrics.c) */
	char metrics_addr[128];      /* ONEPROF_METRICS_ADDR; empty: no endpoint */
	uint64_t metrics_max_bytes;  /* exposition buffer */
	unsigned metrics_span_names; /* span names with a histogram */
	unsigned http_routes;        /* routes before route="other" */
	unsigned http_series;        /* (method, route, status) histogram series */
	/* Monitor (monitor.c) */
	unsigned monitor_ms;       /* ONEPROF_MONITOR: interval; 0: off */
	uint64_t max_overhead_ppm; /* ONEPROF_MAX_OVERHEAD, of one core; 0: no budget */
};

enum agent_state {
	AGENT_OFF = 0,   /* not started, disabled by bad config, or a forked child */
	AGENT_RUNNING,
	AGENT_STOPPING,  /* exit in progress: the handler takes no more samples */
};

/* A thread's heap totals: every allocation call and free, sampled or
 * not. allocs and bytes are not neighbours: the compiler would add the
 * pair with vector instructions, twice as many as two adds, in the quick
 * path of every malloc. */
struct heap_counts {
	uint64_t allocs, frees, bytes;
};

/* One profiled thread. Allocated when the thread registers, freed by the
 * writer after the thread exited and its ring was drained. */
struct agent_thread {
	struct agent_thread *next;
	pid_t tid;
	pthread_t self;
	uint64_t start_ns, end_ns;
	uintptr_t stack_lo, stack_hi; /* bounds for the frame-pointer walk */
	uint64_t last_cpu_ns;         /* thread CPU time at its previous sample */
	unsigned epoch;               /* agent.epoch at its previous sample */
	uint64_t cpu_ns;              /* thread CPU time at exit */
	timer_t timer;
	bool has_timer;
	int perf_fd; /* -1 when the thread has no perf event */
	_Atomic bool exited;
	_Atomic bool name_dirty;
	bool announced;               /* THREAD record written */

	/* Wall-clock mode. The ticker's view (ticker-owned): */
	bool wall_seen, wall_signalled;
	unsigned wall_state;
	uint64_t wall_cpu_ns, wall_pc;
	/* Count and state of the sample the ticker's signal asks for. */
	_Atomic uint64_t wall_pending;
	/* The thread's CPU time as its handler last saw it. */
	_Atomic uint64_t wall_handler_cpu_ns;
	/* The caller's stack while in an interposed blocking call (seqlock,
	 * written by the thread itself). */
	_Atomic unsigned blocked_seq;
	unsigned blocked_n;
	uint64_t blocked[WALL_BLOCKED_MAX];
	uint64_t wall_last_stack; /* writer-owned: stack id of its latest sample */
	char name[16];
	struct ring *ring;
	/* Its current label set (labels.c): set by the thread, read by its
	 * handler, its heap hooks and the wall-clock ticker. */
	_Atomic uint32_t labels;

	/* Heap tracking (owner: the thread; totals read by the writer). The
	 * rings are both there or neither. */
	struct stream_ring *heap_stream;
	struct ring *heap_ring; /* side records */
	uint64_t *heap_seen; /* HEAP_SEEN stacks already sent, by hash: heap.c */
	unsigned heap_seen_gen;
	unsigned heap_next_slot; /* the stream slot the next stack sent takes */
	bool heap_reset_due; /* the next event starts the stream over */
	/* Of the previous event sent: time (in stream units), address */
	uint64_t heap_last_time, heap_last_addr;
	uint32_t heap_labels_sent; /* the label set last named in a side record */
	uint64_t heap_rng; /* sampled mode: spaces the samples */
	/* The thread's TLS block while it runs, which holds its heap totals
	 * and countdown; NULL once its exit folded the totals into
	 * heap_final. Changed and read through under threads_lock. */
	struct agent_tls *tls;
	struct heap_counts heap_final;
	uint64_t heap_totals_sent; /* writer-owned: allocs last written */

	/* Spans: the thread's span ring, mapped on its first span call, and
	 * the writer's state for it (writer-owned). */
	struct spans_ring *_Atomic span_ring;
	struct spans_wthread *span_w;
};

struct agent {
	_Atomic int state;
	struct agent_config cfg;
	pid_t pid;
	char path[4096];   /* the capture being written */
	bool forked;       /* a forked child followed into its own capture */
	uint64_t start_ns; /* CLOCK_MONOTONIC at start */
	uint64_t period_ns;
	/* The sampling rate now: cfg.hz unless the overhead budget lowered
	 * it (sampler_set_hz()). */
	_Atomic unsigned hz;
	enum sampler_kind sampler;
	int fd;
	_Atomic bool paused;     /* oneprof_stop() or the toggle signal */
	_Atomic unsigned epoch;  /* counts resumes: CPU time restarts from there */

	pthread_mutex_t threads_lock; /* guards the list, never taken in the handler */
	struct agent_thread *threads;

	/* Signals that found no registered thread or no room. */
	_Atomic uint64_t lost_no_ring;

	pthread_t writer;
	bool writer_started;
	/* Bumped to wake the writer (a futex word: hooks may wake it, and
	 * they take no lock). */
	_Atomic uint32_t wake_seq;
	_Atomic bool stop_writer;
	/* writer_sync() asks for a drain and flush now (sync_seq) and waits
	 * until the writer says it is done (sync_done, a futex word). */
	_Atomic uint32_t sync_seq, sync_done;
	/* Bumped when a recording starts (its stack ids start at 1 again):
	 * threads then forget which stacks they sent. */
	_Atomic unsigned stack_gen;

	/* In-process sessions (oneprof_session_begin): this recording was
	 * begun by a call, not by the constructor; the library is preloaded
	 * or linked (its malloc and pthread_create are the program's); the
	 * process-wide hooks (atfork, fatal signals, thread key) are set. */
	bool session;
	bool interposing;
	bool hooks_installed;
	bool finished_once; /* a recording ended: the next begin resets first */
};

extern struct agent agent AGENT_HIDDEN;

/* In an interposed libc function: `real`, the next definition of the same
 * name (looked up once); without one, the function fails with ENOSYS. */
#define AGENT_REAL(name)                                                \
	static __typeof__(name) *real;                                  \
	if (!real)                                                      \
		real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);     \
	if (!real) {                                                    \
		errno = ENOSYS;                                         \
		return -1;                                              \
	}

uint64_t agent_now_ns(void) AGENT_HIDDEN;

/* ticks.c: the clock heap and span events are stamped with (TSC counts
 * where the TSC is invariant, else ns), 56 bits since the capture start;
 * the writer converts them to ns since the start. */
#define TICKS_MASK ((1ull << 56) - 1)
extern bool ticks_tsc AGENT_HIDDEN;
extern uint64_t ticks_tsc0 AGENT_HIDDEN;
static inline uint64_t ticks_rdtsc(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
#else
	return 0;
#endif
}
static inline uint64_t ticks_now(void)
{
	if (__builtin_expect(ticks_tsc, 1))
		return (ticks_rdtsc() - ticks_tsc0) & TICKS_MASK;
	return (agent_now_ns() - agent.start_ns) & TICKS_MASK;
}
/* At the capture start, before any event. */
void ticks_start(void) AGENT_HIDDEN;
/* The writer, once a drain: a calibration point, returned as ticks;
 * events stamped before it are in their rings (bar one caught between
 * its clock and its commit). */
uint64_t ticks_calibrate(void) AGENT_HIDDEN;
uint64_t ticks_latest(void) AGENT_HIDDEN;
uint64_t ticks_latest_ns(void) AGENT_HIDDEN;
/* The writer's conversion (not thread-safe: the writer's alone), inline
 * for the segment between two calibration points that the last one used:
 * ns = hi_ns - (hi - ticks) * mult / 2^32 for lo <= ticks <= hi. */
struct ticks_segment {
	uint64_t lo, hi, hi_ns, mult;
};
extern struct ticks_segment ticks_seg AGENT_HIDDEN;
uint64_t ticks_to_ns_slow(uint64_t ticks) AGENT_HIDDEN;
static inline uint64_t ticks_to_ns(uint64_t ticks)
{
	const struct ticks_segment *g = &ticks_seg;
	if (__builtin_expect(ticks >= g->lo && ticks <= g->hi, 1))
		return g->hi_ns - (uint64_t)(((unsigned __int128)(g->hi - ticks) * g->mult) >> 32);
	return ticks_to_ns_slow(ticks);
}
/* Stops sampling and completes the capture (END record); false when the
 * agent was not running in this process. Used at exit and before exec. */
bool agent_finish(void) AGENT_HIDDEN;
/* Creates the first free BASE.PID or BASE.PID.N; its fd, name in out. */
int agent_free_name(const char *base, char *out, size_t cap) AGENT_HIDDEN;
/* CPU time of the calling thread; async-signal-safe. */
uint64_t thread_cpu_ns(void) AGENT_HIDDEN;

/* config.c */
int agent_config_load(struct agent_config *cfg) AGENT_HIDDEN;
/* Whether the environment holds any ONEPROF_* setting of the agent (the
 * Python binding's own variables aside). */
bool agent_config_env_given(void) AGENT_HIDDEN;
/* A session's configuration: the table's defaults, settings given as
 * "NAME=VALUE ..." (ONEPROF_* names, prefix optional), output as given.
 * -EINVAL etc. with a message in err. */
int agent_config_session(struct agent_config *cfg, const char *output, const char *settings,
			 char *err, size_t errlen) AGENT_HIDDEN;

/* sampler.c */
int sampler_install(void) AGENT_HIDDEN;
/* Creates the thread's timer, armed unless sampling is paused. */
int sampler_thread_start(struct agent_thread *t) AGENT_HIDDEN;
void sampler_thread_arm(struct agent_thread *t, bool on) AGENT_HIDDEN;
void sampler_thread_stop(struct agent_thread *t) AGENT_HIDDEN;
/* The process-wide part of the timer (setitimer), if any. */
void sampler_start_process(void) AGENT_HIDDEN;
void sampler_stop_process(void) AGENT_HIDDEN;
void sampler_uninstall(void) AGENT_HIDDEN;
/* Samples at hz from now on, every thread re-armed (the overhead
 * budget); the per-thread timers only, not the wall-clock ticker. */
void sampler_set_hz(unsigned hz) AGENT_HIDDEN;
const char *sampler_name(void) AGENT_HIDDEN;
/* The sampling signal's handler, for trap.c's SIGTRAP handler. */
void sampler_on_signal(int sig, siginfo_t *si, void *uc) AGENT_HIDDEN;

/* trap.c: samples delivered as SIGTRAP by sigtrap perf events (one
 * interrupt a sample instead of two). TRAP_SIG_DATA marks the agent's. */
#define TRAP_SIG_DATA 0x6f6e6570726f66ul /* "oneprof" */
bool trap_can_deliver(void) AGENT_HIDDEN;
int trap_install(void) AGENT_HIDDEN;
void trap_uninstall(void) AGENT_HIDDEN;

/* The thread's own agent state, read by every interposed malloc call:
 * one initial-exec TLS block (so reading it never allocates), and one
 * lookup of its offset finds all fields, on one cache line. */
struct agent_tls {
	struct agent_thread *self; /* the thread's record once registered */
	/* Non-zero while the thread runs inside a hook or the agent's own
	 * code: its allocations are not the program's. Changed only by
	 * heap_busy_enter() and heap_busy_leave(). */
	unsigned heap_busy;
	/* self while heap_busy is 0, else NULL: the one question the quick
	 * paths of malloc and free ask of the thread (heap.c). */
	struct agent_thread *heap_quick;
	/* Sampled mode: bytes to the next sample. Here, with the totals,
	 * and not in the thread's record: a sampled malloc then reads one
	 * line it had to read anyway, where the record's line was a second
	 * dependent load, and a cache miss as often as not. */
	int64_t heap_countdown;
	struct heap_counts heap;
} __attribute__((aligned(64)));
extern __thread struct agent_tls agent_tls __attribute__((tls_model("initial-exec"))) AGENT_HIDDEN;

/* A thread's heap totals, alive or ended; under threads_lock. */
static inline struct heap_counts *thread_heap_counts(struct agent_thread *t)
{
	return t->tls ? &t->tls->heap : &t->heap_final;
}

static inline void heap_busy_enter(void)
{
	if (agent_tls.heap_busy++ == 0)
		agent_tls.heap_quick = NULL;
}

static inline void heap_busy_leave(void)
{
	if (--agent_tls.heap_busy == 0)
		agent_tls.heap_quick = agent_tls.self;
}

static inline void agent_set_self(struct agent_thread *t)
{
	agent_tls.self = t;
	agent_tls.heap_quick = agent_tls.heap_busy ? NULL : t;
}

/* control.c */
void control_poll(void) AGENT_HIDDEN;
void control_install_toggle(void) AGENT_HIDDEN;
void control_drop_preload(void) AGENT_HIDDEN;

/* wall.c */
int wall_start(void) AGENT_HIDDEN;
void wall_stop(void) AGENT_HIDDEN;
void wall_forget(void) AGENT_HIDDEN;
void wall_release(void) AGENT_HIDDEN; /* before a second recording */
struct ring *wall_ring(void) AGENT_HIDDEN;

/* heap.c */
int heap_start(void) AGENT_HIDDEN;
void heap_switch(bool on) AGENT_HIDDEN;
void heap_forget(void) AGENT_HIDDEN;
void heap_thread_init(struct agent_thread *t) AGENT_HIDDEN;
void heap_wake_writer(void) AGENT_HIDDEN;
/* The writer drained the heap rings: wakes threads waiting for room. */
void heap_note_drained(void) AGENT_HIDDEN;
/* The writer made room in the heap rings during a drain: wakes threads
 * waiting for it, if any (one load when none). */
void heap_room_made(void) AGENT_HIDDEN;
/* Whether a thread waits for room in its heap ring. */
bool heap_threads_waiting(void) AGENT_HIDDEN;
struct ring *heap_orphan_ring(void) AGENT_HIDDEN;
/* Events lost since the last call: ring full, sample table full, made
 * after the capture ended. */
void heap_lost_counts(uint64_t *ring_full, uint64_t *table_full, uint64_t *stopped) AGENT_HIDDEN;

/* spans.c */
void spans_start(void) AGENT_HIDDEN;
/* Sets oneprof_spans_on: true while the agent runs with ONEPROF_SPANS=1. */
void spans_running(bool on) AGENT_HIDDEN;
void spans_fork_child(struct agent_thread *self) AGENT_HIDDEN;
/* Before a second recording: sites, notes and each live thread's writer
 * state start over (the rings stay mapped: their threads hold them). */
void spans_session_reset(void) AGENT_HIDDEN;
void spans_thread_exit(void) AGENT_HIDDEN;
void spans_ignore_thread(void) AGENT_HIDDEN;
void spans_thread_free(struct agent_thread *t) AGENT_HIDDEN;
/* The writer's drain, after its calibration point (ticks_calibrate):
 * each thread (threads_lock held), end (notes, a dump's completion). */
void spans_drain_thread(struct agent_thread *t, bool at_exit) AGENT_HIDDEN;
void spans_drain_end(bool at_exit) AGENT_HIDDEN;
/* Whether an exited thread's span events are all handled (flight mode
 * keeps them for the window). */
bool spans_thread_done(struct agent_thread *t) AGENT_HIDDEN;
/* Spans the writer has taken in so far. */
uint64_t spans_taken(void) AGENT_HIDDEN;

/* threads.c */
struct agent_thread *threads_register_self(void) AGENT_HIDDEN;
/* Unmaps the thread's rings and frees it. */
void threads_free(struct agent_thread *t) AGENT_HIDDEN;
/* In a followed fork child: the thread that forked, alone, samples on. */
void threads_adopt_self(struct agent_thread *t) AGENT_HIDDEN;
void threads_init(void) AGENT_HIDDEN;
void threads_stop_all(void) AGENT_HIDDEN;
/* Starts one of the agent's own threads: unprofiled, every signal
 * blocked, its CPU time counted in threads_own_cpu_ns() (the agent's
 * own threads, live and ended). */
int threads_create_unprofiled(pthread_t *th, void *(*fn)(void *), void *arg) AGENT_HIDDEN;
uint64_t threads_own_cpu_ns(void) AGENT_HIDDEN;
void threads_own_forget(void) AGENT_HIDDEN; /* in a fork child */
/* Before a second recording: threads that exited are freed, live ones
 * are made new (empty rings, no THREAD record yet) and re-armed by
 * threads_rearm() once the new recording runs. */
void threads_session_reset(void) AGENT_HIDDEN;
void threads_rearm(void) AGENT_HIDDEN;

/* metrics.c: the metrics endpoint. Start and stop with the agent (not
 * in descendants), forget in a fork child; the writer reports samples,
 * losses and span ends. */
void metrics_start(void) AGENT_HIDDEN;
void metrics_stop(void) AGENT_HIDDEN;
void metrics_forget(void) AGENT_HIDDEN;
void metrics_note_samples(uint64_t count) AGENT_HIDDEN;
void metrics_note_lost(uint64_t source, uint64_t count) AGENT_HIDDEN;
void metrics_span_end(const char *name, uint64_t dur_ns) AGENT_HIDDEN;

/* monitor.c: the monitor thread (ONEPROF_MONITOR) and the overhead
 * budget; monitor_write() is the writer's side, one METRIC record per
 * series and snapshot; it returns the time of the last snapshot written
 * (0: none). monitor_handler_ns: time the sampling handler spent on the
 * program's threads, summed by the handler. */
int monitor_start(void) AGENT_HIDDEN;
void monitor_stop(void) AGENT_HIDDEN;
void monitor_forget(void) AGENT_HIDDEN;
uint64_t monitor_write(void) AGENT_HIDDEN;
extern _Atomic uint64_t monitor_handler_ns AGENT_HIDDEN;

/* writer.c */
int writer_start(void) AGENT_HIDDEN;
/* Completes the capture; returns the samples, heap events and spans it
 * holds. */
uint64_t writer_finish(void) AGENT_HIDDEN;
/* In a fork child: drops the parent's writer state without freeing it. */
void writer_forget(void) AGENT_HIDDEN;
/* Before a second recording in the same process: frees what the last
 * one's writer kept and starts from nothing. */
void writer_release(void) AGENT_HIDDEN;
/* Has the writer drain every ring and flush now, and waits for it at most
 * timeout_ms: before a dlclose (the library's frames get their mapping
 * while it is still loaded) and on a fatal signal. Async-signal-safe. */
void writer_sync(unsigned timeout_ms) AGENT_HIDDEN;
/* For the writer thread's helpers: the capture being written, and the id
 * of a string in it (written the first time it is asked for). */
struct capture_writer *writer_capture(void) AGENT_HIDDEN;
uint64_t writer_string_id(const char *str) AGENT_HIDDEN;
/* A LOST record: count events of a source lost for a reason. */
void writer_lost(uint64_t source, uint64_t reason, uint64_t count) AGENT_HIDDEN;
/* Records a pause or resume (threads_lock held). */
void writer_note_pause(bool paused) AGENT_HIDDEN;

#endif
