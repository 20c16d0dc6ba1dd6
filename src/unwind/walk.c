/* Module registry and the async-signal-safe stack walker.
 *
 * Publication: unwind_rebuild() builds a new table set (an array of
 * modules sorted by text address) and swaps the global pointer to it. A
 * walker announces itself in one of two counters, chosen by the low bit of
 * an epoch, before it reads the pointer: it increments walkers[e], checks
 * that the epoch is still e (else it backs out and retries), then loads
 * the set. The rebuilder swaps the pointer, flips the epoch and waits for
 * walkers[old epoch] to drain; new walkers count in the other counter, so
 * the wait ends as soon as the walks that may hold the old set are done,
 * however busy sampling is. (Without the re-check, a walker that read the
 * epoch before one flip and counted itself after it could hide from the
 * next rebuild.) Then the old set is freed. Modules are shared
 * between consecutive sets (refcounted under rebuild_lock), so a rebuild
 * parses only modules not seen before.
 *
 * Walker: per frame, the module by binary search over text ranges, then
 * the row by binary search; pc for frame 0 and pc-1 for return addresses
 * (a call may be a function's last instruction). A pc with no row takes
 * one frame-pointer step instead (the row interpreter is walk_core.h,
 * shared with the offline walker of space.c). Every load is an aligned
 * stack slot inside [max(stack_lo, sp), stack_hi), so no table or stack
 * content can make it fault. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dl_iterate_phdr */
#endif
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unwind.h"
#include "unwind_internal.h"
#include "walk_core.h"

/* Stack slots may lie in ASan redzones of other frames in sanitizer
 * builds: only the (bounds-checked) slot load goes uninstrumented, the
 * table lookups stay checked. */
#if defined(__SANITIZE_ADDRESS__)
#define UW_SLOT_ATTR __attribute__((no_sanitize_address, noinline))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UW_SLOT_ATTR __attribute__((no_sanitize_address, noinline))
#endif
#endif
#ifndef UW_SLOT_ATTR
#define UW_SLOT_ATTR inline
#endif

struct uw_module {
	uintptr_t lo, hi; /* executable range in the process */
	struct uw_row *rows;
	size_t nrows;
	size_t unsupported_fdes;
	/* Identity across rebuilds. */
	char *name;
	uintptr_t hdr_addr;
	unsigned refs; /* sets holding it; changed under rebuild_lock only */
};

struct uw_entry {
	uintptr_t lo, hi;
	const struct uw_module *m;
};

struct uw_set {
	size_t n;
	unsigned failed_modules;
	struct uw_module **mods; /* owned references, same order as ent */
	struct uw_entry ent[];   /* sorted by lo */
};

static pthread_mutex_t rebuild_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uw_set *_Atomic current;
static atomic_uint epoch;
static atomic_uint walkers[2];
/* Loader generation of the published set (dlpi_adds, dlpi_subs). */
static unsigned long long seen_adds, seen_subs;
static bool seen_valid;

/* ---- walker ---- */

static const struct uw_set *enter(unsigned *ticket)
{
	for (int tries = 0; tries < 8; tries++) {
		unsigned e = atomic_load(&epoch) & 1;
		atomic_fetch_add(&walkers[e], 1);
		if ((atomic_load(&epoch) & 1) == e) {
			*ticket = e;
			return atomic_load(&current);
		}
		atomic_fetch_sub(&walkers[e], 1);
	}
	*ticket = 2; /* rebuilds back to back: walk with frame pointers only */
	return NULL;
}

static void leave(unsigned ticket)
{
	if (ticket < 2)
		atomic_fetch_sub(&walkers[ticket], 1);
}

static inline const struct uw_row *find_row(const struct uw_row *rows, size_t n, uint32_t off)
{
	size_t a = 0, b = n;
	while (a < b) { /* first row with pc > off */
		size_t m = a + (b - a) / 2;
		if (rows[m].pc <= off)
			a = m + 1;
		else
			b = m;
	}
	return a ? &rows[a - 1] : NULL;
}

const struct uw_row *unwind__find_row(const struct uw_row *rows, size_t n, uint32_t off)
{
	return find_row(rows, n, off);
}

static const struct uw_row *lookup(const struct uw_set *s, uintptr_t pc)
{
	if (!s)
		return NULL;
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		const struct uw_entry *e = &s->ent[m];
		if (pc < e->lo)
			b = m;
		else if (pc >= e->hi)
			a = m + 1;
		else
			return find_row(e->m->rows, e->m->nrows, (uint32_t)(pc - e->lo));
	}
	return NULL;
}

static const struct uw_row *lookup_set(const void *set, uintptr_t pc)
{
	return lookup(set, pc);
}

struct cached_set {
	const struct uw_set *set;
	struct unwind_row_cache *cache; /* its rows are the set's */
};

#define ROW_CACHE 2048
struct unwind_row_cache {
	unsigned gen; /* tables generation + 1 of the rows held; 0: none */
	/* Key and row on one cache line: one miss, not one for the key, one
	 * for the row pointer and one for the row. */
	struct {
		uintptr_t pc; /* 0: empty */
		struct uw_row row;
		bool found;   /* false: the pc has no row */
	} e[ROW_CACHE] __attribute__((aligned(32)));
};
_Static_assert(sizeof(struct unwind_row_cache) <= UNWIND_ROW_CACHE_BYTES,
	       "UNWIND_ROW_CACHE_BYTES holds a row cache");

/* The row returned lives in the cache entry: the walk uses it before its
 * next lookup, which may replace it. */
static const struct uw_row *lookup_cached(const void *ctx, uintptr_t pc)
{
	const struct cached_set *cs = ctx;
	struct unwind_row_cache *c = cs->cache;
	size_t i = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 40) & (ROW_CACHE - 1);
	if (c->e[i].pc != pc) {
		const struct uw_row *row = lookup(cs->set, pc);
		c->e[i].pc = pc;
		c->e[i].found = row != NULL;
		if (row)
			c->e[i].row = *row;
	}
	return c->e[i].found ? &c->e[i].row : NULL;
}

/* Loads the live stack slot at addr if it is aligned and inside the
 * window. */
static UW_SLOT_ATTR enum uw_read slot(const struct uw_window *w, uintptr_t addr, uintptr_t *out)
{
	if (addr < w->lo || addr > w->hi - sizeof(uintptr_t) || (addr & (sizeof(uintptr_t) - 1)))
		return UW_READ_BAD;
	*out = *(const volatile uintptr_t *)addr;
	return UW_READ_OK;
}

unsigned unwind_walk(const struct unwind_regs *regs, uintptr_t stack_lo, uintptr_t stack_hi,
		     uint64_t *pcs, unsigned max, unsigned *end_reason)
{
	if (max == 0) {
		*end_reason = CAPTURE_STACK_TRUNCATED;
		return 0;
	}
	uintptr_t sp = regs->sp;
	pcs[0] = regs->pc;
	struct uw_window w = { sp > stack_lo ? sp : stack_lo, stack_hi, NULL };
	if (w.hi < w.lo || w.hi - w.lo < 2 * sizeof(uintptr_t)) {
		*end_reason = CAPTURE_STACK_BAD_FRAME;
		return 1;
	}
	unsigned ticket;
	const struct uw_set *set = enter(&ticket);
	unsigned n = uw_walk_rows(regs->pc, sp, regs->fp, &w, lookup_set, set, slot, false, pcs, 1,
				  max, end_reason, slot, NULL, NULL);
	leave(ticket);
	return n;
}

struct traced_window {
	struct uw_window w; /* first: the walk passes &w */
	struct unwind_trace *trace;
};

static void traced_note(const struct uw_window *w, uintptr_t addr, uintptr_t val)
{
	struct unwind_trace *t = ((const struct traced_window *)w)->trace;
	if (t->n < UNWIND_TRACE_MAX) {
		t->addr[t->n] = addr;
		t->val[t->n] = val;
	}
	t->n++;
}

static UW_SLOT_ATTR enum uw_read traced_slot(const struct uw_window *w, uintptr_t addr,
					     uintptr_t *out)
{
	enum uw_read rr = slot(w, addr, out);
	if (rr == UW_READ_OK)
		traced_note(w, addr, *out);
	return rr;
}

unsigned unwind_walk_traced(const struct unwind_regs *regs, uintptr_t stack_lo,
			    uintptr_t stack_hi, uint64_t *pcs, unsigned max,
			    unsigned *end_reason, struct unwind_trace *trace,
			    struct unwind_row_cache *cache)
{
	trace->n = 0;
	trace->gen = UNWIND_TRACE_NONE;
	trace->fp_used = false;
	if (max == 0) {
		*end_reason = CAPTURE_STACK_TRUNCATED;
		return 0;
	}
	uintptr_t sp = regs->sp;
	pcs[0] = regs->pc;
	struct traced_window tw = { { sp > stack_lo ? sp : stack_lo, stack_hi, NULL }, trace };
	if (tw.w.hi < tw.w.lo || tw.w.hi - tw.w.lo < 2 * sizeof(uintptr_t)) {
		*end_reason = CAPTURE_STACK_BAD_FRAME;
		return 1;
	}
	unsigned ticket;
	unsigned gen = atomic_load(&epoch);
	const struct uw_set *set = enter(&ticket);
	unsigned n;
	/* Rows found in one generation's set stay valid while that set is
	 * the published one: a publish bumps the generation, which empties
	 * the cache. A publish between reading gen and entering only makes
	 * the cache start over once more. */
	if (cache && set && ticket < 2) {
		if (cache->gen != gen + 1) {
			memset(cache->e, 0, sizeof(cache->e));
			cache->gen = gen + 1;
		}
		struct cached_set cs = { set, cache };
		n = uw_walk_rows(regs->pc, sp, regs->fp, &tw.w, lookup_cached, &cs, traced_slot,
				 false, pcs, 1, max, end_reason, slot, traced_note, &trace->fp_used);
	} else {
		n = uw_walk_rows(regs->pc, sp, regs->fp, &tw.w, lookup_set, set, traced_slot,
				 false, pcs, 1, max, end_reason, slot, traced_note, &trace->fp_used);
	}
	leave(ticket);
	/* The tables walked are those of generation gen only if no publish
	 * came in between. */
	if (ticket < 2 && atomic_load(&epoch) == gen)
		trace->gen = gen;
	return n;
}

unsigned unwind_generation(void)
{
	return atomic_load(&epoch);
}

/* ---- registry ---- */

/* fork: the prepare handler holds rebuild_lock so the child never inherits
 * a rebuild half done; the child has a single thread, so no walk can be in
 * progress there and the counters of the parent's other threads are
 * cleared (else a rebuild in the child would wait for them forever). */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_mutex_lock(&rebuild_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&rebuild_lock);
}

static void fork_child(void)
{
	atomic_store(&walkers[0], 0);
	atomic_store(&walkers[1], 0);
	pthread_mutex_unlock(&rebuild_lock);
}

static void register_atfork(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void module_free(struct uw_module *m)
{
	if (!m)
		return;
	free(m->rows);
	free(m->name);
	free(m);
}

static void set_release(struct uw_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (--s->mods[i]->refs == 0)
			module_free(s->mods[i]);
	free(s->mods);
	free(s);
}

/* Publishes s (may be NULL) and frees the previous set once no walker can
 * hold it. Called with rebuild_lock held. */
static void publish(struct uw_set *s)
{
	struct uw_set *old = atomic_exchange(&current, s);
	unsigned e = atomic_fetch_add(&epoch, 1) & 1;
	for (unsigned spins = 0; atomic_load(&walkers[e]) != 0; spins++) {
		if (spins < 64) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
		}
	}
	set_release(old);
}

struct scan {
	struct uw_module **mods;
	size_t n, cap;
	const struct uw_set *old;
	unsigned failed;
	int err;
	bool first, unchanged;
};

/* The PT_LOAD segment holding [addr, addr+len): its end, or 0. */
static uintptr_t segment_end(const struct dl_phdr_info *info, uintptr_t addr, size_t len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
		if (addr >= s && addr < e && len <= e - addr)
			return e;
	}
	return 0;
}

static struct uw_module *build_module(const struct dl_phdr_info *info, uintptr_t hdr_addr,
				      size_t hdr_len, uintptr_t lo, uintptr_t hi, int *err)
{
	*err = 0;
	uintptr_t eh_addr, eh_end;
	if (!segment_end(info, hdr_addr, hdr_len) ||
	    unwind__eh_frame_ptr((const uint8_t *)hdr_addr, hdr_len, hdr_addr, &eh_addr) != 0 ||
	    !(eh_end = segment_end(info, eh_addr, 4))) {
		*err = -EINVAL;
		return NULL;
	}
	struct uw_table t;
	*err = unwind__parse_eh_frame((const uint8_t *)hdr_addr, hdr_len, hdr_addr,
				      (const uint8_t *)eh_addr, eh_end - eh_addr, eh_addr, lo, hi,
				      &t);
	if (*err)
		return NULL;
	if (!t.nrows) {
		free(t.rows);
		return NULL;
	}
	struct uw_module *m = calloc(1, sizeof(*m));
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (!m || !(m->name = strdup(name))) {
		free(m);
		free(t.rows);
		*err = -ENOMEM;
		return NULL;
	}
	m->lo = lo;
	m->hi = hi;
	m->rows = t.rows;
	m->nrows = t.nrows;
	m->unsupported_fdes = t.unsupported_fdes;
	m->hdr_addr = hdr_addr;
	return m;
}

static int on_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan *sc = arg;
	bool has_gen = size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs);
	if (sc->first) {
		sc->first = false;
		if (has_gen && seen_valid && sc->old && info->dlpi_adds == seen_adds &&
		    info->dlpi_subs == seen_subs) {
			sc->unchanged = true;
			return 1;
		}
		seen_valid = has_gen;
		if (has_gen) {
			seen_adds = info->dlpi_adds;
			seen_subs = info->dlpi_subs;
		}
	}
	const ElfW(Phdr) *eh = NULL;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_EH_FRAME) {
			eh = ph;
		} else if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz) {
			uintptr_t s = info->dlpi_addr + ph->p_vaddr;
			if (s < lo)
				lo = s;
			if (s + ph->p_memsz > hi)
				hi = s + ph->p_memsz;
		}
	}
	if (!eh || lo >= hi)
		return 0; /* no CFI index or no code: frame pointers only */
	uintptr_t hdr_addr = info->dlpi_addr + eh->p_vaddr;
	const char *name = info->dlpi_name ? info->dlpi_name : "";

	struct uw_module *m = NULL;
	for (size_t i = 0; sc->old && i < sc->old->n; i++) {
		struct uw_module *o = sc->old->mods[i];
		if (o->hdr_addr == hdr_addr && o->lo == lo && o->hi == hi &&
		    strcmp(o->name, name) == 0) {
			m = o;
			break;
		}
	}
	if (!m) {
		int err;
		m = build_module(info, hdr_addr, eh->p_memsz, lo, hi, &err);
		if (err == -ENOMEM) {
			sc->err = err;
			return 1;
		}
		if (err)
			sc->failed++;
		if (!m)
			return 0;
	}
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 32;
		struct uw_module **nv = realloc(sc->mods, cap * sizeof(*nv));
		if (!nv) {
			if (!m->refs)
				module_free(m);
			sc->err = -ENOMEM;
			return 1;
		}
		sc->mods = nv;
		sc->cap = cap;
	}
	m->refs++;
	sc->mods[sc->n++] = m;
	return 0;
}

static int cmp_module(const void *a, const void *b)
{
	const struct uw_module *x = *(struct uw_module *const *)a, *y = *(struct uw_module *const *)b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void scan_drop(struct scan *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		if (--sc->mods[i]->refs == 0)
			module_free(sc->mods[i]);
	free(sc->mods);
}

int unwind_rebuild(void)
{
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&rebuild_lock);
	struct scan sc;
	memset(&sc, 0, sizeof(sc));
	sc.old = atomic_load(&current);
	sc.first = true;
	dl_iterate_phdr(on_module, &sc);
	if (sc.err || sc.unchanged) {
		if (sc.err)
			seen_valid = false;
		scan_drop(&sc);
		pthread_mutex_unlock(&rebuild_lock);
		return sc.err;
	}
	struct uw_set *s = malloc(sizeof(*s) + sc.n * sizeof(s->ent[0]));
	if (!s) {
		seen_valid = false;
		scan_drop(&sc);
		pthread_mutex_unlock(&rebuild_lock);
		return -ENOMEM;
	}
	if (sc.n)
		qsort(sc.mods, sc.n, sizeof(*sc.mods), cmp_module);
	s->n = sc.n;
	s->failed_modules = sc.failed;
	s->mods = sc.mods;
	for (size_t i = 0; i < sc.n; i++) {
		s->ent[i].lo = sc.mods[i]->lo;
		s->ent[i].hi = sc.mods[i]->hi;
		s->ent[i].m = sc.mods[i];
	}
	publish(s);
	pthread_mutex_unlock(&rebuild_lock);
	return 0;
}

void unwind_free(void)
{
	pthread_mutex_lock(&rebuild_lock);
	publish(NULL);
	seen_valid = false;
	pthread_mutex_unlock(&rebuild_lock);
}

void unwind_get_stats(struct unwind_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&rebuild_lock);
	const struct uw_set *s = atomic_load(&current);
	if (s) {
		st->modules = (unsigned)s->n;
		st->failed_modules = s->failed_modules;
		for (size_t i = 0; i < s->n; i++) {
			st->rows += s->mods[i]->nrows;
			st->unsupported_fdes += s->mods[i]->unsupported_fdes;
		}
	}
	pthread_mutex_unlock(&rebuild_lock);
}
