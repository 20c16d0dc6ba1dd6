/* Spans, label sets, counters, operation counts and GC pauses of a
 * capture (see spans.h for the definitions).
 *
 * While reading, each thread keeps the stack of its open spans: span
 * events of one thread arrive in the order the thread made them, so a
 * BEGIN pushes, an END pops, and ATTR and OPS go to the top. Records of
 * different threads and kinds interleave arbitrarily, so nothing that
 * crosses threads or kinds is decided before the end: allocations are
 * kept (24 bytes each) and charged to spans in profile_spans_finish(),
 * which also puts spans in start order and builds the call tree.
 *
 * Memory is linear: per span its record and, after the end, its tree
 * node; per attribute, allocation and distinct (span, kind) of
 * operations one entry; the open stacks are as deep as the nesting. */
#include <stdlib.h>
#include <string.h>

#include "../capture/encoding.h"
#include "../capture/format.h"
#include "../util/util.h"
#include "profile.h"
#include "spans.h"
#include "oneprof.h"

/* --- a map of (u64, u64) to an index, for ops, tree nodes and views --- */

struct pair_slot {
	uint64_t a, b;
	uint32_t val; /* index + 1; 0: empty */
};

struct pair_map {
	struct pair_slot *slots;
	size_t cap, n;
};

static size_t pair_hash(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x;
}

/* The slot of (a, b), or the empty one where it goes (then fill a, b and
 * val, and count it in n). Grows first, so that one insert always fits. */
static struct pair_slot *pair_find(struct pair_map *m, uint64_t a, uint64_t b)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct pair_slot *slots = xcalloc(cap, sizeof(*slots));
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->slots[k].val)
				continue;
			size_t i = pair_hash(m->slots[k].a, m->slots[k].b) & (cap - 1);
			while (slots[i].val)
				i = (i + 1) & (cap - 1);
			slots[i] = m->slots[k];
		}
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	size_t i = pair_hash(a, b) & (m->cap - 1);
	while (m->slots[i].val && (m->slots[i].a != a || m->slots[i].b != b))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static void pair_map_free(struct pair_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* --- reading state --- */

struct spans_thread {
	uint32_t *open; /* spans open on the thread, innermost last */
	size_t nopen, cap_open;
	uint32_t gc;    /* the GC open on it, or SPAN_NONE */
};

/* An allocation to charge at the end. */
struct spans_alloc {
	uint64_t time;
	uint32_t thread;
	float count; /* a sampled block stands for a few, never millions */
	double bytes;
};

struct spans_state {
	bool any;                /* a span, note, counter, ops or GC record came */
	struct spans_thread *threads; /* by profile thread index */
	size_t nthreads;
	uint32_t *attr_span;     /* the span of each attribute, in record order */
	size_t cap_attr_span;
	struct pair_map ops;     /* (span << 32 | thread, kind) -> ops entry */
	struct spans_alloc *allocs;
	size_t nallocs, cap_allocs;
	uint64_t last_time;      /* the latest time any record gave */
	size_t last_series;      /* counters come in bursts of the same names */
};

static struct spans_state *state(struct profile *p)
{
	if (!p->spans) {
		p->spans = xcalloc(1, sizeof(*p->spans));
		p->spans->st = xcalloc(1, sizeof(*p->spans->st));
	}
	return p->spans->st;
}

static struct spans_thread *thread_state(struct spans_state *st, uint32_t thread)
{
	if (thread >= st->nthreads) {
		size_t n = (size_t)thread + 16;
		st->threads = xrealloc(st->threads, n * sizeof(*st->threads));
		for (size_t i = st->nthreads; i < n; i++)
			st->threads[i] = (struct spans_thread){ .gc = SPAN_NONE };
		st->nthreads = n;
	}
	return &st->threads[thread];
}

static void note_time(struct spans_state *st, uint64_t t)
{
	if (t > st->last_time)
		st->last_time = t;
}

static uint32_t innermost(const struct spans_thread *ts)
{
	return ts->nopen ? ts->open[ts->nopen - 1] : SPAN_NONE;
}

/* Ends the innermost open span of a thread at time. While a span is
 * open its end_ns holds the latest end of its closed children, so that a
 * parent never ends before a child even when clocks disagree. */
static void close_innermost(struct profile_spans *s, struct spans_thread *ts, uint64_t time,
			    bool unclosed)
{
	struct profile_span *sp = &s->spans[ts->open[--ts->nopen]];
	uint64_t end = time;
	if (end < sp->start_ns)
		end = sp->start_ns;
	if (end < sp->end_ns)
		end = sp->end_ns;
	sp->end_ns = end;
	sp->unclosed = unclosed;
	if (sp->parent != SPAN_NONE && s->spans[sp->parent].end_ns < end)
		s->spans[sp->parent].end_ns = end;
}

static void close_gc(struct profile_spans *s, struct spans_thread *ts, uint64_t time,
		     uint64_t reclaimed, bool unclosed)
{
	struct profile_gc *g = &s->gcs[ts->gc];
	g->end_ns = time > g->start_ns ? time : g->start_ns;
	g->reclaimed = reclaimed;
	g->unclosed = unclosed;
	ts->gc = SPAN_NONE;
}

void profile_spans_thread_end(struct profile *p, uint32_t thread, uint64_t time)
{
	if (!p->spans || !p->spans->st || thread >= p->spans->st->nthreads)
		return;
	struct spans_thread *ts = &p->spans->st->threads[thread];
	while (ts->nopen)
		close_innermost(p->spans, ts, time, true);
	if (ts->gc != SPAN_NONE)
		close_gc(p->spans, ts, time, 0, true);
}

/* --- records --- */

static bool label_set_record(struct profile *p, struct cursor *c)
{
	uint64_t id = cursor_varint(c);
	uint64_t parent = cursor_varint(c);
	const char *key = profile_string(p, cursor_varint(c));
	const char *value = profile_string(p, cursor_varint(c));
	if (!p->nlabel_sets) {
		GROW(p->label_sets, p->cap_label_sets, 1);
		p->label_sets[p->nlabel_sets++] = (struct profile_label_set){ 0, NULL, NULL };
	}
	/* Sets are defined in id order, each after its parent. */
	if (c->bad || !key || !value || id != p->nlabel_sets || parent >= id || id >= UINT32_MAX)
		return false;
	GROW(p->label_sets, p->cap_label_sets, p->nlabel_sets + 1);
	p->label_sets[p->nlabel_sets++] = (struct profile_label_set){ (uint32_t)parent, key, value };
	return true;
}

static struct profile_series *series_of(struct profile_spans *s, struct spans_state *st,
					const char *name, bool level,
					enum profile_series_source source)
{
	if (st->last_series < s->nseries && s->series[st->last_series].name == name)
		return &s->series[st->last_series];
	for (size_t i = 0; i < s->nseries; i++) {
		if (s->series[i].name == name) {
			st->last_series = i;
			return &s->series[i];
		}
	}
	GROW(s->series, s->cap_series, s->nseries + 1);
	struct profile_series *ps = &s->series[s->nseries];
	memset(ps, 0, sizeof(*ps));
	ps->name = name;
	ps->level = level;
	ps->source = source;
	st->last_series = s->nseries;
	return &s->series[s->nseries++];
}

void profile_series_add(struct profile_series *ps, uint64_t time_ns, double value)
{
	GROW(ps->points, ps->cap, ps->n + 1);
	ps->points[ps->n++] = (struct profile_series_point){ time_ns, value };
}

struct profile_series *profile_series_get(struct profile *p, const char *name,
					  enum profile_series_source source)
{
	struct spans_state *st = state(p);
	st->any = true;
	return series_of(p->spans, st, name, true, source);
}

bool profile_spans_record(struct profile *p, const struct capture_record *rec)
{
	struct cursor c = cursor_make(rec->body, rec->len);
	if (rec->kind == CAPTURE_REC_LABEL_SET)
		return label_set_record(p, &c);

	uint64_t f[5] = { 0 };
	size_t nf;
	switch (rec->kind) {
	case CAPTURE_REC_SPAN_SITE: nf = 5; break;
	case CAPTURE_REC_SPAN_BEGIN: nf = 3; break;
	case CAPTURE_REC_SPAN_END: nf = 2; break;
	case CAPTURE_REC_SPAN_ATTR: nf = 4; break;
	case CAPTURE_REC_SPAN_NOTE: nf = 2; break;
	case CAPTURE_REC_COUNTER: nf = 4; break;
	case CAPTURE_REC_METRIC: nf = 3; break;
	case CAPTURE_REC_OPS: nf = 4; break;
	case CAPTURE_REC_GC_BEGIN: nf = 2; break;
	case CAPTURE_REC_GC_END: nf = 3; break;
	default: return true; /* a kind of the range this version does not know */
	}
	for (size_t i = 0; i < nf; i++)
		f[i] = cursor_varint(&c);
	if (c.bad)
		return false;

	struct spans_state *st = state(p);
	struct profile_spans *s = p->spans;
	st->any = true;

	switch (rec->kind) {
	case CAPTURE_REC_SPAN_SITE: {
		const char *name = profile_string(p, f[1]);
		const char *file = profile_string(p, f[3]);
		if (f[0] != s->nsites + 1 || !name || !file || f[2] > UINT32_MAX ||
		    f[4] > UINT32_MAX || f[0] >= UINT32_MAX)
			return false;
		GROW(s->sites, s->cap_sites, s->nsites + 1);
		s->sites[s->nsites++] = (struct profile_span_site){ name, file, (uint32_t)f[4],
								    (uint32_t)f[2] };
		return true;
	}
	case CAPTURE_REC_SPAN_BEGIN: {
		if (f[2] == 0 || f[2] > s->nsites || s->nspans >= SPAN_NONE - 1)
			return false;
		note_time(st, f[0]);
		uint32_t thread = (uint32_t)(profile_thread_get(p, f[1], f[0]) - p->threads);
		struct spans_thread *ts = thread_state(st, thread);
		uint32_t parent = innermost(ts);
		uint64_t start = f[0];
		/* A child never starts before its parent (see close_innermost). */
		if (parent != SPAN_NONE && start < s->spans[parent].start_ns)
			start = s->spans[parent].start_ns;
		GROW(s->spans, s->cap_spans, s->nspans + 1);
		s->spans[s->nspans] = (struct profile_span){
			.start_ns = start,
			.thread = thread,
			.site = (uint32_t)(f[2] - 1),
			.parent = parent,
			.depth = (uint32_t)ts->nopen,
		};
		GROW(ts->open, ts->cap_open, ts->nopen + 1);
		ts->open[ts->nopen++] = (uint32_t)s->nspans++;
		return true;
	}
	case CAPTURE_REC_SPAN_END: {
		note_time(st, f[0]);
		uint32_t thread = (uint32_t)(profile_thread_get(p, f[1], f[0]) - p->threads);
		struct spans_thread *ts = thread_state(st, thread);
		if (!ts->nopen) {
			/* A flight recorder drops the begin of spans older than
			 * its window and keeps their ends. */
			s->notes[CAPTURE_SPAN_END_WITHOUT_BEGIN]++;
			return true;
		}
		close_innermost(s, ts, f[0], false);
		return true;
	}
	case CAPTURE_REC_SPAN_ATTR: {
		const char *key = profile_string(p, f[1]);
		const char *str = NULL;
		if (!key || f[2] > 1)
			return false;
		if (f[2] == 1 && !(str = profile_string(p, f[3])))
			return false;
		uint32_t thread = (uint32_t)(profile_thread_get(p, f[0], 0) - p->threads);
		uint32_t span = innermost(thread_state(st, thread));
		if (span == SPAN_NONE)
			return true; /* its span was not recorded (too deep, ...) */
		GROW(s->attrs, s->cap_attrs, s->nattrs + 1);
		GROW(st->attr_span, st->cap_attr_span, s->nattrs + 1);
		st->attr_span[s->nattrs] = span;
		s->attrs[s->nattrs++] = (struct profile_span_attr){
			key, str, str ? 0 : zigzag_decode(f[3]) };
		return true;
	}
	case CAPTURE_REC_SPAN_NOTE:
		if (f[0] < sizeof(s->notes) / sizeof(s->notes[0]))
			s->notes[f[0]] += f[1];
		return true;
	case CAPTURE_REC_COUNTER: {
		const char *name = profile_string(p, f[1]);
		if (!name || f[3] > 1)
			return false;
		note_time(st, f[0]);
		struct profile_series *ps = series_of(s, st, name, f[3] == 1, SERIES_COUNTER);
		profile_series_add(ps, f[0], (double)zigzag_decode(f[2]));
		return true;
	}
	case CAPTURE_REC_METRIC: {
		const char *name = profile_string(p, f[1]);
		if (!name)
			return false;
		note_time(st, f[0]);
		/* A metric is a level, or a running total when its name ends
		 * in _total (doc/capture-format.md). */
		size_t len = strlen(name);
		bool total = len >= 6 && !strcmp(name + len - 6, "_total");
		profile_series_add(series_of(s, st, name, !total, SERIES_METRIC), f[0], (double)f[2]);
		return true;
	}
	case CAPTURE_REC_OPS: {
		const char *kind = profile_string(p, f[2]);
		if (!kind)
			return false;
		note_time(st, f[0]);
		uint32_t thread = (uint32_t)(profile_thread_get(p, f[1], f[0]) - p->threads);
		uint32_t span = innermost(thread_state(st, thread));
		struct pair_slot *slot =
			pair_find(&st->ops, (uint64_t)span << 32 | thread, (uint64_t)(uintptr_t)kind);
		if (!slot->val) {
			GROW(s->ops, s->cap_ops, s->nops + 1);
			s->ops[s->nops++] = (struct profile_span_ops){ span, thread, kind, 0 };
			*slot = (struct pair_slot){ (uint64_t)span << 32 | thread,
						    (uint64_t)(uintptr_t)kind, (uint32_t)s->nops };
			st->ops.n++;
		}
		s->ops[slot->val - 1].n += f[3];
		return true;
	}
	case CAPTURE_REC_GC_BEGIN: {
		note_time(st, f[0]);
		uint32_t thread = (uint32_t)(profile_thread_get(p, f[1], f[0]) - p->threads);
		struct spans_thread *ts = thread_state(st, thread);
		if (ts->gc != SPAN_NONE || s->ngcs >= SPAN_NONE - 1)
			return true; /* nested: the outer pause covers it */
		GROW(s->gcs, s->cap_gcs, s->ngcs + 1);
		s->gcs[s->ngcs] = (struct profile_gc){ .thread = thread, .start_ns = f[0] };
		ts->gc = (uint32_t)s->ngcs++;
		return true;
	}
	case CAPTURE_REC_GC_END: {
		note_time(st, f[0]);
		uint32_t thread = (uint32_t)(profile_thread_get(p, f[1], f[0]) - p->threads);
		struct spans_thread *ts = thread_state(st, thread);
		if (ts->gc != SPAN_NONE)
			close_gc(s, ts, f[0], f[2], false);
		return true;
	}
	}
	return true;
}

void profile_spans_alloc(struct profile *p, uint32_t thread, uint64_t time_ns, double count,
			 double bytes)
{
	/* Kept even before any span record: a drain may bring a period's
	 * heap events before its span events. Dropped at the end when the
	 * capture had no spans. */
	struct spans_state *st = state(p);
	GROW(st->allocs, st->cap_allocs, st->nallocs + 1);
	st->allocs[st->nallocs++] = (struct spans_alloc){ time_ns, thread, (float)count, bytes };
}

/* --- the end of reading --- */

static int cmp_start(const void *a, const void *b, void *arg)
{
	const struct profile_span *s = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (s[x].start_ns != s[y].start_ns)
		return s[x].start_ns < s[y].start_ns ? -1 : 1;
	return (x > y) - (x < y); /* stable: a parent before its children */
}

/* Puts the spans in start order, fixing every index that names one. */
static void sort_spans(struct profile_spans *s, struct spans_state *st)
{
	bool sorted = true;
	for (size_t i = 1; i < s->nspans && sorted; i++)
		sorted = s->spans[i - 1].start_ns <= s->spans[i].start_ns;
	if (sorted)
		return;
	uint32_t *order = xmalloc(s->nspans * sizeof(uint32_t));
	for (size_t i = 0; i < s->nspans; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, s->nspans, sizeof(uint32_t), cmp_start, s->spans);
	uint32_t *where = xmalloc(s->nspans * sizeof(uint32_t));
	for (size_t i = 0; i < s->nspans; i++)
		where[order[i]] = (uint32_t)i;
	struct profile_span *spans = xmalloc(s->nspans * sizeof(*spans));
	for (size_t i = 0; i < s->nspans; i++) {
		spans[i] = s->spans[order[i]];
		if (spans[i].parent != SPAN_NONE)
			spans[i].parent = where[spans[i].parent];
	}
	free(s->spans);
	s->spans = spans;
	s->cap_spans = s->nspans;
	for (size_t i = 0; i < s->nattrs; i++)
		st->attr_span[i] = where[st->attr_span[i]];
	for (size_t i = 0; i < s->nops; i++)
		if (s->ops[i].span != SPAN_NONE)
			s->ops[i].span = where[s->ops[i].span];
	free(where);
	free(order);
}

/* Each span's attributes contiguous, in record order: a counting sort. */
static void group_attrs(struct profile_spans *s, struct spans_state *st)
{
	if (!s->nattrs)
		return;
	for (size_t i = 0; i < s->nattrs; i++)
		s->spans[st->attr_span[i]].nattrs++;
	uint32_t at = 0;
	for (size_t i = 0; i < s->nspans; i++) {
		s->spans[i].attr = at;
		at += s->spans[i].nattrs;
		s->spans[i].nattrs = 0;
	}
	struct profile_span_attr *attrs = xmalloc(s->nattrs * sizeof(*attrs));
	for (size_t i = 0; i < s->nattrs; i++) {
		struct profile_span *sp = &s->spans[st->attr_span[i]];
		attrs[sp->attr + sp->nattrs++] = s->attrs[i];
	}
	free(s->attrs);
	s->attrs = attrs;
	s->cap_attrs = s->nattrs;
}

static int cmp_ops(const void *a, const void *b)
{
	const struct profile_span_ops *x = a, *y = b;
	if (x->span != y->span)
		return x->span < y->span ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return strcmp(x->kind, y->kind);
}

/* Each span's operations contiguous, by kind; those outside every span
 * (SPAN_NONE) last, by thread. */
static void group_ops(struct profile_spans *s)
{
	if (!s->nops)
		return;
	qsort(s->ops, s->nops, sizeof(*s->ops), cmp_ops);
	for (size_t i = 0; i < s->nops; i++) {
		struct profile_span_ops *o = &s->ops[i];
		if (o->span == SPAN_NONE)
			break;
		if (!s->spans[o->span].nops)
			s->spans[o->span].ops = (uint32_t)i;
		s->spans[o->span].nops++;
	}
}

static int cmp_alloc(const void *a, const void *b)
{
	const struct spans_alloc *x = a, *y = b;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return (x->time > y->time) - (x->time < y->time);
}

/* Charges each allocation to the deepest span of its thread with
 * start <= time < end, in one sweep per thread over its spans (in start
 * order) and its allocations (in time order). Spans of a thread nest, so
 * the spans containing a time are a stack. Allocations outside every
 * span go to the root node. */
static void charge_allocs(struct profile_spans *s, struct spans_state *st, double *root_count,
			  double *root_bytes)
{
	*root_count = *root_bytes = 0;
	if (!st->nallocs)
		return;
	qsort(st->allocs, st->nallocs, sizeof(*st->allocs), cmp_alloc);
	/* Spans by thread, each thread's in start order: a counting sort. */
	size_t nthreads = 0;
	for (size_t i = 0; i < s->nspans; i++)
		if (s->spans[i].thread + 1u > nthreads)
			nthreads = s->spans[i].thread + 1u;
	size_t *first = xcalloc(nthreads + 1, sizeof(size_t));
	for (size_t i = 0; i < s->nspans; i++)
		first[s->spans[i].thread + 1]++;
	for (size_t t = 0; t < nthreads; t++)
		first[t + 1] += first[t];
	uint32_t *by_thread = xmalloc((s->nspans ? s->nspans : 1) * sizeof(uint32_t));
	size_t *fill = xmalloc((nthreads + 1) * sizeof(size_t));
	memcpy(fill, first, (nthreads + 1) * sizeof(size_t));
	for (size_t i = 0; i < s->nspans; i++)
		by_thread[fill[s->spans[i].thread]++] = (uint32_t)i;
	free(fill);

	uint32_t *stack = NULL;
	size_t nstack = 0, cap_stack = 0;
	for (size_t a = 0; a < st->nallocs;) {
		uint32_t thread = st->allocs[a].thread;
		size_t next = thread < nthreads ? first[thread] : 0;
		size_t last = thread < nthreads ? first[thread + 1] : 0;
		nstack = 0;
		for (; a < st->nallocs && st->allocs[a].thread == thread; a++) {
			const struct spans_alloc *al = &st->allocs[a];
			/* Open every span that began by now. */
			while (next < last && s->spans[by_thread[next]].start_ns <= al->time) {
				uint32_t sp = by_thread[next++];
				while (nstack && s->spans[stack[nstack - 1]].end_ns <= s->spans[sp].start_ns)
					nstack--;
				GROW(stack, cap_stack, nstack + 1);
				stack[nstack++] = sp;
			}
			while (nstack && s->spans[stack[nstack - 1]].end_ns <= al->time)
				nstack--;
			if (nstack) {
				struct profile_span *sp = &s->spans[stack[nstack - 1]];
				sp->alloc_count += al->count;
				sp->alloc_bytes += al->bytes;
			} else {
				*root_count += al->count;
				*root_bytes += al->bytes;
			}
		}
	}
	free(stack);
	free(by_thread);
	free(first);
}

/* The call tree: spans merged by their path of site names. */
static void build_tree(struct profile_spans *s, double root_count, double root_bytes)
{
	struct pair_map children = { 0 };
	s->span_nodes = xmalloc((s->nspans ? s->nspans : 1) * sizeof(uint32_t));
	GROW(s->nodes, s->cap_nodes, 1);
	s->nodes[0] = (struct span_node){ .site = SPAN_NONE, .parent = SPAN_NONE,
					  .alloc_count = root_count, .alloc_bytes = root_bytes };
	s->nnodes = 1;
	uint32_t *last_child = xcalloc(1, sizeof(uint32_t));
	size_t cap_last = 1;
	for (size_t i = 0; i < s->nspans; i++) {
		const struct profile_span *sp = &s->spans[i];
		/* Parents come first: start order puts them before. */
		uint32_t parent = sp->parent == SPAN_NONE ? 0 : s->span_nodes[sp->parent];
		const char *name = s->sites[sp->site].name;
		struct pair_slot *slot = pair_find(&children, parent, (uint64_t)(uintptr_t)name);
		if (!slot->val) {
			uint32_t n = (uint32_t)s->nnodes;
			GROW(s->nodes, s->cap_nodes, s->nnodes + 1);
			s->nodes[s->nnodes++] = (struct span_node){ .site = sp->site, .parent = parent };
			if (cap_last < s->nnodes) {
				size_t old = cap_last;
				cap_last = s->nnodes * 2;
				last_child = xrealloc(last_child, cap_last * sizeof(uint32_t));
				memset(last_child + old, 0, (cap_last - old) * sizeof(uint32_t));
			}
			/* Children in the order they first ran. */
			if (last_child[parent])
				s->nodes[last_child[parent]].sibling = n;
			else
				s->nodes[parent].child = n;
			last_child[parent] = n;
			*slot = (struct pair_slot){ parent, (uint64_t)(uintptr_t)name, n + 1 };
			children.n++;
		}
		uint32_t n = slot->val - 1;
		struct span_node *node = &s->nodes[n];
		s->span_nodes[i] = n;
		node->calls++;
		node->total_ns += sp->end_ns - sp->start_ns;
		node->alloc_count += sp->alloc_count;
		node->alloc_bytes += sp->alloc_bytes;
	}
	free(last_child);
	pair_map_free(&children);

	/* Children have larger indexes than their parent: one backward pass
	 * gives every node its children's totals. */
	uint64_t *child_ns = xcalloc(s->nnodes, sizeof(uint64_t));
	for (size_t i = 0; i < s->nnodes; i++)
		s->nodes[i].total_alloc_bytes = s->nodes[i].alloc_bytes;
	for (size_t i = s->nnodes; i-- > 1;) {
		struct span_node *node = &s->nodes[i];
		child_ns[node->parent] += node->total_ns;
		s->nodes[node->parent].total_alloc_bytes += node->total_alloc_bytes;
	}
	/* The root stands for every top-level span. */
	s->nodes[0].total_ns = child_ns[0];
	for (size_t i = 0; i < s->nnodes; i++)
		s->nodes[i].self_ns = s->nodes[i].total_ns > child_ns[i]
					      ? s->nodes[i].total_ns - child_ns[i]
					      : 0;
	free(child_ns);
}

static void state_free(struct profile_spans *s)
{
	struct spans_state *st = s->st;
	if (!st)
		return;
	for (size_t i = 0; i < st->nthreads; i++)
		free(st->threads[i].open);
	free(st->threads);
	free(st->attr_span);
	pair_map_free(&st->ops);
	free(st->allocs);
	free(st);
	s->st = NULL;
}

void profile_spans_finish(struct profile *p)
{
	struct profile_spans *s = p->spans;
	if (!s || !s->st)
		return;
	struct spans_state *st = s->st;
	if (!st->any) {
		/* Only allocations came: the capture has no instrumentation. */
		profile_spans_free(s);
		p->spans = NULL;
		return;
	}
	/* What is still open ends with the capture. */
	uint64_t end = p->duration_ns > st->last_time ? p->duration_ns : st->last_time;
	for (size_t t = 0; t < st->nthreads; t++) {
		struct spans_thread *ts = &st->threads[t];
		while (ts->nopen)
			close_innermost(s, ts, end, true);
		if (ts->gc != SPAN_NONE)
			close_gc(s, ts, end, 0, true);
	}
	sort_spans(s, st);
	group_attrs(s, st);
	group_ops(s);
	double root_count, root_bytes;
	charge_allocs(s, st, &root_count, &root_bytes);
	for (size_t i = 0; i < s->ngcs; i++) {
		s->gc_count++;
		s->gc_ns += s->gcs[i].end_ns - s->gcs[i].start_ns;
		s->gc_reclaimed += s->gcs[i].reclaimed;
	}
	build_tree(s, root_count, root_bytes);
	state_free(s);
}

void profile_spans_free(struct profile_spans *s)
{
	if (!s)
		return;
	state_free(s);
	for (size_t i = 0; i < s->nseries; i++)
		free(s->series[i].points);
	free(s->sites);
	free(s->spans);
	free(s->attrs);
	free(s->ops);
	free(s->gcs);
	free(s->series);
	free(s->nodes);
	free(s->span_nodes);
	free(s);
}

/* --- queries --- */

static bool node_under(const struct profile_spans *s, uint32_t n, uint32_t top)
{
	for (; n != SPAN_NONE && n < s->nnodes; n = s->nodes[n].parent)
		if (n == top)
			return true;
	return false;
}

const char *span_kind_name(uint32_t kind)
{
	switch (kind) {
	case ONEPROF_KIND_FUNCTION: return "function";
	case ONEPROF_KIND_MODULE: return "module";
	case ONEPROF_KIND_EXPRESSION: return "expression";
	case ONEPROF_KIND_CUSTOM:
	default: return "custom";
	}
}

static int node_by_total(const void *a, const void *b, void *arg)
{
	const struct span_node *nodes = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (nodes[x].total_ns != nodes[y].total_ns)
		return nodes[x].total_ns < nodes[y].total_ns ? 1 : -1;
	return x < y ? -1 : x > y;
}

void span_nodes_sort(const struct profile_spans *s, uint32_t *ids, size_t n)
{
	qsort_r(ids, n, sizeof(uint32_t), node_by_total, s->nodes);
}

size_t span_node_ops(const struct profile *p, uint32_t node, bool with_descendants,
		     const char **kinds, uint64_t *counts, size_t cap)
{
	const struct profile_spans *s = p->spans;
	size_t n = 0;
	if (!s || !s->span_nodes || node >= s->nnodes)
		return 0;
	for (size_t i = 0; i < s->nops; i++) {
		const struct profile_span_ops *o = &s->ops[i];
		/* The root's own operations are those outside every span. */
		uint32_t at = o->span == SPAN_NONE ? 0 : s->span_nodes[o->span];
		if (at != node && !(with_descendants && node_under(s, at, node)))
			continue;
		size_t k = 0;
		while (k < n && strcmp(kinds[k], o->kind))
			k++;
		if (k == n) {
			if (n == cap)
				continue;
			kinds[n] = o->kind;
			counts[n++] = 0;
		}
		counts[k] += o->n;
	}
	return n;
}

bool profile_labels_have(const struct profile *p, uint32_t set, const char *key,
			 const char *value)
{
	/* The innermost push of a key hides the outer ones, as a map would. */
	for (uint32_t depth = 0; set && set < p->nlabel_sets && depth < p->nlabel_sets; depth++) {
		const struct profile_label_set *ls = &p->label_sets[set];
		if (ls->key && !strcmp(ls->key, key))
			return !value || (ls->value && !strcmp(ls->value, value));
		set = ls->parent;
	}
	return false;
}

/* --- the span view --- */

bool profile_span_view(struct profile *p)
{
	struct profile_spans *s = p->spans;
	if (!s || !s->nspans || !s->span_nodes)
		return false;

	/* Each span's self time: its total less its children's. */
	int64_t *self = xmalloc(s->nspans * sizeof(int64_t));
	for (size_t i = 0; i < s->nspans; i++)
		self[i] = (int64_t)(s->spans[i].end_ns - s->spans[i].start_ns);
	for (size_t i = 0; i < s->nspans; i++)
		if (s->spans[i].parent != SPAN_NONE)
			self[s->spans[i].parent] -= (int64_t)(s->spans[i].end_ns - s->spans[i].start_ns);

	/* A function and a location per site, a stack per node, made when
	 * first needed. */
	uint32_t *site_loc = xmalloc((s->nsites ? s->nsites : 1) * sizeof(uint32_t));
	memset(site_loc, 0xff, (s->nsites ? s->nsites : 1) * sizeof(uint32_t));
	uint32_t *node_stack = xmalloc(s->nnodes * sizeof(uint32_t));
	memset(node_stack, 0xff, s->nnodes * sizeof(uint32_t));
	struct pair_map groups = { 0 };

	p->nsamples = 0;
	p->total_count = p->total_cpu_ns = 0;
	memset(p->stack_ends, 0, sizeof(p->stack_ends));
	memset(p->state_ns, 0, sizeof(p->state_ns));
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i].samples = p->threads[i].sampled_cpu_ns = 0;

	for (size_t i = 0; i < s->nspans; i++) {
		const struct profile_span *sp = &s->spans[i];
		uint32_t node = s->span_nodes[i];
		if (node_stack[node] == UINT32_MAX) {
			uint32_t depth = 0;
			for (uint32_t n = node; n; n = s->nodes[n].parent)
				depth++;
			GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
			struct profile_stack *ps = &p->stacks[p->nstacks];
			memset(ps, 0, sizeof(*ps));
			ps->n = depth;
			ps->end_reason = CAPTURE_STACK_COMPLETE;
			ps->pcs = profile_alloc(p, depth * sizeof(uint64_t));
			ps->locations = profile_alloc(p, depth * sizeof(uint32_t));
			uint32_t f = 0;
			for (uint32_t n = node; n; n = s->nodes[n].parent, f++) {
				uint32_t site = s->nodes[n].site;
				if (site_loc[site] == UINT32_MAX) {
					const struct profile_span_site *ss = &s->sites[site];
					GROW(p->functions, p->cap_functions, p->nfunctions + 1);
					p->functions[p->nfunctions] = (struct profile_function){
						ss->name, "", ss->file, ss->line };
					GROW(p->locations, p->cap_locations, p->nlocations + 1);
					/* No mapping, no lines: the function is the frame. */
					p->locations[p->nlocations] = (struct profile_location){
						.address = (uint64_t)site + 1,
						.mapping = -1,
						.function = (uint32_t)p->nfunctions++,
					};
					site_loc[site] = (uint32_t)p->nlocations++;
				}
				ps->locations[f] = site_loc[site];
				ps->pcs[f] = p->locations[site_loc[site]].address;
			}
			node_stack[node] = (uint32_t)p->nstacks++;
		}
		struct pair_slot *slot = pair_find(&groups, node, sp->thread);
		if (!slot->val) {
			GROW(p->samples, p->cap_samples, p->nsamples + 1);
			p->samples[p->nsamples++] = (struct profile_sample){
				.time_ns = sp->start_ns,
				.thread = sp->thread,
				.stack = node_stack[node],
			};
			*slot = (struct pair_slot){ node, sp->thread, (uint32_t)p->nsamples };
			groups.n++;
		}
		struct profile_sample *smp = &p->samples[slot->val - 1];
		uint64_t ns = self[i] > 0 ? (uint64_t)self[i] : 0;
		smp->count++;
		smp->cpu_ns += ns;
		p->total_count++;
		p->total_cpu_ns += ns;
		p->stack_ends[CAPTURE_STACK_COMPLETE]++;
		if (sp->thread < p->nthreads) {
			p->threads[sp->thread].samples++;
			p->threads[sp->thread].sampled_cpu_ns += ns;
		}
	}
	pair_map_free(&groups);
	free(node_stack);
	free(site_loc);
	free(self);
	p->unit = NULL;
	p->heap_view = false;
	p->span_view = true;
	return true;
}
