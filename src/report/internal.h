/* Shared by the report files only: the call graph the reports are
 * computed from, and text layout (name fitting, colour). */
#ifndef REPORT_INTERNAL_H
#define REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../model/filter.h"
#include "report.h"

/* A caller -> callee edge with the time of the samples through it,
 * counted once per stack (recursion does not count twice). */
struct report_edge {
	uint32_t caller, callee;
	uint64_t ns;
};

/* Flat (self_ns) and cumulative (total_ns) time per function and, when
 * asked, the edges:
 * callers of f are in_edges[in_start[f] .. in_start[f + 1]), callees
 * out_edges[out_start[f] .. out_start[f + 1]) (indexes into edges). */
struct report_graph {
	size_t nfunctions;
	struct profile_totals *fn;
	uint64_t total; /* what percentages are of */
	struct report_edge *edges;
	size_t nedges;
	uint32_t *in_start, *in_edges, *out_start, *out_edges;
};

void report_graph_build(struct report_graph *g, const struct profile *p,
			const struct report_options *o, bool with_edges);
void report_graph_free(struct report_graph *g);
/* The functions with time, best first by flat (or cum) time: an array
 * the caller frees, and its length in *n. */
uint32_t *report_graph_order(const struct report_graph *g, bool by_cum, size_t *n);

static inline double report_pct(uint64_t part, uint64_t total)
{
	return total ? 100.0 * (double)part / (double)total : 0.0;
}

/* name fitted into at most `chars` characters, elided in the middle
 * ("std::vector<...>::push_back" keeps both ends); chars 0: no limit.
 * Returns buf or name. */
const char *report_fit(char *buf, size_t len, const char *name, size_t chars);
/* The room left for a name after `used` columns, at least a minimum. */
size_t report_name_room(const struct report_options *o, size_t used);

/* ANSI codes, or "" without colour. */
const char *report_c(const struct report_options *o, const char *code);
#define RC_BOLD "\033[1m"
#define RC_HOT "\033[31m" /* 10% or more of the time */
#define RC_DIM "\033[2m"
#define RC_OFF "\033[0m"

#endif
