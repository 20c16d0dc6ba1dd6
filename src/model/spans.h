/* Instrumentation in the model (src/model/spans.c): the spans, label
 * sets, counters, operation counts and GC pauses a capture holds, read
 * while the capture streams in and tied together at its end.
 *
 * Definitions (doc/instrumentation.md says them for users):
 *   - a span's total time is end - start; its self time is its total less
 *     its children's totals;
 *   - operations (OPS) are charged to the innermost span open on their
 *     thread when they were counted;
 *   - an allocation is charged to the innermost span open on its thread
 *     at its time (heap events and spans share the capture's clock);
 *   - a span still open when its thread or the capture ends, ends there
 *     and is marked unclosed. */
#ifndef MODEL_SPANS_H
#define MODEL_SPANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct profile;
struct capture_record;

#define SPAN_NONE UINT32_MAX

struct profile_span_site {
	const char *name;
	const char *file; /* "" when unknown */
	uint32_t line;    /* 0 when unknown */
	uint32_t kind;    /* enum oneprof_kind */
};

struct profile_span_attr {
	const char *key;
	const char *str; /* NULL: an integer, in num */
	int64_t num;
};

struct profile_span {
	uint64_t start_ns, end_ns; /* since the capture start */
	uint32_t thread;           /* index into threads */
	uint32_t site;             /* index into span_sites */
	uint32_t parent;           /* index into spans; SPAN_NONE at the top */
	uint32_t depth;            /* 0 at the top */
	bool unclosed;
	uint32_t attr, nattrs;     /* span_attrs[attr .. attr + nattrs) */
	/* Charged to the span itself, not its children: */
	double alloc_count, alloc_bytes;
	uint32_t ops, nops;        /* span_ops[ops .. ops + nops) */
};

/* Operations of one kind charged to a span (or to no span: span ==
 * SPAN_NONE, counted on a thread outside every span). */
struct profile_span_ops {
	uint32_t span;
	uint32_t thread;
	const char *kind;
	uint64_t n;
};

struct profile_gc {
	uint32_t thread;
	uint64_t start_ns, end_ns;
	uint64_t reclaimed;
	bool unclosed;
};

/* Label set i is set parent's labels plus key=value; set 0 is the empty
 * set (parent 0, key and value NULL). */
struct profile_label_set {
	uint32_t parent;
	const char *key, *value;
};

struct profile_series_point {
	uint64_t time_ns;
	double value;
};

/* Where a series comes from. */
enum profile_series_source {
	SERIES_COUNTER = 0, /* the program's counters (COUNTER records) */
	SERIES_METRIC,      /* the agent's monitor (METRIC records) */
	SERIES_HEAP,        /* computed by the heap model: live bytes */
};

/* One time series: a counter's values, a monitor metric's or the heap's
 * live bytes. Every source lands in the one list, p->spans->series, in
 * order of first appearance (the heap's last). */
struct profile_series {
	const char *name;
	bool level;  /* oneprof_counter_set (a level), else a running total */
	enum profile_series_source source;
	struct profile_series_point *points;
	size_t n, cap;
};

/* One node of the span call tree: spans merged by their path of site
 * names from the top, across threads. Node 0 is the root (site and
 * parent SPAN_NONE): its total is the sum of the top-level spans', its
 * self time 0, and its own allocations and operations are those made
 * outside every span. A node's parent has a smaller index; site is the
 * first site with the node's name. */
struct span_node {
	uint32_t site, parent;
	uint32_t child, sibling; /* first child, next sibling; 0: none */
	uint64_t calls;
	uint64_t total_ns, self_ns;
	double alloc_count, alloc_bytes; /* self */
	double total_alloc_bytes;        /* with its descendants */
};

struct profile_spans {
	struct profile_span_site *sites;
	size_t nsites, cap_sites;
	/* In start order (a parent before its children); per thread they
	 * nest: start inclusive, end exclusive. */
	struct profile_span *spans;
	size_t nspans, cap_spans;
	struct profile_span_attr *attrs;
	size_t nattrs, cap_attrs;
	struct profile_span_ops *ops;
	size_t nops, cap_ops;
	struct profile_gc *gcs;
	size_t ngcs, cap_gcs;
	struct profile_series *series;
	size_t nseries, cap_series;
	uint64_t notes[16]; /* by enum capture_span_note */

	/* Built by profile_spans_finish(). */
	struct span_node *nodes;
	size_t nnodes, cap_nodes;
	uint32_t *span_nodes; /* per span: its node */
	uint64_t gc_count, gc_ns, gc_reclaimed;

	/* private: reading state */
	struct spans_state *st;
};

/* Called by the profile reader for records 32..47 (and LABEL_SET). false:
 * the record is malformed. */
bool profile_spans_record(struct profile *p, const struct capture_record *rec);
/* A thread ended (THREAD_END): its open spans and GC end there, unclosed. */
void profile_spans_thread_end(struct profile *p, uint32_t thread, uint64_t time);
/* Charges an allocation to the span open on its thread (the heap model
 * calls it for each allocation it reads). */
void profile_spans_alloc(struct profile *p, uint32_t thread, uint64_t time_ns, double count,
			 double bytes);
/* The series `name` (interned with profile_intern()) of the source,
 * created empty when new; for the heap model's series. */
struct profile_series *profile_series_get(struct profile *p, const char *name,
					  enum profile_series_source source);
void profile_series_add(struct profile_series *ps, uint64_t time_ns, double value);

/* At the end of reading: closes open spans, charges allocations, builds
 * the call tree. */
void profile_spans_finish(struct profile *p);
void profile_spans_free(struct profile_spans *s);

/* Operations of every kind under a node (self, or with descendants),
 * for reports: fills kinds/counts (at most cap) and returns how many. */
/* "custom", "function", "module" or "expression": a site's kind as
 * reports and exports name it. */
const char *span_kind_name(uint32_t kind);

/* Sorts node ids heaviest first by total time (ties: smaller id first),
 * the order every report and export lists nodes in. */
void span_nodes_sort(const struct profile_spans *s, uint32_t *ids, size_t n);

size_t span_node_ops(const struct profile *p, uint32_t node, bool with_descendants,
		     const char **kinds, uint64_t *counts, size_t cap);

/* Replaces the profile's samples by one per (span call-tree node,
 * thread) carrying its self time (cpu_ns, in ns) and its calls (count),
 * with synthetic stacks whose functions are span sites (module "", the
 * site's file and line), so top, tree, folded, svg, html and pprof show
 * time by span. Call it after profile_resolve(): it appends functions,
 * locations and stacks. false when the capture holds no spans. */
bool profile_span_view(struct profile *p);

/* Labels: does label set `set` hold key=value (value NULL: any value)?
 * Where a key was pushed twice the innermost value counts. */
bool profile_labels_have(const struct profile *p, uint32_t set, const char *key,
			 const char *value);

#endif
