/* The hottest whole stacks (pprof's -traces, with equal stacks merged):
 * for each, its time, its share, its samples and how many threads ran
 * it, then its functions from the leaf down to the root. Stacks that
 * differ only in addresses but name the same functions are one trace. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/util.h"
#include "internal.h"

struct trace {
	const uint32_t *fn; /* leaf first */
	size_t n;
	uint64_t ns, count;
	size_t threads;
};

static int by_functions(const void *a, const void *b)
{
	const struct trace *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	for (size_t i = 0; i < n; i++)
		if (x->fn[i] != y->fn[i])
			return x->fn[i] < y->fn[i] ? -1 : 1;
	return x->n < y->n ? -1 : x->n > y->n;
}

static int by_time(const void *a, const void *b)
{
	const struct trace *x = a, *y = b;
	if (x->ns != y->ns)
		return x->ns < y->ns ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return by_functions(a, b);
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void report_traces(const struct profile *p, FILE *out, const struct report_options *o)
{
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	uint64_t total = o->total_ns ? o->total_ns : p->total_cpu_ns;

	/* One trace per stack with samples, then equal function lists merged. */
	uint64_t *count, *ns;
	profile_stack_weights(p, &count, &ns);
	struct trace *t = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(*t));
	size_t nt = 0;
	for (size_t s = 0; s < p->nstacks; s++)
		if (count[s])
			t[nt++] = (struct trace){ profile_frames_of(&pf, s), profile_frames_count(&pf, s),
						  ns[s], count[s], 0 };
	qsort(t, nt, sizeof(*t), by_functions);
	size_t merged = 0;
	for (size_t i = 0; i < nt; i++) {
		if (merged && by_functions(&t[merged - 1], &t[i]) == 0) {
			t[merged - 1].ns += t[i].ns;
			t[merged - 1].count += t[i].count;
		} else {
			t[merged++] = t[i];
		}
	}
	nt = merged;

	/* Threads per trace: (trace, thread) pairs, sorted, counted once. A
	 * stack maps to its trace by binary search on the function list. */
	uint64_t *pairs = xmalloc((p->nsamples ? p->nsamples : 1) * sizeof(uint64_t));
	size_t npairs = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		uint32_t s = p->samples[i].stack;
		struct trace key = { profile_frames_of(&pf, s), profile_frames_count(&pf, s), 0, 0, 0 };
		struct trace *hit = bsearch(&key, t, nt, sizeof(*t), by_functions);
		if (hit)
			pairs[npairs++] = (uint64_t)(hit - t) << 32 | p->samples[i].thread;
	}
	qsort(pairs, npairs, sizeof(uint64_t), by_u64);
	for (size_t i = 0; i < npairs; i++)
		if (i == 0 || pairs[i] != pairs[i - 1])
			t[pairs[i] >> 32].threads++;
	free(pairs);

	qsort(t, nt, sizeof(*t), by_time);
	size_t shown = o->nodecount && o->nodecount < nt ? o->nodecount : nt;
	uint64_t shown_ns = 0;
	for (size_t i = 0; i < shown; i++)
		shown_ns += t[i].ns;
	fprintf(out, "\nShowing the %zu hottest of %zu distinct stacks, %.1f%% of the time\n", shown,
		nt, report_pct(shown_ns, total));
	size_t room = report_name_room(o, 13);
	for (size_t i = 0; i < shown; i++) {
		char time[32], fit[512];
		report_format_value(o->unit, time, sizeof(time), (double)t[i].ns);
		fputs("-----------+-------------------------------------------------------\n", out);
		fprintf(out, "%s%10s %5.1f%%  %llu samples, %zu thread%s%s\n", report_c(o, RC_BOLD),
			time, report_pct(t[i].ns, total), (unsigned long long)t[i].count,
			t[i].threads, t[i].threads == 1 ? "" : "s", report_c(o, RC_OFF));
		if (!t[i].n)
			fprintf(out, "           | %s\n", "(no frames)");
		for (size_t k = 0; k < t[i].n; k++)
			fprintf(out, "           | %s\n",
				report_fit(fit, sizeof(fit), p->functions[t[i].fn[k]].name, room));
	}
	if (shown)
		fputs("-----------+-------------------------------------------------------\n", out);
	free(t);
	free(ns);
	free(count);
	profile_frames_free(&pf);
}
