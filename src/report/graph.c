/* The call graph the text reports are computed from: flat and cumulative
 * time per function (model/filter.h's totals), and caller -> callee
 * edges, each counted once per stack, so recursion neither doubles a
 * function's time nor an edge's. */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../model/filter.h"
#include "../util/util.h"
#include "internal.h"

/* Open addressing, (caller, callee) -> edge index + 1. */
struct edge_map {
	uint32_t *slots;
	size_t cap;
};

static uint32_t edge_of(struct report_graph *g, struct edge_map *m, size_t *cap_edges,
			uint32_t caller, uint32_t callee)
{
	uint64_t key = (uint64_t)caller << 32 | callee;
	size_t i = (size_t)XXH3_64bits(&key, sizeof(key)) & (m->cap - 1);
	while (m->slots[i]) {
		const struct report_edge *e = &g->edges[m->slots[i] - 1];
		if (e->caller == caller && e->callee == callee)
			return m->slots[i] - 1;
		i = (i + 1) & (m->cap - 1);
	}
	GROW(g->edges, *cap_edges, g->nedges + 1);
	g->edges[g->nedges] = (struct report_edge){ caller, callee, 0 };
	m->slots[i] = (uint32_t)++g->nedges;
	return (uint32_t)(g->nedges - 1);
}

/* Edge lists per function, as offsets into one array (counting sort). */
static void index_edges(struct report_graph *g, uint32_t **start, uint32_t **list, bool by_callee)
{
	*start = xcalloc(g->nfunctions + 1, sizeof(uint32_t));
	*list = xcalloc(g->nedges ? g->nedges : 1, sizeof(uint32_t));
	for (size_t e = 0; e < g->nedges; e++)
		(*start)[(by_callee ? g->edges[e].callee : g->edges[e].caller) + 1]++;
	for (size_t f = 0; f < g->nfunctions; f++)
		(*start)[f + 1] += (*start)[f];
	uint32_t *fill = xmalloc((g->nfunctions ? g->nfunctions : 1) * sizeof(uint32_t));
	memcpy(fill, *start, g->nfunctions * sizeof(uint32_t));
	for (size_t e = 0; e < g->nedges; e++)
		(*list)[fill[by_callee ? g->edges[e].callee : g->edges[e].caller]++] = (uint32_t)e;
	free(fill);
}

void report_graph_build(struct report_graph *g, const struct profile *p,
			const struct report_options *o, bool with_edges)
{
	memset(g, 0, sizeof(*g));
	g->nfunctions = p->nfunctions;
	g->total = o->total_ns ? o->total_ns : p->total_cpu_ns;
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	g->fn = profile_function_totals(p, &pf);
	if (!with_edges) {
		profile_frames_free(&pf);
		return;
	}

	/* Each edge once per stack: a recursion a -> b -> a -> b passes
	 * through a -> b twice but spends the time once. */
	uint64_t *count, *stack_ns;
	profile_stack_weights(p, &count, &stack_ns);
	size_t *edge_seen = NULL, cap_edges = 0, cap_seen = 0;
	struct edge_map m = { .cap = 64 };
	while (m.cap < pf.start[p->nstacks] * 2)
		m.cap *= 2;
	m.slots = xcalloc(m.cap, sizeof(uint32_t));
	for (size_t s = 0; s < p->nstacks; s++) {
		size_t n = profile_frames_count(&pf, s);
		const uint32_t *fn = profile_frames_of(&pf, s);
		if (!count[s])
			continue;
		for (size_t k = 0; k + 1 < n; k++) {
			uint32_t e = edge_of(g, &m, &cap_edges, fn[k + 1], fn[k]);
			if (e >= cap_seen) {
				size_t old = cap_seen;
				GROW(edge_seen, cap_seen, (size_t)e + 1);
				memset(edge_seen + old, 0, (cap_seen - old) * sizeof(size_t));
			}
			if (edge_seen[e] != s + 1) {
				edge_seen[e] = s + 1;
				g->edges[e].ns += stack_ns[s];
			}
		}
	}
	index_edges(g, &g->in_start, &g->in_edges, true);
	index_edges(g, &g->out_start, &g->out_edges, false);
	free(m.slots);
	free(edge_seen);
	free(count);
	free(stack_ns);
	profile_frames_free(&pf);
}

void report_graph_free(struct report_graph *g)
{
	free(g->fn);
	free(g->edges);
	free(g->in_start);
	free(g->in_edges);
	free(g->out_start);
	free(g->out_edges);
	memset(g, 0, sizeof(*g));
}

static int by_flat(const void *a, const void *b, void *arg)
{
	const struct report_graph *sorting = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (sorting->fn[x].self_ns != sorting->fn[y].self_ns)
		return sorting->fn[x].self_ns < sorting->fn[y].self_ns ? 1 : -1;
	if (sorting->fn[x].total_ns != sorting->fn[y].total_ns)
		return sorting->fn[x].total_ns < sorting->fn[y].total_ns ? 1 : -1;
	return x < y ? -1 : x > y;
}

static int by_cum(const void *a, const void *b, void *arg)
{
	const struct report_graph *sorting = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (sorting->fn[x].total_ns != sorting->fn[y].total_ns)
		return sorting->fn[x].total_ns < sorting->fn[y].total_ns ? 1 : -1;
	return by_flat(a, b, arg);
}

uint32_t *report_graph_order(const struct report_graph *g, bool by_cum_time, size_t *n)
{
	uint32_t *order = xmalloc((g->nfunctions ? g->nfunctions : 1) * sizeof(uint32_t));
	*n = 0;
	for (size_t f = 0; f < g->nfunctions; f++)
		if (g->fn[f].total_count)
			order[(*n)++] = (uint32_t)f;
	qsort_r(order, *n, sizeof(uint32_t), by_cum_time ? by_cum : by_flat, (void *)g);
	return order;
}
