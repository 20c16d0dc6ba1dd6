/* Each function between its callers and its callees, like pprof's -tree
 * and -peek: the function's own line carries its flat and cumulative
 * time; the lines above are its callers, the lines below its callees,
 * each with the time that went through that call and its share of the
 * function's cumulative time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/util.h"
#include "internal.h"

/* flat flat% sum% cum cum% (42), then calls calls% (19), then "| ". */
#define STATS_COLS 42
#define CALLS_COLS 19
#define NAME_AT (STATS_COLS + CALLS_COLS + 3)

static void rule(FILE *out)
{
	for (int i = 0; i <= STATS_COLS + CALLS_COLS; i++)
		fputc('-', out);
	fputs("+-------------\n", out);
}

/* Edge indexes sorted by time through them, heaviest first. */
static int by_edge_ns(const void *a, const void *b, void *arg)
{
	const struct report_edge *edges = arg;
	const struct report_edge *x = &edges[*(const uint32_t *)a];
	const struct report_edge *y = &edges[*(const uint32_t *)b];
	if (x->ns != y->ns)
		return x->ns < y->ns ? 1 : -1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static void edge_lines(const struct profile *p, const struct report_graph *g, FILE *out,
		       const struct report_options *o, uint32_t f, const uint32_t *list,
		       uint32_t from, uint32_t to, bool callers)
{
	size_t n = to - from;
	if (!n)
		return;
	uint32_t *sorted = xmalloc(n * sizeof(uint32_t));
	memcpy(sorted, list + from, n * sizeof(uint32_t));
	qsort_r(sorted, n, sizeof(uint32_t), by_edge_ns, g->edges);
	size_t room = report_name_room(o, NAME_AT + 2);
	for (size_t i = 0; i < n; i++) {
		const struct report_edge *e = &g->edges[sorted[i]];
		uint32_t other = callers ? e->caller : e->callee;
		char ns[32], fit[512];
		report_format_value(o->unit, ns, sizeof(ns), (double)e->ns);
		fprintf(out, "%*s %10s %5.1f%%  |   %s\n", STATS_COLS, "", ns,
			report_pct(e->ns, g->fn[f].total_ns),
			report_fit(fit, sizeof(fit), p->functions[other].name, room));
	}
	free(sorted);
}

/* The entries for the functions in order[0..n). */
static void print_entries(const struct profile *p, const struct report_graph *g, FILE *out,
			  const struct report_options *o, const uint32_t *order, size_t n)
{
	rule(out);
	fprintf(out, "%s%10s %6s %6s %10s %6s %10s %6s  | %s%s\n", report_c(o, RC_BOLD), "flat",
		"flat%", "sum%", "cum", "cum%", "calls", "calls%",
		"function: callers above, callees below", report_c(o, RC_OFF));
	rule(out);
	size_t room = report_name_room(o, NAME_AT);
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t f = order[i];
		edge_lines(p, g, out, o, f, g->in_edges, g->in_start[f], g->in_start[f + 1], true);
		char flat[32], cum[32], fit[512];
		report_format_value(o->unit, flat, sizeof(flat), (double)g->fn[f].self_ns);
		report_format_value(o->unit, cum, sizeof(cum), (double)g->fn[f].total_ns);
		sum += g->fn[f].self_ns;
		fprintf(out, "%10s %5.1f%% %5.1f%% %10s %5.1f%% %*s  | %s%s%s\n", flat,
			report_pct(g->fn[f].self_ns, g->total), report_pct(sum, g->total), cum,
			report_pct(g->fn[f].total_ns, g->total), CALLS_COLS - 2, "",
			report_c(o, RC_BOLD),
			report_fit(fit, sizeof(fit), p->functions[f].name, room),
			report_c(o, RC_OFF));
		edge_lines(p, g, out, o, f, g->out_edges, g->out_start[f], g->out_start[f + 1],
			   false);
		rule(out);
	}
}

void report_tree(const struct profile *p, FILE *out, const struct report_options *o)
{
	struct report_graph g;
	report_graph_build(&g, p, o, true);
	size_t n;
	uint32_t *order = report_graph_order(&g, o->sort_cum, &n);
	size_t shown = o->nodecount && o->nodecount < n ? o->nodecount : n;
	fprintf(out, "\nShowing %zu of %zu functions, sorted by %s time\n", shown, n,
		o->sort_cum ? "cumulative" : "flat");
	print_entries(p, &g, out, o, order, shown);
	free(order);
	report_graph_free(&g);
}

int report_peek(const struct profile *p, FILE *out, const struct report_options *o,
		char *err, size_t errlen)
{
	bool *match = profile_match_functions(p, o->peek, "peek", err, errlen);
	if (!match)
		return -1;
	struct report_graph g;
	report_graph_build(&g, p, o, true);
	size_t n, kept = 0;
	uint32_t *order = report_graph_order(&g, o->sort_cum, &n);
	for (size_t i = 0; i < n; i++)
		if (match[order[i]])
			order[kept++] = order[i];
	size_t shown = o->nodecount && o->nodecount < kept ? o->nodecount : kept;
	fprintf(out, "\nShowing %zu of %zu functions matching '%s', sorted by %s time\n", shown,
		kept, o->peek, o->sort_cum ? "cumulative" : "flat");
	if (shown)
		print_entries(p, &g, out, o, order, shown);
	free(order);
	free(match);
	report_graph_free(&g);
	return (int)shown;
}
