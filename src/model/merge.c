/* Merges resolved profiles into one (see merge.h). Each input's tables
 * are appended with their indexes shifted; only functions are shared,
 * found by their identity in one hash table, so that a function that
 * ran in several inputs is one row of every report. */
#include "merge.h"

#include <stdlib.h>
#include <string.h>


#include "../util/util.h"

/* Heap events, not only the RSS series the heap model also keeps. */
static bool has_heap(const struct profile *p)
{
	return p->heap && (p->heap->nsites || p->heap->calls || p->heap->allocs > 0);
}

enum profile_kind profile_kind(const struct profile *p)
{
	if (has_heap(p))
		return PROFILE_KIND_HEAP;
	if (p->wall)
		return PROFILE_KIND_WALL;
	if (p->pprof) {
		/* Read from pprof: a time unit was converted to ns. */
		static const char *const times[] = { "nanoseconds", "ns", "microseconds", "us",
						     "milliseconds", "ms", "seconds", "s" };
		for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
			if (p->pprof_unit && !strcmp(p->pprof_unit, times[i]))
				return p->pprof_type && !strcmp(p->pprof_type, "wall")
					       ? PROFILE_KIND_WALL
					       : PROFILE_KIND_CPU;
		/* A count with a time period (samples/count): CPU samples. */
		if (p->pprof_unit && !strcmp(p->pprof_unit, "count") && p->hdr.hz)
			return PROFILE_KIND_CPU;
		return PROFILE_KIND_OTHER;
	}
	return PROFILE_KIND_CPU;
}

const char *profile_kind_name(enum profile_kind k)
{
	switch (k) {
	case PROFILE_KIND_CPU: return "CPU time";
	case PROFILE_KIND_WALL: return "wall-clock time";
	case PROFILE_KIND_HEAP: return "heap";
	default: return "a pprof sample type that is not a time";
	}
}

static const char *copy(struct profile *p, const char *s)
{
	return profile_intern(p, s ? s : "", s ? strlen(s) : 0);
}

/* The label set an input's set `set` becomes: shifted past the sets
 * already merged, its top under the input's own label (root). */
static uint32_t label_of(uint32_t set, uint32_t base, uint32_t root)
{
	return set ? base + set - 1 : root;
}

static void merge_heap(struct profile *p, const struct profile *q, uint32_t soff, uint32_t toff,
		       uint32_t lbase, uint32_t lroot)
{
	const struct profile_heap *h = q->heap;
	struct profile_heap *m = p->heap;
	if (!m) {
		m = p->heap = xcalloc(1, sizeof(*m));
		m->first_double_free_site = UINT32_MAX;
		m->sample_rate = h->sample_rate;
		m->temporary_within = h->temporary_within;
	}
	m->sampled |= h->sampled;
	m->allocs += h->allocs;
	m->bytes += h->bytes;
	m->frees += h->frees;
	m->live_bytes += h->live_bytes;
	m->live_blocks += h->live_blocks;
	/* Each input peaked at its own time: their sum is what all of them
	 * needed together at worst. */
	m->peak_bytes += h->peak_bytes;
	m->peak_blocks += h->peak_blocks;
	m->leaked_bytes += h->leaked_bytes;
	m->leaked_blocks += h->leaked_blocks;
	m->temp_count += h->temp_count;
	m->temp_bytes += h->temp_bytes;
	for (size_t k = 0; k < HEAP_SIZE_CLASSES; k++)
		m->size_hist[k] += h->size_hist[k];
	m->calls += h->calls;
	m->call_bytes += h->call_bytes;
	m->call_frees += h->call_frees;
	m->double_frees += h->double_frees;
	m->unknown_frees += h->unknown_frees;
	m->reordered += h->reordered;
	for (size_t i = 0; i < h->nsites; i++) {
		GROW(m->sites, m->cap_sites, m->nsites + 1);
		struct heap_site s = h->sites[i];
		s.stack += soff;
		s.thread += toff;
		s.labels = label_of(s.labels, lbase, lroot);
		m->sites[m->nsites++] = s;
	}
}

/* Appends input q (index i) to p. */
static void merge_one(struct profile *p, struct profile_function_index *fns,
		      const struct profile *q, const char *label)
{
	const uint32_t moff = (uint32_t)p->nmappings, loff = (uint32_t)p->nlocations;
	const uint32_t soff = (uint32_t)p->nstacks, toff = (uint32_t)p->nthreads;

	for (size_t i = 0; i < q->nmappings; i++) {
		GROW(p->mappings, p->cap_mappings, p->nmappings + 1);
		struct profile_mapping m = q->mappings[i];
		m.path = copy(p, m.path);
		p->mappings[p->nmappings++] = m;
	}

	uint32_t *fmap = xmalloc((q->nfunctions ? q->nfunctions : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < q->nfunctions; i++) {
		const struct profile_function *f = &q->functions[i];
		struct profile_function c = { copy(p, f->name), copy(p, f->module), copy(p, f->file),
					      f->start_line };
		fmap[i] = profile_function_get(p, fns, &c);
	}

	/* Locations and their inline chains; chains are pointed at once
	 * p->lines stops moving (profile_merge's end). */
	for (size_t i = 0; i < q->nlocations; i++) {
		const struct profile_location *l = &q->locations[i];
		GROW(p->locations, p->cap_locations, p->nlocations + 1);
		struct profile_location c = *l;
		c.mapping = l->mapping >= 0 ? l->mapping + (int32_t)moff : -1;
		c.function = l->function < q->nfunctions ? fmap[l->function] : UINT32_MAX;
		c.lines = (struct profile_line *)(uintptr_t)p->nlines; /* start, fixed later */
		if (!l->lines)
			c.nlines = 0;
		for (uint32_t k = 0; k < c.nlines; k++) {
			GROW(p->lines, p->cap_lines, p->nlines + 1);
			struct profile_line ln = l->lines[k];
			ln.function = ln.function < q->nfunctions ? fmap[ln.function] : UINT32_MAX;
			p->lines[p->nlines++] = ln;
		}
		p->locations[p->nlocations++] = c;
	}
	free(fmap);

	for (size_t i = 0; i < q->nstacks; i++) {
		const struct profile_stack *s = &q->stacks[i];
		struct profile_stack c = { .n = s->n, .end_reason = s->end_reason };
		c.pcs = profile_alloc(p, s->n * sizeof(uint64_t));
		c.locations = profile_alloc(p, s->n * sizeof(uint32_t));
		if (s->n)
			memcpy(c.pcs, s->pcs, s->n * sizeof(uint64_t));
		for (uint32_t f = 0; f < s->n; f++)
			c.locations[f] = s->locations && s->locations[f] < q->nlocations
						 ? s->locations[f] + loff
						 : UINT32_MAX;
		GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
		p->stacks[p->nstacks++] = c;
	}

	for (size_t i = 0; i < q->nthreads; i++) {
		GROW(p->threads, p->cap_threads, p->nthreads + 1);
		struct profile_thread t = q->threads[i];
		t.name = copy(p, t.name);
		p->threads[p->nthreads++] = t;
	}

	/* Label sets: the input's label first, its own sets under it. */
	if (!p->nlabel_sets) {
		GROW(p->label_sets, p->cap_label_sets, 1);
		p->label_sets[p->nlabel_sets++] = (struct profile_label_set){ 0, NULL, NULL };
	}
	uint32_t root = 0;
	if (label) {
		GROW(p->label_sets, p->cap_label_sets, p->nlabel_sets + 1);
		p->label_sets[p->nlabel_sets] =
			(struct profile_label_set){ 0, copy(p, MERGE_INPUT_LABEL), copy(p, label) };
		root = (uint32_t)p->nlabel_sets++;
	}
	const uint32_t lbase = (uint32_t)p->nlabel_sets;
	for (size_t i = 1; i < q->nlabel_sets; i++) {
		const struct profile_label_set *ls = &q->label_sets[i];
		GROW(p->label_sets, p->cap_label_sets, p->nlabel_sets + 1);
		p->label_sets[p->nlabel_sets++] = (struct profile_label_set){
			label_of(ls->parent < i ? ls->parent : 0, lbase, root),
			ls->key ? copy(p, ls->key) : NULL, ls->value ? copy(p, ls->value) : NULL
		};
	}

	for (size_t i = 0; i < q->nsamples; i++) {
		GROW(p->samples, p->cap_samples, p->nsamples + 1);
		struct profile_sample s = q->samples[i];
		s.thread += toff;
		s.stack += soff;
		s.labels = label_of(s.labels, lbase, root);
		p->samples[p->nsamples++] = s;
	}
	if (has_heap(q))
		merge_heap(p, q, soff, toff, lbase, root);

	for (size_t i = 0; i < q->nlost; i++) {
		size_t k = 0;
		while (k < p->nlost && (p->lost[k].source != q->lost[i].source ||
					p->lost[k].reason != q->lost[i].reason))
			k++;
		if (k == p->nlost) {
			GROW(p->lost, p->cap_lost, p->nlost + 1);
			p->lost[p->nlost++] = (struct profile_lost){ q->lost[i].source,
								     q->lost[i].reason, 0 };
		}
		p->lost[k].count += q->lost[i].count;
	}
	for (size_t i = 0; i < CAPTURE_STATE_COUNT; i++)
		p->state_ns[i] += q->state_ns[i];
	for (size_t i = 0; i < CAPTURE_STACK_END_COUNT; i++)
		p->stack_ends[i] += q->stack_ends[i];
	p->total_count += q->total_count;
	p->total_cpu_ns += q->total_cpu_ns;
	if (q->samples_end_ns > p->samples_end_ns)
		p->samples_end_ns = q->samples_end_ns;
	/* Time profiled in all: the inputs' durations added up. */
	p->duration_ns += q->duration_ns ? q->duration_ns : q->samples_end_ns;
	p->process_cpu_ns += q->process_cpu_ns;
	p->pauses += q->pauses;
	p->paused_ns += q->paused_ns;
	if (q->peak_rss_kb > p->peak_rss_kb)
		p->peak_rss_kb = q->peak_rss_kb;
}

static bool text_eq(const struct capture_text *a, const struct capture_text *b)
{
	return a->len == b->len && (!a->len || !memcmp(a->s, b->s, a->len));
}

struct profile *profile_merge(struct profile *const *in, const char *const *labels, size_t n)
{
	struct profile *p = xcalloc(1, sizeof(*p));
	p->intern = intern_new();
	p->name = copy(p, "merged");
	p->coalesced = true;
	struct profile_function_index fns = { 0 };
	for (size_t i = 0; i < n; i++)
		merge_one(p, &fns, in[i], labels ? labels[i] : NULL);
	free(fns.slots);
	for (size_t i = 0; i < p->nlocations; i++) {
		struct profile_location *l = &p->locations[i];
		l->lines = l->nlines ? &p->lines[(uintptr_t)l->lines] : NULL;
	}
	if (!p->locations) /* resolved, even with nothing to resolve */
		p->locations = xcalloc(1, sizeof(*p->locations));

	/* The header: the first input's, the command line only where every
	 * input ran the same one, the earliest start. */
	const struct capture_header *h0 = &in[0]->hdr;
	struct capture_header h = *h0;
	h.producer = (struct capture_text){ (char *)"oneprof merge", 13 };
	for (size_t i = 1; i < n; i++) {
		const struct capture_header *hi = &in[i]->hdr;
		if (!text_eq(&hi->cmdline, &h.cmdline))
			h.cmdline = (struct capture_text){ NULL, 0 };
		if (hi->pid != h.pid)
			h.pid = 0;
		if (hi->start_realtime_ns && (!h.start_realtime_ns ||
					      hi->start_realtime_ns < h.start_realtime_ns))
			h.start_realtime_ns = hi->start_realtime_ns;
	}
	capture_header_copy(&p->hdr, &h);
	p->wall = in[0]->wall;
	p->unit = in[0]->unit ? copy(p, in[0]->unit) : NULL;
	p->heap_view = p->heap != NULL;
	p->heap_metric = HEAP_LEAK_BYTES;
	p->has_end = true;
	p->status = CAPTURE_READ_END;
	if (labels) {
		size_t len = 0;
		for (size_t i = 0; i < n; i++)
			len += strlen(labels[i]) + 2;
		char *s = xmalloc(len + 1), *o = s;
		for (size_t i = 0; i < n; i++)
			o += sprintf(o, "%s%s", i ? ", " : "", labels[i]);
		p->merged_from = copy(p, s);
		free(s);
	}
	return p;
}
