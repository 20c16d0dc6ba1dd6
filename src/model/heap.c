/* Heap analyses, one pass over the events as the capture streams in (see
 * heap.h for the definitions).
 *
 * The peak needs the live set at the moment of the largest total, which
 * is only known afterwards. Instead of a second pass, each site carries
 * the generation of the peak it last saw: when the total reaches a new
 * peak the generation goes up, and a site about to change while holding
 * an older generation first copies its live figures to its peak figures,
 * since they have not changed since that peak. profile_heap_finish() does
 * the same for sites untouched since. O(1) per event, and exact.
 *
 * Memory: one entry per live block (32 bytes), one per site, and a
 * bounded set of recently freed addresses for double-free detection. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/encoding.h"
#include "../capture/format.h"
#include "../util/util.h"
#include "heap.h"
#include "heap_stream.h"
#include "profile.h"

#define FREED_MAX (1u << 20) /* recently freed addresses remembered */
#define NO_SITE UINT32_MAX

struct live {
	uint64_t addr; /* 0: empty slot */
	uint64_t size;
	uint64_t time;
	uint32_t site;
	uint32_t seq; /* the allocating thread's allocation count at the time */
};

struct freed {
	uint64_t addr;
	uint32_t site;
};

struct heap_state {
	struct live *live;
	size_t live_cap, live_n;
	struct freed *freed;
	size_t freed_cap, freed_n;
	uint32_t *site_slots; /* site index + 1 per slot, 0 empty */
	size_t site_cap;
	uint32_t *thread_seq; /* allocations seen per profile thread */
	size_t nthread_seq;
	uint64_t gen; /* peak generation */
	uint64_t rss_name_id; /* string id of the RSS series, 0 unknown */
	uint64_t *totals;     /* per tid: latest TOTALS (tid, calls, bytes, frees) */
	size_t ntotals, cap_totals;
	struct heap_streams *streams; /* HEAP_STREAM events until their clock point */
};

static unsigned temporary_within;
static bool count_only;

void profile_heap_options(unsigned n, bool analyse)
{
	temporary_within = n;
	count_only = !analyse;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* --- live blocks: linear probing, backward-shift deletion --- */

static struct live *live_find(struct heap_state *st, uint64_t addr)
{
	if (!st->live_cap)
		return NULL;
	size_t mask = st->live_cap - 1;
	for (size_t i = mix(addr) & mask;; i = (i + 1) & mask) {
		if (st->live[i].addr == addr)
			return &st->live[i];
		if (!st->live[i].addr)
			return NULL;
	}
}

static void live_put(struct heap_state *st, const struct live *e);

static void live_grow(struct heap_state *st)
{
	struct live *old = st->live;
	size_t cap = st->live_cap;
	st->live_cap = cap ? cap * 2 : 1024;
	st->live = xcalloc(st->live_cap, sizeof(*st->live));
	st->live_n = 0;
	for (size_t i = 0; i < cap; i++)
		if (old[i].addr)
			live_put(st, &old[i]);
	free(old);
}

static void live_put(struct heap_state *st, const struct live *e)
{
	if ((st->live_n + 1) * 4 > st->live_cap * 3)
		live_grow(st);
	size_t mask = st->live_cap - 1;
	size_t i = mix(e->addr) & mask;
	while (st->live[i].addr)
		i = (i + 1) & mask;
	st->live[i] = *e;
	st->live_n++;
}

static void live_remove(struct heap_state *st, struct live *e)
{
	size_t mask = st->live_cap - 1;
	size_t i = (size_t)(e - st->live);
	for (size_t j = (i + 1) & mask; st->live[j].addr; j = (j + 1) & mask) {
		size_t home = mix(st->live[j].addr) & mask;
		/* Move j back into the hole unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			st->live[i] = st->live[j];
			i = j;
		}
	}
	st->live[i].addr = 0;
	st->live_n--;
}

/* --- recently freed addresses --- */

static struct freed *freed_slot(struct heap_state *st, uint64_t addr)
{
	size_t mask = st->freed_cap - 1;
	size_t i = mix(addr) & mask;
	while (st->freed[i].addr && st->freed[i].addr != addr)
		i = (i + 1) & mask;
	return &st->freed[i];
}

static void freed_note(struct heap_state *st, uint64_t addr, uint32_t site)
{
	if (!st->freed_cap || st->freed_n >= FREED_MAX || (st->freed_n + 1) * 2 > st->freed_cap) {
		/* Grow up to the bound, then start over: double frees are found
		 * when the first free was among the last million or so. */
		size_t cap = st->freed_n >= FREED_MAX ? st->freed_cap
			     : st->freed_cap ? st->freed_cap * 2 : 1024;
		struct freed *old = st->freed;
		size_t old_cap = st->freed_cap;
		st->freed = xcalloc(cap, sizeof(*st->freed));
		st->freed_cap = cap;
		size_t kept = 0;
		if (st->freed_n < FREED_MAX) {
			for (size_t i = 0; i < old_cap; i++) {
				if (old[i].addr) {
					*freed_slot(st, old[i].addr) = old[i];
					kept++;
				}
			}
		}
		st->freed_n = kept;
		free(old);
	}
	struct freed *f = freed_slot(st, addr);
	if (!f->addr)
		st->freed_n++;
	f->addr = addr;
	f->site = site;
}

/* --- sites --- */

static struct heap_state *state(struct profile *p)
{
	if (!p->heap) {
		p->heap = xcalloc(1, sizeof(*p->heap));
		p->heap->st = xcalloc(1, sizeof(*p->heap->st));
		p->heap->temporary_within = temporary_within;
		p->heap->first_double_free_site = NO_SITE;
		p->heap->heap.width_ns = p->heap->rss.width_ns = 1000000; /* 1 ms */
	}
	return p->heap->st;
}

static size_t site_hash(uint32_t stack, uint32_t thread, uint32_t labels)
{
	return (size_t)mix(((uint64_t)stack << 32 | thread) ^ mix((uint64_t)labels + 1));
}

/* The site of (stack, thread, label set); the table holds site indexes
 * and compares against the sites themselves. */
static uint32_t site_get(struct profile *p, uint32_t stack, uint32_t thread, uint32_t labels)
{
	struct profile_heap *h = p->heap;
	struct heap_state *st = h->st;
	if ((h->nsites + 1) * 2 > st->site_cap) {
		size_t cap = st->site_cap ? st->site_cap * 2 : 256;
		free(st->site_slots);
		st->site_slots = xcalloc(cap, sizeof(*st->site_slots));
		st->site_cap = cap;
		for (size_t k = 0; k < h->nsites; k++) {
			const struct heap_site *s = &h->sites[k];
			size_t i = site_hash(s->stack, s->thread, s->labels) & (cap - 1);
			while (st->site_slots[i])
				i = (i + 1) & (cap - 1);
			st->site_slots[i] = (uint32_t)k + 1;
		}
	}
	size_t mask = st->site_cap - 1;
	size_t i = site_hash(stack, thread, labels) & mask;
	while (st->site_slots[i]) {
		const struct heap_site *s = &h->sites[st->site_slots[i] - 1];
		if (s->stack == stack && s->thread == thread && s->labels == labels)
			return st->site_slots[i] - 1;
		i = (i + 1) & mask;
	}
	GROW(h->sites, h->cap_sites, h->nsites + 1);
	struct heap_site *s = &h->sites[h->nsites];
	memset(s, 0, sizeof(*s));
	s->stack = stack;
	s->thread = thread;
	s->labels = labels;
	s->stamp = st->gen;
	st->site_slots[i] = (uint32_t)h->nsites + 1;
	return (uint32_t)h->nsites++;
}

/* Before a site's live figures change: if a peak came since it last
 * changed, its figures now are the ones it had at that peak. */
static void site_touch(struct heap_state *st, struct heap_site *s)
{
	if (s->stamp != st->gen) {
		s->peak_count = s->live_count;
		s->peak_bytes = s->live_bytes;
		s->stamp = st->gen;
	}
}

/* --- series --- */

static void series_add(struct heap_series *s, uint64_t t, double v)
{
	while (t / s->width_ns >= HEAP_SERIES_MAX) {
		/* Twice as wide: merge neighbours, keeping the larger. */
		for (size_t i = 0; i < HEAP_SERIES_MAX / 2; i++) {
			bool a = s->set[2 * i], b = s->set[2 * i + 1];
			double m = a && b ? fmax(s->max[2 * i], s->max[2 * i + 1])
				   : a ? s->max[2 * i] : s->max[2 * i + 1];
			s->set[i] = a || b;
			s->max[i] = m;
		}
		memset(s->set + HEAP_SERIES_MAX / 2, 0, HEAP_SERIES_MAX / 2 * sizeof(bool));
		s->width_ns *= 2;
	}
	size_t b = (size_t)(t / s->width_ns);
	if (!s->set[b] || v > s->max[b])
		s->max[b] = v;
	s->set[b] = true;
	if (b + 1 > s->n)
		s->n = b + 1;
}

/* --- events --- */

static double weight(const struct profile_heap *h, uint64_t size)
{
	if (!h->sampled)
		return 1.0;
	if (!size)
		return 1.0;
	return 1.0 / -expm1(-(double)size / (double)h->sample_rate);
}

static uint32_t *thread_seq(struct heap_state *st, uint32_t thread)
{
	if (thread >= st->nthread_seq) {
		size_t n = (size_t)thread + 64;
		st->thread_seq = xrealloc(st->thread_seq, n * sizeof(*st->thread_seq));
		memset(st->thread_seq + st->nthread_seq, 0,
		       (n - st->nthread_seq) * sizeof(*st->thread_seq));
		st->nthread_seq = n;
	}
	return &st->thread_seq[thread];
}

static void release(struct profile *p, struct live *e, uint64_t time, uint32_t thread,
		    bool by_free)
{
	struct profile_heap *h = p->heap;
	struct heap_state *st = h->st;
	struct heap_site *s = &h->sites[e->site];
	double w = weight(h, e->size);
	site_touch(st, s);
	s->live_count -= w;
	s->live_bytes -= w * (double)e->size;
	h->live_blocks -= w;
	h->live_bytes -= w * (double)e->size;
	if (by_free && !h->sampled && thread == s->thread &&
	    *thread_seq(st, thread) - e->seq <= h->temporary_within) {
		s->temp_count += 1;
		s->temp_bytes += (double)e->size;
		h->temp_count += 1;
		h->temp_bytes += (double)e->size;
	}
	series_add(&h->heap, time, h->live_bytes);
	freed_note(st, e->addr, e->site);
	live_remove(st, e);
}

static void on_alloc(struct profile *p, uint64_t time, struct profile_thread *t, uint64_t addr,
		     uint64_t size, uint64_t stack, uint32_t labels)
{
	struct profile_heap *h = p->heap;
	struct heap_state *st = h->st;
	uint32_t thread = (uint32_t)(t - p->threads);
	struct live *old = live_find(st, addr);
	if (old) {
		/* Its free is still on the way (another thread's, caught
		 * between its clock and its ring): count it freed now; the free
		 * itself will be older than this block and ignored. */
		h->reordered++;
		release(p, old, time, thread, false);
	}
	uint32_t site = site_get(p, stack ? (uint32_t)(stack - 1) : NO_SITE, thread, labels);
	struct heap_site *s = &h->sites[site];
	double w = weight(h, size);
	profile_spans_alloc(p, thread, time, w, w * (double)size);
	site_touch(st, s);
	s->alloc_count += w;
	s->alloc_bytes += w * (double)size;
	s->live_count += w;
	s->live_bytes += w * (double)size;
	h->allocs += w;
	h->bytes += w * (double)size;
	h->live_blocks += w;
	h->live_bytes += w * (double)size;
	unsigned cls = size ? 64 - (unsigned)__builtin_clzll(size) : 0;
	h->size_hist[cls < HEAP_SIZE_CLASSES ? cls : HEAP_SIZE_CLASSES - 1] += w;
	uint32_t *seq = thread_seq(st, thread);
	struct live e = { addr, size, time, site, ++*seq };
	live_put(st, &e);
	if (h->live_bytes > h->peak_bytes) {
		h->peak_bytes = h->live_bytes;
		h->peak_blocks = h->live_blocks;
		h->peak_time_ns = time;
		st->gen++;
	}
	series_add(&h->heap, time, h->live_bytes);
}

static void on_free(struct profile *p, uint64_t time, struct profile_thread *t, uint64_t addr)
{
	struct profile_heap *h = p->heap;
	struct heap_state *st = h->st;
	struct live *e = live_find(st, addr);
	if (e && e->time <= time) {
		h->frees += weight(h, e->size);
		release(p, e, time, (uint32_t)(t - p->threads), true);
		return;
	}
	if (e) {
		return; /* the free of an earlier block at this address (see on_alloc) */
	}
	struct freed *f = st->freed_cap ? freed_slot(st, addr) : NULL;
	if (f && f->addr) {
		h->double_frees++;
		if (h->first_double_free_site == NO_SITE)
			h->first_double_free_site = f->site;
	} else {
		h->unknown_frees++;
	}
}

static void on_totals(struct profile *p, uint64_t tid, uint64_t calls, uint64_t bytes,
		      uint64_t frees)
{
	struct heap_state *st = p->heap->st;
	for (size_t i = 0; i < st->ntotals; i += 4) {
		if (st->totals[i] == tid) {
			st->totals[i + 1] = calls;
			st->totals[i + 2] = bytes;
			st->totals[i + 3] = frees;
			return;
		}
	}
	GROW(st->totals, st->cap_totals, st->ntotals + 4);
	uint64_t *e = st->totals + st->ntotals;
	e[0] = tid;
	e[1] = calls;
	e[2] = bytes;
	e[3] = frees;
	st->ntotals += 4;
}

/* Whether the capture's config says heap tracking was on. */
static bool heap_configured(const struct profile *p)
{
	const char *v = profile_config(p, "heap");
	return v && strncmp(v, "off", 3) != 0;
}

/* The heap model, made with the capture's sampling rate at its first
 * heap record. */
static struct heap_state *heap_begin(struct profile *p)
{
	bool first = !p->heap;
	struct heap_state *st = state(p);
	if (first) {
		p->heap->sample_rate = profile_config_u64(p, "heap_sample", 0);
		p->heap->sampled = p->heap->sample_rate != 0;
	}
	return st;
}

/* A HEAP_EVENTS batch (doc/capture-format.md): the events in order,
 * each checked before it is applied, so a damaged record keeps the
 * events before the damage. */
static bool heap_events(struct profile *p, const struct capture_record *rec)
{
	struct cursor c = cursor_make(rec->body, rec->len);
	uint64_t time = 0;
	uint64_t tid[CAPTURE_HEAP_EVENTS_MAX_THREADS], addr[CAPTURE_HEAP_EVENTS_MAX_THREADS];
	struct profile_thread *thread[CAPTURE_HEAP_EVENTS_MAX_THREADS];
	unsigned nslots = 0, slot = UINT_MAX;
	while (cursor_left(&c)) {
		uint64_t head = cursor_varint(&c);
		bool alloc = head & CAPTURE_HEAP_EV_ALLOC;
		uint64_t dt = head >> CAPTURE_HEAP_EV_SHIFT;
		if (dt > UINT64_MAX - time)
			return false;
		time += dt;
		if (head & CAPTURE_HEAP_EV_THREAD) {
			uint64_t s = cursor_varint(&c);
			if (s == nslots && nslots < CAPTURE_HEAP_EVENTS_MAX_THREADS) {
				tid[nslots] = cursor_varint(&c);
				if (tid[nslots] > UINT32_MAX)
					return false;
				thread[nslots] = NULL; /* made at its first use */
				addr[nslots++] = 0;
			} else if (s >= nslots) {
				return false;
			}
			slot = (unsigned)s;
		}
		if (slot == UINT_MAX)
			return false;
		uint64_t a = addr[slot] + (uint64_t)zigzag_decode(cursor_varint(&c));
		uint64_t size = 0, stack = 0, labels = 0;
		if (alloc) {
			size = cursor_varint(&c);
			stack = cursor_varint(&c);
			if (head & CAPTURE_HEAP_EV_LABELS)
				labels = cursor_varint(&c);
		}
		if (c.bad || stack > p->nstacks || (labels && labels >= p->nlabel_sets))
			return false;
		addr[slot] = a;
		if (count_only) {
			p->heap->allocs += alloc;
			p->heap->frees += !alloc;
			continue;
		}
		if (!thread[slot])
			thread[slot] = profile_thread_get(p, tid[slot], time);
		if (alloc)
			on_alloc(p, time, thread[slot], a, size, stack, (uint32_t)labels);
		else
			on_free(p, time, thread[slot], a);
	}
	return true;
}

/* A HEAP_STREAM event, handed over in time order. */
static void stream_event(void *ctx, const struct heap_stream_event *ev)
{
	struct profile *p = ctx;
	struct profile_thread *t = profile_thread_get(p, ev->tid, ev->time);
	if (ev->alloc)
		on_alloc(p, ev->time, t, ev->addr, ev->size, ev->stack, ev->labels);
	else
		on_free(p, ev->time, t, ev->addr);
}

/* HEAP_STREAM and HEAP_CLOCK (doc/capture-format.md, "Heap event
 * streams"): the streams keep each thread's events until a clock point
 * says every thread's events before it are in. */
static bool heap_streams_record(struct profile *p, const struct capture_record *rec)
{
	struct heap_state *st = heap_begin(p);
	if (count_only) {
		if (rec->kind == CAPTURE_REC_HEAP_CLOCK)
			return true;
		uint64_t allocs = 0, frees = 0;
		bool ok = heap_streams_count(rec->body, rec->len, &allocs, &frees);
		p->heap->allocs += (double)allocs;
		p->heap->frees += (double)frees;
		return ok;
	}
	if (!st->streams)
		st->streams = heap_streams_new();
	if (rec->kind == CAPTURE_REC_HEAP_STREAM)
		return heap_streams_add(st->streams, rec->body, rec->len, p->nstacks, p->nlabel_sets);
	struct cursor c = cursor_make(rec->body, rec->len);
	uint64_t ticks = cursor_varint(&c), ns = cursor_varint(&c);
	if (c.bad)
		return false;
	heap_streams_clock(st->streams, ticks, ns, stream_event, p);
	return true;
}

bool profile_heap_record(struct profile *p, const struct capture_record *rec)
{
	if (rec->kind == CAPTURE_REC_HEAP_EVENTS) {
		heap_begin(p);
		return heap_events(p, rec);
	}
	if (rec->kind == CAPTURE_REC_HEAP_STREAM || rec->kind == CAPTURE_REC_HEAP_CLOCK)
		return heap_streams_record(p, rec);
	/* A count is all the quick summary wants of an event: no field of
	 * it is read (record's summary of a capture of millions of them). */
	if (count_only && p->heap &&
	    (rec->kind == CAPTURE_REC_HEAP_ALLOC || rec->kind == CAPTURE_REC_HEAP_FREE)) {
		p->heap->allocs += rec->kind == CAPTURE_REC_HEAP_ALLOC;
		p->heap->frees += rec->kind == CAPTURE_REC_HEAP_FREE;
		return true;
	}
	struct cursor c = cursor_make(rec->body, rec->len);
	uint64_t f[6] = { 0 };
	size_t nf = rec->kind == CAPTURE_REC_HEAP_ALLOC ? 5
		    : rec->kind == CAPTURE_REC_HEAP_FREE ? 3
		    : rec->kind == CAPTURE_REC_HEAP_TOTALS ? 4 : 3;
	for (size_t i = 0; i < nf; i++)
		f[i] = cursor_varint(&c);
	/* An allocation's optional trailing field: its label set. */
	if (rec->kind == CAPTURE_REC_HEAP_ALLOC && cursor_left(&c))
		f[5] = cursor_varint(&c);
	if (c.bad || (f[5] && f[5] >= p->nlabel_sets))
		return false;
	/* Monitor series in a capture without heap tracking are not the
	 * heap's business. */
	if (rec->kind == CAPTURE_REC_METRIC && !p->heap && !heap_configured(p))
		return true;
	struct heap_state *st = heap_begin(p);
	if (count_only) {
		p->heap->allocs += rec->kind == CAPTURE_REC_HEAP_ALLOC;
		p->heap->frees += rec->kind == CAPTURE_REC_HEAP_FREE;
		return true;
	}
	switch (rec->kind) {
	case CAPTURE_REC_HEAP_ALLOC:
		if (f[4] > p->nstacks || f[1] > UINT32_MAX)
			return false;
		on_alloc(p, f[0], profile_thread_get(p, f[1], f[0]), f[2], f[3], f[4], (uint32_t)f[5]);
		return true;
	case CAPTURE_REC_HEAP_FREE:
		if (f[1] > UINT32_MAX)
			return false;
		on_free(p, f[0], profile_thread_get(p, f[1], f[0]), f[2]);
		return true;
	case CAPTURE_REC_HEAP_TOTALS:
		on_totals(p, f[0], f[1], f[2], f[3]);
		return true;
	case CAPTURE_REC_METRIC: {
		if (!st->rss_name_id) {
			const char *name = profile_string(p, f[1]);
			if (!name || strcmp(name, "process_resident_memory_bytes"))
				return true; /* another series: not the heap's business */
			st->rss_name_id = f[1];
		}
		if (f[1] == st->rss_name_id)
			series_add(&p->heap->rss, f[0], (double)f[2]);
		return true;
	}
	}
	return true;
}

static void state_free(struct profile_heap *h)
{
	struct heap_state *st = h->st;
	if (!st)
		return;
	free(st->live);
	free(st->freed);
	free(st->site_slots);
	free(st->thread_seq);
	free(st->totals);
	heap_streams_free(st->streams);
	free(st);
	h->st = NULL;
}

/* A sampled capture's live counts are sums of weighted additions and
 * subtractions, which leave a rounding residue when every block went
 * (a "-0" leak). A live sampled block counts for at least one block and
 * one byte, so under one half there is none. */
static double settled(double v)
{
	return v < 0.5 ? 0 : v;
}

void profile_heap_finish(struct profile *p)
{
	struct profile_heap *h = p->heap;
	if (!h || !h->st)
		return;
	struct heap_state *st = h->st;
	if (st->streams)
		heap_streams_finish(st->streams, stream_event, p);
	bool unknown = false;
	for (size_t i = 0; i < h->nsites; i++) {
		struct heap_site *s = &h->sites[i];
		site_touch(st, s);
		s->leak_count = settled(s->live_count);
		s->leak_bytes = settled(s->live_bytes);
		unknown |= s->stack == NO_SITE;
	}
	h->leaked_bytes = settled(h->live_bytes);
	h->leaked_blocks = settled(h->live_blocks);
	/* The live bytes join the monitor's series (one list for reports
	 * and charts), when the capture has them: bucket maxima over time. */
	if (p->spans && p->spans->nseries && h->heap.n) {
		static const char name[] = "heap_live_bytes";
		struct profile_series *ps =
			profile_series_get(p, profile_intern(p, name, sizeof(name) - 1), SERIES_HEAP);
		for (size_t i = 0; i < h->heap.n; i++)
			if (h->heap.set[i])
				profile_series_add(ps, i * h->heap.width_ns, h->heap.max[i]);
	}
	for (size_t i = 0; i < st->ntotals; i += 4) {
		h->calls += st->totals[i + 1];
		h->call_bytes += st->totals[i + 2];
		h->call_frees += st->totals[i + 3];
	}
	if (unknown) {
		/* Allocations whose stack the capture does not define: one empty
		 * stack stands for them. */
		GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
		struct profile_stack *s = &p->stacks[p->nstacks];
		memset(s, 0, sizeof(*s));
		s->pcs = profile_alloc(p, sizeof(uint64_t));
		s->end_reason = CAPTURE_STACK_BAD_FRAME;
		for (size_t i = 0; i < h->nsites; i++)
			if (h->sites[i].stack == NO_SITE)
				h->sites[i].stack = (uint32_t)p->nstacks;
		p->nstacks++;
	}
	state_free(h);
}

void profile_heap_free(struct profile_heap *h)
{
	if (!h)
		return;
	state_free(h);
	free(h->sites);
	free(h);
}

/* --- views --- */

static const struct {
	const char *name, *pprof_name, *unit;
} metrics[HEAP_METRIC_COUNT] = {
	[HEAP_ALLOC_BYTES] = { "alloc-bytes", "alloc_space", "bytes" },
	[HEAP_ALLOC_COUNT] = { "alloc-count", "alloc_objects", "count" },
	[HEAP_PEAK_BYTES] = { "peak-bytes", "peak_space", "bytes" },
	[HEAP_PEAK_COUNT] = { "peak-count", "peak_objects", "count" },
	[HEAP_LEAK_BYTES] = { "leak-bytes", "inuse_space", "bytes" },
	[HEAP_LEAK_COUNT] = { "leak-count", "inuse_objects", "count" },
	[HEAP_TEMP_COUNT] = { "temp-count", "temp_objects", "count" },
	[HEAP_TEMP_BYTES] = { "temp-bytes", "temp_space", "bytes" },
};

bool heap_metric_parse(const char *name, enum heap_metric *out)
{
	static const struct {
		const char *alias;
		enum heap_metric m;
	} aliases[] = {
		{ "alloc", HEAP_ALLOC_BYTES }, { "allocated", HEAP_ALLOC_BYTES },
		{ "peak", HEAP_PEAK_BYTES },   { "leak", HEAP_LEAK_BYTES },
		{ "leaked", HEAP_LEAK_BYTES }, { "leaks", HEAP_LEAK_BYTES },
		{ "temporary", HEAP_TEMP_COUNT }, { "temp", HEAP_TEMP_COUNT },
		{ "allocations", HEAP_ALLOC_COUNT },
	};
	for (int m = 0; m < HEAP_METRIC_COUNT; m++) {
		if (!strcmp(name, metrics[m].name) || !strcmp(name, metrics[m].pprof_name)) {
			*out = (enum heap_metric)m;
			return true;
		}
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (!strcmp(name, aliases[i].alias)) {
			*out = aliases[i].m;
			return true;
		}
	}
	return false;
}

const char *heap_metric_name(enum heap_metric m)
{
	return metrics[m].name;
}

const char *heap_metric_pprof_name(enum heap_metric m)
{
	return metrics[m].pprof_name;
}

const char *heap_metric_unit(enum heap_metric m)
{
	return metrics[m].unit;
}

double heap_site_value(const struct heap_site *s, enum heap_metric m)
{
	switch (m) {
	case HEAP_ALLOC_BYTES: return s->alloc_bytes;
	case HEAP_ALLOC_COUNT: return s->alloc_count;
	case HEAP_PEAK_BYTES: return s->peak_bytes;
	case HEAP_PEAK_COUNT: return s->peak_count;
	case HEAP_LEAK_BYTES: return s->leak_bytes;
	case HEAP_LEAK_COUNT: return s->leak_count;
	case HEAP_TEMP_COUNT: return s->temp_count;
	case HEAP_TEMP_BYTES: return s->temp_bytes;
	default: return 0;
	}
}

bool profile_heap_view(struct profile *p, enum heap_metric metric)
{
	if (!p->heap)
		return false;
	p->nsamples = 0;
	p->total_count = p->total_cpu_ns = 0;
	memset(p->stack_ends, 0, sizeof(p->stack_ends));
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i].samples = p->threads[i].sampled_cpu_ns = 0;
	for (size_t i = 0; i < p->heap->nsites; i++) {
		const struct heap_site *s = &p->heap->sites[i];
		double v = heap_site_value(s, metric);
		uint64_t value = (uint64_t)llround(v);
		if (value == 0)
			continue;
		struct profile_sample smp = { 0 };
		smp.thread = s->thread;
		smp.stack = s->stack;
		smp.labels = s->labels;
		smp.count = 1;
		smp.cpu_ns = value;
		GROW(p->samples, p->cap_samples, p->nsamples + 1);
		p->samples[p->nsamples++] = smp;
		p->total_count += 1;
		p->total_cpu_ns += value;
		p->threads[s->thread].samples += 1;
		p->threads[s->thread].sampled_cpu_ns += value;
		p->stack_ends[p->stacks[s->stack].end_reason] += 1;
	}
	p->unit = metrics[metric].unit;
	p->heap_metric = metric;
	p->heap_view = true;
	p->span_view = false;
	return true;
}
