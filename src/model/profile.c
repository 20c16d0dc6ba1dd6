/* Builds the profile model from a capture stream. See profile.h. */
#include "profile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../capture/encoding.h"
#include "../symbolize/symbolize.h"
#include "../util/util.h"

/* A stack deeper than this is a corrupt record, not a real stack. */
#define MAX_STACK_FRAMES 4096

const char *profile_intern(struct profile *p, const char *s, size_t len)
{
	return intern_str(p->intern, s, len);
}

static const char *string_ref(struct profile *p, uint64_t id, bool *ok)
{
	if (id == 0)
		return "";
	if (id > p->nstrings) {
		*ok = false;
		return "";
	}
	return p->strings[id - 1];
}

static struct profile_thread *thread_find(struct profile *p, uint64_t tid)
{
	/* Newest first: a reused tid means the latest thread with it. */
	for (size_t i = p->nthreads; i-- > 0;)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

static struct profile_thread *thread_add(struct profile *p, uint64_t tid, const char *name,
					 uint64_t time)
{
	GROW(p->threads, p->cap_threads, p->nthreads + 1);
	struct profile_thread *t = &p->threads[p->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->name = name;
	t->start_ns = time;
	return t;
}

/* Decodes one record into the model. false: the record is malformed. */
static bool add_record(struct profile *p, const struct capture_record *rec)
{
	struct cursor c = cursor_make(rec->body, rec->len);
	bool ok = true;

	switch (rec->kind) {
	case CAPTURE_REC_STRING: {
		uint64_t id = cursor_varint(&c);
		if (c.bad || id != p->nstrings + 1)
			return false;
		size_t len = cursor_left(&c);
		GROW(p->strings, p->cap_strings, p->nstrings + 1);
		p->strings[p->nstrings++] = (char *)profile_intern(p, (const char *)c.p, len);
		return true;
	}
	case CAPTURE_REC_MAPPING: {
		uint64_t id = cursor_varint(&c);
		struct profile_mapping m = { 0 };
		m.start = cursor_varint(&c);
		m.end = cursor_varint(&c);
		m.offset = cursor_varint(&c);
		m.path = string_ref(p, cursor_varint(&c), &ok);
		uint64_t blen = cursor_varint(&c);
		const uint8_t *bid = cursor_bytes(&c, blen);
		m.prot = cursor_varint(&c);
		if (c.bad || !ok || id != p->nmappings + 1 || blen > sizeof(m.build_id) ||
		    m.end < m.start)
			return false;
		memcpy(m.build_id, bid, blen);
		m.build_id_len = blen;
		GROW(p->mappings, p->cap_mappings, p->nmappings + 1);
		p->mappings[p->nmappings++] = m;
		return true;
	}
	case CAPTURE_REC_THREAD: {
		uint64_t tid = cursor_varint(&c);
		const char *name = string_ref(p, cursor_varint(&c), &ok);
		uint64_t time = cursor_varint(&c);
		if (c.bad || !ok)
			return false;
		struct profile_thread *t = thread_find(p, tid);
		if (t && t->end_ns == 0)
			t->name = name; /* renamed while running */
		else
			thread_add(p, tid, name, time);
		return true;
	}
	case CAPTURE_REC_THREAD_END: {
		uint64_t tid = cursor_varint(&c);
		uint64_t time = cursor_varint(&c);
		uint64_t cpu = cursor_left(&c) ? cursor_varint(&c) : 0; /* optional */
		if (c.bad)
			return false;
		struct profile_thread *t = thread_find(p, tid);
		if (t) {
			t->end_ns = time ? time : 1;
			t->cpu_ns = cpu;
		}
		return true;
	}
	case CAPTURE_REC_STACK: {
		uint64_t id = cursor_varint(&c);
		uint64_t reason = cursor_varint(&c);
		uint64_t n = cursor_varint(&c);
		/* Each frame takes at least one byte: bound n before allocating. */
		if (c.bad || id != p->nstacks + 1 || n > MAX_STACK_FRAMES || n > cursor_left(&c))
			return false;
		struct profile_stack s = { .n = (uint32_t)n,
					   .end_reason = reason < CAPTURE_STACK_END_COUNT
								 ? (uint32_t)reason
								 : CAPTURE_STACK_BAD_FRAME };
		s.pcs = xmalloc((n ? n : 1) * sizeof(uint64_t));
		uint64_t pc = 0;
		for (uint64_t i = 0; i < n; i++) {
			pc += (uint64_t)zigzag_decode(cursor_varint(&c));
			s.pcs[i] = pc;
		}
		if (c.bad) {
			free(s.pcs);
			return false;
		}
		GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
		p->stacks[p->nstacks++] = s;
		return true;
	}
	case CAPTURE_REC_CPU_SAMPLE: {
		struct profile_sample s;
		s.time_ns = cursor_varint(&c);
		uint64_t tid = cursor_varint(&c);
		uint64_t stack = cursor_varint(&c);
		s.count = cursor_varint(&c);
		s.cpu_ns = cursor_varint(&c);
		if (c.bad || stack == 0 || stack > p->nstacks || s.count > UINT32_MAX)
			return false;
		struct profile_thread *t = thread_find(p, tid);
		if (!t) {
			char name[32];
			snprintf(name, sizeof(name), "tid %" PRIu64, tid);
			t = thread_add(p, tid, profile_intern(p, name, strlen(name)), s.time_ns);
		}
		t->samples += s.count;
		t->sampled_cpu_ns += s.cpu_ns;
		s.thread = (uint32_t)(t - p->threads);
		s.stack = (uint32_t)(stack - 1);
		p->total_count += s.count;
		p->total_cpu_ns += s.cpu_ns;
		p->stack_ends[p->stacks[s.stack].end_reason] += s.count;
		GROW(p->samples, p->cap_samples, p->nsamples + 1);
		p->samples[p->nsamples++] = s;
		return true;
	}
	case CAPTURE_REC_LOST: {
		struct profile_lost l;
		l.source = (unsigned)cursor_varint(&c);
		l.reason = (unsigned)cursor_varint(&c);
		l.count = cursor_varint(&c);
		if (c.bad)
			return false;
		for (size_t i = 0; i < p->nlost; i++) {
			if (p->lost[i].source == l.source && p->lost[i].reason == l.reason) {
				p->lost[i].count += l.count;
				return true;
			}
		}
		GROW(p->lost, p->cap_lost, p->nlost + 1);
		p->lost[p->nlost++] = l;
		return true;
	}
	case CAPTURE_REC_PAUSE: {
		uint64_t time = cursor_varint(&c);
		bool paused = cursor_varint(&c) != 0;
		if (c.bad)
			return false;
		if (paused && !p->paused_now) {
			p->pauses++;
			p->paused_since = time;
		} else if (!paused && p->paused_now && time >= p->paused_since) {
			p->paused_ns += time - p->paused_since;
		}
		p->paused_now = paused;
		return true;
	}
	case CAPTURE_REC_END:
		p->duration_ns = cursor_varint(&c);
		p->process_cpu_ns = cursor_varint(&c);
		cursor_varint(&c); /* samples the writer wrote: recomputed above */
		p->peak_rss_kb = cursor_varint(&c);
		if (c.bad)
			return false;
		p->has_end = true;
		if (p->paused_now && p->duration_ns >= p->paused_since)
			p->paused_ns += p->duration_ns - p->paused_since;
		p->paused_now = false;
		return true;
	default:
		return true; /* known range but not decoded by this version */
	}
}

struct profile *profile_read(FILE *f, const char *name, char *err, size_t errlen)
{
	struct capture_reader *r = capture_reader_open(f, name, err, errlen);
	if (!r)
		return NULL;
	struct profile *p = xcalloc(1, sizeof(*p));
	p->intern = intern_new();
	p->name = profile_intern(p, name, strlen(name));
	capture_header_copy(&p->hdr, capture_reader_header(r));

	struct capture_record rec;
	while (capture_reader_next(r, &rec)) {
		if (!add_record(p, &rec)) {
			char why[64];
			snprintf(why, sizeof(why), "malformed record of kind %u", rec.kind);
			capture_reader_fail(r, why);
		}
	}
	p->status = capture_reader_status(r);
	snprintf(p->stop_reason, sizeof(p->stop_reason), "%s", capture_reader_stop_reason(r));
	p->chunks = capture_reader_chunks(r);
	p->good_bytes = capture_reader_good_bytes(r);
	p->skipped_records = capture_reader_skipped_records(r);
	capture_reader_free(r);
	return p;
}

struct profile *profile_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot open capture '%s': %s%s", path, strerror(e),
			 e == ENOENT ? "; check the path, or record one with 'oneprof record'" : "");
		return NULL;
	}
	struct profile *p = profile_read(f, path, err, errlen);
	fclose(f);
	return p;
}

const char *profile_incomplete_reason(const struct profile *p, char *buf, size_t len)
{
	if (p->status == CAPTURE_READ_END && p->has_end)
		return NULL;
	if (p->status == CAPTURE_READ_END)
		snprintf(buf, len,
			 "capture '%s' has no end record (the profiled program was killed or "
			 "crashed): read all %" PRIu64 " chunks, %" PRIu64 " bytes",
			 p->name, p->chunks, p->good_bytes);
	else
		snprintf(buf, len,
			 "capture '%s' is incomplete: read %" PRIu64 " whole chunks (%" PRIu64
			 " bytes), then stopped at %s",
			 p->name, p->chunks, p->good_bytes, p->stop_reason);
	return buf;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstacks; i++) {
		free(p->stacks[i].pcs);
		free(p->stacks[i].locations);
	}
	capture_header_release(&p->hdr);
	free(p->mappings);
	free(p->threads);
	free(p->stacks);
	free(p->samples);
	free(p->lost);
	free(p->functions);
	free(p->locations);
	free(p->strings);
	intern_free(p->intern);
	free(p);
}

/* --- resolution: frames to locations and functions --- */

/* Open addressing, u64 key -> index + 1 (0: empty slot). */
struct index_map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap;
};

static void index_map_init(struct index_map *m, size_t expected)
{
	m->cap = 64;
	while (m->cap < expected * 2)
		m->cap *= 2;
	m->keys = xcalloc(m->cap, sizeof(uint64_t));
	m->vals = xcalloc(m->cap, sizeof(uint32_t));
}

static void index_map_free(struct index_map *m)
{
	free(m->keys);
	free(m->vals);
}

struct resolver {
	struct profile *p;
	struct symbolizer *sym;
	struct index_map locations; /* by lookup address */
	struct index_map functions; /* by hash of interned name and module */
};

static int32_t mapping_of(const struct profile *p, uint64_t addr)
{
	/* Newest first: after a dlclose/dlopen the later mapping is current. */
	for (size_t i = p->nmappings; i-- > 0;)
		if (addr >= p->mappings[i].start && addr < p->mappings[i].end)
			return (int32_t)i;
	return -1;
}

static uint32_t function_of(struct resolver *rs, const char *name, const char *module)
{
	struct profile *p = rs->p;
	struct index_map *fm = &rs->functions;
	/* Names and modules are interned: their pointers are their identity. */
	const uintptr_t key[2] = { (uintptr_t)name, (uintptr_t)module };
	size_t i = (size_t)XXH3_64bits(key, sizeof(key)) & (fm->cap - 1);
	while (fm->vals[i]) {
		const struct profile_function *f = &p->functions[fm->vals[i] - 1];
		if (f->name == name && f->module == module)
			return fm->vals[i] - 1;
		i = (i + 1) & (fm->cap - 1);
	}
	GROW(p->functions, p->cap_functions, p->nfunctions + 1);
	p->functions[p->nfunctions].name = name;
	p->functions[p->nfunctions].module = module;
	fm->vals[i] = (uint32_t)++p->nfunctions;
	return (uint32_t)(p->nfunctions - 1);
}

static uint32_t location_of(struct resolver *rs, uint64_t addr)
{
	struct profile *p = rs->p;
	struct index_map *am = &rs->locations;
	size_t i = (size_t)XXH3_64bits(&addr, sizeof(addr)) & (am->cap - 1);
	while (am->vals[i]) {
		if (am->keys[i] == addr)
			return am->vals[i] - 1;
		i = (i + 1) & (am->cap - 1);
	}
	int32_t m = mapping_of(p, addr);
	const char *name = NULL, *module = "";
	char fallback[512];
	if (m >= 0) {
		const struct profile_mapping *pm = &p->mappings[m];
		module = profile_intern(p, path_basename(pm->path), strlen(path_basename(pm->path)));
		name = rs->sym ? sym_function(rs->sym, pm, addr) : NULL;
		if (!name) {
			snprintf(fallback, sizeof(fallback), "%s+0x%" PRIx64,
				 *module ? module : "[anon]", addr - pm->start + pm->offset);
			name = fallback;
		}
	} else {
		snprintf(fallback, sizeof(fallback), "0x%" PRIx64, addr);
		name = fallback;
	}
	name = profile_intern(p, name, strlen(name));
	GROW(p->locations, p->cap_locations, p->nlocations + 1);
	struct profile_location *loc = &p->locations[p->nlocations];
	loc->address = addr;
	loc->mapping = m;
	loc->function = function_of(rs, name, module);
	am->keys[i] = addr;
	am->vals[i] = (uint32_t)++p->nlocations;
	return (uint32_t)(p->nlocations - 1);
}

void profile_resolve(struct profile *p, struct symbolizer *sym)
{
	if (p->locations)
		return;
	size_t frames = 0;
	for (size_t i = 0; i < p->nstacks; i++)
		frames += p->stacks[i].n;
	/* Every frame could be a distinct location and function: size both
	 * maps for that so they never fill. */
	struct resolver rs = { .p = p, .sym = sym };
	index_map_init(&rs.locations, frames);
	index_map_init(&rs.functions, frames);
	for (size_t i = 0; i < p->nstacks; i++) {
		struct profile_stack *s = &p->stacks[i];
		s->locations = xmalloc((s->n ? s->n : 1) * sizeof(uint32_t));
		for (uint32_t f = 0; f < s->n; f++) {
			/* A return address points after the call: look up the
			 * call itself, which is what the caller was executing. */
			uint64_t addr = f == 0 || s->pcs[f] == 0 ? s->pcs[f] : s->pcs[f] - 1;
			s->locations[f] = location_of(&rs, addr);
		}
	}
	index_map_free(&rs.locations);
	index_map_free(&rs.functions);
}

size_t profile_stack_functions(const struct profile *p, const struct profile_stack *s,
			       uint32_t *out, size_t cap)
{
	size_t n = 0;
	for (uint32_t f = 0; f < s->n && n < cap; f++) {
		uint32_t loc = s->locations ? s->locations[f] : UINT32_MAX;
		if (loc < p->nlocations && p->locations[loc].function < p->nfunctions)
			out[n++] = p->locations[loc].function;
	}
	return n;
}
