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

/* Appends a sample, or when the profile is coalesced adds it to the one
 * of the same thread, stack, label set and state. While reading, the
 * samples array of a coalesced profile is itself an open-addressing table
 * (an empty slot has no count), grown at three quarters full: one cache
 * miss per sample, where an index table beside the array would cost two.
 * coalesce_finish() packs it. */
static size_t sample_slot(const struct profile *p, const struct profile_sample *s)
{
	uint32_t key[4] = { s->thread, s->stack, s->labels, s->state | (uint32_t)s->off_cpu << 8 };
	size_t mask = p->cap_samples - 1;
	for (size_t j = (size_t)XXH3_64bits(key, sizeof(key)) & mask;; j = (j + 1) & mask) {
		const struct profile_sample *o = &p->samples[j];
		if (!o->count || (o->thread == s->thread && o->stack == s->stack &&
				  o->labels == s->labels && o->state == s->state &&
				  o->off_cpu == s->off_cpu))
			return j;
	}
}

static void add_sample(struct profile *p, const struct profile_sample *s)
{
	if (!p->coalesced) {
		GROW(p->samples, p->cap_samples, p->nsamples + 1);
		p->samples[p->nsamples++] = *s;
		return;
	}
	if (!s->count)
		return; /* stands for nothing */
	if (p->nsamples * 4 >= p->cap_samples * 3) {
		struct profile_sample *old = p->samples;
		size_t old_cap = p->cap_samples;
		p->cap_samples = old_cap ? old_cap * 2 : 1024;
		p->samples = xcalloc(p->cap_samples, sizeof(*p->samples));
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].count)
				p->samples[sample_slot(p, &old[i])] = old[i];
		free(old);
	}
	struct profile_sample *o = &p->samples[sample_slot(p, s)];
	if (!o->count) {
		*o = *s;
		p->nsamples++;
	} else {
		o->count += s->count;
		o->cpu_ns += s->cpu_ns;
		if (s->time_ns < o->time_ns)
			o->time_ns = s->time_ns;
	}
}

static int by_time(const void *a, const void *b)
{
	const struct profile_sample *x = a, *y = b;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* The table packed into an array, in order of first appearance. */
static void coalesce_finish(struct profile *p)
{
	if (!p->coalesced)
		return;
	size_t n = 0;
	for (size_t i = 0; i < p->cap_samples; i++)
		if (p->samples[i].count)
			p->samples[n++] = p->samples[i];
	qsort(p->samples, n, sizeof(*p->samples), by_time);
}

/* A stack deeper than this is a corrupt record, not a real stack. */
#define MAX_STACK_FRAMES 4096

const char *profile_intern(struct profile *p, const char *s, size_t len)
{
	return intern_str(p->intern, s, len);
}

void *profile_alloc(struct profile *p, size_t bytes)
{
	bytes = bytes ? (bytes + 7) & ~(size_t)7 : 8; /* never NULL, even for nothing */
	if (bytes > p->block_left) {
		/* Blocks double up to 4 MiB: a small profile stays small, a big
		 * one makes few blocks. */
		size_t size = (size_t)64 << 10 << (p->nblocks < 6 ? p->nblocks : 6);
		if (size < bytes)
			size = bytes;
		GROW(p->blocks, p->cap_blocks, p->nblocks + 1);
		p->blocks[p->nblocks++] = p->block_next = xmalloc_big(size);
		p->block_left = size;
	}
	void *r = p->block_next;
	p->block_next += bytes;
	p->block_left -= bytes;
	return r;
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

/* Threads by tid: an open-addressing table of thread index + 1, where a
 * reused tid maps to the latest thread with it. Every sample looks its
 * thread up, so this must not cost O(threads). */
static size_t tid_slot(const struct profile *p, uint64_t tid)
{
	size_t i = (size_t)XXH3_64bits(&tid, sizeof(tid)) & (p->tid_cap - 1);
	while (p->tid_slots[i] && p->threads[p->tid_slots[i] - 1].tid != tid)
		i = (i + 1) & (p->tid_cap - 1);
	return i;
}

static struct profile_thread *thread_find(struct profile *p, uint64_t tid)
{
	if (!p->tid_cap)
		return NULL;
	uint32_t idx = p->tid_slots[tid_slot(p, tid)];
	return idx ? &p->threads[idx - 1] : NULL;
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
	if (p->nthreads * 2 > p->tid_cap) {
		/* Rebuild in thread order, so the latest of a reused tid wins. */
		free(p->tid_slots);
		p->tid_cap = p->tid_cap ? p->tid_cap * 2 : 64;
		p->tid_slots = xcalloc(p->tid_cap, sizeof(*p->tid_slots));
		for (size_t k = 0; k + 1 < p->nthreads; k++)
			p->tid_slots[tid_slot(p, p->threads[k].tid)] = (uint32_t)k + 1;
	}
	p->tid_slots[tid_slot(p, tid)] = (uint32_t)p->nthreads;
	return t;
}

struct profile_thread *profile_thread_get(struct profile *p, uint64_t tid, uint64_t time)
{
	struct profile_thread *t = thread_find(p, tid);
	if (!t) {
		char name[32];
		snprintf(name, sizeof(name), "tid %" PRIu64, tid);
		t = thread_add(p, tid, profile_intern(p, name, strlen(name)), time);
	}
	return t;
}

const char *profile_string(struct profile *p, uint64_t id)
{
	bool ok = true;
	const char *s = string_ref(p, id, &ok);
	return ok ? s : NULL;
}

/* An optional trailing pid field: 0 or left out means the header's. */
static uint64_t trailing_pid(const struct profile *p, struct cursor *c)
{
	uint64_t pid = cursor_left(c) ? cursor_varint(c) : 0;
	return pid ? pid : p->hdr.pid;
}

static struct profile_process *process_latest(struct profile *p, uint64_t pid)
{
	for (size_t i = p->nprocesses; i-- > 0;)
		if (p->processes[i].pid == pid)
			return &p->processes[i];
	return NULL;
}

const struct profile_process *profile_process_find(const struct profile *p, uint64_t pid)
{
	return process_latest((struct profile *)p, pid);
}

static struct profile_process *process_add(struct profile *p, uint64_t pid, const char *name,
					   uint64_t time)
{
	GROW(p->processes, p->cap_processes, p->nprocesses + 1);
	struct profile_process *pr = &p->processes[p->nprocesses++];
	memset(pr, 0, sizeof(*pr));
	pr->pid = pid;
	pr->name = name;
	pr->cmdline = "";
	pr->start_ns = time;
	return pr;
}

void profile_count_sample(struct profile *p, const struct profile_sample *s)
{
	struct profile_thread *t = &p->threads[s->thread];
	t->samples += s->count;
	t->sampled_cpu_ns += s->cpu_ns;
	p->total_count += s->count;
	p->total_cpu_ns += s->cpu_ns;
	p->stack_ends[p->stacks[s->stack].end_reason] += s->count;
	p->state_ns[s->state] += s->cpu_ns;
	if (s->off_cpu) {
		p->off_cpu = p->wall = true;
		p->off_cpu_ns += s->cpu_ns;
	}
	if (s->time_ns > p->samples_end_ns)
		p->samples_end_ns = s->time_ns;
}

/* A decoded sample (its stack set) charged to thread tid, which takes
 * the stack's process when no THREAD record announced it, counted and
 * kept. */
static void take_sample(struct profile *p, struct profile_sample *s, uint64_t tid)
{
	struct profile_thread *t = profile_thread_get(p, tid, s->time_ns);
	if (!t->pid)
		t->pid = p->stacks[s->stack].pid;
	s->thread = (uint32_t)(t - p->threads);
	profile_count_sample(p, s);
	add_sample(p, s);
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
		m.pid = trailing_pid(p, &c);
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
		uint64_t pid = trailing_pid(p, &c);
		if (c.bad || !ok)
			return false;
		struct profile_thread *t = thread_find(p, tid);
		/* A thread first seen in a sample has pid 0 until now. */
		if (t && t->end_ns == 0 && (t->pid == pid || !t->pid)) {
			t->name = name; /* renamed while running */
			t->pid = pid;
		} else {
			thread_add(p, tid, name, time)->pid = pid;
		}
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
			profile_spans_thread_end(p, (uint32_t)(t - p->threads), time);
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
		s.pcs = profile_alloc(p, n * sizeof(uint64_t));
		uint64_t pc = 0;
		for (uint64_t i = 0; i < n; i++) {
			pc += (uint64_t)zigzag_decode(cursor_varint(&c));
			s.pcs[i] = pc;
		}
		s.pid = trailing_pid(p, &c);
		if (c.bad)
			return false;
		GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
		p->stacks[p->nstacks++] = s;
		return true;
	}
	case CAPTURE_REC_CPU_SAMPLE:
	case CAPTURE_REC_WALL_SAMPLE: {
		struct profile_sample s = { 0 };
		s.time_ns = cursor_varint(&c);
		uint64_t tid = cursor_varint(&c);
		uint64_t stack = cursor_varint(&c);
		s.count = cursor_varint(&c);
		s.cpu_ns = cursor_varint(&c);
		if (rec->kind == CAPTURE_REC_WALL_SAMPLE) {
			uint64_t state = cursor_varint(&c);
			if (state >= CAPTURE_STATE_COUNT || p->hdr.hz == 0)
				return false;
			/* A wall-clock sample stands for its periods of real
			 * time; that is the time every report adds up. */
			s.state = (uint8_t)state;
			s.cpu_ns = s.count * (1000000000u / p->hdr.hz);
			p->wall = true;
		}
		/* Optional trailing field: the thread's label set. */
		uint64_t labels = cursor_left(&c) ? cursor_varint(&c) : 0;
		if (c.bad || stack == 0 || stack > p->nstacks || s.count > UINT32_MAX ||
		    (labels && labels >= p->nlabel_sets))
			return false;
		s.labels = (uint32_t)labels;
		s.stack = (uint32_t)(stack - 1);
		take_sample(p, &s, tid);
		return true;
	}
	case CAPTURE_REC_OFF_CPU: {
		/* One blocking interval: a sample of its length, in the state
		 * the thread was in, beside the CPU samples (which are the
		 * running time), so the profile adds up to wall time. */
		struct profile_sample s = { 0 };
		s.time_ns = cursor_varint(&c);
		uint64_t tid = cursor_varint(&c);
		uint64_t stack = cursor_varint(&c);
		s.cpu_ns = cursor_varint(&c);
		uint64_t state = cursor_varint(&c);
		if (c.bad || stack == 0 || stack > p->nstacks || state >= CAPTURE_STATE_COUNT)
			return false;
		s.count = 1;
		s.state = (uint8_t)state;
		s.off_cpu = 1;
		s.stack = (uint32_t)(stack - 1);
		take_sample(p, &s, tid);
		return true;
	}
	case CAPTURE_REC_PROCESS: {
		uint64_t pid = cursor_varint(&c);
		const char *name = string_ref(p, cursor_varint(&c), &ok);
		uint64_t time = cursor_varint(&c);
		uint64_t ppid = cursor_varint(&c);
		const char *cmdline = string_ref(p, cursor_varint(&c), &ok);
		if (c.bad || !ok || pid == 0)
			return false;
		p->process_records++;
		struct profile_process *pr = process_latest(p, pid);
		if (pr && pr->end_ns == 0) {
			pr->name = name; /* exec'd: the new command */
		} else {
			pr = process_add(p, pid, name, time);
		}
		if (ppid)
			pr->ppid = ppid;
		if (*cmdline)
			pr->cmdline = cmdline;
		return true;
	}
	case CAPTURE_REC_PROCESS_END: {
		uint64_t pid = cursor_varint(&c);
		uint64_t time = cursor_varint(&c);
		if (c.bad)
			return false;
		struct profile_process *pr = process_latest(p, pid);
		if (pr && !pr->end_ns)
			pr->end_ns = time ? time : 1;
		return true;
	}
	case CAPTURE_REC_KERNEL_SYMBOL: {
		struct profile_kernel_symbol k;
		k.start = cursor_varint(&c);
		k.size = cursor_varint(&c);
		k.name = string_ref(p, cursor_varint(&c), &ok);
		if (c.bad || !ok)
			return false;
		GROW(p->kernel_symbols, p->cap_kernel_symbols, p->nkernel_symbols + 1);
		p->kernel_symbols[p->nkernel_symbols++] = k;
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
	case CAPTURE_REC_JIT_SYMBOL: {
		struct profile_jit_symbol j;
		j.start = cursor_varint(&c);
		j.size = cursor_varint(&c);
		j.name = string_ref(p, cursor_varint(&c), &ok);
		j.pid = 0; /* its JIT_MAP, which follows, says */
		if (c.bad || !ok)
			return false;
		GROW(p->jit_symbols, p->cap_jit_symbols, p->njit_symbols + 1);
		p->jit_symbols[p->njit_symbols++] = j;
		return true;
	}
	case CAPTURE_REC_JIT_MAP: {
		struct profile_jit_map m;
		m.pid = cursor_varint(&c);
		m.path = string_ref(p, cursor_varint(&c), &ok);
		m.symbols = cursor_varint(&c);
		m.bad_lines = cursor_varint(&c);
		m.dropped = cursor_varint(&c);
		if (c.bad || !ok)
			return false;
		GROW(p->jit_maps, p->cap_jit_maps, p->njit_maps + 1);
		p->jit_maps[p->njit_maps++] = m;
		/* The symbols since the last map are this one's. */
		for (size_t i = p->jit_unbound; i < p->njit_symbols; i++)
			p->jit_symbols[i].pid = m.pid ? m.pid : p->hdr.pid;
		p->jit_unbound = p->njit_symbols;
		return true;
	}
	case CAPTURE_REC_HEAP_ALLOC:
	case CAPTURE_REC_HEAP_FREE:
	case CAPTURE_REC_HEAP_TOTALS:
	case CAPTURE_REC_HEAP_EVENTS:
	case CAPTURE_REC_HEAP_CLOCK:
	case CAPTURE_REC_HEAP_STREAM:
		return profile_heap_record(p, rec);
	case CAPTURE_REC_METRIC:
		/* Every series in one store; RSS feeds the heap's chart too. */
		return profile_spans_record(p, rec) && profile_heap_record(p, rec);
	case CAPTURE_REC_SPAN_SITE:
	case CAPTURE_REC_SPAN_BEGIN:
	case CAPTURE_REC_SPAN_END:
	case CAPTURE_REC_SPAN_ATTR:
	case CAPTURE_REC_LABEL_SET:
	case CAPTURE_REC_SPAN_NOTE:
	case CAPTURE_REC_COUNTER:
	case CAPTURE_REC_OPS:
	case CAPTURE_REC_GC_BEGIN:
	case CAPTURE_REC_GC_END:
		return profile_spans_record(p, rec);
	default:
		return true; /* known range but not decoded by this version */
	}
}

/* The process table once everything is read: the header's process when
 * no PROCESS record named it, one entry for any other pid a thread names,
 * and each thread's index into it. */
static void processes_finish(struct profile *p)
{
	const struct capture_header *h = &p->hdr;
	/* A capture of the agent holds one process and says nothing of
	 * pids: its perf maps are its own whatever pid they carry. */
	for (size_t i = 0; i < p->njit_symbols; i++)
		if (!p->jit_symbols[i].pid || !p->process_records)
			p->jit_symbols[i].pid = h->pid;
	for (size_t i = 0; i < p->nthreads; i++)
		if (!p->threads[i].pid)
			p->threads[i].pid = h->pid;
	bool named = !p->process_records; /* the agent's: the header's process */
	for (size_t i = 0; i < p->nthreads && !named; i++)
		named = p->threads[i].pid == h->pid;
	if (h->pid && named && !process_latest(p, h->pid)) {
		const char *exe = *h->exe.s ? h->exe.s : h->cmdline.len ? h->cmdline.s : "";
		const char *base = path_basename(exe);
		char fallback[32];
		if (!*base) {
			snprintf(fallback, sizeof(fallback), "pid %" PRIu64, h->pid);
			base = fallback;
		}
		struct profile_process *pr =
			process_add(p, h->pid, profile_intern(p, base, strlen(base)), 0);
		/* argv joined by spaces, as PROCESS records carry it */
		char *cmd = xmalloc(h->cmdline.len + 1);
		for (size_t i = 0; i < h->cmdline.len; i++)
			cmd[i] = h->cmdline.s[i] ? h->cmdline.s[i] : ' ';
		size_t len = h->cmdline.len;
		while (len && cmd[len - 1] == ' ')
			len--;
		pr->cmdline = profile_intern(p, cmd, len);
		free(cmd);
	}
	for (size_t i = 0; i < p->nthreads; i++) {
		struct profile_thread *t = &p->threads[i];
		struct profile_process *pr = process_latest(p, t->pid);
		if (!pr && t->pid) {
			char name[32];
			snprintf(name, sizeof(name), "pid %" PRIu64, t->pid);
			pr = process_add(p, t->pid, profile_intern(p, name, strlen(name)), t->start_ns);
		}
		t->process = pr ? (uint32_t)(pr - p->processes) : UINT32_MAX;
	}
}

const struct profile_process *profile_thread_process(const struct profile *p,
						     const struct profile_thread *t)
{
	return t->process < p->nprocesses ? &p->processes[t->process] : NULL;
}

void profile_process_totals(const struct profile *p, uint64_t **samples, uint64_t **ns)
{
	*samples = xcalloc(p->nprocesses ? p->nprocesses : 1, sizeof(uint64_t));
	*ns = xcalloc(p->nprocesses ? p->nprocesses : 1, sizeof(uint64_t));
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct profile_thread *t = &p->threads[i];
		if (t->process >= p->nprocesses)
			continue;
		(*samples)[t->process] += t->samples;
		(*ns)[t->process] += t->sampled_cpu_ns;
	}
}

const char *profile_thread_label(const struct profile *p, const struct profile_thread *t,
				 char *buf, size_t len)
{
	const struct profile_process *pr = profile_thread_process(p, t);
	if (p->nprocesses > 1 && pr)
		snprintf(buf, len, "%s [%" PRIu64 "] in %s [%" PRIu64 "]", t->name, t->tid,
			 pr->name, pr->pid);
	else
		snprintf(buf, len, "%s [%" PRIu64 "]", t->name, t->tid);
	return buf;
}

struct profile *profile_read(FILE *f, const char *name, char *err, size_t errlen)
{
	return profile_read_with(f, name, PROFILE_SAMPLE_TIMES, err, errlen);
}

struct profile *profile_read_with(FILE *f, const char *name, unsigned flags, char *err,
				  size_t errlen)
{
	struct capture_reader *r = capture_reader_open(f, name, err, errlen);
	if (!r)
		return NULL;
	struct profile *p = xcalloc(1, sizeof(*p));
	p->coalesced = !(flags & PROFILE_SAMPLE_TIMES);
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
	coalesce_finish(p);
	processes_finish(p);
	profile_heap_finish(p);
	/* After the heap: it hands its allocations to the spans. */
	profile_spans_finish(p);
	p->status = capture_reader_status(r);
	snprintf(p->stop_reason, sizeof(p->stop_reason), "%s", capture_reader_stop_reason(r));
	p->chunks = capture_reader_chunks(r);
	p->good_bytes = capture_reader_good_bytes(r);
	p->skipped_records = capture_reader_skipped_records(r);
	capture_reader_free(r);
	return p;
}

struct profile *profile_stream_new(const struct capture_header *h, const char *name)
{
	struct profile *p = xcalloc(1, sizeof(*p));
	p->intern = intern_new();
	p->name = profile_intern(p, name, strlen(name));
	capture_header_copy(&p->hdr, h);
	return p;
}

bool profile_stream_add(struct profile *p, const struct capture_record *rec)
{
	return add_record(p, rec);
}

void profile_stream_processes(struct profile *p)
{
	processes_finish(p);
}

/* Reads a whole pprof file: protobuf needs random access to its tables. */
struct profile *profile_load_index(const char *path, const char *sample_index, char *err,
				   size_t errlen)
{
	return profile_load_with(path, sample_index, PROFILE_SAMPLE_TIMES, err, errlen);
}

struct profile *profile_load_with(const char *path, const char *sample_index, unsigned flags,
				  char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot open capture '%s': %s%s", path, strerror(e),
			 e == ENOENT ? "; check the path, or record one with 'oneprof record'" : "");
		return NULL;
	}
	/* The format is told by content (src/model/load.c). */
	struct profile *p = profile_load_stream(f, path, PROFILE_FORMAT_UNKNOWN, sample_index, NULL,
						flags, err, errlen);
	fclose(f);
	return p;
}

struct profile *profile_load(const char *path, char *err, size_t errlen)
{
	return profile_load_index(path, NULL, err, errlen);
}

const char *profile_config(const struct profile *p, const char *key)
{
	return capture_header_config(&p->hdr, key);
}

uint64_t profile_config_u64(const struct profile *p, const char *key, uint64_t def)
{
	const char *v = profile_config(p, key);
	return v ? strtoull(v, NULL, 10) : def;
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
	for (size_t i = 0; i < p->nblocks; i++)
		free(p->blocks[i]);
	free(p->blocks);
	capture_header_release(&p->hdr);
	free(p->mappings);
	free(p->threads);
	free(p->tid_slots);
	free(p->stacks);
	free(p->samples);
	free(p->lost);
	free(p->functions);
	free(p->locations);
	free(p->lines);
	free(p->jit_symbols);
	free(p->jit_maps);
	free(p->processes);
	free(p->kernel_symbols);
	profile_heap_free(p->heap);
	profile_spans_free(p->spans);
	free(p->label_sets);
	free(p->strings);
	intern_free(p->intern);
	free(p);
}

/* --- resolution: frames to locations and functions --- */

/* Open addressing, (u64 key, u32 space) -> value (0: empty slot). Key
 * and value share a slot: one cache miss per probe on maps of millions of
 * frames. The space tells apart one address in two processes. */
struct index_map {
	struct index_slot {
		uint64_t key;
		uint32_t val;
		uint32_t space;
	} *slots;
	size_t cap;
};

static void index_map_init(struct index_map *m, size_t expected)
{
	m->cap = 64;
	while (m->cap < expected * 2)
		m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
}

static void index_map_free(struct index_map *m)
{
	free(m->slots);
}

/* The slot holding key, or the empty slot where it belongs. Addresses
 * differ in their low bits: a multiplicative hash spreads them. */
static size_t index_map_slot(const struct index_map *m, uint64_t key, uint32_t space)
{
	uint64_t h = (key ^ ((uint64_t)space << 40)) * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 24) & (m->cap - 1);
	while (m->slots[i].val && (m->slots[i].key != key || m->slots[i].space != space))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* The space of kernel addresses: one for every process. */
#define SPACE_KERNEL UINT32_MAX


struct resolver {
	struct profile *p;
	struct symbolizer *sym;
	/* Address spaces: the distinct pids of mappings and stacks, sorted;
	 * a space is an index into them. Mappings by space then start, with
	 * the largest end so far in each space, for the lookup. */
	uint64_t *pids;
	size_t npids;
	uint32_t *by_start; /* mapping indexes */
	uint64_t *max_end;  /* per by_start entry: largest end in its space up to it */
	size_t *space_first; /* npids + 1: each space's range of by_start */
	struct profile_kernel_symbol *ksyms; /* sorted by start */
	const char *kernel_module;
	struct profile_jit_symbol *jit; /* the symbols of the space being resolved */
	uint32_t jit_space;
	/* The symbolizer's strings (stable while it lives) to the profile's
	 * copies: most frames repeat a name and a file. */
	struct index_map strings;
	const char **string_copies;
	size_t nstring_copies, cap_string_copies;
	const char **mapping_module; /* per mapping: its basename, once known */
	bool *mapping_anon;          /* per mapping: no file behind it */
	struct sym_module **mapping_sym; /* per mapping: the symbolizer's module, once asked */
	/* mapping_of's last answer, for addresses in [map_from, map_until). */
	uint32_t map_space;
	uint64_t map_from, map_until;
	int32_t map_best;
	struct profile_function_index functions; /* by identity */
	bool distinct; /* each (module, offset) is asked for once: no result cache */
	/* Recent frames' functions by the symbolizer's string pointers:
	 * neighbouring addresses are mostly in the same functions, so most
	 * frames skip the string copies and the function index. */
	struct function_memo {
		const char *name, *file, *module;
		uint32_t start_line, function;
	} memo[64];
};

/* A function's identity is what pprof keys a Function on; its strings
 * are interned in the profile, so pointers compare. */
static size_t function_hash(const struct profile_function *f)
{
	const uintptr_t key[4] = { (uintptr_t)f->name, (uintptr_t)f->module, (uintptr_t)f->file,
				   f->start_line };
	return (size_t)XXH3_64bits(key, sizeof(key));
}

uint32_t profile_function_get(struct profile *p, struct profile_function_index *ix,
			      const struct profile_function *f)
{
	if ((p->nfunctions + 1) * 2 > ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 1024;
		uint32_t *slots = xcalloc(cap, sizeof(uint32_t));
		for (size_t i = 0; i < p->nfunctions; i++) {
			size_t j = function_hash(&p->functions[i]) & (cap - 1);
			while (slots[j])
				j = (j + 1) & (cap - 1);
			slots[j] = (uint32_t)i + 1;
		}
		free(ix->slots);
		ix->slots = slots;
		ix->cap = cap;
	}
	size_t j = function_hash(f) & (ix->cap - 1);
	for (; ix->slots[j]; j = (j + 1) & (ix->cap - 1)) {
		const struct profile_function *g = &p->functions[ix->slots[j] - 1];
		if (g->name == f->name && g->module == f->module && g->file == f->file &&
		    g->start_line == f->start_line)
			return ix->slots[j] - 1;
	}
	GROW(p->functions, p->cap_functions, p->nfunctions + 1);
	p->functions[p->nfunctions] = *f;
	ix->slots[j] = (uint32_t)++p->nfunctions;
	return (uint32_t)(p->nfunctions - 1);
}

static uint32_t space_of(const struct resolver *rs, uint64_t pid)
{
	size_t lo = 0, hi = rs->npids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rs->pids[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo; /* every pid asked for is there */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int by_space_start(const void *a, const void *b, void *arg)
{
	const struct resolver *rs = arg;
	const struct profile_mapping *x = &rs->p->mappings[*(const uint32_t *)a];
	const struct profile_mapping *y = &rs->p->mappings[*(const uint32_t *)b];
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static void spaces_build(struct resolver *rs)
{
	const struct profile *p = rs->p;
	rs->pids = xmalloc((p->nmappings + p->nstacks + 1) * sizeof(uint64_t));
	size_t n = 0;
	for (size_t i = 0; i < p->nmappings; i++)
		rs->pids[n++] = p->mappings[i].pid;
	/* Stacks come in runs of one process: only where the pid changes
	 * (sorting one pid per stack cost more than the rest of this). */
	for (size_t i = 0; i < p->nstacks; i++)
		if (i == 0 || p->stacks[i].pid != p->stacks[i - 1].pid)
			rs->pids[n++] = p->stacks[i].pid;
	qsort(rs->pids, n, sizeof(uint64_t), cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || rs->pids[u - 1] != rs->pids[i])
			rs->pids[u++] = rs->pids[i];
	rs->npids = u;
	rs->by_start = xmalloc((p->nmappings + 1) * sizeof(uint32_t));
	rs->max_end = xmalloc((p->nmappings + 1) * sizeof(uint64_t));
	rs->space_first = xcalloc(u + 1, sizeof(size_t));
	for (size_t i = 0; i < p->nmappings; i++)
		rs->by_start[i] = (uint32_t)i;
	qsort_r(rs->by_start, p->nmappings, sizeof(uint32_t), by_space_start, rs);
	size_t k = 0;
	for (size_t sp = 0; sp < u; sp++) {
		rs->space_first[sp] = k;
		uint64_t most = 0;
		for (; k < p->nmappings && p->mappings[rs->by_start[k]].pid == rs->pids[sp]; k++) {
			if (p->mappings[rs->by_start[k]].end > most)
				most = p->mappings[rs->by_start[k]].end;
			rs->max_end[k] = most;
		}
	}
	rs->space_first[u] = k;
}

/* The mapping of a process holding addr, or -1. Of overlapping ones the
 * newest wins: after a dlclose/dlopen the later mapping is current. */
static int32_t mapping_of(struct resolver *rs, uint32_t space, uint64_t addr)
{
	/* Addresses come sorted: most fall where the last answer holds. */
	if (space == rs->map_space && addr >= rs->map_from && addr < rs->map_until)
		return rs->map_best;
	const struct profile_mapping *maps = rs->p->mappings;
	size_t lo = rs->space_first[space], end = rs->space_first[space + 1], hi = end;
	size_t first = lo;
	while (lo < hi) { /* the first mapping starting past addr */
		size_t mid = lo + (hi - lo) / 2;
		if (maps[rs->by_start[mid]].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	int32_t best = -1;
	/* Back while some mapping so far reaches past addr. */
	for (size_t k = lo; k-- > first && rs->max_end[k] > addr;) {
		uint32_t m = rs->by_start[k];
		if (addr < maps[m].end && (int32_t)m > best)
			best = (int32_t)m;
	}
	/* The answer holds up to the next start or the end of the best: a
	 * later-numbered mapping holding an address above addr would start
	 * after addr, and one that ends sooner was not the best. */
	rs->map_space = space;
	rs->map_from = addr;
	rs->map_until = lo < end ? maps[rs->by_start[lo]].start : UINT64_MAX;
	if (best >= 0 && maps[best].end < rs->map_until)
		rs->map_until = maps[best].end;
	rs->map_best = best;
	return best;
}

static int by_kernel_start(const void *a, const void *b)
{
	const struct profile_kernel_symbol *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

/* The kernel symbol holding addr, or NULL. */
static const struct profile_kernel_symbol *kernel_symbol_of(const struct resolver *rs,
							    uint64_t addr)
{
	size_t lo = UTIL_COUNT_LE(rs->ksyms, rs->p->nkernel_symbols, start, addr);
	if (lo == 0)
		return NULL;
	const struct profile_kernel_symbol *k = &rs->ksyms[lo - 1];
	if (k->size && addr - k->start >= k->size)
		return NULL;
	return k;
}

/* Gives the symbolizer the perf-map symbols of one process: JIT code of
 * another process at the same address is not this one's. */
static void jit_for_space(struct resolver *rs, uint32_t space)
{
	struct profile *p = rs->p;
	if (!rs->sym || !p->njit_symbols || space == rs->jit_space)
		return;
	rs->jit_space = space;
	if (!rs->jit)
		rs->jit = xmalloc(p->njit_symbols * sizeof(*rs->jit));
	size_t n = 0;
	for (size_t i = 0; i < p->njit_symbols; i++)
		if (space < rs->npids && p->jit_symbols[i].pid == rs->pids[space])
			rs->jit[n++] = p->jit_symbols[i];
	sym_set_jit(rs->sym, rs->jit, n);
}

/* The profile's copy of a string the symbolizer returned. */
static const char *copy_string(struct resolver *rs, const char *str)
{
	struct index_map *m = &rs->strings;
	if ((rs->nstring_copies + 1) * 2 > m->cap) {
		struct index_map old = *m;
		index_map_init(m, old.cap);
		for (size_t k = 0; k < old.cap; k++)
			if (old.slots[k].val)
				m->slots[index_map_slot(m, old.slots[k].key, 0)] = old.slots[k];
		index_map_free(&old);
	}
	size_t i = index_map_slot(m, (uint64_t)(uintptr_t)str, 0);
	if (m->slots[i].val)
		return rs->string_copies[m->slots[i].val - 1];
	GROW(rs->string_copies, rs->cap_string_copies, rs->nstring_copies + 1);
	const char *copy = profile_intern(rs->p, str, strlen(str));
	rs->string_copies[rs->nstring_copies++] = copy;
	m->slots[i] = (struct index_slot){ (uint64_t)(uintptr_t)str, (uint32_t)rs->nstring_copies, 0 };
	return copy;
}

/* Symbolizes one address into a new location and its inline chain. */
static uint32_t add_location(struct resolver *rs, uint64_t addr, uint32_t space)
{
	struct profile *p = rs->p;
	bool kernel = space == SPACE_KERNEL;
	int32_t m = kernel ? -1 : mapping_of(rs, space, addr);
	const struct profile_mapping *pm = m >= 0 ? &p->mappings[m] : NULL;
	const char *module = "";
	const struct sym_frame *frames = NULL;
	struct sym_frame one, buf[SYM_MAX_FRAMES];
	size_t n = 0;
	char fallback[512];
	bool anon = !pm && !kernel;
	if (kernel) {
		/* kallsyms names a module's function "name [module]". */
		const struct profile_kernel_symbol *k = kernel_symbol_of(rs, addr);
		module = rs->kernel_module;
		if (k) {
			const char *name = k->name;
			size_t len = strlen(name);
			const char *open = len && name[len - 1] == ']' ? strrchr(name, '[') : NULL;
			if (open && open > name) {
				module = profile_intern(p, open, len - (size_t)(open - name));
				while (open > name && (open[-1] == ' ' || open[-1] == '\t'))
					open--;
				len = (size_t)(open - name);
			}
			snprintf(fallback, sizeof(fallback), "%.*s", (int)len, name);
		} else {
			snprintf(fallback, sizeof(fallback), "[kernel]+0x%" PRIx64, addr);
		}
		one = (struct sym_frame){ fallback, "", 0, 0 };
		frames = &one;
		n = 1;
	}
	if (pm) {
		/* Once per mapping, not per address. */
		if (!rs->mapping_module[m]) {
			const char *base = path_basename(pm->path);
			rs->mapping_module[m] = profile_intern(p, base, strlen(base));
			rs->mapping_anon[m] = sym_mapping_is_anonymous(pm);
		}
		module = rs->mapping_module[m];
		anon = rs->mapping_anon[m];
	}
	if (rs->sym && pm && !anon && rs->distinct) {
		if (!rs->mapping_sym[m])
			rs->mapping_sym[m] = sym_module(rs->sym, pm);
		n = sym_lookup_module_into(rs->sym, rs->mapping_sym[m], pm, addr, buf);
		frames = buf;
	} else if (rs->sym && pm && !anon) {
		n = sym_lookup(rs->sym, pm, addr, &frames);
	}
	/* Code with no file behind it is JIT code: the runtime's perf map
	 * names it. */
	if (rs->sym && anon)
		jit_for_space(rs, space);
	const char *jit = rs->sym && anon ? sym_jit(rs->sym, addr) : NULL;
	if (jit) {
		one = (struct sym_frame){ jit, "", 0, 0 };
		frames = &one;
		n = 1;
		module = profile_intern(p, "[jit]", 5);
	}
	if (n == 0) {
		if (pm)
			snprintf(fallback, sizeof(fallback), "%s+0x%" PRIx64,
				 *module ? module : "[anon]", addr - pm->start + pm->offset);
		else
			snprintf(fallback, sizeof(fallback), "0x%" PRIx64, addr);
		one = (struct sym_frame){ fallback, "", 0, 0 };
		frames = &one;
		n = 1;
	}

	uint32_t loc = (uint32_t)p->nlocations;
	GROW(p->locations, p->cap_locations, p->nlocations + 1);
	GROW(p->lines, p->cap_lines, p->nlines + n);
	/* frames stay valid until the next lookup: intern before it. */
	for (size_t i = 0; i < n; i++) {
		const struct sym_frame *f = &frames[i];
		struct function_memo *mo = NULL;
		if (f->function != fallback) {
			uint64_t h = ((uintptr_t)f->function ^ (uintptr_t)f->file * 31) *
				     UINT64_C(0x9e3779b97f4a7c15);
			mo = &rs->memo[h >> 58];
			if (mo->name == f->function && mo->file == f->file && mo->module == module &&
			    mo->start_line == f->start_line) {
				p->lines[p->nlines++] = (struct profile_line){ mo->function, f->line };
				continue;
			}
		}
		/* The fallback name lives on this stack: copy it by value. */
		const char *name = f->function == fallback
					   ? profile_intern(p, fallback, strlen(fallback))
					   : copy_string(rs, f->function);
		struct profile_function k = { name, module, copy_string(rs, f->file), f->start_line };
		uint32_t fn = profile_function_get(p, &rs->functions, &k);
		p->lines[p->nlines++] = (struct profile_line){ fn, f->line };
		if (mo)
			*mo = (struct function_memo){ f->function, f->file, module, f->start_line, fn };
	}
	struct profile_location *l = &p->locations[p->nlocations++];
	l->address = addr;
	l->mapping = m;
	l->function = p->lines[p->nlines - 1].function;
	l->lines = NULL; /* set once p->lines stops moving */
	l->nlines = (uint32_t)n;
	return loc;
}

/* A return address points after the call: look up the call itself,
 * which is what the caller was executing. */
static uint64_t lookup_address(const struct profile_stack *s, uint32_t f)
{
	return f == 0 || s->pcs[f] == 0 ? s->pcs[f] : s->pcs[f] - 1;
}

void profile_resolve(struct profile *p, struct symbolizer *sym)
{
	if (p->locations)
		return;
	size_t frames = 0;
	for (size_t i = 0; i < p->nstacks; i++)
		frames += p->stacks[i].n;
	struct resolver rs = { .p = p, .sym = sym, .jit_space = UINT32_MAX - 1,
			       .map_space = UINT32_MAX };
	spaces_build(&rs);
	rs.kernel_module = profile_intern(p, "[kernel]", 8);
	rs.ksyms = xmalloc((p->nkernel_symbols + 1) * sizeof(*rs.ksyms));
	if (p->nkernel_symbols)
		memcpy(rs.ksyms, p->kernel_symbols, p->nkernel_symbols * sizeof(*rs.ksyms));
	qsort(rs.ksyms, p->nkernel_symbols, sizeof(*rs.ksyms), by_kernel_start);
	index_map_init(&rs.strings, 1024);
	rs.mapping_module = xcalloc(p->nmappings + 1, sizeof(char *));
	rs.mapping_anon = xcalloc(p->nmappings + 1, sizeof(bool));
	rs.mapping_sym = xcalloc(p->nmappings + 1, sizeof(*rs.mapping_sym));

	/* Distinct addresses first, then symbolized in address order: each
	 * module's symbols and debug info are read in one forward sweep.
	 * Every frame's (process, address) is sorted by radix passes (by
	 * address, then stably by process) and equal neighbours share a
	 * location: streaming passes, where a hash table of all frames
	 * costs a cache and TLB miss per frame on large captures. */
	struct util_kv *kv = xmalloc_big((frames ? frames : 1) * sizeof(*kv));
	uint32_t *spaces = xmalloc((frames ? frames : 1) * sizeof(uint32_t));
	size_t g = 0;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		uint32_t user = space_of(&rs, s->pid);
		for (uint32_t f = 0; f < s->n; f++, g++) {
			spaces[g] = s->pcs[f] >= CAPTURE_KERNEL_ADDRESS_MIN ? SPACE_KERNEL : user;
			kv[g] = (struct util_kv){ lookup_address(s, f), g };
		}
	}
	util_sort_kv(kv, frames);
	/* Sized once (at least the distinct addresses): grown by doubling,
	 * these arrays are copied and touched anew at every step. */
	size_t distinct = frames ? 1 : 0;
	for (size_t j = 1; j < frames; j++)
		distinct += kv[j].key != kv[j - 1].key;
	p->locations = xmalloc_big((distinct ? distinct : 1) * sizeof(*p->locations));
	p->cap_locations = distinct ? distinct : 1;
	size_t lines0 = p->nlines; /* chains start after any lines already there */
	if (!p->lines) {
		/* Room for an inlined frame per address: pages never written
		 * cost nothing, a regrown array is copied and touched anew. */
		p->cap_lines = 2 * distinct + 16;
		p->lines = xmalloc_big(p->cap_lines * sizeof(*p->lines));
	}
	bool one_space = true;
	for (size_t j = 1; j < frames && one_space; j++)
		one_space = spaces[j] == spaces[0];
	uint64_t *addr_of = NULL;
	if (!one_space) {
		addr_of = xmalloc(frames * sizeof(uint64_t));
		for (size_t j = 0; j < frames; j++) {
			addr_of[kv[j].val] = kv[j].key;
			kv[j].key = spaces[kv[j].val];
		}
		util_sort_kv(kv, frames);
	}
	rs.distinct = one_space;
	uint32_t *loc_of = profile_alloc(p, frames * sizeof(uint32_t));
	uint32_t loc = 0;
	uint64_t prev_addr = 0;
	uint32_t prev_space = 0;
	for (size_t j = 0; j < frames; j++) {
		size_t f = kv[j].val;
		uint64_t addr = one_space ? kv[j].key : addr_of[f];
		uint32_t space = one_space ? spaces[0] : spaces[f];
		if (j == 0 || addr != prev_addr || space != prev_space) {
			loc = add_location(&rs, addr, space);
			prev_addr = addr;
			prev_space = space;
		}
		loc_of[f] = loc;
	}
	free(kv);
	free(addr_of);
	free(spaces);
	/* loc_of holds the stacks' locations end to end: it becomes theirs. */
	g = 0;
	for (size_t i = 0; i < p->nstacks; i++) {
		p->stacks[i].locations = &loc_of[g];
		g += p->stacks[i].n;
	}
	/* Chains lie end to end in location order. */
	for (size_t i = 0, first = lines0; i < p->nlocations; first += p->locations[i++].nlines)
		p->locations[i].lines = &p->lines[first];
	index_map_free(&rs.strings);
	free(rs.string_copies);
	free(rs.mapping_module);
	free(rs.mapping_anon);
	free(rs.mapping_sym);
	free(rs.functions.slots);
	free(rs.pids);
	free(rs.by_start);
	free(rs.max_end);
	free(rs.space_first);
	free(rs.ksyms);
	free(rs.jit);
}

size_t profile_stack_functions(const struct profile *p, const struct profile_stack *s,
			       uint32_t *out, size_t cap)
{
	size_t n = 0;
	for (uint32_t f = 0; f < s->n && n < cap; f++) {
		uint32_t loc = s->locations ? s->locations[f] : UINT32_MAX;
		if (loc >= p->nlocations)
			continue;
		const struct profile_location *l = &p->locations[loc];
		if (l->nlines && l->lines) {
			for (uint32_t k = 0; k < l->nlines && n < cap; k++)
				if (l->lines[k].function < p->nfunctions)
					out[n++] = l->lines[k].function;
		} else if (l->function < p->nfunctions) {
			out[n++] = l->function;
		}
	}
	return n;
}

size_t profile_max_stack_functions(const struct profile *p)
{
	size_t most = 1;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		size_t n = 0;
		for (uint32_t f = 0; f < s->n; f++) {
			uint32_t loc = s->locations ? s->locations[f] : UINT32_MAX;
			n += loc < p->nlocations && p->locations[loc].nlines ? p->locations[loc].nlines
									      : 1;
		}
		if (n > most)
			most = n;
	}
	return most;
}
