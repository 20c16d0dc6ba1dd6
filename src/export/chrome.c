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
 * Stack frame ids start at 1: readers treat "sf":0 as no stack. */
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
	fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64
		     ",\"args\":{\"name\":",
		pid, pid);
	esc_json(out, export_program(p));
	fputs("}}", out);
	for (size_t t = 0; t < p->nthreads; t++) {
		if (!p->threads[t].samples)
			continue;
		fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu64
			     ",\"tid\":%" PRIu64 ",\"args\":{\"name\":",
			pid, p->threads[t].tid);
		esc_json(out, p->threads[t].name);
		fputs("}}", out);
	}

	struct export_by_thread g;
	export_by_thread(p, &g);
	for (size_t t = 0; t < p->nthreads; t++) {
		for (size_t k = g.start[t]; k < g.start[t + 1]; k++) {
			const struct profile_sample *s = &p->samples[g.order[k]];
			uint32_t node = leaf[s->stack];
			fputs(",\n{\"name\":", out);
			esc_json(out, frame_name(p, tree.nodes[node].frame));
			fputs(",\"cat\":\"cpu\",\"ph\":\"i\",\"s\":\"t\",\"ts\":", out);
			put_ts(out, s->time_ns);
			fprintf(out, ",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64 ",\"sf\":%" PRIu32
				     ",\"args\":{\"samples\":%" PRIu64 ",\"cpu_ns\":%" PRIu64
				     ",\"stack\":[",
				pid, p->threads[t].tid, node, s->count, s->cpu_ns);
			for (uint32_t n = node; n; n = tree.nodes[n].parent) {
				esc_json(out, frame_name(p, tree.nodes[n].frame));
				if (tree.nodes[n].parent)
					fputc(',', out);
			}
			fputs("]}}", out);
		}
	}

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
				first ? "" : ",", pid, p->threads[t].tid);
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
	.description = "Chrome Trace Event JSON: samples on thread tracks (Perfetto, chrome://tracing)",
	.binary = false,
	.write = chrome_write,
};
