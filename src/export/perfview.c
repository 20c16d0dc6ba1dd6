/* PerfView's stack XML (.perfView.xml, what its "Save View As" writes and
 * its XmlStackSource reads): a Frames table, a Stacks table of linked
 * (frame, caller) nodes and the Samples, each pointing at its leaf-most
 * stack node, with its time in milliseconds and its CPU time in
 * milliseconds as the metric.
 *
 * PerfView uses Frame and Stack IDs as array indexes, so both are dense
 * and 0-based here, and a stack's caller always comes before it. Like
 * PerfView's own CPU stacks, every stack starts with a process frame and
 * a thread frame, so the views can group or fold by thread. Frame text
 * is "module!function", PerfView's convention. PerfView reads a frame's
 * text as its first child node, so no frame text is ever empty. */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/escape.h"
#include "../util/util.h"

/* Milliseconds with three decimals, as PerfView writes them ("f3"). */
static void put_ms(FILE *out, uint64_t ns)
{
	uint64_t us = (ns + 500) / 1000;
	fprintf(out, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
}

static int perfview_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	(void)err, (void)errlen; /* it cannot fail but by writing: export_run() says so */
	struct profile_frames pf;
	profile_frames_build(p, &pf);

	/* Frame keys: functions, then one per thread, then the process. */
	const uint32_t nfn = (uint32_t)p->nfunctions;
	const uint32_t process_key = nfn + (uint32_t)p->nthreads;
	uint32_t *frame_id = xmalloc(((size_t)process_key + 1) * sizeof(uint32_t));
	for (size_t k = 0; k <= process_key; k++)
		frame_id[k] = UINT32_MAX;
	uint32_t *frame_key = xmalloc(((size_t)process_key + 1) * sizeof(uint32_t));
	uint32_t nframes = 0;

	struct export_tree tree;
	export_tree_init(&tree);
	uint32_t process = export_tree_child(&tree, 0, process_key);
	struct export_by_thread g;
	export_by_thread(p, &g);
	/* Leaf node of each sample: the stack's path under its thread. */
	uint32_t *leaf = xmalloc((p->nsamples ? p->nsamples : 1) * sizeof(uint32_t));
	uint32_t *cached = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(uint32_t));
	uint32_t *touched = xmalloc((p->nstacks ? p->nstacks : 1) * sizeof(uint32_t));
	for (size_t t = 0; t < p->nthreads; t++) {
		if (g.start[t] == g.start[t + 1])
			continue;
		uint32_t thread = export_tree_child(&tree, process, nfn + (uint32_t)t);
		size_t ntouched = 0;
		for (size_t k = g.start[t]; k < g.start[t + 1]; k++) {
			uint32_t s = p->samples[g.order[k]].stack;
			if (!cached[s]) {
				/* A sample with no frames is the thread's own node. */
				size_t n = profile_frames_count(&pf, s);
				cached[s] = n ? export_tree_path(&tree, thread, profile_frames_of(&pf, s),
								 n, 0)
					      : thread;
				touched[ntouched++] = s;
			}
			leaf[g.order[k]] = cached[s];
		}
		for (size_t i = 0; i < ntouched; i++)
			cached[touched[i]] = 0;
	}
	free(touched);
	free(cached);
	/* Dense frame IDs in the order stacks first use them. */
	for (size_t n = 1; n < tree.n; n++) {
		uint32_t key = tree.nodes[n].frame;
		if (frame_id[key] == UINT32_MAX) {
			frame_key[nframes] = key;
			frame_id[key] = nframes++;
		}
	}

	fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<StackWindow>\n<StackSource>\n", out);
	fprintf(out, "<Frames Count=\"%" PRIu32 "\">\n", nframes);
	for (uint32_t i = 0; i < nframes; i++) {
		uint32_t key = frame_key[i];
		fprintf(out, "<Frame ID=\"%" PRIu32 "\">", i);
		if (key < nfn) {
			const struct profile_function *fn = &p->functions[key];
			const char *name = fn->name && *fn->name ? fn->name : EXPORT_UNKNOWN_FRAME;
			size_t mlen = fn->module ? strlen(fn->module) : 0;
			if (mlen) {
				esc_xml(out, fn->module);
				fputc('!', out);
				/* An unsymbolized "libc.so.6+0x1234" is "libc.so.6!0x1234",
				 * as PerfView writes a frame without a symbol. */
				if (strncmp(name, fn->module, mlen) == 0 && name[mlen] == '+')
					name += mlen + 1;
			}
			esc_xml(out, name);
		} else if (key < process_key) {
			const struct profile_thread *th = &p->threads[key - nfn];
			fprintf(out, "Thread (%" PRIu64 ") ", th->tid);
			esc_xml(out, th->name);
		} else {
			fputs("Process ", out);
			esc_xml(out, export_program(p));
			fprintf(out, " (%" PRIu64 ")", p->hdr.pid);
		}
		fputs("</Frame>\n", out);
	}
	fputs("</Frames>\n", out);
	/* Stack ID = tree node - 1: the root is not a stack. */
	fprintf(out, "<Stacks Count=\"%zu\">\n", tree.n - 1);
	for (size_t n = 1; n < tree.n; n++)
		fprintf(out, "<Stack ID=\"%zu\" CallerID=\"%ld\" FrameID=\"%" PRIu32 "\"/>\n", n - 1,
			(long)tree.nodes[n].parent - 1, frame_id[tree.nodes[n].frame]);
	fputs("</Stacks>\n", out);
	fprintf(out, "<Samples Count=\"%zu\">\n", g.start[p->nthreads]);
	size_t id = 0;
	for (size_t t = 0; t < p->nthreads; t++) {
		for (size_t k = g.start[t]; k < g.start[t + 1]; k++) {
			const struct profile_sample *s = &p->samples[g.order[k]];
			fprintf(out, "<Sample ID=\"%zu\" Time=\"", id++);
			put_ms(out, s->time_ns);
			fprintf(out, "\" StackID=\"%" PRIu32 "\" Metric=\"", leaf[g.order[k]] - 1);
			put_ms(out, s->cpu_ns);
			fputs("\"/>\n", out);
		}
	}
	fputs("</Samples>\n</StackSource>\n</StackWindow>\n", out);

	free(leaf);
	export_by_thread_free(&g);
	export_tree_free(&tree);
	free(frame_key);
	free(frame_id);
	profile_frames_free(&pf);
	return 0;
}

const struct exporter export_perfview = {
	.name = "perfview",
	.extension = ".perfView.xml",
	.description = "PerfView stack XML (open in PerfView on Windows)",
	.binary = false,
	.timeline = true,
	.write = perfview_write,
};
