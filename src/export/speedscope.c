/* speedscope's own file format (https://www.speedscope.app/file-format-schema.json):
 * one "sampled" profile per thread, all sharing one frames table; each
 * profile lists its samples in time order (stacks root first, as frame
 * indexes) with their CPU time as weights, in nanoseconds. speedscope
 * recognises the file by its "$schema" value. Consecutive samples of a
 * thread with the same stack are one entry with their weights added:
 * speedscope draws them as one span anyway, and files get much smaller.
 *
 * When the capture holds spans, each thread with spans gets an "evented"
 * profile too: its spans as open and close events in nanoseconds on the
 * capture's clock, frames for span sites appended to the shared frames. */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/escape.h"
#include "../util/util.h"
#include "oneprof.h"

#define SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* --- spans: one evented profile per thread --- */

struct span_ev {
	uint64_t start, end;
	uint32_t depth;
	uint32_t span;
};

/* A profile's name in the file: its thread, and its process when the
 * capture holds several, then suffix. */
static void thread_profile_name(const struct profile *p, const struct profile_thread *th,
			 const char *suffix, char *name, size_t cap)
{
	const struct profile_process *pr = profile_thread_process(p, th);
	if (p->nprocesses > 1 && pr)
		snprintf(name, cap, "%s (tid %" PRIu64 ") in %s (pid %" PRIu64 ")%s", th->name,
			 th->tid, pr->name, pr->pid, suffix);
	else
		snprintf(name, cap, "%s (tid %" PRIu64 ")%s", th->name, th->tid, suffix);
}

static int ev_by_start(const void *a, const void *b)
{
	const struct span_ev *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->depth != y->depth) /* a parent opens before a child starting with it */
		return x->depth < y->depth ? -1 : 1;
	return x->span < y->span ? -1 : x->span > y->span;
}

/* The open ("O") and close ("C") events of one thread's spans, nested
 * and in time order: speedscope rejects a close that does not name the
 * frame on top. Frame of a span: first_frame + its site. */
static void put_span_events(const struct profile *p, const struct span_ev *ev, size_t n,
			    uint32_t first_frame, FILE *out)
{
	const struct profile_spans *s = p->spans;
	uint32_t *stack = xmalloc((n ? n : 1) * sizeof(uint32_t)); /* indexes into ev */
	size_t depth = 0;
	uint64_t at = 0;
	bool first = true;
	/* Closes the top frame, never going back in time. */
#define CLOSE_TOP()                                                                         \
	do {                                                                                \
		const struct span_ev *e_ = &ev[stack[--depth]];                             \
		at = e_->end > at ? e_->end : at;                                           \
		fprintf(out, "%s{\"type\":\"C\",\"at\":%" PRIu64 ",\"frame\":%" PRIu32 "}",    \
			first ? "" : ",", at, first_frame + s->spans[e_->span].site);       \
		first = false;                                                              \
	} while (0)
	for (size_t i = 0; i < n; i++) {
		uint32_t parent = s->spans[ev[i].span].parent;
		while (depth && ev[stack[depth - 1]].span != parent)
			CLOSE_TOP();
		at = ev[i].start > at ? ev[i].start : at;
		fprintf(out, "%s{\"type\":\"O\",\"at\":%" PRIu64 ",\"frame\":%" PRIu32 "}",
			first ? "" : ",", at, first_frame + s->spans[ev[i].span].site);
		first = false;
		stack[depth++] = (uint32_t)i;
	}
	while (depth)
		CLOSE_TOP();
#undef CLOSE_TOP
	free(stack);
}

/* Returns whether any profile was written (for the comma). */
static bool put_span_profiles(const struct profile *p, uint32_t first_frame, bool first,
			      FILE *out)
{
	const struct profile_spans *s = p->spans;
	size_t nt = p->nthreads;
	uint64_t *start = xmalloc((s->nspans ? s->nspans : 1) * sizeof(uint64_t));
	uint64_t *end = xmalloc((s->nspans ? s->nspans : 1) * sizeof(uint64_t));
	export_span_bounds(s, start, end);
	/* Spans grouped by thread (counting sort), each group sorted. */
	size_t *at = xcalloc(nt + 1, sizeof(size_t));
	for (size_t i = 0; i < s->nspans; i++)
		if (s->spans[i].thread < nt && s->spans[i].site < s->nsites)
			at[s->spans[i].thread + 1]++;
	for (size_t t = 0; t < nt; t++)
		at[t + 1] += at[t];
	struct span_ev *ev = xmalloc((at[nt] ? at[nt] : 1) * sizeof(*ev));
	size_t *fill = xmalloc((nt ? nt : 1) * sizeof(size_t));
	memcpy(fill, at, nt * sizeof(size_t));
	for (size_t i = 0; i < s->nspans; i++) {
		const struct profile_span *sp = &s->spans[i];
		if (sp->thread < nt && sp->site < s->nsites)
			ev[fill[sp->thread]++] = (struct span_ev){ start[i], end[i], sp->depth,
								   (uint32_t)i };
	}
	bool wrote = false;
	for (size_t t = 0; t < nt; t++) {
		size_t n = at[t + 1] - at[t];
		if (!n)
			continue;
		struct span_ev *e = ev + at[t];
		qsort(e, n, sizeof(*e), ev_by_start);
		uint64_t lo = e[0].start, hi = 0;
		for (size_t k = 0; k < n; k++)
			hi = e[k].end > hi ? e[k].end : hi;
		const struct profile_thread *th = &p->threads[t];
		char name[512];
		thread_profile_name(p, th, " spans", name, sizeof(name));
		fputs(first && !wrote ? "\n{\"type\":\"evented\",\"name\":"
				      : ",\n{\"type\":\"evented\",\"name\":",
		      out);
		wrote = true;
		esc_json(out, name);
		fprintf(out, ",\"unit\":\"nanoseconds\",\"startValue\":%" PRIu64
			     ",\"endValue\":%" PRIu64 ",\n\"events\":[",
			lo, hi);
		put_span_events(p, e, n, first_frame, out);
		fputs("]}", out);
	}
	free(fill);
	free(ev);
	free(at);
	free(start);
	free(end);
	return wrote;
}

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
	/* Span sites follow the functions: frame nframes + site. */
	for (size_t i = 0; p->spans && i < p->spans->nsites; i++) {
		const struct profile_span_site *site = &p->spans->sites[i];
		fputs(first ? "\n{\"name\":" : ",\n{\"name\":", out);
		first = false;
		esc_json(out, site->name);
		if (site->file && *site->file) {
			fputs(",\"file\":", out);
			esc_json(out, site->file);
			if (site->line)
				fprintf(out, ",\"line\":%" PRIu32, site->line);
		}
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
		char name[512];
		thread_profile_name(p, th, "", name, sizeof(name));
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
	if (p->spans && p->spans->nspans)
		put_span_profiles(p, nframes, first, out);
	fputs("]}\n", out);

	export_by_thread_free(&g);
	free(frame_of);
	profile_frames_free(&pf);
	return 0;
}

const struct exporter export_speedscope = {
	.name = "speedscope",
	.extension = ".speedscope.json",
	.description = "speedscope JSON, sampled and span profiles per thread (speedscope.app)",
	.binary = false,
	.timeline = true,
	.write = speedscope_write,
};
