/* Heap event streams: each thread's HEAP_STREAM decoded as it comes, its
 * events kept until a HEAP_CLOCK point, then merged with every other
 * thread's by time and handed over (see heap_stream.h).
 *
 * Each stream's events are in time order already (a thread's clock does
 * not go back: the agent sends a time behind the previous as the same),
 * so the merge takes the stream with the oldest event until it passes the
 * next stream's oldest: O(streams) per change of stream, which on a
 * program whose threads allocate by turns is per event, with few streams
 * holding events at a time (threads that made events since the last
 * point). Kept events are at most a drain's worth: the writer ends each
 * drain with a point. */
#include <stdlib.h>
#include <string.h>

#include "../capture/encoding.h"
#include "../capture/format.h"
#include "../util/util.h"
#include "heap_stream.h"

struct kept {
	uint64_t ticks, tid, addr, size;
	uint32_t stack, labels;
	bool alloc;
};

struct stream {
	uint64_t tid;
	uint64_t ticks, addr; /* of its previous event */
	uint32_t epoch;	      /* its slots: those defined since its last reset */
	bool active;	      /* in the active list */
	struct kept *kept;
	size_t first, n, cap; /* events [first, n) not handed over yet */
};

/* uint64 keys to uint64 values, open addressing; key 0 is "empty", so
 * keys are stored plus one. */
struct map {
	uint64_t *keys, *vals;
	size_t cap, n;
};

struct clock_point {
	uint64_t ticks, ns;
};

struct heap_streams {
	struct stream *streams; /* [0]: events of streams read alone */
	size_t nstreams, cap_streams;
	struct map tids;  /* tid -> stream index */
	struct map slots; /* stream index, epoch, slot -> stack id */
	uint32_t alone_epoch;
	size_t *active; /* streams holding events */
	size_t nactive, cap_active;
	struct clock_point *points;
	size_t npoints, cap_points, seg;
	uint64_t last_time; /* of the last event handed over */
};

static uint64_t map_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	return k ^ (k >> 33);
}

static uint64_t *map_find(const struct map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = map_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key + 1)
			return &m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
}

static void map_put(struct map *m, uint64_t key, uint64_t val)
{
	uint64_t *v = map_find(m, key);
	if (v) {
		*v = val;
		return;
	}
	if ((m->n + 1) * 4 > m->cap * 3) {
		struct map old = *m;
		m->cap = m->cap ? m->cap * 2 : 64;
		m->keys = xcalloc(m->cap, sizeof(*m->keys));
		m->vals = xcalloc(m->cap, sizeof(*m->vals));
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.keys[i])
				map_put(m, old.keys[i] - 1, old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	size_t i = map_hash(key) & (m->cap - 1);
	while (m->keys[i])
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = key + 1;
	m->vals[i] = val;
	m->n++;
}

static uint64_t slot_key(size_t stream, uint32_t epoch, uint64_t slot)
{
	return (uint64_t)stream << 32 | (uint64_t)(epoch & 0xfffff) << 12 | slot;
}

struct heap_streams *heap_streams_new(void)
{
	struct heap_streams *s = xcalloc(1, sizeof(*s));
	GROW(s->streams, s->cap_streams, 1);
	memset(&s->streams[0], 0, sizeof(s->streams[0]));
	s->nstreams = 1;
	return s;
}

void heap_streams_free(struct heap_streams *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nstreams; i++)
		free(s->streams[i].kept);
	free(s->streams);
	free(s->tids.keys);
	free(s->tids.vals);
	free(s->slots.keys);
	free(s->slots.vals);
	free(s->active);
	free(s->points);
	free(s);
}

static size_t stream_of(struct heap_streams *s, uint64_t tid)
{
	uint64_t *v = map_find(&s->tids, tid);
	if (v)
		return (size_t)*v;
	GROW(s->streams, s->cap_streams, s->nstreams + 1);
	struct stream *st = &s->streams[s->nstreams];
	memset(st, 0, sizeof(*st));
	st->tid = tid;
	map_put(&s->tids, tid, s->nstreams);
	return s->nstreams++;
}

static void keep(struct heap_streams *s, size_t idx, const struct kept *k)
{
	struct stream *st = &s->streams[idx];
	if (st->first == st->n)
		st->first = st->n = 0;
	GROW(st->kept, st->cap, st->n + 1);
	/* Streams read alone share stream 0 and may come in any order:
	 * each goes in its place (they are few, and mostly in order). */
	size_t at = st->n++;
	while (at > st->first && st->kept[at - 1].ticks > k->ticks) {
		st->kept[at] = st->kept[at - 1];
		at--;
	}
	st->kept[at] = *k;
	if (!st->active) {
		st->active = true;
		GROW(s->active, s->cap_active, s->nactive + 1);
		s->active[s->nactive++] = idx;
	}
}

/* One event of a stream, as read: kind, and the fields that kind has. */
struct read {
	unsigned kind;
	uint64_t dt;	/* time since the stream's previous event */
	int64_t delta;	/* address minus the previous event's */
	uint64_t size, slot, labels; /* allocations (labels: 0 without) */
	uint64_t control, stack;     /* control events (stack: slot ones) */
};

/* Reads the next event at c: false when it is malformed (cut short, an
 * unknown control event, a slot out of range). One reader of the grammar
 * for decoding and for counting. */
static bool read_event(struct cursor *c, struct read *r)
{
	uint64_t head = cursor_varint(c);
	*r = (struct read){ .kind = head & ((1u << CAPTURE_HEAP_ST_SHIFT) - 1),
			    .dt = head >> CAPTURE_HEAP_ST_SHIFT };
	if (r->kind == CAPTURE_HEAP_ST_CONTROL) {
		r->control = cursor_varint(c);
		if (r->control == CAPTURE_HEAP_CTL_SLOT) {
			r->slot = cursor_varint(c);
			r->stack = cursor_varint(c);
		} else if (r->control != CAPTURE_HEAP_CTL_RESET) {
			return false;
		}
	} else {
		r->delta = zigzag_decode(cursor_varint(c));
		if (r->kind != CAPTURE_HEAP_ST_FREE) {
			r->size = cursor_varint(c);
			r->slot = cursor_varint(c);
			if (r->kind == CAPTURE_HEAP_ST_ALLOC_LABELS)
				r->labels = cursor_varint(c);
		}
	}
	return !c->bad && r->slot < CAPTURE_HEAP_SLOTS;
}

bool heap_streams_add(struct heap_streams *s, const uint8_t *body, size_t len,
		      uint64_t stacks, uint64_t label_sets)
{
	struct cursor c = cursor_make(body, len);
	uint64_t tid = cursor_varint(&c), flags = cursor_varint(&c);
	if (c.bad || tid > UINT32_MAX)
		return false;
	/* A stream read alone starts from zero and leaves nothing behind:
	 * a state of its own, and slots under an epoch of its own. */
	struct stream alone = { .tid = tid, .epoch = ++s->alone_epoch };
	bool is_alone = flags & CAPTURE_HEAP_STREAM_ALONE;
	size_t idx = is_alone ? 0 : stream_of(s, tid);
	struct stream *st = is_alone ? &alone : &s->streams[idx];
	while (cursor_left(&c)) {
		struct read r;
		if (!read_event(&c, &r))
			return false;
		if (r.kind == CAPTURE_HEAP_ST_CONTROL) {
			if (r.control == CAPTURE_HEAP_CTL_RESET) {
				st->ticks = st->addr = 0;
				st->epoch++;
			} else if (r.stack > stacks) {
				return false;
			} else {
				map_put(&s->slots, slot_key(idx, st->epoch, r.slot), r.stack);
			}
			continue;
		}
		if (r.dt > UINT64_MAX - st->ticks || r.labels >= (label_sets ? label_sets : 1))
			return false;
		st->ticks += r.dt;
		st->addr += (uint64_t)r.delta;
		struct kept k = { .ticks = st->ticks,
				  .tid = tid,
				  .addr = st->addr,
				  .size = r.size,
				  .labels = (uint32_t)r.labels,
				  .alloc = r.kind != CAPTURE_HEAP_ST_FREE };
		if (k.alloc) {
			const uint64_t *id = map_find(&s->slots, slot_key(idx, st->epoch, r.slot));
			k.stack = id ? (uint32_t)*id : 0;
		}
		keep(s, idx, &k);
	}
	return true;
}

/* ns of a time in ticks: piecewise linear between the points, the first
 * or last segment extended beyond them; the ticks themselves without a
 * point (then the agent's ticks were ns already), and at the first
 * point's rate of 1 with only one. */
static uint64_t to_ns(struct heap_streams *s, uint64_t ticks)
{
	const struct clock_point *p = s->points;
	if (s->npoints == 0)
		return ticks;
	double ns;
	if (s->npoints == 1) {
		ns = (double)p[0].ns + ((double)ticks - (double)p[0].ticks);
	} else {
		if (s->seg == 0)
			s->seg = 1;
		while (s->seg + 1 < s->npoints && ticks > p[s->seg].ticks)
			s->seg++;
		while (s->seg > 1 && ticks < p[s->seg - 1].ticks)
			s->seg--;
		const struct clock_point *a = &p[s->seg - 1], *b = &p[s->seg];
		double rate = (double)(b->ns - a->ns) / (double)(b->ticks - a->ticks);
		ns = (double)b->ns - ((double)b->ticks - (double)ticks) * rate;
	}
	return ns < 0 ? 0 : (uint64_t)ns;
}

static void hand_over(struct heap_streams *s, const struct kept *k, heap_stream_apply fn, void *ctx)
{
	uint64_t time = to_ns(s, k->ticks);
	if (time < s->last_time)
		time = s->last_time;
	s->last_time = time;
	struct heap_stream_event ev = { time,	     k->tid,	k->addr, k->size,
					k->stack, k->labels, k->alloc };
	fn(ctx, &ev);
}

/* Hands over the kept events stamped before `until`, merged by time. */
static void merge(struct heap_streams *s, uint64_t until, heap_stream_apply fn, void *ctx)
{
	for (;;) {
		uint64_t first = until, second = until;
		struct stream *from = NULL;
		for (size_t i = 0; i < s->nactive; i++) {
			struct stream *st = &s->streams[s->active[i]];
			uint64_t t = st->first < st->n ? st->kept[st->first].ticks : until;
			if (t < first) {
				second = first;
				first = t;
				from = st;
			} else if (t < second) {
				second = t;
			}
		}
		if (!from)
			break;
		do
			hand_over(s, &from->kept[from->first++], fn, ctx);
		while (from->first < from->n && from->kept[from->first].ticks <= second &&
		       from->kept[from->first].ticks < until);
	}
	/* Streams emptied leave the active list. */
	size_t n = 0;
	for (size_t i = 0; i < s->nactive; i++) {
		struct stream *st = &s->streams[s->active[i]];
		if (st->first < st->n)
			s->active[n++] = s->active[i];
		else
			st->active = false;
	}
	s->nactive = n;
}

void heap_streams_clock(struct heap_streams *s, uint64_t ticks, uint64_t ns, heap_stream_apply fn,
			void *ctx)
{
	/* A point must follow the last in both clocks to be one; a drain
	 * that took none repeats the last, and still ends the drain. */
	const struct clock_point *last = s->npoints ? &s->points[s->npoints - 1] : NULL;
	if (!last || (ticks > last->ticks && ns >= last->ns)) {
		GROW(s->points, s->cap_points, s->npoints + 1);
		s->points[s->npoints++] = (struct clock_point){ ticks, ns };
	}
	merge(s, ticks, fn, ctx);
}

void heap_streams_finish(struct heap_streams *s, heap_stream_apply fn, void *ctx)
{
	merge(s, UINT64_MAX, fn, ctx);
	/* An event stamped UINT64_MAX (the largest time a stream can reach)
	 * is not before that: it goes last. */
	for (size_t i = 0; i < s->nactive; i++) {
		struct stream *st = &s->streams[s->active[i]];
		while (st->first < st->n)
			hand_over(s, &st->kept[st->first++], fn, ctx);
		st->active = false;
	}
	s->nactive = 0;
}

bool heap_streams_count(const uint8_t *body, size_t len, uint64_t *allocs, uint64_t *frees)
{
	struct cursor c = cursor_make(body, len);
	cursor_varint(&c); /* tid */
	cursor_varint(&c); /* flags */
	while (cursor_left(&c)) {
		struct read r;
		if (!read_event(&c, &r))
			return false;
		if (r.kind == CAPTURE_HEAP_ST_FREE)
			++*frees;
		else if (r.kind != CAPTURE_HEAP_ST_CONTROL)
			++*allocs;
	}
	return true; /* read_event() said false at any damage */
}
