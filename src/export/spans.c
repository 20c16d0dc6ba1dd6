/* The span call graph as JSON (oneprof export -f spans), for scripts and
 * dashboards: the session, the span sites with their totals, the call
 * tree as nested objects, GC, counters' final values, and what the
 * capture noted or dropped. The schema is doc/json-schema.md ("Spans");
 * schema_version changes when a field changes meaning or goes away. */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/escape.h"
#include "../util/util.h"
#include "oneprof.h"

#define SPANS_SCHEMA_VERSION 1

void export_span_bounds(const struct profile_spans *s, uint64_t *start, uint64_t *end)
{
	for (size_t i = 0; i < s->nspans; i++) {
		const struct profile_span *sp = &s->spans[i];
		uint64_t b = sp->start_ns, e = sp->end_ns > sp->start_ns ? sp->end_ns : sp->start_ns;
		uint32_t up = sp->parent;
		if (up < s->nspans) {
			/* A parent read before its child has its bounds already. */
			uint64_t pb = up < i ? start[up] : s->spans[up].start_ns;
			uint64_t pe = up < i ? end[up] : s->spans[up].end_ns;
			b = b < pb ? pb : b > pe ? pe : b;
			e = e > pe ? pe : e < b ? b : e;
		}
		start[i] = b;
		end[i] = e;
	}
}

/* Keys for enum capture_span_note: stable words for scripts, where
 * capture_span_note_name() is a phrase for people. */
static const char *note_key(unsigned reason)
{
	switch (reason) {
	case CAPTURE_SPAN_END_WITHOUT_BEGIN: return "end_without_begin";
	case CAPTURE_SPAN_UNCLOSED: return "unclosed";
	case CAPTURE_SPAN_NULL_NAME: return "null_name";
	case CAPTURE_SPAN_LONG_NAME: return "long_name";
	case CAPTURE_SPAN_TOO_DEEP: return "too_deep";
	case CAPTURE_SPAN_TOO_SHORT: return "too_short";
	case CAPTURE_SPAN_BEFORE_WINDOW: return "before_window";
	default: return NULL;
	}
}

static void put_double(FILE *out, double v)
{
	/* Allocation figures of a sampled heap are estimates: whole bytes. */
	fprintf(out, "%.0f", v < 0 ? 0 : v);
}

/* A capture without spans reads as one with none of anything: the
 * command line refuses it, a library caller gets a valid document. */
static const struct profile_spans *spans_of(const struct profile *p)
{
	static const struct profile_spans none;
	return p->spans ? p->spans : &none;
}

/* --- ops by site and kind --- */

static const struct profile_spans *ops_spans; /* qsort has no argument */

static int op_by_site(const void *a, const void *b)
{
	const struct profile_span_ops *x = &ops_spans->ops[*(const size_t *)a];
	const struct profile_span_ops *y = &ops_spans->ops[*(const size_t *)b];
	uint32_t sx = x->span < ops_spans->nspans ? ops_spans->spans[x->span].site : UINT32_MAX;
	uint32_t sy = y->span < ops_spans->nspans ? ops_spans->spans[y->span].site : UINT32_MAX;
	if (sx != sy)
		return sx < sy ? -1 : 1;
	return strcmp(x->kind, y->kind);
}

static uint32_t op_site(const struct profile_spans *s, size_t i)
{
	uint32_t sp = s->ops[i].span;
	return sp < s->nspans ? s->spans[sp].site : UINT32_MAX;
}

/* ops of one site as {"kind":n,...}; *at walks the sorted order. */
static void put_site_ops(const struct profile_spans *s, const size_t *order, size_t *at,
			 uint32_t site, FILE *out)
{
	fputc('{', out);
	bool first = true;
	while (*at < s->nops && op_site(s, order[*at]) < site)
		(*at)++;
	while (*at < s->nops && op_site(s, order[*at]) == site) {
		const char *kind = s->ops[order[*at]].kind;
		uint64_t n = 0;
		while (*at < s->nops && op_site(s, order[*at]) == site &&
		       !strcmp(s->ops[order[*at]].kind, kind))
			n += s->ops[order[(*at)++]].n;
		fputs(first ? "" : ",", out);
		first = false;
		esc_json(out, kind);
		fprintf(out, ":%" PRIu64, n);
	}
	fputc('}', out);
}

/* --- the tree --- */

static void put_node_ops(const struct profile *p, uint32_t node, FILE *out)
{
	const char *kinds[64];
	uint64_t counts[64];
	size_t n = span_node_ops(p, node, false, kinds, counts, 64);
	fputc('{', out);
	for (size_t i = 0; i < n && i < 64; i++) {
		fputs(i ? "," : "", out);
		esc_json(out, kinds[i]);
		fprintf(out, ":%" PRIu64, counts[i]);
	}
	fputc('}', out);
}

/* The children of node n, heaviest first, as a JSON array. */
static void put_children(const struct profile *p, uint32_t n, FILE *out)
{
	const struct profile_spans *s = spans_of(p);
	size_t nk = 0;
	for (uint32_t k = s->nodes[n].child; k; k = s->nodes[k].sibling)
		nk++;
	fputc('[', out);
	if (!nk) {
		fputc(']', out);
		return;
	}
	uint32_t *kids = xmalloc(nk * sizeof(uint32_t));
	nk = 0;
	for (uint32_t k = s->nodes[n].child; k; k = s->nodes[k].sibling)
		kids[nk++] = k;
	span_nodes_sort(s, kids, nk);
	for (size_t i = 0; i < nk; i++) {
		const struct span_node *nd = &s->nodes[kids[i]];
		const struct profile_span_site *site = &s->sites[nd->site];
		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", out);
		esc_json(out, site->name);
		fprintf(out, ",\"kind\":\"%s\",\"site\":%" PRIu32 ",\"calls\":%" PRIu64
			     ",\"total_ns\":%" PRIu64 ",\"self_ns\":%" PRIu64 ",\"alloc_bytes\":",
			span_kind_name(site->kind), nd->site, nd->calls, nd->total_ns, nd->self_ns);
		put_double(out, nd->alloc_bytes);
		fputs(",\"alloc_count\":", out);
		put_double(out, nd->alloc_count);
		fputs(",\"total_alloc_bytes\":", out);
		put_double(out, nd->total_alloc_bytes);
		fputs(",\"ops\":", out);
		put_node_ops(p, kids[i], out);
		fputs(",\"children\":", out);
		put_children(p, kids[i], out);
		fputc('}', out);
	}
	free(kids);
	fputc(']', out);
}

/* --- sections --- */

static void put_session(const struct profile *p, FILE *out)
{
	const struct profile_spans *s = spans_of(p);
	bool *seen = xcalloc(p->nthreads ? p->nthreads : 1, sizeof(bool));
	size_t threads = 0, unclosed = 0;
	for (size_t i = 0; i < s->nspans; i++) {
		uint32_t t = s->spans[i].thread;
		if (t < p->nthreads && !seen[t]) {
			seen[t] = true;
			threads++;
		}
		unclosed += s->spans[i].unclosed;
	}
	free(seen);
	fputs("\"session\":{\"capture\":", out);
	esc_json(out, p->name);
	fputs(",\"command\":[", out);
	const struct capture_text *cmd = &p->hdr.cmdline;
	bool first = true;
	for (size_t i = 0; cmd->s && i < cmd->len;) {
		fputs(first ? "" : ",", out);
		first = false;
		esc_json(out, cmd->s + i);
		i += strlen(cmd->s + i) + 1;
	}
	fprintf(out, "],\"pid\":%" PRIu64 ",\"duration_ns\":%" PRIu64 ",\"spans\":%zu"
		     ",\"threads_with_spans\":%zu,\"unclosed_spans\":%zu},\n",
		p->hdr.pid, p->duration_ns, s->nspans, threads, unclosed);
}

static void put_sites(const struct profile *p, FILE *out)
{
	const struct profile_spans *s = spans_of(p);
	fputs("\"sites\":[", out);
	for (size_t i = 0; i < s->nsites; i++) {
		const struct profile_span_site *site = &s->sites[i];
		fprintf(out, "%s\n{\"id\":%zu,\"name\":", i ? "," : "", i);
		esc_json(out, site->name);
		fprintf(out, ",\"kind\":\"%s\",\"file\":", span_kind_name(site->kind));
		esc_json(out, site->file ? site->file : "");
		fprintf(out, ",\"line\":%" PRIu32 "}", site->line);
	}
	fputs("],\n", out);
}

/* Per site: calls, self and allocations from all its nodes; total from
 * its outermost nodes only, so recursion does not count twice. */
static void put_totals(const struct profile *p, FILE *out)
{
	const struct profile_spans *s = spans_of(p);
	size_t ns = s->nsites ? s->nsites : 1;
	uint64_t *calls = xcalloc(ns, sizeof(uint64_t)), *total = xcalloc(ns, sizeof(uint64_t));
	uint64_t *self = xcalloc(ns, sizeof(uint64_t));
	double *bytes = xcalloc(ns, sizeof(double)), *count = xcalloc(ns, sizeof(double));
	for (uint32_t n = 1; n < s->nnodes; n++) {
		const struct span_node *nd = &s->nodes[n];
		if (nd->site >= s->nsites)
			continue;
		calls[nd->site] += nd->calls;
		self[nd->site] += nd->self_ns;
		bytes[nd->site] += nd->alloc_bytes;
		count[nd->site] += nd->alloc_count;
		bool nested = false;
		for (uint32_t a = nd->parent; a && !nested; a = s->nodes[a].parent)
			nested = s->nodes[a].site == nd->site;
		if (!nested)
			total[nd->site] += nd->total_ns;
	}
	size_t *order = xmalloc((s->nops ? s->nops : 1) * sizeof(size_t));
	for (size_t i = 0; i < s->nops; i++)
		order[i] = i;
	ops_spans = s;
	qsort(order, s->nops, sizeof(size_t), op_by_site);
	size_t at = 0;
	fputs("\"totals\":[", out);
	bool first = true;
	for (size_t i = 0; i < s->nsites; i++) {
		if (!calls[i])
			continue;
		fprintf(out, "%s\n{\"site\":%zu,\"name\":", first ? "" : ",", i);
		first = false;
		esc_json(out, s->sites[i].name);
		fprintf(out, ",\"calls\":%" PRIu64 ",\"total_ns\":%" PRIu64 ",\"self_ns\":%" PRIu64
			     ",\"alloc_bytes\":",
			calls[i], total[i], self[i]);
		put_double(out, bytes[i]);
		fputs(",\"alloc_count\":", out);
		put_double(out, count[i]);
		fputs(",\"ops\":", out);
		put_site_ops(s, order, &at, (uint32_t)i, out);
		fputc('}', out);
	}
	fputs("],\n", out);
	/* Operations counted outside every span, by kind. */
	fputs("\"ops_outside_spans\":", out);
	put_site_ops(s, order, &at, UINT32_MAX, out);
	fputs(",\n", out);
	free(order);
	free(calls);
	free(total);
	free(self);
	free(bytes);
	free(count);
}

static void put_rest(const struct profile *p, FILE *out)
{
	const struct profile_spans *s = spans_of(p);
	uint64_t gc_total = 0, gc_max = 0, reclaimed = 0;
	for (size_t i = 0; i < s->ngcs; i++) {
		const struct profile_gc *g = &s->gcs[i];
		uint64_t d = g->end_ns > g->start_ns ? g->end_ns - g->start_ns : 0;
		gc_total += d;
		gc_max = d > gc_max ? d : gc_max;
		reclaimed += g->reclaimed;
	}
	fprintf(out, "\"gc\":{\"count\":%zu,\"total_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64
		     ",\"reclaimed_bytes\":%" PRIu64 "},\n\"counters\":{",
		s->ngcs, gc_total, gc_max, reclaimed);
	bool first_counter = true;
	for (size_t i = 0; i < s->nseries; i++) {
		const struct profile_series *sr = &s->series[i];
		if (sr->source != SERIES_COUNTER)
			continue; /* metrics: 'oneprof report --metrics' */
		fputs(first_counter ? "\n" : ",\n", out);
		first_counter = false;
		esc_json(out, sr->name);
		/* JSON has no NaN or infinity: a counter set to one reads null. */
		double v = sr->n ? sr->points[sr->n - 1].value : 0.0;
		if (v != v || v > 1.7e308 || v < -1.7e308)
			fputs(":null", out);
		else
			fprintf(out, ":%.17g", v);
	}
	fputs("},\n\"notes\":{", out);
	bool first = true;
	for (unsigned r = 1; r < CAPTURE_SPAN_NOTE_COUNT && r < 16; r++) {
		if (!s->notes[r] || !note_key(r))
			continue;
		fprintf(out, "%s\"%s\":%" PRIu64, first ? "" : ",", note_key(r), s->notes[r]);
		first = false;
	}
	uint64_t dropped = 0, label_sets = 0;
	for (size_t i = 0; i < p->nlost; i++) {
		if (p->lost[i].source == CAPTURE_LOST_SPAN_EVENT)
			dropped += p->lost[i].count;
		else if (p->lost[i].source == CAPTURE_LOST_LABEL_SET)
			label_sets += p->lost[i].count;
	}
	fprintf(out, "},\n\"dropped\":{\"span_events\":%" PRIu64 ",\"label_sets\":%" PRIu64 "},\n",
		dropped, label_sets);
}

static int spans_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	(void)err, (void)errlen; /* it cannot fail but by writing: export_run() says so */
	fprintf(out, "{\"schema_version\":%d,\"generator\":\"oneprof " ONEPROF_VERSION_STRING
		     "\",\n", SPANS_SCHEMA_VERSION);
	put_session(p, out);
	put_sites(p, out);
	put_totals(p, out);
	put_rest(p, out);
	fputs("\"call_tree\":", out);
	if (spans_of(p)->nnodes)
		put_children(p, 0, out);
	else
		fputs("[]", out);
	fputs("}\n", out);
	return 0;
}

const struct exporter export_spans = {
	.name = "spans",
	.extension = ".spans.json",
	.description = "the span call graph as JSON: sites, totals, call tree, GC, counters",
	.binary = false,
	.write = spans_write,
};
