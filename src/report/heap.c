/* oneprof report --heap: what the heap did. Totals (allocations, peak,
 * leaks, temporaries, problems), then the call sites behind each of
 * leaks, the peak, allocation counts and temporaries, a size histogram
 * and heap and RSS over time. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/util.h"
#include "internal.h"

struct heap_row {
	uint32_t stack;
	double value, count; /* the metric, and blocks or calls behind it */
};

static int by_value(const void *a, const void *b)
{
	const struct heap_row *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* "~" before estimates: a sampled capture's figures are scaled. */
static const char *est(const struct profile_heap *h)
{
	return h->sampled ? "~" : "";
}

static void print_stack(const struct profile *p, const struct profile_frames *pf, uint32_t stack,
			FILE *out, const struct report_options *o)
{
	const uint32_t *fn = profile_frames_of(pf, stack);
	size_t n = profile_frames_count(pf, stack);
	size_t room = report_name_room(o, 14);
	size_t shown = n < 8 ? n : 8;
	if (!n)
		fprintf(out, "%14s(no stack)\n", "");
	for (size_t i = 0; i < shown; i++) {
		char fit[512];
		const struct profile_function *f = &p->functions[fn[i]];
		fprintf(out, "%14s%s%s%s\n", "", report_fit(fit, sizeof(fit), f->name, room),
			*f->file ? "  " : "", *f->file ? f->file : "");
	}
	if (n > shown)
		fprintf(out, "%14s... %zu more frames\n", "", n - shown);
}

/* The sites behind one metric, merged by stack, biggest first. */
static void section(const struct profile *p, const struct profile_frames *pf, FILE *out, const struct report_options *o, const char *title,
		    enum heap_metric metric, enum heap_metric count_metric)
{
	const struct profile_heap *h = p->heap;
	double *value = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(double));
	double *count = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(double));
	double total = 0;
	for (size_t i = 0; i < h->nsites; i++) {
		const struct heap_site *s = &h->sites[i];
		double v = heap_site_value(s, metric);
		total += v;
		value[s->stack] += v;
		count[s->stack] += heap_site_value(s, count_metric);
	}
	struct heap_row *rows = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(*rows));
	size_t n = 0;
	for (size_t s = 0; s < p->nstacks; s++)
		if (value[s] >= 0.5)
			rows[n++] = (struct heap_row){ (uint32_t)s, value[s], count[s] };
	qsort(rows, n, sizeof(*rows), by_value);
	size_t shown = o->nodecount && o->nodecount < n ? o->nodecount : n;
	bool bytes = !strcmp(heap_metric_unit(metric), "bytes");
	fprintf(out, "\n%s%s%s: %zu call site%s", report_c(o, RC_BOLD), title, report_c(o, RC_OFF),
		n, n == 1 ? "" : "s");
	if (shown < n)
		fprintf(out, ", the top %zu", shown);
	fputc('\n', out);
	for (size_t i = 0; i < shown; i++) {
		char v[32];
		report_format_value(heap_metric_unit(metric), v, sizeof(v), rows[i].value);
		fprintf(out, "%s%10s %5.1f%%%s", report_c(o, RC_BOLD), v, report_pct((uint64_t)rows[i].value, (uint64_t)total),
			report_c(o, RC_OFF));
		if (bytes)
			fprintf(out, "  in %s%.0f block%s", est(h), rows[i].count,
				rows[i].count >= 0.5 && rows[i].count < 1.5 ? "" : "s");
		fputc('\n', out);
		print_stack(p, pf, rows[i].stack, out, o);
	}
	free(rows);
	free(value);
	free(count);
}

static void histogram(const struct profile_heap *h, FILE *out, const struct report_options *o)
{
	double total = 0, max = 0;
	unsigned lo = HEAP_SIZE_CLASSES, hi = 0;
	for (unsigned k = 0; k < HEAP_SIZE_CLASSES; k++) {
		total += h->size_hist[k];
		if (h->size_hist[k] > max)
			max = h->size_hist[k];
		if (h->size_hist[k] > 0) {
			lo = k < lo ? k : lo;
			hi = k;
		}
	}
	if (total <= 0)
		return;
	fprintf(out, "\n%sAllocation sizes%s (requested bytes)\n", report_c(o, RC_BOLD), report_c(o, RC_OFF));
	for (unsigned k = lo; k <= hi; k++) {
		char from[32], to[32], bar[41];
		report_format_bytes(from, sizeof(from), k ? (double)(1ull << (k - 1)) : 0);
		report_format_bytes(to, sizeof(to), (double)(1ull << k) - (k ? 1 : 0));
		int len = max > 0 ? (int)lround(40.0 * h->size_hist[k] / max) : 0;
		memset(bar, '#', (size_t)len);
		bar[len] = '\0';
		fprintf(out, "  %9s .. %-9s %12.0f %5.1f%%  %s\n", from, to, h->size_hist[k],
			100.0 * h->size_hist[k] / total, bar);
	}
}

/* One line of block characters for a series, 60 columns wide. */
static void sparkline(const char *name, const struct heap_series *s, FILE *out)
{
	static const char *const ticks[] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	if (!s->n)
		return;
	enum { COLS = 60 };
	double col[COLS], max = 0;
	size_t per = (s->n + COLS - 1) / COLS, ncol = (s->n + per - 1) / per;
	for (size_t c = 0; c < ncol; c++) {
		col[c] = 0;
		for (size_t i = c * per; i < (c + 1) * per && i < s->n; i++)
			if (s->set[i] && s->max[i] > col[c])
				col[c] = s->max[i];
		if (col[c] > max)
			max = col[c];
	}
	char peak[32], span[32];
	report_format_bytes(peak, sizeof(peak), max);
	report_format_ns(span, sizeof(span), (double)s->n * (double)s->width_ns);
	fprintf(out, "  %-5s |", name);
	for (size_t c = 0; c < ncol; c++)
		fputs(ticks[max > 0 ? (int)lround(8.0 * col[c] / max) : 0], out);
	fprintf(out, "| max %s over %s\n", peak, span);
}

void report_heap(const struct profile *p, FILE *out, const struct report_options *o)
{
	const struct profile_heap *h = p->heap;
	char b[32], pk[32], lk[32], tb[32], at[32];
	const char *e = est(h);
	report_format_bytes(b, sizeof(b), h->bytes);
	report_format_bytes(pk, sizeof(pk), h->peak_bytes);
	report_format_bytes(lk, sizeof(lk), h->leaked_bytes);
	report_format_bytes(tb, sizeof(tb), h->temp_bytes);
	report_format_ns(at, sizeof(at), (double)h->peak_time_ns);

	fputc('\n', out);
	if (h->sampled)
		fprintf(out, "Sampled heap (one sample per %" PRIu64 " bytes on average): figures "
			"marked ~ are estimates\n", h->sample_rate);
	/* Plain lines, the same in every capture, that scripts may read. */
	fprintf(out, "heap: %s%.0f allocations, %s%.0f bytes allocated, %s%.0f frees\n", e, h->allocs,
		e, h->bytes, e, h->frees);
	fprintf(out, "heap peak: %s%.0f bytes in %s%.0f blocks at %.3f s\n", e, h->peak_bytes, e,
		h->peak_blocks, (double)h->peak_time_ns / 1e9);
	fprintf(out, "heap leaked: %s%.0f bytes in %s%.0f blocks\n", e, h->leaked_bytes, e,
		h->leaked_blocks);
	if (!h->sampled)
		fprintf(out, "heap temporary: %.0f allocations, %.0f bytes (freed by their thread "
			"with at most %u other allocations in between)\n",
			h->temp_count, h->temp_bytes, h->temporary_within);
	if (h->calls)
		fprintf(out, "heap calls: %" PRIu64 " allocations, %" PRIu64 " bytes, %" PRIu64
			" frees (every call, counted in the program)\n",
			h->calls, h->call_bytes, h->call_frees);
	fprintf(out, "In short:  %s%s allocated, peak %s%s at %s, %s%s leaked\n", e, b, e, pk, at, e, lk);
	if (h->double_frees || h->unknown_frees) {
		fprintf(out, "%sProblems:%s  %" PRIu64 " double free%s, %" PRIu64
			" free%s of blocks not seen allocated (allocated before tracking began or "
			"by code it cannot see)\n",
			report_c(o, RC_HOT), report_c(o, RC_OFF), h->double_frees,
			h->double_frees == 1 ? "" : "s", h->unknown_frees,
			h->unknown_frees == 1 ? "" : "s");
		if (h->first_double_free_site != UINT32_MAX) {
			struct profile_frames pf;
			profile_frames_build(p, &pf);
			fprintf(out, "  the first double free was of a block allocated at:\n");
			print_stack(p, &pf, h->sites[h->first_double_free_site].stack, out, o);
			profile_frames_free(&pf);
		}
	}
	if (h->reordered)
		fprintf(out, "Reordered: %" PRIu64 " frees arrived after their address was reused "
			"and were counted at the reuse\n", h->reordered);

	struct profile_frames pf;
	profile_frames_build(p, &pf);
	section(p, &pf, out, o, "Leaked at exit", HEAP_LEAK_BYTES, HEAP_LEAK_COUNT);
	char title[96];
	snprintf(title, sizeof(title), "Live at the peak (%s)", at);
	section(p, &pf, out, o, title, HEAP_PEAK_BYTES, HEAP_PEAK_COUNT);
	section(p, &pf, out, o, "Most allocations", HEAP_ALLOC_COUNT, HEAP_ALLOC_COUNT);
	section(p, &pf, out, o, "Most bytes allocated", HEAP_ALLOC_BYTES, HEAP_ALLOC_COUNT);
	if (!h->sampled)
		section(p, &pf, out, o, "Most temporary allocations", HEAP_TEMP_COUNT,
			HEAP_TEMP_COUNT);
	profile_frames_free(&pf);
	histogram(h, out, o);
	if (h->heap.n || h->rss.n) {
		fprintf(out, "\n%sOver time%s\n", report_c(o, RC_BOLD), report_c(o, RC_OFF));
		sparkline("heap", &h->heap, out);
		sparkline("rss", &h->rss, out);
	}
}
