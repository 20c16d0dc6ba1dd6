/* Top functions by flat and cumulative time (pprof's "top"). */
#include <stdint.h>
#include <stdlib.h>

#include "../util/util.h"
#include "report.h"

struct row {
	uint32_t function;
	uint64_t flat, cum;
};

static int by_flat(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->flat != y->flat)
		return x->flat < y->flat ? 1 : -1;
	if (x->cum != y->cum)
		return x->cum < y->cum ? 1 : -1;
	return x->function < y->function ? -1 : x->function > y->function;
}

static int by_cum(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->cum != y->cum)
		return x->cum < y->cum ? 1 : -1;
	return by_flat(a, b);
}

void report_top(const struct profile *p, FILE *out, const struct report_options *o)
{
	/* Weigh each distinct stack once, then charge its functions. */
	uint64_t *stack_ns = xcalloc(p->nstacks, sizeof(uint64_t));
	for (size_t i = 0; i < p->nsamples; i++)
		stack_ns[p->samples[i].stack] += p->samples[i].cpu_ns;

	struct row *rows = xcalloc(p->nfunctions, sizeof(struct row));
	size_t *seen = xcalloc(p->nfunctions, sizeof(size_t)); /* stack index + 1 */
	for (size_t f = 0; f < p->nfunctions; f++)
		rows[f].function = (uint32_t)f;
	for (size_t s = 0; s < p->nstacks; s++) {
		const struct profile_stack *st = &p->stacks[s];
		if (!stack_ns[s] || !st->n)
			continue;
		rows[p->locations[st->locations[0]].function].flat += stack_ns[s];
		for (uint32_t k = 0; k < st->n; k++) {
			uint32_t f = p->locations[st->locations[k]].function;
			if (seen[f] != s + 1) { /* recursion counts once per stack */
				seen[f] = s + 1;
				rows[f].cum += stack_ns[s];
			}
		}
	}
	qsort(rows, p->nfunctions, sizeof(struct row), o->sort_cum ? by_cum : by_flat);

	double total = (double)p->total_cpu_ns;
	size_t shown = p->nfunctions;
	if (o->nodecount && o->nodecount < shown)
		shown = o->nodecount;
	fprintf(out, "\nShowing top %zu of %zu functions, sorted by %s time\n", shown,
		p->nfunctions, o->sort_cum ? "cumulative" : "flat");
	fprintf(out, "%10s %6s %6s %10s %6s  %s\n", "flat", "flat%", "sum%", "cum", "cum%",
		"function");
	double sum = 0;
	for (size_t i = 0; i < shown; i++) {
		const struct row *r = &rows[i];
		if (!r->flat && !r->cum)
			break;
		char flat[32], cum[32];
		report_format_ns(flat, sizeof(flat), (double)r->flat);
		report_format_ns(cum, sizeof(cum), (double)r->cum);
		sum += (double)r->flat;
		const struct profile_function *fn = &p->functions[r->function];
		fprintf(out, "%10s %5.1f%% %5.1f%% %10s %5.1f%%  %s\n", flat,
			total ? 100.0 * (double)r->flat / total : 0.0,
			total ? 100.0 * sum / total : 0.0, cum,
			total ? 100.0 * (double)r->cum / total : 0.0, fn->name);
	}
	free(rows);
	free(seen);
	free(stack_ns);
}
