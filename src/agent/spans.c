/* Spans, attributes, operation counts and GC events (include/oneprof.h).
 *
 * Producer side: each thread writes 16-byte slots into its own span ring,
 * mmap'ed on its first span call. A slot is
 *   word0 = type << 56 | ticks (56 bits), word1 = payload,
 * and a record of several slots (attributes, ops) continues in SP_CONT
 * slots, whose word0 carries no time, so a reader starting anywhere in the
 * ring finds the next record start. Begin and end cost a timestamp, two
 * stores and a release store of the ring's head: no lock, no allocation,
 * no string copy; names are read by the writer from their pointer.
 *
 * Timestamps are the agent's event ticks (ticks.c), converted by the
 * writer.
 *
 * Drop mode (default): a full ring drops, and keeps the recorded stream
 * balanced: a begin goes in only if the ring also has room for the end of
 * every recorded open span plus its own; once a begin is dropped, the
 * thread's events are dropped until that span ends. Every dropped event
 * is counted, so recorded events plus LOST counts equal the events made.
 *
 * Flight mode: producers overwrite the oldest slots; the writer reads the
 * rings only on a dump and keeps the last ONEPROF_SPAN_WINDOW seconds.
 *
 * Writer side: pairs begins and ends per thread (an open stack), defines
 * span sites before first use, applies the minimum duration, and hands
 * span ends to the observers. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../capture/encoding.h"
#include "../capture/format.h"
#include "../capture/writer.h"
#include "agent.h"
#include "oneprof.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Slot types (word0's top byte). A begin by name carries its kind in the
 * type: SP_BEGIN_NAME + kind, kinds above SP_KIND_MAX as custom. */
enum {
	SP_BEGIN_SITE = 1,
	SP_END = 2,        /* word1: the depth the end returns to */
	SP_ATTR_INT = 3,   /* word1: key; CONT: depth, value */
	SP_ATTR_STR = 4,   /* word1: key; CONT: depth | length << 16, bytes */
	SP_OPS = 5,        /* word1: kind; CONT: depth, n */
	SP_GC_BEGIN = 6,
	SP_GC_END = 7,     /* word1: bytes reclaimed */
	SP_CONT = 8,       /* continues the record before it */
	SP_BEGIN_NAME = 16,
};
#define SP_KIND_MAX 63
#define SP_ATTR_MAX 255
/* Most slots one record takes: an ATTR_STR of 255 bytes. */
#define SP_REC_MAX (2 + (SP_ATTR_MAX + 7) / 8)
#define SP_NAME_MAX 1024

struct spans_slot {
	uint64_t w0, w1;
};

struct spans_ring {
	_Atomic uint64_t head; /* slots written, producer-owned */
	char pad0[56];
	_Atomic uint64_t tail; /* slots consumed (drop mode), writer-owned */
	char pad1[56];
	uint64_t mask;
	/* Counts by the producer (single writer: plain load and store). */
	_Atomic uint64_t dropped, too_deep, end_without_begin;
	/* What the writer reported of them. */
	uint64_t dropped_sent, too_deep_sent, ewb_sent;
	struct spans_slot slots[] __attribute__((aligned(64)));
};

/* The producer's state; the hot path touches only this and the ring. */
enum { SP_NEW = 0, SP_READY, SP_IGNORED };
struct spans_tls {
	struct spans_ring *ring;
	uint64_t head;   /* local copy of ring->head */
	uint64_t limit;  /* cached tail + slots: head may not pass it */
	unsigned depth;  /* recorded open spans */
	unsigned skip;   /* open spans not recorded (dropped or too deep) */
	bool skip_drop;  /* skipping because the ring was full (counted as lost) */
	bool gc_open, gc_skip;
	unsigned fork_ends; /* ends of spans opened before a fork: ignored */
	int state;
};

static __thread struct spans_tls spans_me __attribute__((tls_model("initial-exec")));

volatile int oneprof_spans_on __attribute__((visibility("default")));

static unsigned spans_max_depth = 256;
static bool spans_flight;

/* --- producer --- */

static inline void put(struct spans_tls *me, uint64_t w0, uint64_t w1)
{
	struct spans_slot *s = &me->ring->slots[me->head & me->ring->mask];
	__atomic_store_n(&s->w0, w0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->w1, w1, __ATOMIC_RELAXED);
	me->head++;
}

static inline void publish(struct spans_tls *me)
{
	atomic_store_explicit(&me->ring->head, me->head, memory_order_release);
}

static inline void bump(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static struct spans_ring *ring_map(uint64_t bytes)
{
	uint64_t slots = bytes / sizeof(struct spans_slot);
	void *mem = mmap(NULL, sizeof(struct spans_ring) + bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	struct spans_ring *r = mem;
	r->mask = slots - 1;
	return r;
}

/* First span call of a thread, or any call while not READY. Registers a
 * thread the agent never saw (it existed before the agent was loaded)
 * and maps its ring. False: ignore the call. */
static __attribute__((noinline)) bool spans_attach(struct spans_tls *me)
{
	if (me->state == SP_IGNORED || atomic_load(&agent.state) != AGENT_RUNNING ||
	    !agent.cfg.spans)
		return false;
	if (me->state == SP_READY)
		return true;
	heap_busy_enter();
	struct agent_thread *t = agent_tls.self;
	if (!t)
		t = threads_register_self();
	struct spans_ring *r = t ? ring_map(agent.cfg.span_ring_bytes) : NULL;
	heap_busy_leave();
	if (!r)
		return false;
	me->ring = r;
	me->head = 0;
	me->limit = spans_flight ? UINT64_MAX : r->mask + 1;
	me->state = SP_READY;
	atomic_store_explicit(&t->span_ring, r, memory_order_release);
	return true;
}

/* Room for n more slots besides the ends the open spans need. */
static inline bool room(struct spans_tls *me, uint64_t n)
{
	uint64_t need = me->head + me->depth + me->gc_open + n;
	if (likely(need <= me->limit))
		return true;
	me->limit = atomic_load_explicit(&me->ring->tail, memory_order_acquire) + me->ring->mask + 1;
	return need <= me->limit;
}

static __attribute__((noinline)) void begin_slow(struct spans_tls *me, uint64_t w0, uint64_t w1)
{
	if (me->state != SP_READY && !spans_attach(me))
		return;
	if (me->skip) {
		me->skip++;
		bump(me->skip_drop ? &me->ring->dropped : &me->ring->too_deep);
		return;
	}
	if (me->depth >= spans_max_depth) {
		me->skip = 1;
		me->skip_drop = false;
		bump(&me->ring->too_deep);
		return;
	}
	if (!room(me, 2)) {
		me->skip = 1;
		me->skip_drop = true;
		bump(&me->ring->dropped);
		return;
	}
	put(me, w0 | ticks_now(), w1);
	me->depth++;
	publish(me);
}

static inline void span_begin(uint64_t type, const void *payload)
{
	struct spans_tls *me = &spans_me;
	/* Fast path: ready, not skipping, within the depth, room for the
	 * begin, its end and the ends of every open span. */
	if (likely(me->state == SP_READY && !me->skip && me->depth < spans_max_depth &&
		   me->head + me->depth + me->gc_open + 2 <= me->limit)) {
		struct spans_slot *s = &me->ring->slots[me->head & me->ring->mask];
		s->w0 = type << 56 | ticks_now();
		s->w1 = (uint64_t)(uintptr_t)payload;
		me->head++;
		me->depth++;
		atomic_store_explicit(&me->ring->head, me->head, memory_order_release);
		return;
	}
	begin_slow(me, type << 56, (uint64_t)(uintptr_t)payload);
}

ONEPROF_API void oneprof_span_begin_site(const struct oneprof_site *site)
{
	span_begin(SP_BEGIN_SITE, site);
}

ONEPROF_API void oneprof_span_begin_kind(unsigned kind, const char *name)
{
	span_begin(SP_BEGIN_NAME + (kind <= SP_KIND_MAX ? kind : 0), name);
}

ONEPROF_API void oneprof_span_begin(const char *name)
{
	span_begin(SP_BEGIN_NAME + ONEPROF_KIND_CUSTOM, name);
}

static __attribute__((noinline)) void end_slow(struct spans_tls *me)
{
	/* Attach even here: an end on a thread's first call is misuse to
	 * count. */
	if (me->state != SP_READY && !spans_attach(me))
		return;
	if (me->skip) {
		if (me->skip_drop)
			bump(&me->ring->dropped);
		me->skip--;
		return;
	}
	if (me->depth == 0) {
		if (me->fork_ends)
			me->fork_ends--; /* opened in the parent: its capture's business */
		else
			bump(&me->ring->end_without_begin);
		return;
	}
	/* The room was set aside when the span began. */
	me->depth--;
	put(me, (uint64_t)SP_END << 56 | ticks_now(), me->depth);
	publish(me);
}

ONEPROF_API void oneprof_span_end(void)
{
	struct spans_tls *me = &spans_me;
	if (likely(me->state == SP_READY && !me->skip && me->depth)) {
		struct spans_slot *s = &me->ring->slots[me->head & me->ring->mask];
		me->depth--;
		s->w0 = (uint64_t)SP_END << 56 | ticks_now();
		s->w1 = me->depth;
		me->head++;
		atomic_store_explicit(&me->ring->head, me->head, memory_order_release);
		return;
	}
	end_slow(me);
}

/* Common entry of the other events: false when the event is not to be
 * recorded (counted as dropped where it should be). */
static bool event_ok(struct spans_tls *me, uint64_t slots)
{
	if (me->state != SP_READY && !spans_attach(me))
		return false;
	if (me->skip) {
		if (me->skip_drop)
			bump(&me->ring->dropped);
		return false;
	}
	if (!room(me, slots)) {
		bump(&me->ring->dropped);
		return false;
	}
	return true;
}

ONEPROF_API void oneprof_span_attr_int(const char *key, long long value)
{
	struct spans_tls *me = &spans_me;
	if (!event_ok(me, 2))
		return;
	put(me, (uint64_t)SP_ATTR_INT << 56 | ticks_now(), (uint64_t)(uintptr_t)key);
	put(me, (uint64_t)SP_CONT << 56 | me->depth, (uint64_t)value);
	publish(me);
}

ONEPROF_API void oneprof_span_attr(const char *key, const char *value)
{
	struct spans_tls *me = &spans_me;
	size_t len = value ? strnlen(value, SP_ATTR_MAX) : 0;
	uint64_t words = (len + 7) / 8;
	if (!event_ok(me, 2 + (words ? words - 1 : 0)))
		return;
	put(me, (uint64_t)SP_ATTR_STR << 56 | ticks_now(), (uint64_t)(uintptr_t)key);
	/* The first continuation holds depth and length and 8 bytes; the
	 * others 8 bytes each. */
	for (uint64_t i = 0; i < (words ? words : 1); i++) {
		uint64_t chunk = 0;
		if (i * 8 < len)
			memcpy(&chunk, value + i * 8, len - i * 8 < 8 ? len - i * 8 : 8);
		put(me, (uint64_t)SP_CONT << 56 | (i ? 0 : me->depth | (uint64_t)len << 16), chunk);
	}
	publish(me);
}

ONEPROF_API void oneprof_ops(const char *kind, unsigned long long n)
{
	struct spans_tls *me = &spans_me;
	if (!event_ok(me, 2))
		return;
	put(me, (uint64_t)SP_OPS << 56 | ticks_now(), (uint64_t)(uintptr_t)kind);
	put(me, (uint64_t)SP_CONT << 56 | me->depth, n);
	publish(me);
}

ONEPROF_API void oneprof_gc_begin(void)
{
	struct spans_tls *me = &spans_me;
	if (me->gc_open || me->gc_skip) /* nested: one collection at a time */
		return;
	/* Like a begin: room for itself and its end. */
	if (!event_ok(me, 2)) {
		if (me->state == SP_READY)
			me->gc_skip = true;
		return;
	}
	put(me, (uint64_t)SP_GC_BEGIN << 56 | ticks_now(), 0);
	me->gc_open = true;
	publish(me);
}

ONEPROF_API void oneprof_gc_end(unsigned long long bytes_reclaimed)
{
	struct spans_tls *me = &spans_me;
	if (me->gc_skip) {
		me->gc_skip = false;
		bump(&me->ring->dropped);
		return;
	}
	if (!me->gc_open || me->state != SP_READY)
		return;
	me->gc_open = false;
	put(me, (uint64_t)SP_GC_END << 56 | ticks_now(), bytes_reclaimed);
	publish(me);
}

/* --- interning --- */

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char **slots;
	size_t cap, count;
} interned;

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

ONEPROF_API const char *oneprof_intern(const char *s)
{
	if (!s)
		return NULL;
	const char *out = NULL;
	heap_busy_enter();
	pthread_mutex_lock(&intern_lock);
	if ((interned.count + 1) * 2 > interned.cap) {
		size_t cap = interned.cap ? interned.cap * 2 : 256;
		const char **slots = calloc(cap, sizeof(*slots));
		if (!slots)
			goto out;
		for (size_t i = 0; i < interned.cap; i++) {
			if (!interned.slots[i])
				continue;
			size_t j = str_hash(interned.slots[i]) & (cap - 1);
			while (slots[j])
				j = (j + 1) & (cap - 1);
			slots[j] = interned.slots[i];
		}
		free(interned.slots); /* the strings themselves live on */
		interned.slots = slots;
		interned.cap = cap;
	}
	size_t i = str_hash(s) & (interned.cap - 1);
	while (interned.slots[i] && strcmp(interned.slots[i], s))
		i = (i + 1) & (interned.cap - 1);
	if (!interned.slots[i]) {
		char *copy = strdup(s);
		if (!copy)
			goto out;
		interned.slots[i] = copy;
		interned.count++;
	}
	out = interned.slots[i];
out:
	pthread_mutex_unlock(&intern_lock);
	heap_busy_leave();
	return out;
}

/* --- dumps --- */

static _Atomic uint32_t dump_req, dump_done;

static void dump_wake(void)
{
	atomic_fetch_add_explicit(&dump_req, 1, memory_order_release);
	heap_wake_writer();
}

static void on_dump_signal(int sig)
{
	(void)sig;
	int saved = errno;
	dump_wake(); /* an atomic and a futex wake: async-signal-safe */
	errno = saved;
}

ONEPROF_API int oneprof_dump(void)
{
	if (atomic_load(&agent.state) != AGENT_RUNNING || !agent.cfg.spans)
		return -ESRCH;
	if (!spans_flight)
		return -EINVAL;
	uint32_t asked = atomic_load(&dump_req) + 1;
	dump_wake();
	if (pthread_equal(pthread_self(), agent.writer))
		return 0; /* an observer: the writer dumps after it returns */
	/* Wait (bounded) so the caller knows the spans are in the file. */
	for (int waited = 0; waited < 5000; waited += 50) {
		uint32_t done = atomic_load(&dump_done);
		if ((int32_t)(done - asked) >= 0)
			break;
		struct timespec ts = { 0, 50000000 };
		syscall(SYS_futex, &dump_done, FUTEX_WAIT_PRIVATE, done, &ts, NULL, 0);
	}
	return 0;
}

/* --- writer side --- */

/* Pointer-keyed sites: a struct oneprof_site, or a name pointer and kind. */
static struct site_entry {
	uintptr_t ptr;
	unsigned kind; /* SP_BEGIN_SITE, or SP_BEGIN_NAME + kind */
	uint8_t flags; /* NOTE_* of the name */
	uint64_t id;
	const char *name;
} *sites;
static size_t sites_cap, sites_count;
static uint64_t sites_next;
#define NAME_NULL 1
#define NAME_LONG 2

/* Notes the writer counts itself, and what it reported of them. */
static uint64_t notes[CAPTURE_SPAN_NOTE_COUNT], notes_sent[CAPTURE_SPAN_NOTE_COUNT];
static uint64_t min_ns;
static uint64_t *scratch;       /* flight mode: a copy of one ring */
static size_t scratch_slots;
static char name_buf[SP_NAME_MAX + 1];

/* One open span on the writer's stack of a thread. */
struct wopen {
	uint64_t begin_ns;
	const char *name;
	unsigned kind;
	size_t pend_at;  /* where its begin is in the pending list */
	bool written;
};

/* A record held back (minimum duration): kind and fields. */
struct wrec {
	uint32_t kind, n;
	uint64_t f[4];
};

struct spans_wthread {
	uint64_t pos;  /* flight mode: ring index read up to */
	struct wopen *open;
	unsigned nopen, cap_open;
	struct wrec *pend;
	size_t npend, cap_pend;
	bool gc_open;
	bool any;      /* flight mode: a dump read this ring before */
	uint64_t last_ns; /* time of the latest event handled */
};

static uint64_t site_id(unsigned type, uintptr_t ptr, const char **name_out, unsigned *kind_out)
{
	if ((sites_count + 1) * 2 > sites_cap) {
		size_t cap = sites_cap ? sites_cap * 2 : 1024;
		struct site_entry *grown = calloc(cap, sizeof(*grown));
		if (!grown)
			return 0;
		for (size_t i = 0; i < sites_cap; i++) {
			if (!sites[i].id)
				continue;
			size_t j = ((sites[i].ptr >> 3) * 31 + sites[i].kind) & (cap - 1);
			while (grown[j].id)
				j = (j + 1) & (cap - 1);
			grown[j] = sites[i];
		}
		free(sites);
		sites = grown;
		sites_cap = cap;
	}
	size_t i = ((ptr >> 3) * 31 + type) & (sites_cap - 1);
	while (sites[i].id && (sites[i].ptr != ptr || sites[i].kind != type))
		i = (i + 1) & (sites_cap - 1);
	struct site_entry *e = &sites[i];
	if (!e->id) {
		const struct oneprof_site *site = NULL;
		const char *name = (const char *)ptr;
		const char *file = NULL;
		unsigned line = 0, kind = type - SP_BEGIN_NAME;
		if (type == SP_BEGIN_SITE) {
			site = (const struct oneprof_site *)ptr;
			name = site ? site->name : NULL;
			file = site ? site->file : NULL;
			line = site ? site->line : 0;
			kind = site ? site->kind : 0;
		}
		const char *text = name;
		if (!name) {
			text = "(null)";
			e->flags |= NAME_NULL;
		} else if (strnlen(name, SP_NAME_MAX + 1) > SP_NAME_MAX) {
			memcpy(name_buf, name, SP_NAME_MAX);
			name_buf[SP_NAME_MAX] = '\0';
			text = name_buf;
			e->flags |= NAME_LONG;
		}
		e->ptr = ptr;
		e->kind = type;
		e->id = ++sites_next;
		e->name = name ? name : "(null)";
		sites_count++;
		uint64_t f[5] = { e->id, writer_string_id(text), kind,
				  file ? writer_string_id(file) : 0, line };
		capture_write_varints(writer_capture(), CAPTURE_REC_SPAN_SITE, f, 5);
		*kind_out = kind;
	} else {
		*kind_out = e->kind == SP_BEGIN_SITE ? (ptr ? ((const struct oneprof_site *)ptr)->kind : 0)
						     : e->kind - SP_BEGIN_NAME;
	}
	if (e->flags & NAME_NULL)
		notes[CAPTURE_SPAN_NULL_NAME]++;
	if (e->flags & NAME_LONG)
		notes[CAPTURE_SPAN_LONG_NAME]++;
	*name_out = e->name;
	return e->id;
}

/* Holds a record back until the span it is in proves long enough;
 * false when there is no memory for it. */
static bool hold(struct spans_wthread *wt, uint32_t kind, const uint64_t *f, uint32_t n)
{
	if (wt->npend == wt->cap_pend) {
		size_t cap = wt->cap_pend ? wt->cap_pend * 2 : 64;
		struct wrec *grown = realloc(wt->pend, cap * sizeof(*grown));
		if (!grown)
			return false;
		wt->pend = grown;
		wt->cap_pend = cap;
	}
	struct wrec *r = &wt->pend[wt->npend++];
	r->kind = kind;
	r->n = n;
	memcpy(r->f, f, n * sizeof(*f));
	return true;
}

/* Writes a record, or holds it back behind records held already. */
static void out(struct spans_wthread *wt, uint32_t kind, const uint64_t *f, uint32_t n)
{
	if (!wt->npend)
		capture_write_varints(writer_capture(), kind, f, n);
	else
		hold(wt, kind, f, n);
}

/* Held back records go out: a span proved long enough, so its ancestors
 * and what they hold did too. */
static void flush_pending(struct spans_wthread *wt)
{
	for (size_t i = 0; i < wt->npend; i++)
		capture_write_varints(writer_capture(), wt->pend[i].kind, wt->pend[i].f, wt->pend[i].n);
	wt->npend = 0;
	for (unsigned i = 0; i < wt->nopen; i++)
		wt->open[i].written = true;
}

static uint64_t taken; /* spans begun, as the writer saw them */

uint64_t spans_taken(void)
{
	return taken;
}

static void w_begin(struct agent_thread *t, struct spans_wthread *wt, unsigned type,
		    uint64_t ns, uintptr_t ptr)
{
	taken++;
	if (wt->nopen == wt->cap_open) {
		unsigned cap = wt->cap_open ? wt->cap_open * 2 : 32;
		struct wopen *grown = realloc(wt->open, cap * sizeof(*grown));
		if (!grown)
			return;
		wt->open = grown;
		wt->cap_open = cap;
	}
	struct wopen *o = &wt->open[wt->nopen++];
	uint64_t id = site_id(type, ptr, &o->name, &o->kind);
	o->begin_ns = ns;
	uint64_t f[3] = { ns, (uint64_t)t->tid, id };
	if (min_ns) {
		/* Held back until it proves long enough. */
		o->pend_at = wt->npend;
		o->written = false;
		if (!hold(wt, CAPTURE_REC_SPAN_BEGIN, f, 3))
			wt->nopen--;
		return;
	}
	o->written = true;
	out(wt, CAPTURE_REC_SPAN_BEGIN, f, 3);
}

static void w_end(struct agent_thread *t, struct spans_wthread *wt, uint64_t ns)
{
	struct wopen *o = &wt->open[--wt->nopen];
	uint64_t dur = ns > o->begin_ns ? ns - o->begin_ns : 0;
	if (!o->written) {
		if (dur < min_ns) {
			/* Left out with its attributes; ops and GC events in it
			 * stay (they charge the parent). */
			size_t k = o->pend_at;
			for (size_t i = o->pend_at + 1; i < wt->npend; i++)
				if (wt->pend[i].kind != CAPTURE_REC_SPAN_ATTR)
					wt->pend[k++] = wt->pend[i];
			wt->npend = k;
			notes[CAPTURE_SPAN_TOO_SHORT]++;
			if (wt->npend && wt->nopen && !wt->open[wt->nopen - 1].written)
				return;
			/* Only kept events of written spans remain. */
			flush_pending(wt);
			return;
		}
		flush_pending(wt);
	}
	uint64_t f[2] = { ns, (uint64_t)t->tid };
	out(wt, CAPTURE_REC_SPAN_END, f, 2);
	metrics_span_end(o->name, dur);
	if (observe_wanted(ONEPROF_EVENT_SPAN_END)) {
		struct oneprof_event ev = { 0 };
		ev.kind = ONEPROF_EVENT_SPAN_END;
		ev.tid = t->tid;
		ev.time_ns = ns;
		ev.name = o->name;
		ev.span_kind = o->kind;
		ev.depth = wt->nopen;
		ev.duration_ns = dur;
		observe_emit(&ev);
	}
}

/* A string from a copied attribute value. */
static uint64_t value_id(const uint64_t *words, size_t len)
{
	char buf[SP_ATTR_MAX + 1];
	memcpy(buf, words, len);
	buf[len] = '\0';
	return writer_string_id(buf);
}

/* Handles the record at words s[0..avail) (two per slot); returns the
 * slots it took, 0 when incomplete. */
static size_t w_record(struct agent_thread *t, struct spans_wthread *wt, const uint64_t *s,
		       size_t avail)
{
	unsigned type = (unsigned)(s[0] >> 56);
	uint64_t ns = ticks_to_ns(s[0] & TICKS_MASK);
	uint64_t tid = (uint64_t)t->tid;
	if (type != SP_CONT)
		wt->last_ns = ns;
	if (type == SP_BEGIN_SITE || type >= SP_BEGIN_NAME) {
		w_begin(t, wt, type, ns, (uintptr_t)s[1]);
		return 1;
	}
	switch (type) {
	case SP_END:
		if (!wt->nopen)
			notes[CAPTURE_SPAN_BEFORE_WINDOW]++; /* its begin is gone */
		else
			w_end(t, wt, ns);
		return 1;
	case SP_GC_BEGIN: {
		uint64_t f[2] = { ns, tid };
		wt->gc_open = true;
		out(wt, CAPTURE_REC_GC_BEGIN, f, 2);
		return 1;
	}
	case SP_GC_END: {
		if (!wt->gc_open) {
			notes[CAPTURE_SPAN_BEFORE_WINDOW]++;
			return 1;
		}
		wt->gc_open = false;
		uint64_t f[3] = { ns, tid, s[1] };
		out(wt, CAPTURE_REC_GC_END, f, 3);
		return 1;
	}
	case SP_ATTR_INT:
	case SP_ATTR_STR:
	case SP_OPS: {
		if (avail < 4 || (s[2] >> 56) != SP_CONT)
			return avail < 4 ? 0 : 1;
		unsigned depth = (unsigned)(s[2] & 0xffff);
		size_t len = (size_t)((s[2] >> 16) & 0xff);
		size_t slots = type == SP_ATTR_STR ? 1 + (len ? (len + 7) / 8 : 1) : 2;
		if (avail < 2 * slots)
			return 0;
		/* The producer had more spans open than the writer knows of:
		 * the one it belongs to began before the window. */
		if (depth > wt->nopen) {
			notes[CAPTURE_SPAN_BEFORE_WINDOW]++;
			return slots;
		}
		const char *key = (const char *)(uintptr_t)s[1];
		uint64_t key_id = writer_string_id(key ? key : "(null)");
		if (type == SP_OPS) {
			uint64_t f[4] = { ns, tid, key_id, s[3] };
			out(wt, CAPTURE_REC_OPS, f, 4);
		} else if (type == SP_ATTR_INT) {
			uint64_t f[4] = { tid, key_id, 0, zigzag_encode((int64_t)s[3]) };
			out(wt, CAPTURE_REC_SPAN_ATTR, f, 4);
		} else {
			uint64_t words[(SP_ATTR_MAX + 7) / 8];
			for (size_t i = 0; i < slots - 1; i++)
				words[i] = s[2 * i + 3];
			uint64_t f[4] = { tid, key_id, 1, value_id(words, len) };
			out(wt, CAPTURE_REC_SPAN_ATTR, f, 4);
		}
		return slots;
	}
	default:
		return 1; /* a continuation without its start: skip */
	}
}

static struct spans_wthread *wthread(struct agent_thread *t)
{
	if (!t->span_w)
		t->span_w = calloc(1, sizeof(struct spans_wthread));
	return t->span_w;
}

static void write_note(unsigned reason, uint64_t count)
{
	uint64_t f[2] = { reason, count };
	capture_write_varints(writer_capture(), CAPTURE_REC_SPAN_NOTE, f, 2);
}

static void ring_counts(struct spans_ring *r)
{
	uint64_t v = atomic_load_explicit(&r->dropped, memory_order_relaxed);
	if (v != r->dropped_sent) {
		writer_lost(CAPTURE_LOST_SPAN_EVENT, CAPTURE_LOST_RING_FULL, v - r->dropped_sent);
		r->dropped_sent = v;
	}
	v = atomic_load_explicit(&r->too_deep, memory_order_relaxed);
	notes[CAPTURE_SPAN_TOO_DEEP] += v - r->too_deep_sent;
	r->too_deep_sent = v;
	v = atomic_load_explicit(&r->end_without_begin, memory_order_relaxed);
	notes[CAPTURE_SPAN_END_WITHOUT_BEGIN] += v - r->ewb_sent;
	r->ewb_sent = v;
}

/* Drop mode: every complete record with ticks before this drain's
 * calibration point (all of them at exit). */
static void drain_drop(struct agent_thread *t, struct spans_ring *r, bool at_exit)
{
	struct spans_wthread *wt = wthread(t);
	if (!wt)
		return;
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t buf[2 * SP_REC_MAX];
	uint64_t until = ticks_latest(); /* this drain's point: older events go */
	while (tail < head) {
		const struct spans_slot *s = &r->slots[tail & r->mask];
		if (!at_exit && (s->w0 & TICKS_MASK) >= until)
			break;
		size_t n = 0;
		for (; n < SP_REC_MAX && tail + n < head; n++) {
			buf[2 * n] = r->slots[(tail + n) & r->mask].w0;
			buf[2 * n + 1] = r->slots[(tail + n) & r->mask].w1;
		}
		size_t used = w_record(t, wt, buf, 2 * n);
		if (!used)
			break; /* cannot happen: a record is published whole */
		tail += used;
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
}

/* Flight mode, on a dump: the events newer than the window start and the
 * previous dump. The producer may be overwriting as we read: copy, then
 * re-read the head and discard what it may have reached. */
static void drain_flight(struct agent_thread *t, struct spans_ring *r, uint64_t window_ticks)
{
	struct spans_wthread *wt = wthread(t);
	uint64_t size = r->mask + 1;
	if (!wt)
		return;
	if (scratch_slots < size) {
		free(scratch);
		scratch = malloc(size * 2 * sizeof(uint64_t));
		scratch_slots = scratch ? size : 0;
		if (!scratch)
			return;
	}
	uint64_t h1 = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t from = h1 > size ? h1 - size : 0;
	if (from < wt->pos)
		from = wt->pos;
	for (uint64_t i = from; i < h1; i++) {
		const struct spans_slot *s = &r->slots[i & r->mask];
		scratch[2 * (i - from)] = __atomic_load_n(&s->w0, __ATOMIC_RELAXED);
		scratch[2 * (i - from) + 1] = __atomic_load_n(&s->w1, __ATOMIC_RELAXED);
	}
	atomic_thread_fence(memory_order_acquire);
	uint64_t h2 = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* The producer may be writing up to a record past h2, over slots a
	 * ring's length before. */
	uint64_t valid = h2 + SP_REC_MAX + 1 > size ? h2 + SP_REC_MAX + 1 - size : 0;
	uint64_t start = from > valid ? from : valid;
	bool gap = start > wt->pos && wt->any;
	uint64_t i = start;
	/* Skip to a record start and past the window start. */
	while (i < h1) {
		const uint64_t *s = &scratch[2 * (i - from)];
		if ((s[0] >> 56) != SP_CONT && (s[0] & TICKS_MASK) >= window_ticks)
			break;
		gap = true;
		i++;
	}
	if (gap && wt->nopen) {
		/* What happened between the dumps is gone: the spans still open
		 * in the capture end where the capture last knew of them. */
		uint64_t ns = wt->last_ns;
		flush_pending(wt);
		while (wt->nopen) {
			uint64_t f[2] = { ns, (uint64_t)t->tid };
			wt->nopen--;
			capture_write_varints(writer_capture(), CAPTURE_REC_SPAN_END, f, 2);
			notes[CAPTURE_SPAN_BEFORE_WINDOW]++;
		}
	}
	if (gap)
		wt->gc_open = false;
	while (i < h1) {
		size_t used = w_record(t, wt, &scratch[2 * (i - from)], 2 * (h1 - i));
		if (!used)
			break;
		i += used;
	}
	wt->pos = h1;
	wt->any = true;
}

static uint64_t dump_seen;

/* The writer's pass over one thread (threads_lock held). */
void spans_drain_thread(struct agent_thread *t, bool at_exit)
{
	struct spans_ring *r = atomic_load_explicit(&t->span_ring, memory_order_acquire);
	if (!r || !writer_capture())
		return;
	/* An exited thread made its last event: take them all. */
	bool exited = atomic_load_explicit(&t->exited, memory_order_acquire);
	if (!spans_flight) {
		drain_drop(t, r, at_exit || exited);
	} else {
		uint32_t req = atomic_load(&dump_req);
		if (req != dump_seen || at_exit) {
			uint64_t win = (uint64_t)agent.cfg.span_window * 1000000000u;
			uint64_t now = ticks_latest_ns();
			/* The window start in ticks: invert the newest segment. */
			uint64_t start_ns = now > win ? now - win : 0;
			uint64_t lo = 0, hi = ticks_latest();
			while (lo < hi) {
				uint64_t mid = lo + (hi - lo) / 2;
				if (ticks_to_ns(mid) < start_ns)
					lo = mid + 1;
				else
					hi = mid;
			}
			drain_flight(t, r, lo);
		}
	}
	ring_counts(r);
	if (exited || at_exit) {
		struct spans_wthread *wt = t->span_w;
		if (wt && (at_exit || !spans_flight || spans_thread_done(t))) {
			/* Open at the end: the model closes them there. */
			flush_pending(wt);
			notes[CAPTURE_SPAN_UNCLOSED] += wt->nopen;
			wt->nopen = 0;
		}
	}
}

/* After the pass over every thread: notes that grew, and a dump's end. */
void spans_drain_end(bool at_exit)
{
	for (unsigned i = 1; i < CAPTURE_SPAN_NOTE_COUNT; i++) {
		if (notes[i] != notes_sent[i]) {
			write_note(i, notes[i] - notes_sent[i]);
			notes_sent[i] = notes[i];
		}
	}
	uint32_t req = atomic_load(&dump_req);
	if (spans_flight && (req != dump_seen || at_exit)) {
		dump_seen = req;
		capture_writer_flush(writer_capture());
		atomic_store(&dump_done, req);
		syscall(SYS_futex, &dump_done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
	}
}

/* Flight mode: whether an exited thread's ring may go (its events left
 * the window, or a dump took them). */
bool spans_thread_done(struct agent_thread *t)
{
	struct spans_ring *r = atomic_load(&t->span_ring);
	if (!spans_flight || !r)
		return true;
	struct spans_wthread *wt = t->span_w;
	if (wt && wt->pos == atomic_load(&r->head))
		return true;
	uint64_t win = (uint64_t)agent.cfg.span_window * 1000000000u;
	return t->end_ns + win < agent_now_ns() - agent.start_ns;
}

/* --- lifecycle --- */

void spans_thread_free(struct agent_thread *t)
{
	struct spans_ring *r = atomic_load(&t->span_ring);
	if (r)
		munmap(r, sizeof(struct spans_ring) + agent.cfg.span_ring_bytes);
	struct spans_wthread *wt = t->span_w;
	if (wt) {
		free(wt->open);
		free(wt->pend);
		free(wt);
	}
	t->span_ring = NULL;
	t->span_w = NULL;
}

/* The thread is exiting: later calls (other TSD destructors) are ignored,
 * since the writer frees the ring once it saw the exit. */
void spans_thread_exit(void)
{
	spans_me.state = SP_IGNORED;
}

/* Agent-internal threads (writer, ticker) record no spans. */
void spans_ignore_thread(void)
{
	spans_me.state = SP_IGNORED;
}

void spans_start(void)
{
	spans_max_depth = agent.cfg.span_max_depth;
	spans_flight = agent.cfg.span_mode == 1;
	min_ns = agent.cfg.span_min_ns;
	if (agent.cfg.dump_signo > 0 && spans_flight) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_dump_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(agent.cfg.dump_signo, &sa, NULL);
	}
}

void spans_running(bool on)
{
	oneprof_spans_on = on && agent.cfg.spans;
}

void spans_session_reset(void)
{
	for (struct agent_thread *t = agent.threads; t; t = t->next) {
		struct spans_wthread *wt = t->span_w;
		if (wt) {
			free(wt->open);
			free(wt->pend);
			free(wt);
		}
		t->span_w = NULL;
	}
	free(sites);
	sites = NULL;
	sites_cap = sites_count = 0;
	sites_next = 0;
	memset(notes, 0, sizeof(notes));
	memset(notes_sent, 0, sizeof(notes_sent));
	free(scratch);
	scratch = NULL;
	scratch_slots = 0;
	dump_seen = atomic_load(&dump_req);
}

/* In a fork child: the forking thread's open spans belong to the parent's
 * capture; their ends are ignored. The writer's state is the parent's and
 * is dropped (not freed: the fork may have caught it mid-update). */
void spans_fork_child(struct agent_thread *self)
{
	struct spans_tls *me = &spans_me;
	oneprof_spans_on = 0;
	me->fork_ends += me->depth + me->skip;
	me->depth = me->skip = 0;
	me->gc_open = me->gc_skip = false;
	if (me->ring) {
		atomic_store(&me->ring->head, 0);
		atomic_store(&me->ring->tail, 0);
		atomic_store(&me->ring->dropped, 0);
		atomic_store(&me->ring->too_deep, 0);
		atomic_store(&me->ring->end_without_begin, 0);
		me->ring->dropped_sent = me->ring->too_deep_sent = me->ring->ewb_sent = 0;
		me->head = 0;
		me->limit = spans_flight ? UINT64_MAX : me->ring->mask + 1;
	}
	if (self)
		self->span_w = NULL;
	sites = NULL;
	sites_cap = sites_count = 0;
	sites_next = 0;
	memset(notes, 0, sizeof(notes));
	memset(notes_sent, 0, sizeof(notes_sent));
	scratch = NULL;
	scratch_slots = 0;
	taken = 0;
	dump_seen = atomic_load(&dump_req);
}
