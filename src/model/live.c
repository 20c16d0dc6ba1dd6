/* The live model of oneprof top. See live.h. */
#include "live.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../util/util.h"

struct profile_live {
	struct profile *p; /* the stream: every definition so far */
	/* Samples since the last take, one per (thread, stack, labels,
	 * state): an open-addressing table of index + 1 into pend. */
	struct profile_sample *pend;
	size_t npend, cap_pend;
	uint32_t *slots;
	size_t nslots; /* a power of two, at most half full */
};

struct profile_live *profile_live_new(const struct capture_header *h, const char *name)
{
	struct profile_live *l = xcalloc(1, sizeof(*l));
	l->p = profile_stream_new(h, name);
	l->nslots = 256;
	l->slots = xcalloc(l->nslots, sizeof(uint32_t));
	return l;
}

static size_t pend_slot(const struct profile_live *l, const struct profile_sample *s)
{
	uint32_t key[4] = { s->thread, s->stack, s->labels, s->state | (uint32_t)s->off_cpu << 8 };
	size_t mask = l->nslots - 1;
	for (size_t j = (size_t)XXH3_64bits(key, sizeof(key)) & mask;; j = (j + 1) & mask) {
		if (!l->slots[j])
			return j;
		const struct profile_sample *o = &l->pend[l->slots[j] - 1];
		if (o->thread == s->thread && o->stack == s->stack && o->labels == s->labels &&
		    o->state == s->state && o->off_cpu == s->off_cpu)
			return j;
	}
}

static void pend_add(struct profile_live *l, const struct profile_sample *s)
{
	if ((l->npend + 1) * 2 > l->nslots) {
		free(l->slots);
		l->nslots *= 2;
		l->slots = xcalloc(l->nslots, sizeof(uint32_t));
		for (size_t i = 0; i < l->npend; i++)
			l->slots[pend_slot(l, &l->pend[i])] = (uint32_t)i + 1;
	}
	size_t j = pend_slot(l, s);
	if (l->slots[j]) {
		struct profile_sample *o = &l->pend[l->slots[j] - 1];
		o->count += s->count;
		o->cpu_ns += s->cpu_ns;
		if (s->time_ns > o->time_ns)
			o->time_ns = s->time_ns; /* the latest: when it was last seen */
		return;
	}
	GROW(l->pend, l->cap_pend, l->npend + 1);
	l->pend[l->npend] = *s;
	l->slots[j] = (uint32_t)++l->npend;
}

bool profile_live_add(struct profile_live *l, const struct capture_record *rec)
{
	struct profile *p = l->p;
	if (!profile_stream_add(p, rec))
		return false;
	/* The stream keeps no samples: they wait here for the next take. */
	for (size_t i = 0; i < p->nsamples; i++)
		pend_add(l, &p->samples[i]);
	p->nsamples = 0;
	return true;
}

const struct profile *profile_live_stream(const struct profile_live *l)
{
	return l->p;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static bool has_pid(const uint64_t *pids, size_t n, uint64_t pid)
{
	return bsearch(&pid, pids, n, sizeof(uint64_t), cmp_u64) != NULL;
}

struct profile *profile_live_take(struct profile_live *l, bool cumulative)
{
	struct profile *p = l->p;
	profile_stream_processes(p);
	struct profile *q = profile_stream_new(&p->hdr, p->name);
	q->unit = p->unit;
	uint32_t *stack_of = xcalloc(p->nstacks + 1, sizeof(uint32_t));   /* new index + 1 */
	uint32_t *thread_of = xcalloc(p->nthreads + 1, sizeof(uint32_t)); /* new index + 1 */
	uint64_t *pids = xmalloc((l->npend + 1) * sizeof(uint64_t));
	size_t npids = 0;
	q->samples = xmalloc((l->npend + 1) * sizeof(*q->samples));
	q->cap_samples = l->npend + 1;
	for (size_t i = 0; i < l->npend; i++) {
		struct profile_sample s = l->pend[i];
		if (!stack_of[s.stack]) {
			const struct profile_stack *from = &p->stacks[s.stack];
			struct profile_stack st = *from;
			st.pcs = profile_alloc(q, st.n * sizeof(uint64_t));
			memcpy(st.pcs, from->pcs, st.n * sizeof(uint64_t));
			st.locations = NULL;
			GROW(q->stacks, q->cap_stacks, q->nstacks + 1);
			q->stacks[q->nstacks++] = st;
			stack_of[s.stack] = (uint32_t)q->nstacks;
			pids[npids++] = st.pid;
		}
		if (!thread_of[s.thread]) {
			struct profile_thread t = p->threads[s.thread];
			t.samples = t.sampled_cpu_ns = 0;
			GROW(q->threads, q->cap_threads, q->nthreads + 1);
			q->threads[q->nthreads++] = t;
			thread_of[s.thread] = (uint32_t)q->nthreads;
		}
		s.labels = 0; /* label sets are not carried over (top shows none) */
		s.stack = stack_of[s.stack] - 1;
		s.thread = thread_of[s.thread] - 1;
		profile_count_sample(q, &s);
		q->samples[q->nsamples++] = s;
	}
	q->coalesced = true;
	free(stack_of);
	free(thread_of);

	/* Processes as they are (the threads' indexes stay right); the
	 * mappings of the processes sampled only. */
	if (p->nprocesses) {
		q->processes = xmalloc(p->nprocesses * sizeof(*q->processes));
		memcpy(q->processes, p->processes, p->nprocesses * sizeof(*q->processes));
		q->nprocesses = q->cap_processes = p->nprocesses;
	}
	qsort(pids, npids, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < p->nmappings; i++) {
		if (!has_pid(pids, npids, p->mappings[i].pid))
			continue;
		GROW(q->mappings, q->cap_mappings, q->nmappings + 1);
		q->mappings[q->nmappings++] = p->mappings[i];
	}
	free(pids);
	if (p->nkernel_symbols) {
		q->kernel_symbols = xmalloc(p->nkernel_symbols * sizeof(*q->kernel_symbols));
		memcpy(q->kernel_symbols, p->kernel_symbols,
		       p->nkernel_symbols * sizeof(*q->kernel_symbols));
		q->nkernel_symbols = q->cap_kernel_symbols = p->nkernel_symbols;
	}
	if (p->njit_symbols) {
		q->jit_symbols = xmalloc(p->njit_symbols * sizeof(*q->jit_symbols));
		memcpy(q->jit_symbols, p->jit_symbols, p->njit_symbols * sizeof(*q->jit_symbols));
		q->njit_symbols = q->cap_jit_symbols = p->njit_symbols;
	}
	if (!cumulative) {
		l->npend = 0;
		memset(l->slots, 0, l->nslots * sizeof(uint32_t));
	}
	return q;
}

void profile_live_free(struct profile_live *l)
{
	if (!l)
		return;
	profile_free(l->p);
	free(l->pend);
	free(l->slots);
	free(l);
}
