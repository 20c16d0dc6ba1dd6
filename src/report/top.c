/* Top functions by flat and cumulative time (pprof's "top"), or, with
 * --lines, top source lines (pprof's -lines): each row one line of one
 * function, an inlined function's own line rather than its caller's. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/util.h"
#include "internal.h"

/* flat flat% sum% cum cum%, then two spaces before the name. */
#define STATS_COLS 44
/* With off-CPU time: off-CPU and off%, before the name. */
#define OFF_COLS 18

/* With o->procs: samples and process, before the name. */
#define PROC_NAME_CHARS 22
#define PROC_COLS (1 + 8 + 1 + PROC_NAME_CHARS)

static void top_header(const struct report_options *o, FILE *out, size_t shown, size_t n,
		       const char *what, bool off)
{
	bool procs = o->procs && !o->lines;
	fprintf(out, "\nShowing top %zu of %zu %s, sorted by %s time\n", shown, n, what,
		o->sort_cum ? "cumulative" : "flat");
	if (off)
		fprintf(out, "Time is wall time: on-CPU samples plus off-CPU intervals; off-CPU is "
			"the cum time spent blocked, off%% its share of cum\n");
	fprintf(out, "%s%10s %6s %6s %10s %6s", report_c(o, RC_BOLD), "flat", "flat%", "sum%", "cum",
		"cum%");
	if (off)
		fprintf(out, " %10s %6s", "off-CPU", "off%");
	if (procs)
		fprintf(out, " %8s %-*s", "samples", PROC_NAME_CHARS, "process");
	fprintf(out, "  %s%s\n", o->lines ? "function file:line" : "function", report_c(o, RC_OFF));
}

/* Per function, the off-CPU part of its cum time (once per sample however
 * deep the recursion): an array of nfunctions (free it). */
static uint64_t *off_cpu_totals(const struct profile *p)
{
	uint64_t *stack_off = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(uint64_t));
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct profile_sample *s = &p->samples[i];
		if (s->off_cpu && s->stack < p->nstacks)
			stack_off[s->stack] += s->cpu_ns;
	}
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	uint64_t *off = xcalloc(p->nfunctions ? p->nfunctions : 1, sizeof(uint64_t));
	size_t *seen = xcalloc(p->nfunctions ? p->nfunctions : 1, sizeof(size_t));
	for (size_t st = 0; st < p->nstacks; st++) {
		const uint32_t *fn = profile_frames_of(&pf, st);
		for (size_t k = 0; stack_off[st] && k < profile_frames_count(&pf, st); k++) {
			if (seen[fn[k]] == st + 1)
				continue;
			seen[fn[k]] = st + 1;
			off[fn[k]] += stack_off[st];
		}
	}
	free(seen);
	free(stack_off);
	profile_frames_free(&pf);
	return off;
}

/* Per function, for the process column: samples with it at the top,
 * and the process holding most of its cum samples. */
struct fn_procs {
	uint64_t self_count;
	uint32_t proc;   /* index into processes; UINT32_MAX: none known */
	uint32_t nprocs; /* processes with samples through it */
};

struct fn_proc_count {
	uint32_t fn, proc;
	uint64_t count;
};

static int by_fn_proc(const void *a, const void *b)
{
	const struct fn_proc_count *x = a, *y = b;
	if (x->fn != y->fn)
		return x->fn < y->fn ? -1 : 1;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

/* An array of nfunctions (free it). */
static struct fn_procs *fn_procs_build(const struct profile *p)
{
	struct fn_procs *fp = xcalloc(p->nfunctions + 1, sizeof(*fp));
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	struct fn_proc_count *pairs = NULL;
	size_t n = 0, cap = 0;
	size_t *seen = xcalloc(p->nfunctions + 1, sizeof(size_t));
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct profile_sample *s = &p->samples[i];
		if (s->stack >= p->nstacks || !profile_frames_count(&pf, s->stack))
			continue;
		const struct profile_thread *t = s->thread < p->nthreads ? &p->threads[s->thread] : NULL;
		uint32_t proc = t && t->process < p->nprocesses ? t->process : UINT32_MAX;
		const uint32_t *fn = profile_frames_of(&pf, s->stack);
		fp[fn[0]].self_count += s->count;
		for (size_t k = 0; k < profile_frames_count(&pf, s->stack); k++) {
			if (seen[fn[k]] == i + 1)
				continue; /* recursion: once per sample */
			seen[fn[k]] = i + 1;
			GROW(pairs, cap, n + 1);
			pairs[n++] = (struct fn_proc_count){ fn[k], proc, s->count };
		}
	}
	qsort(pairs, n, sizeof(*pairs), by_fn_proc);
	uint64_t best = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint64_t c = 0;
		while (j < n && pairs[j].fn == pairs[i].fn && pairs[j].proc == pairs[i].proc)
			c += pairs[j++].count;
		struct fn_procs *f = &fp[pairs[i].fn];
		if (!f->nprocs || c > best) {
			f->proc = pairs[i].proc;
			best = c;
		}
		f->nprocs++;
		i = j;
	}
	free(seen);
	free(pairs);
	profile_frames_free(&pf);
	return fp;
}

/* One row; *sum carries the running flat total for sum%. off: the
 * off-CPU part of total_ns, or NULL when the profile has none. */
static void top_row(const struct report_options *o, FILE *out, uint64_t total, uint64_t self_ns,
		    uint64_t total_ns, uint64_t *sum, const char *name, size_t room,
		    const uint64_t *off, const struct profile *p, const struct fn_procs *fp)
{
	char flat[32], cum[32], fit[512];
	report_format_value(o->unit, flat, sizeof(flat), (double)self_ns);
	report_format_value(o->unit, cum, sizeof(cum), (double)total_ns);
	*sum += self_ns;
	bool hot = report_pct(self_ns, total) >= 10.0;
	fprintf(out, "%10s %5.1f%% %5.1f%% %10s %5.1f%%", flat, report_pct(self_ns, total),
		report_pct(*sum, total), cum, report_pct(total_ns, total));
	if (off) {
		char o_ns[32];
		report_format_value(o->unit, o_ns, sizeof(o_ns), (double)*off);
		fprintf(out, " %10s %5.1f%%", o_ns, report_pct(*off, total_ns));
	}
	if (fp) {
		char label[256], pfit[256];
		if (fp->nprocs > 1)
			snprintf(label, sizeof(label), "%u procs", fp->nprocs);
		else if (fp->proc < p->nprocesses)
			snprintf(label, sizeof(label), "%s [%" PRIu64 "]", p->processes[fp->proc].name,
				 p->processes[fp->proc].pid);
		else
			snprintf(label, sizeof(label), "?");
		fprintf(out, " %8" PRIu64 " %-*s", fp->self_count, PROC_NAME_CHARS,
			report_fit(pfit, sizeof(pfit), label, PROC_NAME_CHARS));
	}
	fprintf(out, "  %s%s%s\n", hot ? report_c(o, RC_HOT) : "",
		report_fit(fit, sizeof(fit), name, room), hot ? report_c(o, RC_OFF) : "");
}

/* --- by source line --- */

/* A (function, line) pair and its time; seen is the last stack that
 * counted it, so a line twice on one stack (recursion) counts once. */
struct line_row {
	uint32_t fn, line;
	uint64_t self_ns, total_ns;
	size_t seen;
};

struct line_table {
	struct line_row *rows;
	size_t n, cap;
	uint32_t *slots; /* (fn, line) -> row + 1, open addressing */
	size_t nslots;
};

static size_t line_slot(const struct line_table *t, uint32_t fn, uint32_t line)
{
	uint64_t k = ((uint64_t)fn << 32 | line) * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(k >> 29) & (t->nslots - 1);
	while (t->slots[i]) {
		const struct line_row *r = &t->rows[t->slots[i] - 1];
		if (r->fn == fn && r->line == line)
			break;
		i = (i + 1) & (t->nslots - 1);
	}
	return i;
}

static struct line_row *line_of(struct line_table *t, uint32_t fn, uint32_t line)
{
	size_t i = line_slot(t, fn, line);
	if (t->slots[i])
		return &t->rows[t->slots[i] - 1];
	if ((t->n + 1) * 2 > t->nslots) {
		/* At most half full: double and re-insert. */
		free(t->slots);
		t->nslots *= 2;
		t->slots = xcalloc(t->nslots, sizeof(uint32_t));
		for (size_t k = 0; k < t->n; k++)
			t->slots[line_slot(t, t->rows[k].fn, t->rows[k].line)] = (uint32_t)k + 1;
		i = line_slot(t, fn, line);
	}
	GROW(t->rows, t->cap, t->n + 1);
	t->rows[t->n] = (struct line_row){ fn, line, 0, 0, 0 };
	t->slots[i] = (uint32_t)++t->n;
	return &t->rows[t->n - 1];
}

/* The (function, line) pairs of one frame, innermost first: the
 * location's inline chain, or its function alone (line unknown) when it
 * has none. Returns how many were written, at most 1 + nlines. */
static size_t frame_lines(const struct profile *p, uint32_t loc, uint32_t *fn, uint32_t *line,
			  size_t cap)
{
	if (loc >= p->nlocations)
		return 0;
	const struct profile_location *l = &p->locations[loc];
	if (!l->nlines) {
		fn[0] = l->function;
		line[0] = 0;
		return 1;
	}
	size_t n = l->nlines < cap ? l->nlines : cap;
	for (size_t i = 0; i < n; i++) {
		fn[i] = l->lines[i].function;
		line[i] = l->lines[i].line;
	}
	return n;
}

struct line_sort {
	const struct line_table *t;
	bool cum;
};

static int by_line_time(const void *a, const void *b, void *arg)
{
	const struct line_sort *ls = arg;
	const struct line_row *x = &ls->t->rows[*(const uint32_t *)a];
	const struct line_row *y = &ls->t->rows[*(const uint32_t *)b];
	uint64_t kx = ls->cum ? x->total_ns : x->self_ns, ky = ls->cum ? y->total_ns : y->self_ns;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (x->total_ns != y->total_ns)
		return x->total_ns < y->total_ns ? 1 : -1;
	if (x->fn != y->fn)
		return x->fn < y->fn ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static void top_lines(const struct profile *p, FILE *out, const struct report_options *o)
{
	uint64_t total = o->total_ns ? o->total_ns : p->total_cpu_ns;
	uint64_t *count, *stack_ns;
	profile_stack_weights(p, &count, &stack_ns);
	struct line_table t = { .nslots = 64 };
	t.slots = xcalloc(t.nslots, sizeof(uint32_t));
	/* Inline chains deeper than this are cut (none real comes near). */
	uint32_t fn[64], line[64];
	for (size_t s = 0; s < p->nstacks; s++) {
		const struct profile_stack *st = &p->stacks[s];
		if (!count[s] || !st->locations)
			continue;
		for (size_t k = 0; k < st->n; k++) {
			size_t n = frame_lines(p, st->locations[k], fn, line, 64);
			for (size_t i = 0; i < n; i++) {
				struct line_row *r = line_of(&t, fn[i], line[i]);
				/* Flat: the innermost line of the leaf frame only. */
				if (k == 0 && i == 0)
					r->self_ns += stack_ns[s];
				if (r->seen != s + 1) {
					r->seen = s + 1;
					r->total_ns += stack_ns[s];
				}
			}
		}
	}

	/* Rows with time, best first. */
	uint32_t *order = xmalloc((t.n ? t.n : 1) * sizeof(uint32_t));
	size_t n = 0;
	for (size_t i = 0; i < t.n; i++)
		if (t.rows[i].self_ns || t.rows[i].total_ns)
			order[n++] = (uint32_t)i;
	struct line_sort ls = { &t, o->sort_cum };
	qsort_r(order, n, sizeof(uint32_t), by_line_time, &ls);

	size_t shown = o->nodecount && o->nodecount < n ? o->nodecount : n;
	top_header(o, out, shown, n, "lines", false);
	size_t room = report_name_room(o, STATS_COLS);
	uint64_t sum = 0;
	for (size_t i = 0; i < shown; i++) {
		const struct line_row *r = &t.rows[order[i]];
		const struct profile_function *f = r->fn < p->nfunctions ? &p->functions[r->fn] : NULL;
		const char *name = f && f->name ? f->name : "[unknown]";
		const char *file = f && f->file && *f->file ? f->file : "?";
		char label[1024], num[16] = "?";
		if (r->line)
			snprintf(num, sizeof(num), "%u", r->line);
		snprintf(label, sizeof(label), "%s %s:%s", name, file, num);
		top_row(o, out, total, r->self_ns, r->total_ns, &sum, label, room, NULL, p, NULL);
	}
	free(order);
	free(t.rows);
	free(t.slots);
	free(count);
	free(stack_ns);
}

void report_top(const struct profile *p, FILE *out, const struct report_options *o)
{
	if (o->lines) {
		top_lines(p, out, o);
		return;
	}
	struct report_graph g;
	report_graph_build(&g, p, o, false);
	size_t n;
	uint32_t *order = report_graph_order(&g, o->sort_cum, &n);
	size_t shown = o->nodecount && o->nodecount < n ? o->nodecount : n;
	uint64_t *off = p->off_cpu ? off_cpu_totals(p) : NULL;
	top_header(o, out, shown, n, "functions", off != NULL);
	struct fn_procs *fp = o->procs ? fn_procs_build(p) : NULL;
	size_t room = report_name_room(o, STATS_COLS + (off ? OFF_COLS : 0) + (fp ? PROC_COLS : 0));
	uint64_t sum = 0;
	for (size_t i = 0; i < shown; i++) {
		uint32_t f = order[i];
		top_row(o, out, g.total, g.fn[f].self_ns, g.fn[f].total_ns, &sum, p->functions[f].name,
			room, off ? &off[f] : NULL, p, fp ? &fp[f] : NULL);
	}
	free(fp);
	free(off);
	free(order);
	report_graph_free(&g);
}
