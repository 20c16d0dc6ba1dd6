/* oneprof report --spans: the span call graph. A header (what the
 * capture holds and what it lost), the span sites by total time, GC,
 * operation counts, counters' final values, then the call tree of
 * spans merged by path, heaviest children first. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "internal.h"

/* total total% self self% calls mean alloc ops, then two spaces. */
#define TOP_COLS 76
/* total self calls alloc ops, then two spaces and the indentation. */
#define TREE_COLS 48

/* Per site: calls, self and alloc from every node of the site; total
 * from the outermost nodes only, so recursion does not count twice. */
struct site_row {
	uint32_t site;
	uint64_t calls, total_ns, self_ns, ops;
	double alloc_bytes;
};

static int by_total(const void *a, const void *b)
{
	const struct site_row *x = a, *y = b;
	if (x->total_ns != y->total_ns)
		return x->total_ns < y->total_ns ? 1 : -1;
	return x->site < y->site ? -1 : x->site > y->site;
}

static bool under_same_site(const struct profile_spans *s, uint32_t n)
{
	for (uint32_t a = s->nodes[n].parent; a; a = s->nodes[a].parent)
		if (s->nodes[a].site == s->nodes[n].site)
			return true;
	return false;
}

/* The time percentages are of: the top-level spans' total. */
static uint64_t top_level_ns(const struct profile_spans *s)
{
	uint64_t sum = 0;
	if (!s->nnodes)
		return 0;
	for (uint32_t c = s->nodes[0].child; c; c = s->nodes[c].sibling)
		sum += s->nodes[c].total_ns;
	return sum;
}

static uint64_t node_ops(const struct profile *p, uint32_t node)
{
	const char *kinds[64];
	uint64_t counts[64], sum = 0;
	size_t n = span_node_ops(p, node, false, kinds, counts, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		sum += counts[i];
	return sum;
}

static void header(const struct profile *p, FILE *out, const struct report_options *o)
{
	const struct profile_spans *s = p->spans;
	bool *seen = xcalloc(p->nthreads ? p->nthreads : 1, sizeof(bool));
	size_t threads = 0, unclosed = 0;
	for (size_t i = 0; i < s->nspans; i++) {
		const struct profile_span *sp = &s->spans[i];
		if (sp->thread < p->nthreads && !seen[sp->thread]) {
			seen[sp->thread] = true;
			threads++;
		}
		unclosed += sp->unclosed;
	}
	free(seen);
	char dur[32];
	report_format_ns(dur, sizeof(dur), (double)p->duration_ns);
	/* A plain first line, the same in every capture, that scripts may read. */
	fprintf(out, "\n%sspans:%s %zu span%s on %zu thread%s, %zu site%s, recording %s\n",
		report_c(o, RC_BOLD), report_c(o, RC_OFF), s->nspans, s->nspans == 1 ? "" : "s",
		threads, threads == 1 ? "" : "s", s->nsites, s->nsites == 1 ? "" : "s", dur);
	uint64_t dropped = 0;
	for (size_t i = 0; i < p->nlost; i++)
		if (p->lost[i].source == CAPTURE_LOST_SPAN_EVENT)
			dropped += p->lost[i].count;
	if (dropped)
		fprintf(out, "%sDropped:%s %" PRIu64 " span event%s (the agent's buffers were full); "
			"the figures below miss them\n",
			report_c(o, RC_HOT), report_c(o, RC_OFF), dropped, dropped == 1 ? "" : "s");
	bool any = false;
	for (unsigned r = 1; r < CAPTURE_SPAN_NOTE_COUNT && r < 16; r++) {
		if (!s->notes[r])
			continue;
		fprintf(out, "%s%s %" PRIu64, any ? ", " : "Notes: ", capture_span_note_name(r),
			s->notes[r]);
		any = true;
	}
	if (any)
		fputc('\n', out);
	if (unclosed)
		fprintf(out, "Unclosed: %zu span%s still open when their thread or the recording "
			"ended; they end there\n", unclosed, unclosed == 1 ? "" : "s");
}

static void top_sites(const struct profile *p, FILE *out, const struct report_options *o,
		      uint64_t base)
{
	const struct profile_spans *s = p->spans;
	struct site_row *rows = xcalloc(s->nsites ? s->nsites : 1, sizeof(*rows));
	for (size_t i = 0; i < s->nsites; i++)
		rows[i].site = (uint32_t)i;
	for (uint32_t n = 1; n < s->nnodes; n++) {
		const struct span_node *nd = &s->nodes[n];
		if (nd->site >= s->nsites)
			continue;
		struct site_row *r = &rows[nd->site];
		r->calls += nd->calls;
		r->self_ns += nd->self_ns;
		r->alloc_bytes += nd->alloc_bytes;
		if (!under_same_site(s, n))
			r->total_ns += nd->total_ns;
	}
	for (size_t i = 0; i < s->nops; i++) {
		uint32_t sp = s->ops[i].span;
		if (sp < s->nspans && s->spans[sp].site < s->nsites)
			rows[s->spans[sp].site].ops += s->ops[i].n;
	}
	size_t n = 0;
	for (size_t i = 0; i < s->nsites; i++)
		if (rows[i].calls)
			rows[n++] = rows[i];
	qsort(rows, n, sizeof(*rows), by_total);
	size_t shown = o->nodecount && o->nodecount < n ? o->nodecount : n;
	char b[32];
	report_format_ns(b, sizeof(b), (double)base);
	fprintf(out, "\n%sTop spans%s by total time: %zu of %zu site%s; percentages of %s, the "
		"top-level spans' total\n",
		report_c(o, RC_BOLD), report_c(o, RC_OFF), shown, n, n == 1 ? "" : "s", b);
	fprintf(out, "%s%10s %6s %10s %6s %9s %10s %10s %8s  %s%s\n", report_c(o, RC_BOLD), "total",
		"total%", "self", "self%", "calls", "mean", "alloc", "ops", "name [kind]",
		report_c(o, RC_OFF));
	size_t room = report_name_room(o, TOP_COLS);
	for (size_t i = 0; i < shown; i++) {
		const struct site_row *r = &rows[i];
		const struct profile_span_site *site = &s->sites[r->site];
		char tot[32], self[32], mean[32], alloc[32], ops[32], name[1100], fit[1100];
		report_format_ns(tot, sizeof(tot), (double)r->total_ns);
		report_format_ns(self, sizeof(self), (double)r->self_ns);
		report_format_ns(mean, sizeof(mean), (double)r->total_ns / (double)r->calls);
		report_format_value("bytes", alloc, sizeof(alloc), r->alloc_bytes);
		report_format_value("count", ops, sizeof(ops), (double)r->ops);
		snprintf(name, sizeof(name), "%s [%s]", site->name ? site->name : "",
			 span_kind_name(site->kind));
		bool hot = report_pct(r->total_ns, base) >= 10.0;
		fprintf(out, "%10s %5.1f%% %10s %5.1f%% %9" PRIu64 " %10s %10s %8s  %s%s%s\n", tot,
			report_pct(r->total_ns, base), self, report_pct(r->self_ns, base), r->calls,
			mean, alloc, ops, hot ? report_c(o, RC_HOT) : "",
			report_fit(fit, sizeof(fit), name, room), hot ? report_c(o, RC_OFF) : "");
	}
	free(rows);
}

static void gc_and_ops(const struct profile *p, FILE *out, const struct report_options *o)
{
	const struct profile_spans *s = p->spans;
	if (s->ngcs) {
		uint64_t count = 0, total = 0, longest = 0, reclaimed = 0;
		for (size_t i = 0; i < s->ngcs; i++) {
			const struct profile_gc *g = &s->gcs[i];
			uint64_t d = g->end_ns > g->start_ns ? g->end_ns - g->start_ns : 0;
			count++;
			total += d;
			longest = d > longest ? d : longest;
			reclaimed += g->reclaimed;
		}
		char t[32], l[32], r[32];
		report_format_ns(t, sizeof(t), (double)total);
		report_format_ns(l, sizeof(l), (double)longest);
		report_format_bytes(r, sizeof(r), (double)reclaimed);
		fprintf(out, "\n%sGC:%s %" PRIu64 " pause%s, %s in all (%.1f%% of the recording), "
			"longest %s, %s reclaimed\n",
			report_c(o, RC_BOLD), report_c(o, RC_OFF), count, count == 1 ? "" : "s", t,
			report_pct(total, p->duration_ns), l, r);
	}
	if (s->nops) {
		/* Totals by kind, in the order kinds first appear. */
		const char **kinds = xcalloc(s->nops, sizeof(char *));
		uint64_t *counts = xcalloc(s->nops, sizeof(uint64_t));
		size_t nk = 0;
		for (size_t i = 0; i < s->nops; i++) {
			size_t k = 0;
			while (k < nk && strcmp(kinds[k], s->ops[i].kind))
				k++;
			if (k == nk)
				kinds[nk++] = s->ops[i].kind;
			counts[k] += s->ops[i].n;
		}
		fprintf(out, "\n%sOperations:%s", report_c(o, RC_BOLD), report_c(o, RC_OFF));
		for (size_t k = 0; k < nk; k++)
			fprintf(out, "%s %s %" PRIu64, k ? "," : "", kinds[k], counts[k]);
		fputc('\n', out);
		free(kinds);
		free(counts);
	}
	size_t ncounters = 0;
	for (size_t i = 0; i < s->nseries; i++)
		ncounters += s->series[i].source == SERIES_COUNTER;
	if (ncounters) {
		fprintf(out, "\n%sCounters%s (final values)\n", report_c(o, RC_BOLD),
			report_c(o, RC_OFF));
		for (size_t i = 0; i < s->nseries; i++) {
			const struct profile_series *sr = &s->series[i];
			if (sr->source != SERIES_COUNTER)
				continue;
			fprintf(out, "  %-30s %.15g\n", sr->name ? sr->name : "",
				sr->n ? sr->points[sr->n - 1].value : 0.0);
		}
	}
}

/* --- the call tree --- */

struct tree_ctx {
	const struct profile *p;
	FILE *out;
	const struct report_options *o;
	const bool *keep;
	uint64_t base;
};

static void tree_node(const struct tree_ctx *c, uint32_t n, unsigned depth)
{
	const struct profile_spans *s = c->p->spans;
	if (n) {
		const struct span_node *nd = &s->nodes[n];
		const struct profile_span_site *site = &s->sites[nd->site];
		char tot[32], self[32], alloc[32], ops[32], fit[1100];
		report_format_ns(tot, sizeof(tot), (double)nd->total_ns);
		report_format_ns(self, sizeof(self), (double)nd->self_ns);
		report_format_value("bytes", alloc, sizeof(alloc), nd->alloc_bytes);
		report_format_value("count", ops, sizeof(ops), (double)node_ops(c->p, n));
		unsigned indent = depth > 1 ? 2 * (depth - 1) : 0;
		size_t room = report_name_room(c->o, TREE_COLS + indent);
		bool hot = report_pct(nd->self_ns, c->base) >= 10.0;
		fprintf(c->out, "%10s %10s %9" PRIu64 " %10s %8s  %*s%s%s%s\n", tot, self, nd->calls,
			alloc, ops, (int)indent, "", hot ? report_c(c->o, RC_HOT) : "",
			report_fit(fit, sizeof(fit), site->name ? site->name : "", room),
			hot ? report_c(c->o, RC_OFF) : "");
	}
	size_t nk = 0;
	for (uint32_t k = s->nodes[n].child; k; k = s->nodes[k].sibling)
		nk += c->keep[k];
	if (!nk)
		return;
	uint32_t *kids = xmalloc(nk * sizeof(uint32_t));
	nk = 0;
	for (uint32_t k = s->nodes[n].child; k; k = s->nodes[k].sibling)
		if (c->keep[k])
			kids[nk++] = k;
	span_nodes_sort(s, kids, nk);
	for (size_t i = 0; i < nk; i++)
		tree_node(c, kids[i], depth + 1);
	free(kids);
}

static void call_tree(const struct profile *p, FILE *out, const struct report_options *o,
		      uint64_t base)
{
	const struct profile_spans *s = p->spans;
	size_t n = s->nnodes > 1 ? s->nnodes - 1 : 0;
	if (!n)
		return;
	/* The heaviest nodes by total time: a parent is never lighter than
	 * its child and has the smaller index, so the kept nodes form a tree
	 * from the root. */
	uint32_t *order = xmalloc(n * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i + 1;
	span_nodes_sort(s, order, n);
	size_t shown = o->nodecount && o->nodecount < n ? o->nodecount : n;
	bool *keep = xcalloc(s->nnodes, sizeof(bool));
	for (size_t i = 0; i < shown; i++)
		keep[order[i]] = true;
	/* Ties could keep a child without its parent: keep the path. */
	for (size_t i = 0; i < shown; i++)
		for (uint32_t a = s->nodes[order[i]].parent; a && !keep[a]; a = s->nodes[a].parent)
			keep[a] = true;
	free(order);
	fprintf(out, "\n%sCall tree%s: %zu of %zu node%s, the heaviest by total time; children "
		"heaviest first\n",
		report_c(o, RC_BOLD), report_c(o, RC_OFF), shown, n, n == 1 ? "" : "s");
	fprintf(out, "%s%10s %10s %9s %10s %8s  %s%s\n", report_c(o, RC_BOLD), "total", "self",
		"calls", "alloc", "ops", "name", report_c(o, RC_OFF));
	struct tree_ctx c = { p, out, o, keep, base };
	tree_node(&c, 0, 0);
	free(keep);
}

void report_spans(const struct profile *p, FILE *out, const struct report_options *o)
{
	uint64_t base = top_level_ns(p->spans);
	header(p, out, o);
	top_sites(p, out, o, base);
	gc_and_ops(p, out, o);
	call_tree(p, out, o, base);
}
