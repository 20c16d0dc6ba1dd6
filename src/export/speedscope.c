/* speedscope's own file format (https://www.speedscope.app/file-format-schema.json):
 * one "sampled" profile per thread, all sharing one frames table; each
 * profile lists its samples in time order (stacks root first, as frame
 * indexes) with their CPU time as weights, in nanoseconds. speedscope
 * recognises the file by its "$schema" value. Consecutive samples of a
 * thread with the same stack are one entry with their weights added:
 * speedscope draws them as one span anyway, and files get much smaller. */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/escape.h"
#include "../util/util.h"
#include "oneprof.h"

#define SCHEMA "https://www.speedscope.app/file-format-schema.json"

static int speedscope_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	(void)err, (void)errlen; /* it cannot fail but by writing: export_run() says so */
	struct profile_frames pf;
	profile_frames_build(p, &pf);

	/* Frames: the functions the samples use, in function order, and
	 * "[unknown]" last when a sample has no frames at all. */
	uint32_t *frame_of = xmalloc((p->nfunctions + 1) * sizeof(uint32_t));
	for (size_t f = 0; f <= p->nfunctions; f++)
		frame_of[f] = UINT32_MAX;
	for (size_t i = 0; i < p->nsamples; i++) {
		uint32_t s = p->samples[i].stack;
		size_t n = profile_frames_count(&pf, s);
		const uint32_t *fn = profile_frames_of(&pf, s);
		if (!n)
			frame_of[p->nfunctions] = 0;
		for (size_t k = 0; k < n; k++)
			frame_of[fn[k]] = 0;
	}
	uint32_t nframes = 0;
	for (size_t f = 0; f <= p->nfunctions; f++)
		if (frame_of[f] == 0)
			frame_of[f] = nframes++;

	char command[1024];
	export_command(p, command, sizeof(command));
	fputs("{\"$schema\":\"" SCHEMA "\",\n\"name\":", out);
	esc_json(out, *command ? command : p->name);
	fputs(",\n\"exporter\":\"oneprof@" ONEPROF_VERSION_STRING "\",\n", out);

	/* The busiest thread's profile opens first. */
	size_t active = 0, index = 0;
	uint64_t best = 0;
	for (size_t t = 0; t < p->nthreads; t++) {
		if (!p->threads[t].samples)
			continue;
		if (p->threads[t].samples > best) {
			best = p->threads[t].samples;
			active = index;
		}
		index++;
	}
	fprintf(out, "\"activeProfileIndex\":%zu,\n\"shared\":{\"frames\":[", active);
	bool first = true;
	for (size_t f = 0; f <= p->nfunctions; f++) {
		if (frame_of[f] == UINT32_MAX)
			continue;
		fputs(first ? "\n{\"name\":" : ",\n{\"name\":", out);
		first = false;
		esc_json(out, f < p->nfunctions ? p->functions[f].name : EXPORT_UNKNOWN_FRAME);
		fputc('}', out);
	}
	fputs("]},\n\"profiles\":[", out);

	struct export_by_thread g;
	export_by_thread(p, &g);
	first = true;
	for (size_t t = 0; t < p->nthreads; t++) {
		if (g.start[t] == g.start[t + 1])
			continue;
		const struct profile_thread *th = &p->threads[t];
		char name[256];
		snprintf(name, sizeof(name), "%s (tid %" PRIu64 ")", th->name, th->tid);
		fputs(first ? "\n{\"type\":\"sampled\",\"name\":" : ",\n{\"type\":\"sampled\",\"name\":",
		      out);
		first = false;
		esc_json(out, name);
		uint64_t total = 0;
		for (size_t k = g.start[t]; k < g.start[t + 1]; k++)
			total += p->samples[g.order[k]].cpu_ns;
		fprintf(out, ",\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":%" PRIu64
			     ",\n\"samples\":[",
			total);
		/* Runs of one stack become one entry; weights follow. */
		size_t runs = 0;
		for (size_t k = g.start[t]; k < g.start[t + 1]; k++) {
			uint32_t s = p->samples[g.order[k]].stack;
			if (k > g.start[t] && p->samples[g.order[k - 1]].stack == s)
				continue;
			fputs(runs++ ? ",[" : "[", out);
			size_t n = profile_frames_count(&pf, s);
			const uint32_t *fn = profile_frames_of(&pf, s);
			if (!n)
				fprintf(out, "%" PRIu32, frame_of[p->nfunctions]);
			for (size_t i = n; i-- > 0;) /* the model is leaf first */
				fprintf(out, "%" PRIu32 "%s", frame_of[fn[i]], i ? "," : "");
			fputc(']', out);
		}
		fputs("],\n\"weights\":[", out);
		runs = 0;
		uint64_t weight = 0;
		for (size_t k = g.start[t]; k < g.start[t + 1]; k++) {
			const struct profile_sample *s = &p->samples[g.order[k]];
			weight += s->cpu_ns;
			if (k + 1 < g.start[t + 1] && p->samples[g.order[k + 1]].stack == s->stack)
				continue;
			fprintf(out, "%s%" PRIu64, runs++ ? "," : "", weight);
			weight = 0;
		}
		fputs("]}", out);
	}
	fputs("]}\n", out);

	export_by_thread_free(&g);
	free(frame_of);
	profile_frames_free(&pf);
	return 0;
}

const struct exporter export_speedscope = {
	.name = "speedscope",
	.extension = ".speedscope.json",
	.description = "speedscope JSON, one sampled profile per thread (speedscope.app)",
	.binary = false,
	.write = speedscope_write,
};
