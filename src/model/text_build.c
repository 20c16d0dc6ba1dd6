/* Building a resolved profile from another tool's text (text_build.h). */
#include "text_build.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../util/util.h"

/* --- one open-addressing table kind for every index: slots hold
 * index + 1, 0 is empty; the caller's hash and equality define it --- */

typedef uint64_t (*hash_of_fn)(const struct text_build *b, uint32_t index);
typedef bool (*equal_fn)(const struct text_build *b, uint32_t index, const void *key);

/* The slot of key (hash h) in *slots: holding its index + 1, or empty
 * (then the caller fills it). n: entries held, so the table grows at
 * half full. */
static uint32_t *slot_of(const struct text_build *b, uint32_t **slots, size_t *cap, size_t n,
			 uint64_t h, const void *key, hash_of_fn hash_of, equal_fn equal)
{
	if ((n + 1) * 2 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		uint32_t *ns = xcalloc(ncap, sizeof(uint32_t));
		for (size_t i = 0; i < *cap; i++) {
			if (!(*slots)[i])
				continue;
			size_t j = (size_t)hash_of(b, (*slots)[i] - 1) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = (*slots)[i];
		}
		free(*slots);
		*slots = ns;
		*cap = ncap;
	}
	size_t j = (size_t)h & (*cap - 1);
	while ((*slots)[j] && !equal(b, (*slots)[j] - 1, key))
		j = (j + 1) & (*cap - 1);
	return &(*slots)[j];
}

void text_build_init(struct text_build *b, const char *name, const char *format,
		     const struct profile_text_limits *lim, unsigned flags)
{
	memset(b, 0, sizeof(*b));
	struct profile *p = b->p = xcalloc(1, sizeof(*p));
	p->intern = intern_new();
	p->name = profile_intern(p, name, strlen(name));
	p->import.format = format;
	p->import.has_count = true;
	b->lim.max_frames = lim && lim->max_frames ? lim->max_frames : PROFILE_TEXT_MAX_FRAMES;
	b->lim.max_line = lim && lim->max_line ? lim->max_line : PROFILE_TEXT_MAX_LINE;
	b->keep_times = flags & PROFILE_SAMPLE_TIMES;
	p->coalesced = !b->keep_times;
}

const char *text_build_line(struct text_build *b, FILE *f, bool *long_)
{
	ssize_t n = getline(&b->buf, &b->buf_cap, f);
	if (n < 0)
		return NULL;
	b->line++;
	*long_ = false;
	while (n > 0 && (b->buf[n - 1] == '\n' || b->buf[n - 1] == '\r'))
		b->buf[--n] = '\0';
	/* A NUL inside would cut names short without a word: malformed. */
	if ((size_t)n > b->lim.max_line || strlen(b->buf) != (size_t)n) {
		*long_ = true;
		b->buf[0] = '\0';
	}
	return b->buf;
}

void text_build_bad(struct text_build *b, const char *why)
{
	struct profile_import *im = &b->p->import;
	if (!im->bad++) {
		im->first_bad_line = b->line;
		snprintf(im->bad_why, sizeof(im->bad_why), "%s", why);
	}
}

/* --- mappings: by path --- */

static uint64_t mapping_hash(const struct text_build *b, uint32_t i)
{
	const char *s = b->p->mappings[i].path;
	return XXH3_64bits(s, strlen(s));
}

static bool mapping_equal(const struct text_build *b, uint32_t i, const void *key)
{
	return b->p->mappings[i].path == key; /* interned */
}

int32_t text_build_mapping(struct text_build *b, const char *path, size_t len, uint64_t addr)
{
	struct profile *p = b->p;
	const char *s = profile_intern(p, path, len);
	uint32_t *slot = slot_of(b, &b->map_slots, &b->map_cap, p->nmappings,
				 XXH3_64bits(s, strlen(s)), s, mapping_hash, mapping_equal);
	if (*slot) {
		/* The range seen: pprof wants one, perf script gives none. */
		struct profile_mapping *m = &p->mappings[*slot - 1];
		if (addr < m->start)
			m->start = addr;
		if (addr >= m->end)
			m->end = addr + 1;
		return (int32_t)(*slot - 1);
	}
	GROW(p->mappings, p->cap_mappings, p->nmappings + 1);
	p->mappings[p->nmappings] = (struct profile_mapping){ .start = addr, .end = addr + 1,
							      .path = s };
	*slot = (uint32_t)++p->nmappings;
	return (int32_t)(*slot - 1);
}

uint32_t text_build_function(struct text_build *b, const char *name, size_t len,
			     const char *module)
{
	struct profile *p = b->p;
	if (!len) {
		name = "[unknown]";
		len = strlen(name);
	}
	struct profile_function f = { profile_intern(p, name, len),
				      profile_intern(p, module, strlen(module)),
				      profile_intern(p, "", 0), 0 };
	return profile_function_get(p, &b->fns, &f);
}

/* --- locations: by (function, address, mapping) --- */

struct loc_key {
	uint64_t addr;
	uint32_t fn;
	int32_t mapping;
};

static uint64_t loc_key_hash(const struct loc_key *k)
{
	return XXH3_64bits(k, sizeof(*k));
}

static uint64_t loc_hash(const struct text_build *b, uint32_t i)
{
	const struct profile_location *l = &b->p->locations[i];
	struct loc_key k = { l->address, l->function, l->mapping };
	return loc_key_hash(&k);
}

static bool loc_equal(const struct text_build *b, uint32_t i, const void *key)
{
	const struct profile_location *l = &b->p->locations[i];
	const struct loc_key *k = key;
	return l->address == k->addr && l->function == k->fn && l->mapping == k->mapping;
}

uint32_t text_build_location(struct text_build *b, uint32_t fn, uint64_t addr, int32_t mapping)
{
	struct profile *p = b->p;
	struct loc_key k;
	memset(&k, 0, sizeof(k)); /* padding hashed too */
	k.addr = addr;
	k.fn = fn;
	k.mapping = mapping;
	uint32_t *slot = slot_of(b, &b->loc_slots, &b->loc_cap, p->nlocations, loc_key_hash(&k), &k,
				 loc_hash, loc_equal);
	if (*slot)
		return *slot - 1;
	GROW(p->locations, p->cap_locations, p->nlocations + 1);
	/* No inline chain: the text formats name one function per frame. */
	p->locations[p->nlocations] =
		(struct profile_location){ .address = addr, .mapping = mapping, .function = fn };
	*slot = (uint32_t)++p->nlocations;
	return *slot - 1;
}

/* --- stacks: by their locations --- */

struct stack_key {
	const uint32_t *locs;
	size_t n;
};

static uint64_t stack_hash(const struct text_build *b, uint32_t i)
{
	const struct profile_stack *s = &b->p->stacks[i];
	return XXH3_64bits(s->locations, s->n * sizeof(uint32_t));
}

static bool stack_equal(const struct text_build *b, uint32_t i, const void *key)
{
	const struct profile_stack *s = &b->p->stacks[i];
	const struct stack_key *k = key;
	return s->n == k->n && (!k->n || !memcmp(s->locations, k->locs, k->n * sizeof(uint32_t)));
}

uint32_t text_build_stack(struct text_build *b, const uint32_t *locs, size_t n)
{
	struct profile *p = b->p;
	uint32_t end = CAPTURE_STACK_COMPLETE;
	if (n > b->lim.max_frames) {
		n = b->lim.max_frames;
		end = CAPTURE_STACK_TRUNCATED;
		p->import.truncated++;
	}
	struct stack_key k = { locs, n };
	uint32_t *slot = slot_of(b, &b->stack_slots, &b->stack_cap, p->nstacks,
				 XXH3_64bits(locs, n * sizeof(uint32_t)), &k, stack_hash, stack_equal);
	if (*slot)
		return *slot - 1;
	struct profile_stack s = { .n = (uint32_t)n, .end_reason = end };
	s.pcs = profile_alloc(p, n * sizeof(uint64_t));
	s.locations = profile_alloc(p, n * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		s.locations[i] = locs[i];
		s.pcs[i] = p->locations[locs[i]].address;
	}
	GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
	p->stacks[p->nstacks] = s;
	*slot = (uint32_t)++p->nstacks;
	return *slot - 1;
}

/* --- threads: by (pid, tid, name) --- */

struct thread_key {
	uint64_t pid, tid;
	const char *name; /* interned */
};

static uint64_t thread_key_hash(const struct thread_key *k)
{
	uint64_t v[3] = { k->pid, k->tid, (uint64_t)(uintptr_t)k->name };
	return XXH3_64bits(v, sizeof(v));
}

static uint64_t thread_hash(const struct text_build *b, uint32_t i)
{
	const struct profile_thread *t = &b->p->threads[i];
	struct thread_key k = { t->pid, t->tid, t->name };
	return thread_key_hash(&k);
}

static bool thread_equal(const struct text_build *b, uint32_t i, const void *key)
{
	const struct profile_thread *t = &b->p->threads[i];
	const struct thread_key *k = key;
	return t->pid == k->pid && t->tid == k->tid && t->name == k->name;
}

uint32_t text_build_thread(struct text_build *b, uint64_t pid, uint64_t tid, const char *name,
			   size_t len)
{
	struct profile *p = b->p;
	struct thread_key k = { pid, tid, profile_intern(p, name, len) };
	uint32_t *slot = slot_of(b, &b->thread_slots, &b->thread_cap, p->nthreads,
				 thread_key_hash(&k), &k, thread_hash, thread_equal);
	if (*slot)
		return *slot - 1;
	uint32_t proc = UINT32_MAX;
	if (pid) {
		for (size_t i = 0; i < p->nprocesses && proc == UINT32_MAX; i++)
			if (p->processes[i].pid == pid)
				proc = (uint32_t)i;
		if (proc == UINT32_MAX) {
			GROW(p->processes, p->cap_processes, p->nprocesses + 1);
			p->processes[p->nprocesses] = (struct profile_process){
				.pid = pid, .name = k.name, .cmdline = profile_intern(p, "", 0)
			};
			proc = (uint32_t)p->nprocesses++;
		}
		/* The main thread's name is the process's command. */
		if (tid == pid)
			p->processes[proc].name = k.name;
	}
	GROW(p->threads, p->cap_threads, p->nthreads + 1);
	p->threads[p->nthreads] = (struct profile_thread){
		.tid = tid, .name = k.name, .pid = pid, .process = proc
	};
	*slot = (uint32_t)++p->nthreads;
	return *slot - 1;
}

/* --- samples: by (thread, stack) unless every one is kept --- */

struct sample_key {
	uint32_t thread, stack;
};

static uint64_t sample_hash(const struct text_build *b, uint32_t i)
{
	const struct profile_sample *s = &b->p->samples[i];
	struct sample_key k = { s->thread, s->stack };
	return XXH3_64bits(&k, sizeof(k));
}

static bool sample_equal(const struct text_build *b, uint32_t i, const void *key)
{
	const struct profile_sample *s = &b->p->samples[i];
	const struct sample_key *k = key;
	return s->thread == k->thread && s->stack == k->stack;
}

void text_build_sample(struct text_build *b, uint32_t thread, uint32_t stack, uint64_t count,
		       uint64_t value, uint64_t time_ns)
{
	struct profile *p = b->p;
	uint64_t t = 0;
	if (time_ns != UINT64_MAX) {
		if (!b->have_time) {
			b->have_time = true;
			b->first_time_ns = time_ns;
		}
		/* Times before the first (perf script of several CPUs is
		 * nearly, not exactly, in order) count from the start. */
		t = time_ns > b->first_time_ns ? time_ns - b->first_time_ns : 0;
	}
	struct profile_sample s = { .time_ns = t, .thread = thread, .stack = stack,
				    .count = count, .cpu_ns = value };
	if (!b->keep_times) {
		struct sample_key k = { thread, stack };
		uint32_t *slot = slot_of(b, &b->sample_slots, &b->sample_cap, p->nsamples,
					 XXH3_64bits(&k, sizeof(k)), &k, sample_hash, sample_equal);
		if (*slot) {
			p->samples[*slot - 1].count += count;
			p->samples[*slot - 1].cpu_ns += value;
			profile_count_sample(p, &s);
			return;
		}
		*slot = (uint32_t)p->nsamples + 1;
	}
	GROW(p->samples, p->cap_samples, p->nsamples + 1);
	p->samples[p->nsamples++] = s;
	profile_count_sample(p, &s);
}

static void build_free(struct text_build *b)
{
	free(b->fns.slots);
	free(b->map_slots);
	free(b->loc_slots);
	free(b->stack_slots);
	free(b->thread_slots);
	free(b->sample_slots);
	free(b->buf);
}

void text_build_abort(struct text_build *b)
{
	build_free(b);
	profile_free(b->p);
	b->p = NULL;
}

struct profile *text_build_finish(struct text_build *b, const char *type, const char *unit,
				  uint64_t hz, const char *fix, char *err, size_t errlen)
{
	struct profile *p = b->p;
	const struct profile_import *im = &p->import;
	if (!p->nsamples) {
		if (im->bad)
			snprintf(err, errlen,
				 "cannot import '%s' as %s: no samples; %" PRIu64 " malformed "
				 "lines, the first at line %" PRIu64 ": %s; %s",
				 p->name, im->format, im->bad, im->first_bad_line, im->bad_why, fix);
		else
			snprintf(err, errlen, "cannot import '%s' as %s: no samples in it; %s",
				 p->name, im->format, fix);
		text_build_abort(b);
		return NULL;
	}
	/* Resolved already: profile_resolve() keeps what is there. */
	if (!p->locations)
		p->locations = xcalloc(1, sizeof(*p->locations));
	struct capture_header h = { 0 };
	h.producer = (struct capture_text){ (char *)im->format, strlen(im->format) };
	h.sampler = (struct capture_text){ (char *)"import", 6 };
	h.hz = hz;
	if (p->nprocesses == 1)
		h.pid = p->processes[0].pid;
	capture_header_copy(&p->hdr, &h);
	p->duration_ns = p->samples_end_ns;
	p->has_end = true;
	p->status = CAPTURE_READ_END;
	/* Read like a pprof profile: the sample type it holds, shown in
	 * reports and kept by the pprof exporter. */
	p->pprof = true;
	p->pprof_type = profile_intern(p, type, strlen(type));
	p->pprof_unit = profile_intern(p, unit, strlen(unit));
	p->unit = p->pprof_unit;
	build_free(b);
	b->p = NULL;
	return p;
}
