/* JIT symbols: the perf map copies kept in the capture, as one sorted,
 * non-overlapping table. A runtime reuses code memory, so entries
 * overlap; the later entry wins wherever they do. The table is built by
 * one sweep over the entries' boundaries with a max-heap of the active
 * entries by order, so a lookup is one binary search whatever the
 * overlaps. */
#include <stdlib.h>
#include <string.h>

#include "../model/profile.h"
#include "../util/util.h"
#include "sym_internal.h"

struct piece {
	uint64_t start, end;
	const char *name;
};

struct sym_jit {
	struct piece *pieces; /* sorted, disjoint */
	size_t n;
};

struct entry {
	uint64_t start, end;
	uint32_t seq;
};

static int cmp_start(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* A max-heap of entry indexes by seq. */
struct heap {
	uint32_t *v;
	size_t n;
};

static void heap_push(struct heap *h, const struct entry *e, uint32_t i)
{
	size_t k = h->n++;
	while (k > 0) {
		size_t parent = (k - 1) / 2;
		if (e[h->v[parent]].seq >= e[i].seq)
			break;
		h->v[k] = h->v[parent];
		k = parent;
	}
	h->v[k] = i;
}

static void heap_pop(struct heap *h, const struct entry *e)
{
	uint32_t last = h->v[--h->n];
	size_t k = 0;
	for (;;) {
		size_t c = 2 * k + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && e[h->v[c + 1]].seq > e[h->v[c]].seq)
			c++;
		if (e[h->v[c]].seq <= e[last].seq)
			break;
		h->v[k] = h->v[c];
		k = c;
	}
	if (h->n)
		h->v[k] = last;
}

void sym_set_jit(struct symbolizer *s, const struct profile_jit_symbol *syms, size_t n)
{
	sym_jit_free(s->jit);
	s->jit = NULL;
	struct entry *e = xmalloc((n ? n : 1) * sizeof(*e));
	size_t ne = 0;
	for (size_t i = 0; i < n; i++) {
		if (!syms[i].size || syms[i].start + syms[i].size < syms[i].start || !syms[i].name)
			continue;
		e[ne++] = (struct entry){ syms[i].start, syms[i].start + syms[i].size, (uint32_t)i };
	}
	if (!ne) {
		free(e);
		return;
	}
	qsort(e, ne, sizeof(*e), cmp_start);
	/* Every boundary, sorted: the sweep's stops. */
	uint64_t *b = xmalloc(2 * ne * sizeof(uint64_t));
	for (size_t i = 0; i < ne; i++) {
		b[2 * i] = e[i].start;
		b[2 * i + 1] = e[i].end;
	}
	qsort(b, 2 * ne, sizeof(uint64_t), cmp_u64);

	struct sym_jit *j = xcalloc(1, sizeof(*j));
	struct heap h = { xmalloc(ne * sizeof(uint32_t)), 0 };
	size_t cap = 0, next = 0;
	for (size_t k = 0; k + 1 < 2 * ne; k++) {
		uint64_t lo = b[k], hi = b[k + 1];
		if (lo == hi)
			continue;
		while (next < ne && e[next].start <= lo)
			heap_push(&h, e, (uint32_t)next++);
		while (h.n && e[h.v[0]].end <= lo)
			heap_pop(&h, e); /* ended: lazily dropped when on top */
		if (!h.n)
			continue;
		const char *name = syms[e[h.v[0]].seq].name;
		if (j->n && j->pieces[j->n - 1].end == lo && j->pieces[j->n - 1].name == name) {
			j->pieces[j->n - 1].end = hi;
			continue;
		}
		GROW(j->pieces, cap, j->n + 1);
		j->pieces[j->n++] = (struct piece){ lo, hi, name };
	}
	free(h.v);
	free(b);
	free(e);
	s->jit = j;
}

const char *sym_jit(struct symbolizer *s, uint64_t addr)
{
	const struct sym_jit *j = s->jit;
	if (!j)
		return NULL;
	size_t lo = UTIL_COUNT_LE(j->pieces, j->n, start, addr);
	if (lo == 0 || addr >= j->pieces[lo - 1].end)
		return NULL;
	return j->pieces[lo - 1].name;
}

void sym_jit_free(struct sym_jit *j)
{
	if (!j)
		return;
	free(j->pieces);
	free(j);
}
