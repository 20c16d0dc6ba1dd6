/* Chrome Trace Event Format (JSON object form), for Perfetto
 * (ui.perfetto.dev), chrome://tracing and speedscope.
 *
 * Each sample is written twice, for the two kinds of reader:
 *  - as an instant event ("ph":"i", thread scope) on its thread's track,
 *    named after the leaf function, with "sf" (its stack in the
 *    "stackFrames" table) and "args.stack" (the function names, leaf
 *    first). Perfetto shows instants and their args but not "sf", so the
 *    args carry the stack for it; chrome://tracing reads "sf".
 *  - in the top-level "samples" array ({pid, tid, ts, sf, weight}), the
 *    format's own place for sampling profilers: speedscope imports it as
 *    one sampled profile per thread.
 * Process and thread names are "M" metadata events. Timestamps are
 * microseconds since the capture started, with nanosecond decimals.
 * Stack frame ids start at 1: readers treat "sf":0 as no stack.
 *
 * When the capture holds spans: each span is a complete event ("ph":"X",
 * category its kind, args its attributes and operation counts) on its
 * thread's track, clamped into its parent so that slices nest exactly,
 * as the format requires per thread; counter points are "C" events of
 * the process; GC pauses are slices on a track of their own named "GC". */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/escape.h"
#include "../util/util.h"
#include "oneprof.h"

static void put_ts(FILE *out, uint64_t ns)
{
	fprintf(out, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

static const char *frame_name(const struct profile *p, uint32_t frame)
{
	return frame < p->nfunctions ? p->functions[frame].name : EXPORT_UNKNOWN_FRAME;
}

/* A number JSON can hold: NaN and infinities are not. */
static bool finite_value(double v)
{
	return v == v && v < 1.7e308 && v > -1.7e308;
}

static void put_args_spans(const struct profile_spans *s, const struct profile_span *sp,
			   FILE *out)
{
	/* Our own keys win: an attribute named like one is left out rather
	 * than written twice. */
	static const char *const own[] = { "ops", "alloc_bytes", "alloc_count", "unclosed" };
	bool first = true;
	for (uint32_t a = sp->attr; a < sp->attr + sp->nattrs && a < s->nattrs; a++) {
		const struct profile_span_attr *at = &s->attrs[a];
		bool taken = false;
		for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++)
			taken |= at->key && !strcmp(at->key, own[k]);
		if (taken || !at->key)
			continue;
		fputs(first ? "" : ",", out);
		first = false;
		esc_json(out, at->key);
		fputc(':', out);
		if (at->str)
			esc_json(out, at->str);
		else
			fprintf(out, "%" PRId64, at->num);
	}
	if (sp->nops) {
		fputs(first ? "\"ops\":{" : ",\"ops\":{", out);
		first = false;
		for (uint32_t o = sp->ops; o < sp->ops + sp->nops && o < s->nops; o++) {
			fputs(o > sp->ops ? "," : "", out);
			esc_json(out, s->ops[o].kind);
			fprintf(out, ":%" PRIu64, s->ops[o].n);
		}
		fputc('}', out);
	}
	if (sp->alloc_count > 0) {
		fprintf(out, "%s\"alloc_bytes\":%.0f,\"alloc_count\":%.0f", first ? "" : ",",
			sp->alloc_bytes, sp->alloc_count);
		first = false;
	}
	if (sp->unclosed)
		fputs(first ? "\"unclosed\":true" : ",\"unclosed\":true", out);
}

static const struct profile_gc *gc_sort; /* qsort has no argument */

static int gc_by_start(const void *a, const void *b)
{
	const struct profile_gc *x = &gc_sort[*(const size_t *)a], *y = &gc_sort[*(const size_t *)b];
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* The pid a thread's events carry: its process's, in a capture of
 * several; the header's otherwise. */
static uint64_t thread_pid(const struct profile *p, size_t t)
{
	const struct profile_process *pr = profile_thread_process(p, &p->threads[t]);
	return pr && p->nprocesses > 1 ? pr->pid : p->hdr.pid;
}

/* Linux pids stay below 2^22 (PID_MAX_LIMIT): pid + 2^22 is no real
 * thread's id, and it stays the same for one process across exports. */
static uint64_t gc_tid(uint64_t pid)
{
	return pid + (1ull << 22);
}

/* Spans as complete events on their thread's track, clamped into their
 * parents so that they nest exactly; counters as counter events; GC
 * pauses on a track of their own, never overlapping. */
static void put_spans(const struct profile *p, FILE *out, uint64_t pid, uint64_t counter_tid)
{
	const struct profile_spans *s = p->spans;
	uint64_t *start = xmalloc((s->nspans ? s->nspans : 1) * sizeof(uint64_t));
	uint64_t *end = xmalloc((s->nspans ? s->nspans : 1) * sizeof(uint64_t));
	export_span_bounds(s, start, end);
	for (size_t i = 0; i < s->nspans; i++) {
		const struct profile_span *sp = &s->spans[i];
		if (sp->thread >= p->nthreads || sp->site >= s->nsites)
			continue;
		const struct profile_span_site *site = &s->sites[sp->site];
		fputs(",\n{\"name\":", out);
		esc_json(out, site->name);
		fprintf(out, ",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":", span_kind_name(site->kind));
		put_ts(out, start[i]);
		fputs(",\"dur\":", out);
		put_ts(out, end[i] - start[i]);
		fprintf(out, ",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64 ",\"args\":{", pid,
			p->threads[sp->thread].tid);
		put_args_spans(s, sp, out);
		fputs("}}", out);
	}
	free(start);
	free(end);

	for (size_t i = 0; i < s->nseries; i++) {
		const struct profile_series *sr = &s->series[i];
		for (size_t k = 0; k < sr->n; k++) {
			if (!finite_value(sr->points[k].value))
				continue;
			fputs(",\n{\"name\":", out);
			esc_json(out, sr->name);
			fputs(",\"ph\":\"C\",\"ts\":", out);
			put_ts(out, sr->points[k].time_ns);
			fprintf(out, ",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64
				     ",\"args\":{\"value\":%.17g}}",
				pid, counter_tid, sr->points[k].value);
		}
	}

	if (!s->ngcs)
		return;
	fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
		     ",\"tid\":%" PRIu64 ",\"args\":{\"name\":\"GC\"}}",
		pid, gc_tid(pid));
	size_t *order = xmalloc(s->ngcs * sizeof(size_t));
	for (size_t i = 0; i < s->ngcs; i++)
		order[i] = i;
	gc_sort = s->gcs;
	qsort(order, s->ngcs, sizeof(size_t), gc_by_start);
	uint64_t last_end = 0;
	for (size_t k = 0; k < s->ngcs; k++) {
		const struct profile_gc *g = &s->gcs[order[k]];
		/* Pauses reported by two threads at once would overlap on the
		 * one track: the later starts where the earlier ended. */
		uint64_t b = g->start_ns > last_end ? g->start_ns : last_end;
		uint64_t e = g->end_ns > b ? g->end_ns : b;
		last_end = e;
		fputs(",\n{\"name\":\"GC\",\"cat\":\"gc\",\"ph\":\"X\",\"ts\":", out);
		put_ts(out, b);
		fputs(",\"dur\":", out);
		put_ts(out, e - b);
		fprintf(out, ",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64
			     ",\"args\":{\"reclaimed_bytes\":%" PRIu64,
			pid, gc_tid(pid), g->reclaimed);
		if (g->thread < p->nthreads)
			fprintf(out, ",\"thread\":%" PRIu64, p->threads[g->thread].tid);
		fputs(g->unclosed ? ",\"unclosed\":true}}" : "}}", out);
	}
	free(order);
}

static int chrome_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	(void)err, (void)errlen; /* it cannot fail but by writing: export_run() says so */
	struct profile_frames pf;
	profile_frames_build(p, &pf);

	/* Each stack in use as a node of one call tree: the node is its id
	 * in stackFrames. Frame key nfunctions is "[unknown]". */
	struct export_tree tree;
	export_tree_init(&tree);
	uint32_t *leaf = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(uint32_t));
	for (size_t i = 0; i < p->nsamples; i++) {
		uint32_t s = p->samples[i].stack;
		if (leaf[s])
			continue;
		leaf[s] = export_tree_path(&tree, 0, profile_frames_of(&pf, s),
					   profile_frames_count(&pf, s), (uint32_t)p->nfunctions);
	}

	uint64_t pid = p->hdr.pid;
	fputs("{\"traceEvents\":[\n", out);
	if (p->nprocesses > 1) {
		/* Several processes: each its own track group, by its pid. */
		for (size_t i = 0; i < p->nprocesses; i++) {
			const struct profile_process *pr = &p->processes[i];
			fprintf(out, "%s{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRIu64
				     ",\"tid\":%" PRIu64 ",\"args\":{\"name\":",
				i ? ",\n" : "", pr->pid, pr->pid);
			esc_json(out, pr->name);
			fputs("}}", out);
		}
	} else {
		fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRIu64
			     ",\"tid\":%" PRIu64 ",\"args\":{\"name\":",
			pid, pid);
		esc_json(out, export_program(p));
		fputs("}}", out);
	}
	/* Threads with spans get a name too, sampled or not. */
	bool *named = xcalloc(p->nthreads ? p->nthreads : 1, sizeof(bool));
	for (size_t i = 0; p->spans && i < p->spans->nspans; i++)
		if (p->spans->spans[i].thread < p->nthreads)
			named[p->spans->spans[i].thread] = true;
	/* Counters belong to the process; readers still want a thread on
	 * each event: the main thread (tid == pid), else the first. */
	uint64_t counter_tid = pid;
	if (p->spans && p->spans->nseries && p->nthreads) {
		size_t ct = 0;
		for (size_t t = 0; t < p->nthreads; t++)
			if (p->threads[t].tid == pid)
				ct = t;
		counter_tid = p->threads[ct].tid;
		named[ct] = true;
	}
	for (size_t t = 0; t < p->nthreads; t++) {
		if (!p->threads[t].samples && !named[t])
			continue;
		fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
			     ",\"tid\":%" PRIu64 ",\"args\":{\"name\":",
			thread_pid(p, t), p->threads[t].tid);
		esc_json(out, p->threads[t].name);
		fputs("}}", out);
	}
	free(named);

	struct export_by_thread g;
	export_by_thread(p, &g);
	for (size_t t = 0; t < p->nthreads; t++) {
		for (size_t k = g.start[t]; k < g.start[t + 1]; k++) {
			const struct profile_sample *s = &p->samples[g.order[k]];
			uint32_t node = leaf[s->stack];
			fputs(",\n{\"name\":", out);
			esc_json(out, frame_name(p, tree.nodes[node].frame));
			fprintf(out, ",\"cat\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"ts\":",
				s->off_cpu ? "off-cpu" : "cpu");
			put_ts(out, s->time_ns);
			fprintf(out, ",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64 ",\"sf\":%" PRIu32
				     ",\"args\":{\"samples\":%" PRIu64 ",\"cpu_ns\":%" PRIu64
				     ",\"stack\":[",
				thread_pid(p, t), p->threads[t].tid, node, s->count, s->cpu_ns);
			for (uint32_t n = node; n; n = tree.nodes[n].parent) {
				esc_json(out, frame_name(p, tree.nodes[n].frame));
				if (tree.nodes[n].parent)
					fputc(',', out);
			}
			fputs("]}}", out);
		}
	}

	if (p->spans)
		put_spans(p, out, pid, counter_tid);

	fputs("\n],\n\"stackFrames\":{", out);
	for (size_t n = 1; n < tree.n; n++) {
		const struct export_tree_node *node = &tree.nodes[n];
		const char *module = node->frame < p->nfunctions ? p->functions[node->frame].module : "";
		fprintf(out, "%s\n\"%zu\":{\"name\":", n > 1 ? "," : "", n);
		esc_json(out, frame_name(p, node->frame));
		fputs(",\"category\":", out);
		esc_json(out, module && *module ? module : "unknown");
		if (node->parent)
			fprintf(out, ",\"parent\":\"%" PRIu32 "\"", node->parent);
		fputc('}', out);
	}

	fputs("},\n\"samples\":[", out);
	bool first = true;
	for (size_t t = 0; t < p->nthreads; t++) {
		for (size_t k = g.start[t]; k < g.start[t + 1]; k++) {
			const struct profile_sample *s = &p->samples[g.order[k]];
			fprintf(out, "%s\n{\"pid\":%" PRIu64 ",\"tid\":%" PRIu64 ",\"ts\":",
				first ? "" : ",", thread_pid(p, t), p->threads[t].tid);
			put_ts(out, s->time_ns);
			fprintf(out, ",\"name\":\"cpu\",\"sf\":%" PRIu32 ",\"weight\":%" PRIu64 "}",
				leaf[s->stack], s->count);
			first = false;
		}
	}

	char command[1024];
	export_command(p, command, sizeof(command));
	fputs("],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"generator\":\"oneprof " ONEPROF_VERSION_STRING "\",\"command\":",
	      out);
	esc_json(out, command);
	fputs(",\"host\":", out);
	esc_json(out, p->hdr.hostname.s);
	fputs(",\"sampler\":", out);
	esc_json(out, p->hdr.sampler.s);
	fprintf(out, ",\"sample_rate_hz\":\"%" PRIu64 "\",\"samples\":\"%" PRIu64
		     "\",\"start_time_unix_ns\":\"%" PRIu64 "\"}}\n",
		p->hdr.hz, p->total_count, p->hdr.start_realtime_ns);

	export_by_thread_free(&g);
	free(leaf);
	export_tree_free(&tree);
	profile_frames_free(&pf);
	return 0;
}

const struct exporter export_chrome = {
	.name = "chrome",
	.extension = ".trace.json",
	.description = "Chrome Trace Event JSON: samples, spans, counters and GC on thread tracks (Perfetto)",
	.binary = false,
	.timeline = true,
	.write = chrome_write,
};
