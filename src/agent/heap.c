/* Heap tracking (ONEPROF_HEAP=1): the malloc family, interposed.
 *
 * Each allocation and free becomes an event in the calling thread's heap
 * rings: rings next to the CPU one, because the SIGPROF handler may
 * interrupt a hook between its reserve and commit, and one ring has one
 * producer. The thread encodes the event itself, as the capture's
 * HEAP_STREAM of the thread holds it, into its stream ring, and the
 * writer copies the bytes out without reading them (what it must do
 * before an event, such as define the stack a slot names, goes in the
 * side ring: agent.h); the reader merges the threads' streams by time,
 * and the analyses (leaks, peak, temporaries) run on its side, so the
 * hooks stay small:
 *
 *   - no lock: thread-local state, an atomic-free ring, and in sampled mode
 *     a table of sampled addresses updated with compare-and-swap;
 *   - the stack walk of the CPU sampler, from the hook's own frame, with
 *     the agent's frames dropped;
 *   - a stack the thread has sent once goes by its slot afterwards, found
 *     in the thread's table of stacks sent (heap_seen, by hash), so an
 *     allocation at a hot call site takes a few bytes of its stream, as
 *     a free does (3.5 an event on the churn benchmark), not its frames.
 *
 * A free is recorded before the real free, and an allocation after the
 * real allocation returned, both with the time they happened (on the
 * event clock, ticks.c: an rdtsc, where a clock_gettime per event would
 * cost more than the rest of it): the reader's merge by time then never
 * shows an address reused before it was freed.
 *
 * The real functions are looked up with dlsym(RTLD_NEXT), so a program
 * linking its own allocator (jemalloc, tcmalloc) keeps it. dlsym itself
 * allocates; while it runs, and for any call before the lookup finished,
 * allocations come from a small static arena whose blocks free() ignores.
 *
 * A thread's own allocations made while the agent works for it (a hook
 * re-entered through the real allocator, a signal handler that allocates
 * inside a hook, the agent's own bookkeeping) are not recorded:
 * agent_tls.heap_busy says so. */
#include <dlfcn.h>
#include <link.h>
#include <linux/futex.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../capture/encoding.h"
#include "../unwind/unwind.h"
#include "agent.h"

_Static_assert(HEAP_SEEN == CAPTURE_HEAP_SLOTS, "a slot of heap_seen is a slot of the stream");

#define EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static _Atomic bool heap_on;

/* --- the real allocator --- */

static struct {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
} real;
static _Atomic int resolved; /* 0 not yet, 1 in progress, 2 done */

/* The bootstrap arena: what dlsym allocates while the real functions are
 * looked up. Each block has a 16-byte header with its size; blocks are
 * never reused. */
#define BOOT_BYTES (64u << 10)
static _Alignas(64) unsigned char boot[BOOT_BYTES];
static _Atomic size_t boot_used;

static bool in_boot(const void *p)
{
	return (uintptr_t)p - (uintptr_t)boot < BOOT_BYTES; /* one comparison */
}

static void *boot_alloc(size_t n, size_t align)
{
	if (align < 16)
		align = 16;
	if (n > BOOT_BYTES || (align & (align - 1)))
		return NULL;
	size_t old = atomic_load(&boot_used), start, end;
	do {
		start = (old + 16 + align - 1) & ~(align - 1);
		end = start + n;
		if (end > BOOT_BYTES) {
			errno = ENOMEM;
			return NULL;
		}
	} while (!atomic_compare_exchange_weak(&boot_used, &old, end));
	memcpy(boot + start - sizeof(size_t), &n, sizeof(n));
	return boot + start;
}

static size_t boot_size(const void *p)
{
	size_t n;
	memcpy(&n, (const unsigned char *)p - sizeof(n), sizeof(n));
	return n;
}

static bool resolve(void)
{
	int expected = 0;
	if (atomic_load(&resolved) == 2)
		return true;
	if (!atomic_compare_exchange_strong(&resolved, &expected, 1))
		return false; /* another thread is resolving: use the arena */
	int saved = errno;
#define LOOK(name) real.name = (__typeof__(real.name))dlsym(RTLD_NEXT, #name)
	LOOK(malloc);
	LOOK(free);
	LOOK(calloc);
	LOOK(realloc);
	LOOK(reallocarray);
	LOOK(posix_memalign);
	LOOK(aligned_alloc);
	LOOK(memalign);
	LOOK(valloc);
	LOOK(pvalloc);
	LOOK(malloc_usable_size);
#undef LOOK
	errno = saved;
	if (!real.malloc || !real.free || !real.calloc || !real.realloc) {
		/* No allocator after us: nothing sane is left to do. */
		static const char msg[] = "oneprof: no malloc to forward to after liboneprof.so\n";
		ssize_t rc = write(2, msg, sizeof(msg) - 1);
		(void)rc;
		abort();
	}
	atomic_store(&resolved, 2);
	return true;
}

#define NEED_REAL(fallback)                      \
	do {                                     \
		if (unlikely(atomic_load_explicit(&resolved, memory_order_acquire) != 2) && \
		    !resolve())                  \
			return fallback;         \
	} while (0)

/* --- sampled mode: which live blocks were sampled ---
 * Frees of sampled blocks must be recorded, and every free asks. Buckets
 * of seven addresses and a spill flag, one cache line each; an address
 * lives in its first bucket, or in its second when the first was full,
 * which the first bucket's spill flag tells. Full buckets drop the sample
 * (counted).
 *
 * Almost no free is of a sampled block, so the question is asked of a
 * filter first: per 256-byte stretch of the address space (modulo 2 MiB),
 * one bit, set while a live sampled address lies in it. Clear, the common
 * answer, is one load from 1 KiB that stays in the L1 cache: indexed by a
 * hash of the address, it sent every free to a random line, a third of
 * the free hook's time in an allocation-heavy program; as 16-bit counts
 * per stretch, 16 KiB of L1 that the program's own data had to share.
 * The counts behind the bits are kept beside them, and both change
 * together under a lock, taken only by a sample and by a free whose bit
 * is set, and always under heap_busy: a signal handler's allocation on
 * a thread that holds it goes untracked rather than wait for it, and a
 * followed fork child clears it (heap_forget). A bit is set before a
 * sampled allocation returns and cleared only when no sampled address is
 * left in its stretch, so a free (which comes after its allocation)
 * never finds a sampled block's bit clear: exact. A count never
 * overflows: the table holds fewer addresses than 65,536. */
#define SAMPLE_BUCKETS (1u << 13)
#define SAMPLE_FILTER (1u << 13)
#define SAMPLE_FILTER_SHIFT 8
struct sample_bucket {
	_Atomic uintptr_t slot[7];
	_Atomic uintptr_t spilled;
};
static struct sample_bucket *sampled;
static _Alignas(64) _Atomic uint64_t sample_filter[SAMPLE_FILTER / 64];
static uint16_t sample_counts[SAMPLE_FILTER];
static atomic_flag sample_lock = ATOMIC_FLAG_INIT;
static _Atomic uint64_t sample_table_full;

static uint64_t mix(uintptr_t p)
{
	uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static void sample_lock_take(void)
{
	while (atomic_flag_test_and_set_explicit(&sample_lock, memory_order_acquire))
		sched_yield();
}

static void sample_lock_drop(void)
{
	atomic_flag_clear_explicit(&sample_lock, memory_order_release);
}

/* A live sampled address more (+1) or less (-1) in p's stretch; under
 * sample_lock. */
static void filter_move(uintptr_t p, int by)
{
	unsigned i = (p >> SAMPLE_FILTER_SHIFT) & (SAMPLE_FILTER - 1);
	sample_counts[i] = (uint16_t)(sample_counts[i] + by);
	uint64_t bit = 1ull << (i % 64);
	if (sample_counts[i])
		atomic_fetch_or_explicit(&sample_filter[i / 64], bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&sample_filter[i / 64], ~bit, memory_order_relaxed);
}

static bool sample_add(uintptr_t p)
{
	uint64_t h = mix(p);
	struct sample_bucket *b[2] = { &sampled[h & (SAMPLE_BUCKETS - 1)],
				       &sampled[(h >> 32) & (SAMPLE_BUCKETS - 1)] };
	sample_lock_take();
	filter_move(p, +1);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 7; i++) {
			if (atomic_load_explicit(&b[k]->slot[i], memory_order_relaxed) == 0) {
				atomic_store_explicit(&b[k]->slot[i], p, memory_order_relaxed);
				sample_lock_drop();
				return true;
			}
		}
		if (k == 0)
			atomic_store_explicit(&b[0]->spilled, 1, memory_order_relaxed);
	}
	filter_move(p, -1);
	sample_lock_drop();
	atomic_fetch_add_explicit(&sample_table_full, 1, memory_order_relaxed);
	return false;
}

/* NULL and the bootstrap arena's blocks must not take the sampled quick
 * path of free (nor its counting): their stretches count in the filter as
 * if a sampled block lay there, for good, so the filter sends them the
 * careful way, which knows them. Done once the arena stopped growing (the
 * real functions are known) and before the quick path opens; a few
 * stretches of the 8,192. */
static bool filter_pinned;

static void filter_pin_reserved(void)
{
	if (filter_pinned)
		return;
	sample_lock_take();
	filter_move(0, +1);
	uintptr_t used = atomic_load(&boot_used);
	for (uintptr_t a = (uintptr_t)boot; used && a < (uintptr_t)boot + used;
	     a = ((a >> SAMPLE_FILTER_SHIFT) + 1) << SAMPLE_FILTER_SHIFT)
		filter_move(a, +1);
	sample_lock_drop();
	filter_pinned = true;
}

/* Whether p may have been sampled: false is certain, true is a maybe. */
static inline bool sample_maybe(uintptr_t p)
{
	unsigned i = (p >> SAMPLE_FILTER_SHIFT) & (SAMPLE_FILTER - 1);
	return atomic_load_explicit(&sample_filter[i / 64], memory_order_relaxed) >> (i % 64) & 1;
}

/* Removes p if it was sampled; true when it was. */
static bool sample_take(uintptr_t p)
{
	if (likely(!sample_maybe(p)))
		return false;
	uint64_t h = mix(p);
	struct sample_bucket *b = &sampled[h & (SAMPLE_BUCKETS - 1)];
	bool found = false;
	sample_lock_take();
	for (int k = 0; k < 2 && !found; k++) {
		for (int i = 0; i < 7; i++) {
			if (atomic_load_explicit(&b->slot[i], memory_order_relaxed) == p) {
				atomic_store_explicit(&b->slot[i], 0, memory_order_relaxed);
				filter_move(p, -1);
				found = true;
				break;
			}
		}
		if (!atomic_load_explicit(&b->spilled, memory_order_relaxed))
			break;
		b = &sampled[(h >> 32) & (SAMPLE_BUCKETS - 1)];
	}
	sample_lock_drop();
	return found;
}

/* Bytes until the next sample: exponential with mean heap_sample, so
 * sampling is a Poisson process over allocated bytes and a block of n
 * bytes is sampled with probability 1 - exp(-n / mean). */
static int64_t next_countdown(struct agent_thread *t)
{
	/* xorshift64*: per thread, no lock, good enough for spacing samples */
	uint64_t x = t->heap_rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->heap_rng = x;
	double u = (double)((x * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53; /* [0, 1) */
	return (int64_t)(-log1p(-u) * (double)agent.cfg.heap_sample) + 1;
}

/* --- events --- */

/* The agent's own code, to drop its frames from the top of a stack. */
static uintptr_t self_lo, self_hi;

/* Events of threads that have no heap ring (a thread's last frees, after
 * its exit destructor ran): one shared ring under a spin lock, a path
 * taken a few times per thread. */
static struct ring *orphan;
static atomic_flag orphan_lock = ATOMIC_FLAG_INIT;
static _Atomic uint64_t heap_lost_full, heap_lost_stopped;

/* A loop allocating at one call site walks the same stack from the same
 * registers again and again. Each thread keeps its latest walks, with the
 * stack slots each one read: when the registers, the stack bound, the
 * unwind tables and every one of those slots are unchanged, the walk
 * would give the same frames, so they are reused with their hash (the
 * check reads a handful of slots; the walk searches the tables for every
 * frame). Exact: anything that could change the walk misses. */
#define STACK_CACHE_SETS 16
#define STACK_CACHE_WAYS 4
#define STACK_CACHE_DEPTH 32
struct stack_cache_entry {
	uintptr_t pc, sp, fp; /* 0 sp: empty */
	unsigned gen, nreads, n, reason, cap;
	bool fp_used; /* the walk used fp: a hit needs the same */
	unsigned victim; /* way 0 of a set: the way its next miss replaces */
	uint64_t hash;
	/* The stack slots the walk read, each beside its value: a hit reads
	 * a few of them, from one or two cache lines. */
	struct {
		uintptr_t addr, val;
	} reads[UNWIND_TRACE_MAX];
	uint64_t pcs[STACK_CACHE_DEPTH]; /* as in raw[1..n] */
};
_Static_assert(STACK_CACHE_SETS * STACK_CACHE_WAYS * sizeof(struct stack_cache_entry) <=
		       HEAP_STACK_CACHE_BYTES,
	       "the stack cache fits the memory the heap ring maps for it");

/* The set of walks that start from (pc, sp): its first way. Several
 * stacks share a first frame (an allocation wrapper called from many
 * places), hence ways: each is told apart by the stack slots it read. */
static struct stack_cache_entry *stack_cache_set(const struct agent_thread *t, uintptr_t pc,
						 uintptr_t sp)
{
	struct stack_cache_entry *c = (struct stack_cache_entry *)(t->heap_seen + HEAP_SEEN);
	size_t set = ((pc ^ (sp >> 4)) * 0x9e3779b97f4a7c15ull) >> 60 & (STACK_CACHE_SETS - 1);
	return &c[set * STACK_CACHE_WAYS];
}

/* The thread's row cache, after its stack cache. */
static struct unwind_row_cache *row_cache_of(const struct agent_thread *t)
{
	return (struct unwind_row_cache *)((char *)(t->heap_seen + HEAP_SEEN) +
					   HEAP_STACK_CACHE_BYTES);
}

/* Whether e holds the walk from regs. */
static bool stack_cache_hit(const struct stack_cache_entry *e, const struct unwind_regs *regs,
			    unsigned cap, unsigned gen)
{
	if (e->sp != regs->sp || e->pc != regs->pc || (e->fp_used && e->fp != regs->fp) ||
	    e->cap != cap || e->gen != gen)
		return false;
	for (unsigned i = 0; i < e->nreads; i++)
		if (*(const volatile uintptr_t *)e->reads[i].addr != e->reads[i].val)
			return false;
	return true;
}

/* Walks the program's stack into raw[]: from the frame that called into
 * the agent, found by following the agent's own frame-pointer chain (the
 * agent is built with frame pointers) until a return address leaves its
 * code. raw[1] is that return address minus one, so that like every
 * other frame it falls inside the call instruction; raw[0] is free for
 * the caller's use. Returns the number of frames, in *pcs where they are
 * (raw + 1, or the stack cache's copy, which only a later walk of this
 * thread replaces: most allocations are at stacks sent already, and need
 * only the hash), and in *hash the hash of [end reason, frames], which
 * tells stacks apart in heap_seen. */
static __attribute__((noinline)) unsigned capture_stack(const struct agent_thread *t,
							uint64_t *raw, unsigned cap,
							unsigned *reason, uint64_t *hash,
							const uint64_t **pcs)
{
	*pcs = raw + 1;
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	for (int hops = 0; hops < 16; hops++) {
		if (fp < t->stack_lo || fp + 16 > t->stack_hi || (fp & 7))
			break;
		uintptr_t ra = ((const uintptr_t *)fp)[1];
		uintptr_t up = ((const uintptr_t *)fp)[0];
		if (ra < self_lo || ra >= self_hi) {
			/* The caller's state just after the call returned: sp
			 * above our frame's return address, its frame pointer
			 * the one our frame saved. */
			struct unwind_regs regs = { ra, fp + 16, up };
			struct stack_cache_entry *set = stack_cache_set(t, ra, fp + 16);
			unsigned gen = unwind_generation();
			for (unsigned w = 0; w < STACK_CACHE_WAYS; w++) {
				struct stack_cache_entry *e = &set[w];
				if (stack_cache_hit(e, &regs, cap, gen)) {
					*reason = e->reason;
					*hash = e->hash;
					*pcs = e->pcs;
					return e->n;
				}
			}
			struct stack_cache_entry *e = &set[set->victim++ % STACK_CACHE_WAYS];
			struct unwind_trace trace;
			int saved_errno = errno;
			unsigned n = unwind_walk_traced(&regs, t->stack_lo, t->stack_hi, raw + 1,
							cap - 1, reason, &trace, row_cache_of(t));
			errno = saved_errno;
			if (n)
				raw[1]--;
			raw[0] = *reason;
			*hash = XXH3_64bits(raw, (1 + n) * sizeof(uint64_t)) | 1;
			if (trace.gen != UNWIND_TRACE_NONE && trace.n <= UNWIND_TRACE_MAX &&
			    n <= STACK_CACHE_DEPTH) {
				e->sp = 0; /* a signal handler allocating here sees no half entry */
				e->pc = ra;
				e->fp = up;
				e->fp_used = trace.fp_used;
				e->cap = cap;
				e->gen = trace.gen;
				e->nreads = trace.n;
				e->n = n;
				e->reason = *reason;
				e->hash = *hash;
				for (unsigned i = 0; i < trace.n; i++) {
					e->reads[i].addr = trace.addr[i];
					e->reads[i].val = trace.val[i];
				}
				memcpy(e->pcs, raw + 1, n * sizeof(uint64_t));
				atomic_signal_fence(memory_order_release);
				e->sp = fp + 16;
			}
			return n;
		}
		fp = up;
	}
	*reason = CAPTURE_STACK_BAD_FRAME;
	raw[0] = *reason;
	*hash = XXH3_64bits(raw, sizeof(uint64_t)) | 1;
	return 0;
}

/* The paths below that make system calls or walk a stack keep the
 * program's errno; the common path makes no call that could set it. */
void heap_wake_writer(void)
{
	int saved_errno = errno;
	atomic_fetch_add_explicit(&agent.wake_seq, 1, memory_order_release);
	syscall(SYS_futex, &agent.wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = saved_errno;
}

/* Threads waiting for room in their heap ring sleep on drained_seq, which
 * the writer bumps after each heap drain, waking them when waiters says
 * there are some: a sleep, not a sched_yield() loop, so the cores go to
 * the writer and the program rather than to the scheduler. */
static _Atomic uint32_t drained_seq;
static _Atomic uint32_t waiters;

void heap_note_drained(void)
{
	atomic_fetch_add(&drained_seq, 1);
	if (atomic_exchange(&waiters, 0))
		syscall(SYS_futex, &drained_seq, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

bool heap_threads_waiting(void)
{
	return atomic_load_explicit(&waiters, memory_order_relaxed) != 0;
}

void heap_room_made(void)
{
	if (atomic_load_explicit(&waiters, memory_order_relaxed))
		heap_note_drained();
}

/* Room in t's heap rings for an event's stream bytes and, with side_words,
 * a side record (*side); both or neither. */
static inline bool has_room(struct agent_thread *t, uint64_t side_words, uint8_t **bytes,
			    uint64_t **side)
{
	*bytes = stream_ring_reserve(t->heap_stream, HEAP_REC_MAX_BYTES);
	if (!*bytes)
		return false;
	if (side_words && !(*side = ring_reserve(t->heap_ring, side_words))) {
		/* Not a drop: the caller waits or counts it as heap_lost_full. */
		atomic_fetch_sub_explicit(&t->heap_ring->dropped, 1, memory_order_relaxed);
		return false;
	}
	return true;
}

/* The rings are full: waits for the writer, as full tracking means every
 * event. Gives up (counted) only if the writer makes no room for two
 * seconds or the capture is ending. */
static __attribute__((noinline)) uint8_t *room_wait(struct agent_thread *t, uint64_t side_words,
						    uint64_t **side)
{
	uint8_t *bytes;
	int saved_errno = errno;
	uint64_t deadline = agent_now_ns() + 2000000000ull;
	for (;;) {
		/* The sequence before the last look at the rings: a drain after
		 * it makes the wait return at once. The timeout is a backstop. */
		uint32_t seen = atomic_load(&drained_seq);
		atomic_store(&waiters, 1);
		heap_wake_writer();
		if (has_room(t, side_words, &bytes, side)) {
			errno = saved_errno;
			return bytes;
		}
		if (!atomic_load_explicit(&heap_on, memory_order_relaxed) ||
		    agent_now_ns() > deadline) {
			atomic_fetch_add_explicit(&heap_lost_full, 1, memory_order_relaxed);
			errno = saved_errno;
			return NULL;
		}
		struct timespec ts = { 0, 10000000 };
		syscall(SYS_futex, &drained_seq, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
	}
}

static __attribute__((noinline)) void wake_if_behind(struct stream_ring *r, uint64_t head)
{
	r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head - r->tail_seen >= r->size / 4)
		heap_wake_writer();
}

/* Where the event's bytes go, with room for a side record of side_words
 * (0: none) in *side; NULL when there is none even after waiting. */
static inline uint8_t *room(struct agent_thread *t, uint64_t side_words, uint64_t **side)
{
	uint8_t *bytes;
	if (likely(has_room(t, side_words, &bytes, side)))
		return bytes;
	return room_wait(t, side_words, side);
}

/* The event's n bytes are in, an allocation or a free. At each quarter of
 * the ring written, a look at the writer's position: a quarter or more
 * waiting, and the writer drains now rather than at its next tick.
 * Reading its position at every event would cost a cache miss each. */
static inline void commit(struct stream_ring *r, unsigned n, bool alloc)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	stream_ring_commit(r, n);
	_Atomic uint64_t *count = alloc ? &r->allocs : &r->frees;
	atomic_store_explicit(count, atomic_load_explicit(count, memory_order_relaxed) + 1,
			      memory_order_release);
	uint64_t q = r->size / 4; /* a power of two, as size is */
	if (((head + n) & ~(q - 1)) == (head & ~(q - 1)))
		return;
	wake_if_behind(r, head + n);
}

/* A side record of words words at rec, for the event about to go in at
 * the stream's head: its first two words. */
static uint64_t *side_begin(const struct agent_thread *t, uint64_t *rec, uint64_t words,
			    uint64_t flags)
{
	rec[0] = words | flags;
	rec[1] = atomic_load_explicit(&t->heap_stream->head, memory_order_relaxed);
	return rec + 2;
}

static void orphan_event(bool alloc, uintptr_t p, size_t size)
{
	if (!orphan)
		return;
	while (atomic_flag_test_and_set_explicit(&orphan_lock, memory_order_acquire))
		sched_yield();
	/* No stack bounds for this thread any more: an allocation's stack
	 * is its caller only. */
	uint64_t n = alloc ? 6 : 4;
	uint64_t *rec = ring_reserve(orphan, n);
	if (rec) {
		rec[0] = n | (alloc ? HEAP_REC_ALLOC : 0);
		rec[1] = ticks_now();
		rec[2] = p;
		rec[3] = (uint64_t)syscall(SYS_gettid);
		if (alloc) {
			rec[4] = size;
			rec[5] = (uint64_t)(uintptr_t)__builtin_return_address(0);
		}
		ring_commit(orphan, n);
	} else {
		atomic_fetch_sub_explicit(&orphan->dropped, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&heap_lost_full, 1, memory_order_relaxed);
	}
	atomic_flag_clear_explicit(&orphan_lock, memory_order_release);
}

/* Before every event of the thread's stream: a new recording (which bumps
 * agent.stack_gen) starts it over, its stacks to be sent again; so does
 * the thread's first event. */
static inline void stream_check(struct agent_thread *t)
{
	unsigned gen = atomic_load_explicit(&agent.stack_gen, memory_order_relaxed);
	if (unlikely(t->heap_seen_gen != gen)) {
		memset(t->heap_seen, 0, HEAP_SEEN * sizeof(uint64_t));
		t->heap_seen_gen = gen;
		t->heap_next_slot = 0;
		t->heap_last_time = t->heap_last_addr = 0;
		t->heap_labels_sent = 0;
		t->heap_reset_due = true;
	}
}

/* What every event starts with, at p: the head (the time since the
 * thread's previous event, with the event's kind) and the address as a
 * difference from the previous event's. Returns the end. The state moves
 * on only once the event is in the ring (stream_sent): the reader must
 * see every event the next is a difference from. */
static inline uint8_t *stream_head(const struct agent_thread *t, uint8_t *p, uint64_t time,
				   unsigned kind, uintptr_t addr)
{
	/* A thread moved to another core may read a clock a little behind
	 * its last: the same time, then. */
	uint64_t units = time >> HEAP_TICK_SHIFT;
	uint64_t dt = units > t->heap_last_time ? units - t->heap_last_time : 0;
	p += varint_put(p, dt << CAPTURE_HEAP_ST_SHIFT | kind);
	return p + varint_put(p, zigzag_encode((int64_t)(addr - t->heap_last_addr)));
}

static inline void stream_sent(struct agent_thread *t, uint64_t time, uintptr_t addr)
{
	uint64_t units = time >> HEAP_TICK_SHIFT;
	if (units > t->heap_last_time)
		t->heap_last_time = units;
	t->heap_last_addr = addr;
	t->heap_reset_due = false;
}

/* The stream slot of the stack with this hash, if the thread sent it
 * already (*known); else the slot it will take once sent (seen_sent).
 * heap_seen is direct-mapped by the hash's low bits, which an entry
 * therefore need not keep: it keeps its stack's slot there instead.
 * Slots are handed out in the order stacks are first sent, so the first
 * 128 a thread sends take one byte in each event that names them, where
 * slots that were hash bits took two; the 4,097th starts the table over,
 * and stacks are sent again under new slots (the reader takes a slot's
 * latest definition). */
#define SEEN_SLOT_MASK ((uint64_t)HEAP_SEEN - 1)
static inline uint64_t seen_key(uint64_t hash)
{
	return (hash | HEAP_SEEN) & ~SEEN_SLOT_MASK; /* never 0, an empty entry */
}

static inline unsigned seen_slot(const struct agent_thread *t, uint64_t hash, bool *known)
{
	uint64_t entry = t->heap_seen[hash & SEEN_SLOT_MASK];
	*known = (entry & ~SEEN_SLOT_MASK) == seen_key(hash);
	if (likely(*known))
		return (unsigned)(entry & SEEN_SLOT_MASK);
	return t->heap_next_slot < HEAP_SEEN ? t->heap_next_slot : 0;
}

static inline void seen_sent(struct agent_thread *t, uint64_t hash)
{
	if (unlikely(t->heap_next_slot == HEAP_SEEN)) {
		memset(t->heap_seen, 0, HEAP_SEEN * sizeof(uint64_t));
		t->heap_next_slot = 0;
	}
	t->heap_seen[hash & SEEN_SLOT_MASK] = seen_key(hash) | t->heap_next_slot++;
}

/* Writes the allocation with its stack to the thread's heap ring. */
static __attribute__((noinline)) void record_alloc(struct agent_thread *t, void *ptr, size_t size)
{
	uint64_t time = ticks_now();
	/* The walk covers the agent's frames too (a handful) before it
	 * reaches the caller's. */
	uint64_t raw[1 + HEAP_MAX_DEPTH];
	unsigned depth = agent.cfg.max_depth < HEAP_MAX_DEPTH ? agent.cfg.max_depth : HEAP_MAX_DEPTH;
	unsigned reason = CAPTURE_STACK_NO_STACK_INFO, n = 0;
	uint64_t hash;
	const uint64_t *pcs = raw + 1;
	if (t->stack_hi) {
		n = capture_stack(t, raw, 1 + depth, &reason, &hash, &pcs);
	} else {
		raw[0] = reason;
		hash = XXH3_64bits(raw, sizeof(uint64_t)) | 1;
	}
	stream_check(t);
	bool known;
	uint64_t slot = seen_slot(t, hash, &known);
	bool observed = observe_allocs_wanted();
	uint32_t labels = atomic_load_explicit(&t->labels, memory_order_relaxed) & 0x7fffffff;
	/* What the writer must do before the event: a side record. */
	uint64_t flags = (t->heap_reset_due ? HEAP_REC_RESET : 0) | (known ? 0 : HEAP_REC_PCS) |
			 (observed ? HEAP_REC_OBSERVED : 0) |
			 (labels && labels != t->heap_labels_sent ? HEAP_REC_LABELS : 0);
	uint64_t side_words = flags ? 2 + (known ? 0 : 1 + n) + (observed ? 3 : 0) : 0;
	uint64_t *rec;
	uint8_t *bytes = room(t, side_words, &rec);
	if (!bytes)
		return;
	if (unlikely(flags)) {
		uint64_t *next = side_begin(t, rec, side_words,
					    flags | slot << HEAP_REC_SLOT_SHIFT | (uint64_t)labels << 32);
		if (!known) {
			*next++ = reason | (uint64_t)n << 8;
			memcpy(next, pcs, n * sizeof(uint64_t));
			next += n;
			seen_sent(t, hash);
		}
		if (observed) {
			next[0] = time;
			next[1] = (uintptr_t)ptr;
			next[2] = size;
		}
		ring_commit(t->heap_ring, side_words);
		if (flags & HEAP_REC_LABELS)
			t->heap_labels_sent = labels;
	}
	uint8_t *p = stream_head(t, bytes, time,
				 labels ? CAPTURE_HEAP_ST_ALLOC_LABELS : CAPTURE_HEAP_ST_ALLOC,
				 (uintptr_t)ptr);
	p += varint_put(p, size);
	p += varint_put(p, slot);
	if (labels)
		p += varint_put(p, labels);
	commit(t->heap_stream, (unsigned)(p - bytes), true);
	stream_sent(t, time, (uintptr_t)ptr);
}

/* Sampled mode, the countdown ran out: a new one, and the block is
 * recorded if the sampled-address table has room for it. */
static __attribute__((noinline)) void sample_hit(struct agent_thread *t, void *ptr, size_t size)
{
	agent_tls.heap_countdown = next_countdown(t);
	if (sample_add((uintptr_t)ptr))
		record_alloc(t, ptr, size);
}

/* The calling thread's totals (agent.h): every call that allocated,
 * sampled or not. */
static inline void count_alloc(size_t n)
{
	agent_tls.heap.allocs++;
	agent_tls.heap.bytes += n;
}

static __attribute__((noinline)) void note_alloc(void *ptr, size_t size)
{
	struct agent_thread *t = agent_tls.self;
	if (unlikely(!t || !t->heap_ring)) {
		orphan_event(true, (uintptr_t)ptr, size);
		return;
	}
	count_alloc(size);
	if (!agent.cfg.heap_sample)
		record_alloc(t, ptr, size);
	else if ((agent_tls.heap_countdown -= (int64_t)size) <= 0)
		sample_hit(t, ptr, size);
}

/* `time` is taken before the real free (or realloc): the block is still
 * ours then, so no other thread can have been given the address earlier.
 * FREE_NOW: take it here, which free() does, before its real free, so that
 * in sampled mode only the frees that are recorded pay for a clock. */
#define FREE_NOW UINT64_MAX
static void record_free(struct agent_thread *t, void *ptr, uint64_t time);

static __attribute__((noinline)) void note_free(void *ptr, uint64_t time)
{
	struct agent_thread *t = agent_tls.self;
	if (unlikely(!t || !t->heap_ring)) {
		if (!agent.cfg.heap_sample || sample_take((uintptr_t)ptr))
			orphan_event(false, (uintptr_t)ptr, 0); /* takes its time */
		return;
	}
	agent_tls.heap.frees++;
	if (agent.cfg.heap_sample && !sample_take((uintptr_t)ptr))
		return;
	record_free(t, ptr, time);
}

/* Tracking is on, and this thread is not inside the agent already. */
static inline bool tracking(void)
{
	return atomic_load_explicit(&heap_on, memory_order_relaxed) && !agent_tls.heap_busy;
}

/* Sampled mode in the careful paths (a sample is due, a free the filter
 * cannot clear, the quick path closed): the thread's totals and countdown,
 * no clock, no stack. It runs without heap_busy around the real call:
 * nothing it does allocates, glibc's allocator does not call back into
 * malloc, and the agent's own allocations are made under heap_busy, which
 * tracking() checked. A sample or a possibly sampled free goes out of
 * line under heap_busy (the ring has one producer). NULL: not this path. */
static inline struct agent_thread *sampling_self(void)
{
	struct agent_thread *t = agent_tls.self;
	return agent.cfg.heap_sample && likely(t && t->heap_ring) ? t : NULL;
}

/* An allocation of the sampling fast path; p is not NULL. */
static inline void sampled_alloc(struct agent_thread *t, void *p, size_t n)
{
	count_alloc(n);
	if (likely((agent_tls.heap_countdown -= (int64_t)n) > 0))
		return;
	heap_busy_enter();
	sample_hit(t, p, n);
	heap_busy_leave();
}

/* A free whose address the counts say may be sampled. */
static __attribute__((noinline)) void sampled_free(struct agent_thread *t, void *ptr)
{
	if (sample_take((uintptr_t)ptr))
		record_free(t, ptr, FREE_NOW);
}

static __attribute__((noinline)) void record_free(struct agent_thread *t, void *ptr,
						  uint64_t time)
{
	if (time == FREE_NOW)
		time = ticks_now();
	stream_check(t);
	uint64_t side_words = t->heap_reset_due ? 2 : 0, *rec;
	uint8_t *bytes = room(t, side_words, &rec);
	if (!bytes)
		return;
	if (unlikely(side_words)) {
		side_begin(t, rec, side_words, HEAP_REC_RESET);
		ring_commit(t->heap_ring, side_words);
	}
	uint8_t *p = stream_head(t, bytes, time, CAPTURE_HEAP_ST_FREE, (uintptr_t)ptr);
	commit(t->heap_stream, (unsigned)(p - bytes), false);
	stream_sent(t, time, (uintptr_t)ptr);
}

static inline void note_stopped(void)
{
	/* Heap tracking was on and the capture ended: say how much it missed. */
	if (agent.cfg.heap && !agent_tls.heap_busy &&
	    atomic_load_explicit(&agent.state, memory_order_relaxed) != AGENT_RUNNING &&
	    getpid() == agent.pid)
		atomic_fetch_add_explicit(&heap_lost_stopped, 1, memory_order_relaxed);
}

/* --- the interposed functions ---
 * malloc, calloc, realloc and free each take the quick path that
 * heap_switch() opened themselves: in sampled mode an allocation with no
 * sample due or a free of a block that cannot have been sampled, in full
 * tracking malloc and free of a thread with a heap ring. Otherwise they
 * jump through a pointer that heap_switch() sets to the function for the
 * way the heap is tracked now: the real one (not tracked: CPU profiling
 * only) or a careful one that asks everything (the rest of both modes,
 * before the real functions are known, a stopped capture counting late
 * calls). A sampled quick path counts the call and jumps to the real
 * function: no frame, no second return. On the churn benchmark the
 * frame, its saved registers and the return through the hook were most
 * of the hooks' cost: their share of the profile fell from 4.9% to 1.4%
 * with the heap not tracked, and from 11% to 5-6% when sampled. Each
 * jump between functions costs about as much as a quick path's
 * arithmetic: with the quick paths in the interposed functions, where
 * they were functions of their own jumped to through the pointer, the
 * agent's share of a sampled churn profile went from 5.7% to 5.1%, and
 * the wrappers' share of a full-tracking one from 3.6% to 2.5%. */

/* A sampled-mode allocation with no sample due: counted, and true; false
 * leaves it to the careful path. Only a size below the bytes left to the
 * next sample passes (compared unsigned: a huge size goes the careful way,
 * which counts what succeeded); one that then fails for want of memory is
 * counted as made, since the jump to the real function cannot look at its
 * result. */
static inline bool quiet_alloc(size_t n)
{
	if (likely(n < (uint64_t)agent_tls.heap_countdown)) {
		agent_tls.heap_countdown -= (int64_t)n;
		count_alloc(n);
		return true;
	}
	return false;
}

/* Full tracking, from a thread with a heap ring: the careful paths' work
 * without their questions, which the open quick path answered (the real
 * functions are known, the heap is tracked, every call recorded), and a
 * call fewer: 7-10% less wall time on the churn benchmark (two six-pair
 * runs). */
static __attribute__((noinline)) void *malloc_full(struct agent_thread *t, size_t n)
{
	heap_busy_enter();
	void *p = real.malloc(n);
	if (likely(p != NULL)) {
		count_alloc(n);
		record_alloc(t, p, n);
	}
	heap_busy_leave();
	return p;
}

static __attribute__((noinline)) void free_full(struct agent_thread *t, void *p)
{
	heap_busy_enter();
	agent_tls.heap.frees++;
	record_free(t, p, FREE_NOW);
	real.free(p);
	heap_busy_leave();
}

static __attribute__((noinline)) void *malloc_careful(size_t n)
{
	NEED_REAL(boot_alloc(n, 16));
	if (!tracking()) {
		note_stopped();
		return real.malloc(n);
	}
	struct agent_thread *t = sampling_self();
	if (t) {
		void *p = real.malloc(n);
		if (likely(p != NULL))
			sampled_alloc(t, p, n);
		return p;
	}
	heap_busy_enter();
	void *p = real.malloc(n);
	if (p)
		note_alloc(p, n);
	heap_busy_leave();
	return p;
}

static __attribute__((noinline)) void *calloc_careful(size_t count, size_t size)
{
	size_t n;
	if (unlikely(atomic_load_explicit(&resolved, memory_order_acquire) != 2) && !resolve()) {
		if (__builtin_mul_overflow(count, size, &n))
			return NULL;
		return boot_alloc(n, 16); /* static memory is zero already */
	}
	if (!tracking()) {
		note_stopped();
		return real.calloc(count, size);
	}
	struct agent_thread *t = sampling_self();
	if (t) {
		void *p = real.calloc(count, size);
		if (likely(p != NULL))
			sampled_alloc(t, p, count * size);
		return p;
	}
	heap_busy_enter();
	void *p = real.calloc(count, size);
	if (p)
		note_alloc(p, count * size);
	heap_busy_leave();
	return p;
}

static __attribute__((noinline)) void free_careful(void *p)
{
	if (!p || unlikely(in_boot(p)))
		return;
	NEED_REAL();
	if (!tracking()) {
		note_stopped();
		real.free(p);
		return;
	}
	struct agent_thread *t = sampling_self();
	if (t) {
		agent_tls.heap.frees++;
		if (unlikely(sample_maybe((uintptr_t)p))) {
			heap_busy_enter();
			sampled_free(t, p);
			real.free(p);
			heap_busy_leave();
			return;
		}
		real.free(p);
		return;
	}
	heap_busy_enter();
	note_free(p, FREE_NOW);
	real.free(p);
	heap_busy_leave();
}

/* The bootstrap arena's blocks go the careful way, which knows them. */
static void free_forward(void *p)
{
	if (likely(!in_boot(p)))
		return real.free(p);
	free_careful(p);
}

/* realloc is a free of the old block and an allocation of the new one,
 * recorded once the real call succeeded (a failed realloc leaves the old
 * block alive), with the free's time taken before the call. realloc(p, 0)
 * frees p and returns NULL in glibc: a free too. */
static uint64_t realloc_time(void *old)
{
	/* In sampled mode an old block that cannot have been sampled will not
	 * be recorded: no clock for it. */
	if (!old || (agent.cfg.heap_sample && !sample_maybe((uintptr_t)old)))
		return 0;
	return ticks_now();
}

static void note_realloc(void *old, void *p, size_t n, uint64_t before)
{
	if (old && (p || n == 0))
		note_free(old, before);
	if (p)
		note_alloc(p, n);
}

static __attribute__((noinline)) void *realloc_careful(void *old, size_t n)
{
	if (unlikely(in_boot(old))) {
		void *p = malloc(n);
		if (p) {
			size_t have = boot_size(old);
			memcpy(p, old, have < n ? have : n);
		}
		return p;
	}
	NEED_REAL(boot_alloc(n, 16));
	if (!tracking()) {
		note_stopped();
		return real.realloc(old, n);
	}
	heap_busy_enter();
	uint64_t before = realloc_time(old);
	void *p = real.realloc(old, n);
	note_realloc(old, p, n, before);
	heap_busy_leave();
	return p;
}

static void *realloc_forward(void *old, size_t n)
{
	if (likely(!in_boot(old)))
		return real.realloc(old, n);
	return realloc_careful(old, n);
}

/* What every interposed call reads first, set by heap_switch(): which
 * quick path is open (the real functions are known and tracking is on,
 * sampled or full), and the function to jump to when no quick path
 * takes the call. On a line of their own, which no thread writes while
 * the program runs. */
enum { QUICK_NONE, QUICK_SAMPLED, QUICK_FULL };
static struct __attribute__((aligned(64))) {
	_Atomic unsigned char quick;
	void *(*_Atomic malloc_now)(size_t);
	void *(*_Atomic calloc_now)(size_t, size_t);
	void *(*_Atomic realloc_now)(void *, size_t);
	void (*_Atomic free_now)(void *);
} hooks = {
	.malloc_now = malloc_careful,
	.calloc_now = calloc_careful,
	.realloc_now = realloc_careful,
	.free_now = free_careful,
};

/* The quick path open to this call: none while the thread runs inside
 * the agent (heap_quick NULL). */
static inline unsigned quick_path(void)
{
	unsigned quick = atomic_load_explicit(&hooks.quick, memory_order_acquire);
	return likely(agent_tls.heap_quick != NULL) ? quick : QUICK_NONE;
}

EXPORT void *malloc(size_t n)
{
	unsigned quick = quick_path();
	if (likely(quick == QUICK_SAMPLED)) {
		if (likely(quiet_alloc(n)))
			return real.malloc(n);
	} else if (quick == QUICK_FULL && likely(agent_tls.heap_quick->heap_ring != NULL)) {
		/* (no heap ring: its registration failed for want of memory) */
		return malloc_full(agent_tls.heap_quick, n);
	}
	return atomic_load_explicit(&hooks.malloc_now, memory_order_acquire)(n);
}

EXPORT void *calloc(size_t count, size_t size)
{
	size_t n;
	if (quick_path() == QUICK_SAMPLED && likely(!__builtin_mul_overflow(count, size, &n)) &&
	    likely(quiet_alloc(n)))
		return real.calloc(count, size);
	return atomic_load_explicit(&hooks.calloc_now, memory_order_acquire)(count, size);
}

/* Quick when the old block cannot have been sampled and no sample is
 * due: its free and the new block are counted (a failure to grow is
 * counted too, as quiet_alloc says). Size 0 frees without allocating. */
EXPORT void *realloc(void *old, size_t n)
{
	if (quick_path() == QUICK_SAMPLED && likely(n != 0) &&
	    (!old || likely(!sample_maybe((uintptr_t)old))) && likely(quiet_alloc(n))) {
		agent_tls.heap.frees += old != NULL;
		return real.realloc(old, n);
	}
	return atomic_load_explicit(&hooks.realloc_now, memory_order_acquire)(old, n);
}

EXPORT void free(void *p)
{
	unsigned quick = quick_path();
	if (likely(quick == QUICK_SAMPLED)) {
		if (likely(!sample_maybe((uintptr_t)p))) { /* not NULL, not the arena's */
			agent_tls.heap.frees++;
			return real.free(p);
		}
	} else if (quick == QUICK_FULL && likely(agent_tls.heap_quick->heap_ring != NULL) && p &&
		   likely(!in_boot(p))) {
		return free_full(agent_tls.heap_quick, p);
	}
	atomic_load_explicit(&hooks.free_now, memory_order_acquire)(p);
}

EXPORT void *reallocarray(void *old, size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(in_boot(old)) || !real.reallocarray)
		return realloc(old, n);
	NEED_REAL(NULL);
	if (!tracking()) {
		note_stopped();
		return real.reallocarray(old, count, size);
	}
	heap_busy_enter();
	uint64_t before = realloc_time(old);
	void *p = real.reallocarray(old, count, size);
	note_realloc(old, p, n, before);
	heap_busy_leave();
	return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	NEED_REAL((*out = boot_alloc(n, align)) ? 0 : ENOMEM);
	if (!real.posix_memalign)
		return ENOSYS;
	if (!tracking()) {
		note_stopped();
		return real.posix_memalign(out, align, n);
	}
	heap_busy_enter();
	int rc = real.posix_memalign(out, align, n);
	if (rc == 0)
		note_alloc(*out, n);
	heap_busy_leave();
	return rc;
}

/* The aligned family, one body: fn is the real function. */
#define ALIGNED(name, params, args, size, boot_align)                 \
	EXPORT void *name params                                      \
	{                                                             \
		NEED_REAL(boot_alloc(size, boot_align));              \
		if (!real.name) {                                     \
			errno = ENOSYS;                               \
			return NULL;                                  \
		}                                                     \
		if (!tracking()) {                                    \
			note_stopped();                               \
			return real.name args;                        \
		}                                                     \
		heap_busy_enter();                                    \
		void *p = real.name args;                             \
		if (p)                                                \
			note_alloc(p, size);           \
		heap_busy_leave();                                    \
		return p;                                             \
	}

ALIGNED(aligned_alloc, (size_t align, size_t n), (align, n), n, align)
ALIGNED(memalign, (size_t align, size_t n), (align, n), n, align)
ALIGNED(valloc, (size_t n), (n), n, 4096)
ALIGNED(pvalloc, (size_t n), (n), n, 4096)

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (unlikely(in_boot(p)))
		return boot_size(p);
	NEED_REAL(0);
	return real.malloc_usable_size ? real.malloc_usable_size(p) : 0;
}

/* --- start, fork, finish --- */

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	uintptr_t here = (uintptr_t)find_self;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && here >= lo &&
		    here < lo + ph->p_memsz) {
			self_lo = lo;
			self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

int heap_start(void)
{
	if (!agent.cfg.heap)
		return 0;
	resolve();
	dl_iterate_phdr(find_self, NULL);
	if (agent.cfg.heap_sample && !sampled) {
		void *mem = mmap(NULL, SAMPLE_BUCKETS * sizeof(*sampled), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return -ENOMEM;
		sampled = mem;
	}
	if (!orphan) {
		size_t bytes = sizeof(struct ring) + (1u << 20);
		void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return -ENOMEM;
		orphan = mem;
		orphan->words = (1u << 20) / sizeof(uint64_t);
	}
	return 0;
}

/* t is alive: t->tls is its TLS block (written from the thread itself at
 * registration, from another one at a session's start). */
void heap_thread_init(struct agent_thread *t)
{
	t->heap_rng = ((uint64_t)t->tid << 32 ^ agent_now_ns()) | 1;
	t->tls->heap_countdown = agent.cfg.heap_sample ? next_countdown(t) : 0;
}

/* In a followed fork child: the blocks the parent sampled are the
 * parent's story; the child's capture starts with none. */
void heap_forget(void)
{
	atomic_flag_clear(&orphan_lock);
	if (orphan)
		ring_reset(orphan);
	if (sampled)
		memset(sampled, 0, SAMPLE_BUCKETS * sizeof(*sampled));
	memset(sample_filter, 0, sizeof(sample_filter));
	memset(sample_counts, 0, sizeof(sample_counts));
	atomic_flag_clear(&sample_lock);
	filter_pinned = false; /* pinned again when the quick path opens */
	atomic_store(&waiters, 0);
	atomic_store(&heap_lost_full, 0);
	atomic_store(&heap_lost_stopped, 0);
	atomic_store(&sample_table_full, 0);
}

void heap_switch(bool on)
{
	atomic_store(&hooks.quick, QUICK_NONE);
	atomic_store(&heap_on, on && agent.cfg.heap);
	void *(*m)(size_t) = malloc_careful;
	void *(*c)(size_t, size_t) = calloc_careful;
	void *(*r)(void *, size_t) = realloc_careful;
	void (*f)(void *) = free_careful;
	unsigned char quick = QUICK_NONE; /* the careful functions take the rest */
	if (!agent.cfg.heap && resolve()) {
		m = real.malloc, c = real.calloc, r = realloc_forward, f = free_forward;
	} else if (on && agent.cfg.heap && agent.cfg.heap_sample && resolve()) {
		filter_pin_reserved();
		quick = QUICK_SAMPLED;
	} else if (on && agent.cfg.heap && resolve()) {
		quick = QUICK_FULL;
	}
	/* free first: a block that the new malloc records is freed by the
	 * new free, never by one that would not record it. */
	atomic_store(&hooks.free_now, f);
	atomic_store(&hooks.realloc_now, r);
	atomic_store(&hooks.calloc_now, c);
	atomic_store(&hooks.malloc_now, m);
	atomic_store(&hooks.quick, quick);
}

struct ring *heap_orphan_ring(void)
{
	return orphan;
}

void heap_lost_counts(uint64_t *ring_full, uint64_t *table_full, uint64_t *stopped)
{
	*ring_full = atomic_exchange(&heap_lost_full, 0);
	*table_full = atomic_exchange(&sample_table_full, 0);
	*stopped = atomic_exchange(&heap_lost_stopped, 0);
}
