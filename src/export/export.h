/* Exporters: one file per output format behind one interface, so adding a
 * format is adding a file and a line in export.c. Every exporter reads the
 * resolved profile model (profile_resolve() has run). */
#ifndef EXPORT_H
#define EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../model/profile.h"

struct exporter {
	const char *name;        /* as given to 'oneprof export -f' */
	const char *extension;   /* default output suffix, e.g. ".pb.gz" */
	const char *description; /* one line for help */
	bool binary;             /* refuses a terminal as output */
	bool timeline;           /* needs every sample with its time */
	/* Writes the whole profile to out. Returns 0, or -1 with a one-line
	 * message in err. Errors of out itself are export_run()'s to find. */
	int (*write)(const struct profile *p, FILE *out, char *err, size_t errlen);
};

/* Runs an exporter and checks that out took everything (flushed, no
 * error): the one place a failed write becomes a message. Returns 0 or -1
 * with the message in err. */
int export_run(const struct exporter *ex, const struct profile *p, FILE *out, char *err,
	       size_t errlen);

extern const struct exporter export_folded;
extern const struct exporter export_pprof;
extern const struct exporter export_svg;
extern const struct exporter export_speedscope;
extern const struct exporter export_chrome;
extern const struct exporter export_json;
extern const struct exporter export_perfview;
extern const struct exporter export_html;
extern const struct exporter export_spans;

/* Each span's start and end (arrays of s->nspans) clamped into its
 * parent's, so that timelines nest exactly even when a clock stepped. */
void export_span_bounds(const struct profile_spans *s, uint64_t *start, uint64_t *end);

/* The SVG flame graph (svg.c); embedded: as an inline <svg> element of
 * an HTML page (no XML declaration; the page calls init() after load). */
void export_svg_flame(const struct profile *p, FILE *out, bool embedded);
/* The differential flame graph (svg.c): cur's flame graph (widths: its
 * time), each frame coloured by its change against the same call path
 * in base: red for growth, blue for shrinkage, grey for none; by the
 * change in share of each profile's total, or with absolute in value.
 * Tooltips give new, base and change; the legend what only base had. */
void export_svg_diff(const struct profile *base, const struct profile *cur, FILE *out,
		     bool embedded, bool absolute);
/* The same inside an HTML page with the text diff (html.c); opts is the
 * text report's (struct report_options). */
struct report_options;
void export_html_diff(const struct profile *base, const struct profile *cur, FILE *out,
		      bool absolute, const struct report_options *opts);

/* A sample type the pprof exporter writes for a profile, and its total
 * over the samples. */
struct export_value_type {
	const char *type, *unit;
	uint64_t total;
};
#define EXPORT_PPROF_MAX_TYPES 4
/* The sample types the pprof exporter writes for p, in order (at most
 * EXPORT_PPROF_MAX_TYPES): samples/count and cpu/nanoseconds for time
 * (the type named as read for a pprof of wall time), heap's four, or, for
 * a profile read from another tool whose values are not a time (folded
 * stacks, a pprof of bytes, a perf event count), its own type. */
size_t export_pprof_types(const struct profile *p, struct export_value_type *out);

/* The name shown for a frame or stack with no function name. */
#define EXPORT_UNKNOWN_FRAME "[unknown]"

/* Sample counts summed per stack index; the caller frees the array. */
uint64_t *export_stack_counts(const struct profile *p);
/* One of those values for people: "1234 samples", "3.00 MiB", "500
 * objects", "12.5ms" (a span view's time). */
void export_amount(const struct profile *p, uint64_t v, char *buf, size_t len);

/* The command line as one string, arguments separated by spaces. */
void export_command(const struct profile *p, char *buf, size_t len);
/* The program's name: the basename of argv[0], else of the executable. */
const char *export_program(const struct profile *p);

/* Sample indexes grouped by thread (counting sort), each group in time
 * order: thread t's are order[start[t] .. start[t + 1]). */
struct export_by_thread {
	size_t *order;
	size_t *start; /* nthreads + 1 entries */
};
void export_by_thread(const struct profile *p, struct export_by_thread *g);
void export_by_thread_free(struct export_by_thread *g);

/* Stack ids merged into a call tree (the shape of a flame graph): each
 * node is a frame reached by one path from the root. Node 0 is the root;
 * a node's parent always has a smaller index, so a pass in index order
 * meets parents first. `frame` is whatever key the exporter chose
 * (usually a function index). */
struct export_tree_node {
	uint32_t frame;
	uint32_t parent;
	uint32_t child, sibling; /* first child, next sibling; 0: none */
	uint64_t total_count, self_count;
	uint64_t total_ns, self_ns;
};

struct export_tree {
	struct export_tree_node *nodes;
	size_t n, cap;
	uint32_t *slots; /* (parent, frame) -> node + 1, open addressing */
	size_t nslots;
};

void export_tree_init(struct export_tree *t);
void export_tree_free(struct export_tree *t);
/* The child of `parent` for `frame`, added when new. */
uint32_t export_tree_child(struct export_tree *t, uint32_t parent, uint32_t frame);
/* The node for a stack under `from`: fn is leaf first (as the model
 * has it), the tree root first; an empty stack is the child `empty`. */
uint32_t export_tree_path(struct export_tree *t, uint32_t from, const uint32_t *fn, size_t n,
			  uint32_t empty);
/* Charges samples to a node: self time there, total time on its path. */
void export_tree_charge(struct export_tree *t, uint32_t node, uint64_t count, uint64_t ns);
/* The children of a node, heaviest first (ties by frame): an array the
 * caller frees, its length in *n. */
uint32_t *export_tree_children(const struct export_tree *t, uint32_t node, size_t *n);

/* NULL-terminated list of every exporter, in help order. */
extern const struct exporter *const exporters[];
const struct exporter *export_find(const char *name);

#endif
