/* Building small profiles by hand for the unit tests: see builder.h. */
#include "builder.h"

#include <string.h>

#include "../../src/model/profile.h"
#include "../../src/util/util.h"

struct profile *tb_empty_profile(void)
{
	struct profile *p = xcalloc(1, sizeof(*p));
	p->intern = intern_new();
	p->name = profile_intern(p, "test.opf", 8);
	return p;
}

void tb_add_mapping(struct profile *p, uint64_t start, uint64_t end, const char *path,
		    const uint8_t *bid, size_t bidlen)
{
	GROW(p->mappings, p->cap_mappings, p->nmappings + 1);
	struct profile_mapping *m = &p->mappings[p->nmappings++];
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->path = profile_intern(p, path, strlen(path));
	if (bidlen)
		memcpy(m->build_id, bid, bidlen);
	m->build_id_len = bidlen;
}

void tb_add_function(struct profile *p, const char *name)
{
	GROW(p->functions, p->cap_functions, p->nfunctions + 1);
	p->functions[p->nfunctions].name = profile_intern(p, name, strlen(name));
	p->functions[p->nfunctions].module = "";
	p->functions[p->nfunctions].file = "";
	p->functions[p->nfunctions].start_line = 0;
	p->nfunctions++;
}

void tb_add_location(struct profile *p, uint64_t addr, int32_t mapping, uint32_t function)
{
	GROW(p->locations, p->cap_locations, p->nlocations + 1);
	struct profile_location *l = &p->locations[p->nlocations++];
	memset(l, 0, sizeof(*l));
	l->address = addr;
	l->mapping = mapping;
	l->function = function;
}

void tb_add_stack(struct profile *p, const uint32_t *locs, uint32_t n)
{
	GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
	struct profile_stack *s = &p->stacks[p->nstacks++];
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->pcs = xcalloc(n ? n : 1, sizeof(uint64_t));
	s->locations = xcalloc(n ? n : 1, sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		s->locations[i] = locs[i];
		s->pcs[i] = p->locations[locs[i]].address;
	}
}

void tb_add_thread(struct profile *p, uint64_t tid, const char *name)
{
	GROW(p->threads, p->cap_threads, p->nthreads + 1);
	struct profile_thread *t = &p->threads[p->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->name = profile_intern(p, name, strlen(name));
}

void tb_add_sample(struct profile *p, uint32_t thread, uint32_t stack, uint64_t count,
		   uint64_t time_ns)
{
	GROW(p->samples, p->cap_samples, p->nsamples + 1);
	struct profile_sample *s = &p->samples[p->nsamples++];
	memset(s, 0, sizeof(*s));
	s->time_ns = time_ns;
	s->thread = thread;
	s->stack = stack;
	s->count = count;
	s->cpu_ns = count * 10000000; /* 100 Hz */
	p->total_count += count;
	p->total_cpu_ns += s->cpu_ns;
}
