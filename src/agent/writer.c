/* The writer thread: drains every thread's ring, interns strings and
 * stacks, records the module mappings stacks point into (before the stack
 * itself, so definitions precede use), and writes the capture.
 *
 * Its tables are hand-written open-addressing sets over one byte arena:
 * the agent links nothing but libc and zstd, and these are the only two
 * tables it needs. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <link.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../capture/encoding.h"
#include "../capture/format.h"
#include "../capture/writer.h"
#include "../unwind/unwind.h"
#include "agent.h"
#include "jitmap.h"
#include "oneprof.h"

/* A table holding this many stacks is cleared and starts over: memory
 * stays bounded and stacks are simply defined again, under new ids. */
#define MAX_INTERNED (1u << 20)
#define DRAIN_INTERVAL_MS 50

struct blob_set {
	struct set_entry {
		uint64_t hash;
		uint64_t id;
	} *slots;
	size_t cap, count;
	uint64_t next_id;
	unsigned resets; /* times it started over */
};

struct module_range {
	uint64_t start, end;
};

static struct {
	struct capture_writer *cw;
	struct blob_set strings, stacks;
	struct module_range *modules;
	size_t nmodules, cap_modules;
	char exe[4096];
	bool rescanned; /* this drain already rescanned the modules */
	uint64_t samples;
	uint64_t lost_no_ring_reported;
	uint64_t heap_series_ids[3]; /* string ids of write_heap_series()'s names */
	uint64_t heap_gone[3]; /* heap totals of threads freed already */
	unsigned cpus;          /* CPUs the process may run on; 0: compress always */
	/* Pauses and resumes not yet written (threads_lock guards them). */
	struct pause_note {
		uint64_t time;
		bool paused;
	} pauses[64];
	unsigned npauses;
} w;

struct capture_writer *writer_capture(void)
{
	return w.cw;
}

static bool set_init(struct blob_set *s)
{
	s->cap = 1024;
	s->count = 0;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	return s->slots != NULL;
}

/* Returns the id of the blob and whether it is new. Blobs are identified
 * by their 64-bit hash alone: a collision would merge two stacks, with
 * odds near 2^-40 for a million stacks, a price worth not storing them. */
/* The slot holding hash h, or the empty slot where it would go. */
static size_t set_slot(const struct blob_set *s, uint64_t h)
{
	size_t i = (size_t)h & (s->cap - 1);
	while (s->slots[i].hash && s->slots[i].hash != h)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static uint64_t set_get(struct blob_set *s, const void *p, size_t len, bool *is_new)
{
	uint64_t h = XXH3_64bits(p, len) | 1; /* 0 marks an empty slot */
	size_t i = set_slot(s, h);
	*is_new = false;
	if (s->slots[i].hash)
		return s->slots[i].id;
	if ((s->count + 1) * 2 > s->cap) {
		size_t cap = s->count + 1 > MAX_INTERNED ? 1024 : s->cap * 2;
		struct set_entry *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return 0;
		if (cap > s->cap) {
			for (size_t k = 0; k < s->cap; k++) {
				if (!s->slots[k].hash)
					continue;
				size_t j = (size_t)s->slots[k].hash & (cap - 1);
				while (slots[j].hash)
					j = (j + 1) & (cap - 1);
				slots[j] = s->slots[k];
			}
		} else {
			s->count = 0; /* start over: ids keep growing */
			s->resets++;
		}
		free(s->slots);
		s->slots = slots;
		s->cap = cap;
		i = set_slot(s, h);
	}
	s->slots[i].hash = h;
	s->slots[i].id = ++s->next_id;
	s->count++;
	*is_new = true;
	return s->slots[i].id;
}

uint64_t writer_string_id(const char *str)
{
	bool is_new;
	size_t len = strlen(str);
	uint64_t id = set_get(&w.strings, str, len, &is_new);
	if (is_new)
		capture_write_string(w.cw, id, str, len);
	return id;
}

/* --- modules --- */

static void note_build_id(const struct dl_phdr_info *info, uint8_t *out, size_t *len)
{
	*len = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			const uint8_t *next = desc + ((nh->n_descsz + 3) & ~3u);
			if (next > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0 && nh->n_descsz <= 64) {
				memcpy(out, desc, nh->n_descsz);
				*len = nh->n_descsz;
				return;
			}
			p = next;
		}
	}
}

static bool module_known(uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < w.nmodules; i++)
		if (w.modules[i].start == start && w.modules[i].end == end)
			return true;
	return false;
}

static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	const char *path = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : w.exe;
	uint8_t build_id[64];
	size_t build_id_len = 0;
	bool have_id = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uint64_t start = info->dlpi_addr + ph->p_vaddr;
		uint64_t end = start + ph->p_memsz;
		if (module_known(start, end))
			continue;
		if (!have_id) {
			note_build_id(info, build_id, &build_id_len);
			have_id = true;
		}
		struct module_range *grown = w.modules;
		if (w.nmodules == w.cap_modules) {
			size_t cap = w.cap_modules ? w.cap_modules * 2 : 64;
			grown = realloc(w.modules, cap * sizeof(*grown));
			if (!grown)
				return 1;
			w.modules = grown;
			w.cap_modules = cap;
		}
		w.modules[w.nmodules++] = (struct module_range){ start, end };
		uint64_t prot = 4 | ((ph->p_flags & PF_W) ? 2 : 0) | ((ph->p_flags & PF_R) ? 1 : 0);
		capture_write_mapping(w.cw, w.nmodules, start, end, ph->p_offset, writer_string_id(path),
				      build_id, build_id_len, prot);
	}
	return 0;
}

static void scan_modules(void)
{
	dl_iterate_phdr(on_object, NULL);
	/* A module loaded by any path (dlopen from libc itself, say) gets its
	 * unwind table here at the latest; cheap when nothing changed. */
	unwind_rebuild();
}

static void cover_pcs(const uint64_t *pcs, unsigned n)
{
	for (unsigned i = 0; i < n && !w.rescanned; i++) {
		bool covered = false;
		for (size_t k = w.nmodules; k-- > 0 && !covered;)
			covered = pcs[i] >= w.modules[k].start && pcs[i] < w.modules[k].end;
		if (!covered) {
			/* A library loaded since the last scan (dlopen). */
			scan_modules();
			w.rescanned = true;
		}
	}
}

/* --- draining --- */

static void announce(struct agent_thread *t)
{
	uint64_t f[3] = { (uint64_t)t->tid, writer_string_id(t->name), t->start_ns };
	capture_write_varints(w.cw, CAPTURE_REC_THREAD, f, 3);
	t->announced = true;
}

static void write_lost(uint64_t reason, uint64_t count);

/* The id of a stack, defined in the capture (with the mappings its pcs
 * need) the first time it is seen; 0 when it cannot be interned. The
 * end reason is part of a stack's identity. */
static uint64_t intern_stack(unsigned reason, const uint64_t *pcs, unsigned n)
{
	uint64_t key[1 + 1024];
	if (n > 1024)
		return 0;
	key[0] = reason;
	memcpy(key + 1, pcs, n * sizeof(uint64_t));
	bool is_new;
	uint64_t id = set_get(&w.stacks, key, (1 + n) * sizeof(uint64_t), &is_new);
	if (is_new && id) {
		cover_pcs(pcs, n);
		capture_write_stack(w.cw, id, reason, pcs, n);
	}
	return id;
}

/* Writes one sample: a record of the thread's ring (header SAMPLE_WORDS)
 * or of the wall-clock ticker's (WALL_WORDS). */
static void emit_sample(struct agent_thread *t, const uint64_t *rec, unsigned words)
{
	uint64_t time = rec[1];
	uint64_t count = rec[2] & SAMPLE_COUNT_MASK;
	uint64_t state = (rec[2] >> 24) & 0xff;
	unsigned reason = (unsigned)((rec[2] >> 32) & 0xff);
	unsigned n = (unsigned)(rec[2] >> 40);
	if (n > rec[0] - words)
		return; /* cannot happen: the producer sets both */
	const uint64_t *pcs = rec + words;

	uint64_t id;
	if (reason == WALL_REPEAT) {
		id = t->wall_last_stack;
		if (!id)
			return;
	} else {
		id = intern_stack(reason, pcs, n);
		if (id == 0)
			return;
		/* A repeat means "where the thread's latest sample found it",
		 * which a sample taken in the thread itself says best. */
		if (words == SAMPLE_WORDS)
			t->wall_last_stack = id;
	}
	/* The label set goes last and only when there is one. */
	uint32_t labels = (uint32_t)rec[4];
	if (labels)
		labels_define(labels);
	if (agent.sampler == SAMPLER_WALL) {
		uint64_t f[7] = { time, (uint64_t)t->tid, id, count, rec[3], state, labels };
		capture_write_varints(w.cw, CAPTURE_REC_WALL_SAMPLE, f, labels ? 7 : 6);
	} else {
		uint64_t f[6] = { time, (uint64_t)t->tid, id, count, rec[3], labels };
		capture_write_varints(w.cw, CAPTURE_REC_CPU_SAMPLE, f, labels ? 6 : 5);
	}
	w.samples += count;
	metrics_note_samples(count);
	if (observe_wanted(ONEPROF_EVENT_SAMPLE) && reason != WALL_REPEAT) {
		struct oneprof_event ev = { .kind = ONEPROF_EVENT_SAMPLE,
					    .tid = t->tid,
					    .time_ns = time,
					    .pcs = (const unsigned long long *)pcs,
					    .npcs = n };
		observe_emit(&ev);
	}
}

/* Drains the thread's ring, up to samples taken before `until`. */
static void drain_ring(struct agent_thread *t, uint64_t until)
{
	const uint64_t *rec;
	while ((rec = ring_peek(t->ring)) && rec[1] < until) {
		emit_sample(t, rec, SAMPLE_WORDS);
		ring_release(t->ring, rec[0]);
	}
}

/* The wall-clock ticker's samples, first: they point at threads that
 * the loop below may free. Each thread's own samples older than a ticker
 * sample go out before it, so a repeat finds the stack it means. */
static void drain_ticker(void)
{
	struct ring *r = wall_ring();
	const uint64_t *rec;
	while (r && (rec = ring_peek(r))) {
		struct agent_thread *t = (struct agent_thread *)(uintptr_t)rec[5];
		drain_ring(t, rec[1]);
		if (!t->announced)
			announce(t);
		emit_sample(t, rec, WALL_WORDS);
		ring_release(r, rec[0]);
	}
	if (r) {
		uint64_t dropped = atomic_exchange(&r->dropped, 0);
		if (dropped)
			write_lost(CAPTURE_LOST_RING_FULL, dropped);
	}
}

void writer_lost(uint64_t source, uint64_t reason, uint64_t count)
{
	uint64_t f[3] = { source, reason, count };
	capture_write_varints(w.cw, CAPTURE_REC_LOST, f, 3);
	metrics_note_lost(source, count);
}

static void write_lost(uint64_t reason, uint64_t count)
{
	writer_lost(CAPTURE_LOST_CPU_SAMPLE, reason, count);
}

/* --- heap events ---
 * Each thread encodes its own events for its HEAP_STREAM
 * (doc/capture-format.md, "Heap event streams"), a few bytes each; the
 * writer copies them out ring by ring, interning the stacks threads send
 * and putting each slot's definition before the event that sent it, then
 * ends the drain with a HEAP_CLOCK point, up to which the reader merges
 * the threads' events by time. Tens of millions of events a second go
 * through here, and the writer reads none of their fields: decoding,
 * merging and encoding them again took it about 25 ns an event. */
#define HEAP_STREAM_BYTES (32u << 10)

static struct heap_stream {
	uint8_t body[HEAP_STREAM_BYTES];
	size_t len, start; /* start: where the events begin, after tid and flags */
	uint64_t allocs, frees; /* events in the capture: END's counts */
} hs;

static void stream_flush(void)
{
	if (hs.len > hs.start)
		capture_write_body(w.cw, CAPTURE_REC_HEAP_STREAM, hs.body, hs.len);
	hs.len = hs.start = 0;
}

static void stream_begin(uint64_t tid, uint64_t flags)
{
	hs.len = varint_put(hs.body, tid);
	hs.len += varint_put(hs.body + hs.len, flags);
	hs.start = hs.len;
}

/* Room for n more bytes in the open record of tid's stream. */
static void stream_room(uint64_t tid, size_t n)
{
	if (hs.len + n > sizeof(hs.body)) {
		stream_flush();
		stream_begin(tid, 0);
	}
}

static void stream_put(uint64_t v)
{
	hs.len += varint_put(hs.body + hs.len, v);
}

static void stream_control(unsigned kind)
{
	stream_put(CAPTURE_HEAP_ST_CONTROL);
	stream_put(kind);
}

static void observe_alloc(uint64_t tid, uint64_t ticks, uint64_t addr, uint64_t size)
{
	struct oneprof_event ev = { .kind = ONEPROF_EVENT_ALLOC,
				    .tid = (int)tid,
				    .time_ns = ticks_to_ns(ticks),
				    .address = addr,
				    .size = size };
	observe_emit(&ev);
}

/* Copies t's stream bytes from its ring's tail up to end (an event's
 * start), in pieces of whole events (stream_ring_cut), so that every
 * HEAP_STREAM record holds whole events. */
_Static_assert(STREAM_BLOCK + STREAM_RING_SLACK + 2 * VARINT_MAX_LEN <= HEAP_STREAM_BYTES,
	       "a piece of a stream fits a record");
static void copy_stream(struct stream_ring *r, uint64_t tid, uint64_t end)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	while (tail < end) {
		uint64_t cut = stream_ring_cut(r, tail, end);
		stream_room(tid, cut - tail);
		stream_ring_copy(r, tail, cut - tail, hs.body + hs.len);
		hs.len += cut - tail;
		tail = cut;
		atomic_store_explicit(&r->tail, tail, memory_order_release);
		heap_room_made();
	}
}

/* What a side record says to do before its event. */
static void take_side_record(uint64_t tid, const uint64_t *rec)
{
	uint64_t head = rec[0];
	const uint64_t *next = rec + 2;
	stream_room(tid, 6 * VARINT_MAX_LEN); /* a reset and a slot's definition */
	if (head & HEAP_REC_RESET)
		stream_control(CAPTURE_HEAP_CTL_RESET);
	if (head & HEAP_REC_PCS) {
		unsigned n = (unsigned)(*next >> 8);
		uint64_t id = intern_stack((unsigned)(*next & 0xff), next + 1, n);
		next += 1 + n;
		stream_control(CAPTURE_HEAP_CTL_SLOT);
		stream_put(HEAP_REC_SLOT(head));
		stream_put(id); /* 0: an unknown stack */
	}
	if (head & HEAP_REC_LABELS)
		labels_define(HEAP_REC_LABEL_SET(head));
	if (head & HEAP_REC_OBSERVED)
		observe_alloc(tid, next[0], next[1], next[2]);
}

/* Copies out what t's heap rings hold: the stream's bytes, with what each
 * side record says to do at its place among them. The event counts are
 * read before head, so that the events they count are all copied. */
static void drain_heap_ring(struct agent_thread *t)
{
	struct stream_ring *r = t->heap_stream;
	uint64_t tid = (uint64_t)t->tid;
	uint64_t allocs = atomic_load_explicit(&r->allocs, memory_order_acquire);
	uint64_t frees = atomic_load_explicit(&r->frees, memory_order_acquire);
	uint64_t end = atomic_load_explicit(&r->head, memory_order_acquire);
	stream_begin(tid, 0);
	const uint64_t *rec;
	/* A side record's event may not be in yet (its place is end): what it
	 * says still goes before it. */
	while ((rec = ring_peek(t->heap_ring)) && rec[1] <= end) {
		copy_stream(r, tid, rec[1]);
		take_side_record(tid, rec);
		ring_release(t->heap_ring, HEAP_REC_LEN(rec[0]));
	}
	copy_stream(r, tid, end);
	stream_flush();
	hs.allocs += allocs - r->allocs_taken;
	hs.frees += frees - r->frees_taken;
	r->allocs_taken = allocs;
	r->frees_taken = frees;
}

static bool heap_rings_empty(struct agent_thread *t)
{
	return !ring_peek(t->heap_ring) && atomic_load(&t->heap_stream->tail) ==
						     atomic_load(&t->heap_stream->head);
}

/* The orphan ring's events: each a stream of its own, read alone. */
static void drain_orphans(struct ring *r)
{
	const uint64_t *rec;
	while ((rec = ring_peek(r))) {
		bool alloc = rec[0] & HEAP_REC_ALLOC;
		stream_begin(rec[3], CAPTURE_HEAP_STREAM_ALONE);
		if (alloc) {
			uint64_t id = intern_stack(CAPTURE_STACK_NO_STACK_INFO, rec + 5, 1);
			stream_control(CAPTURE_HEAP_CTL_SLOT);
			stream_put(0);
			stream_put(id);
			stream_put((rec[1] >> HEAP_TICK_SHIFT) << CAPTURE_HEAP_ST_SHIFT |
				   CAPTURE_HEAP_ST_ALLOC);
			stream_put(zigzag_encode((int64_t)rec[2]));
			stream_put(rec[4]);
			stream_put(0);
			hs.allocs++;
			if (observe_wanted(ONEPROF_EVENT_ALLOC))
				observe_alloc(rec[3], rec[1], rec[2], rec[4]);
		} else {
			stream_put((rec[1] >> HEAP_TICK_SHIFT) << CAPTURE_HEAP_ST_SHIFT |
				   CAPTURE_HEAP_ST_FREE);
			stream_put(zigzag_encode((int64_t)rec[2]));
			hs.frees++;
		}
		stream_flush();
		ring_release(r, HEAP_REC_LEN(rec[0]));
	}
}

static void read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n;
	while (*len < cap && (n = read(fd, buf + *len, cap - *len)) > 0)
		*len += (size_t)n;
	close(fd);
}

/* Full heap tracking compresses the chunks it writes only with a CPU to
 * spare: no more threads runnable on the whole system (the writer among
 * them, /proc/loadavg's fourth field) than CPUs the process may use, and
 * no thread of the program waiting for room in its ring. Otherwise zstd's
 * time comes out of the program's: on the churn benchmark, two threads
 * on two CPUs, compressing every chunk took 11% more wall time than
 * storing them raw, for a capture about 1.5 times smaller. */
static bool cpu_to_spare(void)
{
	char buf[128];
	size_t n;
	read_file("/proc/loadavg", buf, sizeof(buf) - 1, &n);
	buf[n] = '\0';
	unsigned running;
	if (sscanf(buf, "%*s %*s %*s %u/", &running) != 1)
		return false;
	return running <= w.cpus && !heap_threads_waiting();
}

/* Writes what every heap ring holds, then the drain's clock point (the
 * one ticks_calibrate() just took): the reader merges the threads' events
 * up to it. */
static void drain_heap(void)
{
	if (w.cpus)
		capture_writer_set_compress(w.cw, cpu_to_spare());
	for (struct agent_thread *t = agent.threads; t; t = t->next)
		if (t->heap_ring)
			drain_heap_ring(t);
	if (heap_orphan_ring())
		drain_orphans(heap_orphan_ring());
	uint64_t f[2] = { ticks_latest() >> HEAP_TICK_SHIFT, ticks_latest_ns() };
	capture_write_varints(w.cw, CAPTURE_REC_HEAP_CLOCK, f, 2);
	heap_note_drained();
	uint64_t full, table, stopped;
	heap_lost_counts(&full, &table, &stopped);
	if (full)
		writer_lost(CAPTURE_LOST_HEAP_EVENT, CAPTURE_LOST_RING_FULL, full);
	if (table)
		writer_lost(CAPTURE_LOST_HEAP_EVENT, CAPTURE_LOST_SAMPLE_TABLE, table);
	if (stopped)
		writer_lost(CAPTURE_LOST_HEAP_EVENT, CAPTURE_LOST_AFTER_END, stopped);
}

/* Each thread's running totals of allocation calls, when they moved. */
static void write_heap_totals(struct agent_thread *t, const struct heap_counts *c)
{
	uint64_t allocs = c->allocs;
	if (!t->heap_ring || allocs == t->heap_totals_sent)
		return;
	uint64_t f[4] = { (uint64_t)t->tid, allocs, c->bytes, c->frees };
	capture_write_varints(w.cw, CAPTURE_REC_HEAP_TOTALS, f, 4);
	t->heap_totals_sent = allocs;
}

/* The process's heap totals (every thread's, those that ended too) as
 * series, at the time of the monitor's latest snapshot. */
static void write_heap_series(uint64_t time, const uint64_t totals[3])
{
	static const char *const names[3] = { "heap_allocations_total",
					      "heap_allocated_bytes_total", "heap_frees_total" };
	for (int i = 0; i < 3; i++) {
		if (!w.heap_series_ids[i])
			w.heap_series_ids[i] = writer_string_id(names[i]);
		uint64_t f[3] = { time, w.heap_series_ids[i], totals[i] };
		capture_write_varints(w.cw, CAPTURE_REC_METRIC, f, 3);
	}
}

static void write_thread_end(const struct agent_thread *t, uint64_t end_ns, uint64_t cpu_ns)
{
	uint64_t f[3] = { (uint64_t)t->tid, end_ns, cpu_ns };
	capture_write_varints(w.cw, CAPTURE_REC_THREAD_END, f, 3);
}

void writer_note_pause(bool paused)
{
	/* More than a drain interval's worth of toggles keeps the first and
	 * the last state: what is lost is flicker, never the final state. */
	unsigned i = w.npauses < 64 ? w.npauses++ : 63;
	w.pauses[i] = (struct pause_note){ agent_now_ns() - agent.start_ns, paused };
}

/* drain_all(true) at exit: threads still running end there too. */
static void drain_all(bool at_exit)
{
	w.rescanned = false;
	/* Before the rings are read: every heap event stamped before this
	 * point is in its ring already, bar a thread caught between its
	 * clock and its commit (the HEAP_CLOCK record says so). */
	ticks_calibrate();
	pthread_mutex_lock(&agent.threads_lock);
	for (unsigned i = 0; i < w.npauses; i++) {
		uint64_t f[2] = { w.pauses[i].time, w.pauses[i].paused };
		capture_write_varints(w.cw, CAPTURE_REC_PAUSE, f, 2);
	}
	w.npauses = 0;
	drain_ticker();
	if (agent.cfg.heap) {
		/* Threads first: a heap event names its thread by tid. */
		for (struct agent_thread *t = agent.threads; t; t = t->next)
			if (!t->announced)
				announce(t);
		drain_heap();
	}
	uint64_t monitored = monitor_write();
	uint64_t heap_totals[3] = { w.heap_gone[0], w.heap_gone[1], w.heap_gone[2] };
	struct agent_thread **link = &agent.threads;
	while (*link) {
		struct agent_thread *t = *link;
		bool exited = atomic_load_explicit(&t->exited, memory_order_acquire);
		if (!t->announced || atomic_exchange(&t->name_dirty, false))
			announce(t);
		drain_ring(t, UINT64_MAX);
		/* A copy: a running thread moves its totals meanwhile. */
		struct heap_counts c = *thread_heap_counts(t);
		write_heap_totals(t, &c);
		heap_totals[0] += c.allocs;
		heap_totals[1] += c.bytes;
		heap_totals[2] += c.frees;
		spans_drain_thread(t, at_exit);
		uint64_t dropped = atomic_exchange(&t->ring->dropped, 0);
		if (dropped)
			write_lost(CAPTURE_LOST_RING_FULL, dropped);
		/* An exited thread goes once its heap and span events are all
		 * out too. */
		if (exited && (!t->heap_ring || heap_rings_empty(t)) &&
		    spans_thread_done(t)) {
			write_thread_end(t, t->end_ns, t->cpu_ns);
			w.heap_gone[0] += c.allocs;
			w.heap_gone[1] += c.bytes;
			w.heap_gone[2] += c.frees;
			*link = t->next;
			threads_free(t);
			continue;
		}
		if (at_exit) {
			clockid_t clock;
			struct timespec ts = { 0, 0 };
			if (pthread_getcpuclockid(t->self, &clock) == 0)
				clock_gettime(clock, &ts);
			write_thread_end(t, agent_now_ns() - agent.start_ns,
					 (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
		}
		link = &t->next;
	}
	pthread_mutex_unlock(&agent.threads_lock);
	if (monitored && agent.cfg.heap)
		write_heap_series(monitored, heap_totals);
	spans_drain_end(at_exit);
	counters_write(agent_now_ns() - agent.start_ns);
	uint64_t no_ring = atomic_load(&agent.lost_no_ring);
	if (no_ring > w.lost_no_ring_reported) {
		write_lost(CAPTURE_LOST_NO_RING, no_ring - w.lost_no_ring_reported);
		w.lost_no_ring_reported = no_ring;
	}
}

void writer_sync(unsigned timeout_ms)
{
	if (atomic_load(&agent.state) != AGENT_RUNNING || !agent.writer_started ||
	    pthread_equal(pthread_self(), agent.writer))
		return;
	uint32_t asked = atomic_fetch_add(&agent.sync_seq, 1) + 1;
	heap_wake_writer();
	for (unsigned waited = 0; waited < timeout_ms; waited += 50) {
		uint32_t done = atomic_load(&agent.sync_done);
		if ((int32_t)(done - asked) >= 0)
			return;
		struct timespec ts = { 0, 50000000 };
		syscall(SYS_futex, &agent.sync_done, FUTEX_WAIT_PRIVATE, done, &ts, NULL, 0);
	}
}

/* Sleeps until the drain interval passed or someone bumped wake_seq. */
static void writer_sleep(uint32_t seen)
{
	struct timespec ts = { 0, DRAIN_INTERVAL_MS * 1000000L };
	syscall(SYS_futex, &agent.wake_seq, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void *writer_main(void *arg)
{
	(void)arg;
	heap_busy_enter(); /* the writer's allocations are never the program's */
	uint64_t last_flush = agent_now_ns();
	uint32_t seen = atomic_load(&agent.wake_seq);
	while (!atomic_load(&agent.stop_writer)) {
		writer_sleep(seen);
		if (atomic_load(&agent.stop_writer))
			break;
		/* Both read before the drain: a wake-up during it starts the
		 * next round at once, and only a sync asked before the drain
		 * began is answered by it (the drain takes heap events up to
		 * its start, so a later ask's events may not be out yet). */
		seen = atomic_load(&agent.wake_seq);
		uint32_t sync = atomic_load(&agent.sync_seq);
		control_poll();
		drain_all(false);
		uint64_t now = agent_now_ns();
		if (sync != atomic_load(&agent.sync_done) ||
		    now - last_flush >= (uint64_t)agent.cfg.flush_ms * 1000000u) {
			capture_writer_flush(w.cw);
			last_flush = now;
		}
		if (sync != atomic_load(&agent.sync_done)) {
			atomic_store(&agent.sync_done, sync);
			syscall(SYS_futex, &agent.sync_done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL,
				NULL, 0);
		}
	}
	return NULL;
}

/* --- start and finish --- */

static void build_header(struct capture_buf *h)
{
	char buf[8192];
	size_t len;
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);

	capture_header_u64(h, CAPTURE_HDR_PID, (uint64_t)agent.pid);
	read_file("/proc/self/cmdline", buf, sizeof(buf), &len);
	if (len && buf[len - 1] == '\0')
		len--;
	capture_header_bytes(h, CAPTURE_HDR_CMDLINE, buf, len);
	capture_header_u64(h, CAPTURE_HDR_START_REALTIME,
			   (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec);
	capture_header_u64(h, CAPTURE_HDR_START_CLOCK, agent.start_ns);
	capture_header_u64(h, CAPTURE_HDR_CLOCK_ID, CLOCK_MONOTONIC);
	snprintf(buf, sizeof(buf),
		 "hz=%u\nmax_depth=%u\nring_size=%llu\nflush_ms=%u\nsignal=%d\ntimer=%s\n"
		 "heap=%s\nheap_sample=%llu\nspans=%s\nspan_ring_size=%llu\nspan_window=%u\n"
		 "span_min_ns=%llu\nspan_max_depth=%u\ndump_signal=%d\nmonitor_ms=%u\n"
		 "max_overhead_ppm=%llu\n",
		 agent.cfg.hz, agent.cfg.max_depth, (unsigned long long)agent.cfg.ring_bytes,
		 agent.cfg.flush_ms, agent.cfg.signo, sampler_name(),
		 !agent.cfg.heap ? "off" : agent.cfg.heap_sample ? "sample" : "full",
		 (unsigned long long)agent.cfg.heap_sample,
		 !agent.cfg.spans ? "off" : agent.cfg.span_mode ? "flight" : "drop",
		 (unsigned long long)agent.cfg.span_ring_bytes, agent.cfg.span_window,
		 (unsigned long long)agent.cfg.span_min_ns, agent.cfg.span_max_depth,
		 agent.cfg.dump_signo, agent.cfg.monitor_ms,
		 (unsigned long long)agent.cfg.max_overhead_ppm);
	capture_header_str(h, CAPTURE_HDR_CONFIG, buf);
	capture_header_host(h);
	capture_header_str(h, CAPTURE_HDR_EXE, w.exe);
	capture_header_str(h, CAPTURE_HDR_SAMPLER, sampler_name());
	capture_header_u64(h, CAPTURE_HDR_HZ, agent.cfg.hz);
	capture_header_str(h, CAPTURE_HDR_PRODUCER, "oneprof-agent " ONEPROF_VERSION_STRING);
}

int writer_start(void)
{
	ssize_t n = readlink("/proc/self/exe", w.exe, sizeof(w.exe) - 1);
	w.exe[n > 0 ? n : 0] = '\0';
	w.cw = capture_writer_new(agent.fd, 0, 3);
	/* Full heap tracking streams every event, tens of millions a second
	 * of poorly compressible times and addresses, through this one
	 * thread: zstd's fast settings, with small tables. */
	if (w.cw && agent.cfg.heap && !agent.cfg.heap_sample) {
		capture_writer_compress_events(w.cw);
		cpu_set_t set;
		w.cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
	}
	if (!w.cw || !set_init(&w.strings) || !set_init(&w.stacks))
		return -ENOMEM;
	/* Stack ids start again at 1, and the reader knows no thread yet:
	 * each thread starts its stream over and sends its stacks again. */
	atomic_fetch_add(&agent.stack_gen, 1);
	capture_writer_tally_on(w.cw); /* the END record's summary fields */
	struct capture_buf h = { 0 };
	build_header(&h);
	int rc = capture_writer_begin(w.cw, &h);
	capture_buf_free(&h);
	if (rc != 0)
		return rc;
	if (atomic_load(&agent.paused))
		writer_note_pause(true); /* ONEPROF_PAUSED=1 */
	if (agent.cfg.heap) {
		/* The event clock's first point, from ticks_start() */
		uint64_t f[2] = { ticks_latest() >> HEAP_TICK_SHIFT, ticks_latest_ns() };
		capture_write_varints(w.cw, CAPTURE_REC_HEAP_CLOCK, f, 2);
	}
	scan_modules();

	rc = threads_create_unprofiled(&agent.writer, writer_main, NULL);
	if (rc != 0)
		return -rc;
	agent.writer_started = true;
	return 0;
}

void writer_forget(void)
{
	memset(&w, 0, sizeof(w));
	memset(&hs, 0, sizeof(hs));
}

void writer_release(void)
{
	free(w.strings.slots);
	free(w.stacks.slots);
	free(w.modules);
	writer_forget();
}

uint64_t writer_finish(void)
{
	if (agent.writer_started) {
		atomic_store(&agent.stop_writer, true);
		heap_wake_writer();
		pthread_join(agent.writer, NULL);
		agent.writer_started = false;
	}
	if (!w.cw)
		return 0;
	drain_all(true);
	struct timespec cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t end[12] = { agent_now_ns() - agent.start_ns,
			    (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec, w.samples,
			    (uint64_t)ru.ru_maxrss };
	/* The runtime's JIT symbols, which the report needs and the file
	 * system may not keep. */
	jitmap_write(w.cw, (int)agent.pid, writer_string_id);
	/* What a reader would count in the whole capture, so that
	 * 'oneprof record' can print its summary from the last chunk. */
	const struct capture_tally *t = capture_writer_tally(w.cw);
	if (t && !t->bad) {
		uint64_t more[8] = { t->threads,
				     t->sample_cpu_ns,
				     t->wall_count,
				     t->lost_samples,
				     hs.allocs,
				     hs.frees,
				     t->records[CAPTURE_REC_HEAP_TOTALS],
				     t->records[CAPTURE_REC_METRIC] };
		memcpy(end + 4, more, sizeof(more));
	}
	capture_write_varints(w.cw, CAPTURE_REC_END, end, t && !t->bad ? 12 : 4);
	int rc = capture_writer_free(w.cw);
	w.cw = NULL;
	if (rc != 0)
		fprintf(stderr, "oneprof: writing capture '%s' failed: %s; the capture is cut short\n",
			agent.path, strerror(-rc));
	return w.samples + hs.allocs + hs.frees + spans_taken();
}
