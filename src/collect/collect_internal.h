/* Between the collector's decoding half (collect.c) and its session
 * (session.c): not for other modules. */
#ifndef COLLECT_INTERNAL_H
#define COLLECT_INTERNAL_H

#include "collect.h"

#include <string.h>

/* A bounds-checked reader over one record. */
struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static inline uint64_t rd_u64(struct rd *r)
{
	uint64_t v = 0;
	if (r->end - r->p < 8) {
		r->bad = true;
		r->p = r->end;
		return 0;
	}
	memcpy(&v, r->p, 8);
	r->p += 8;
	return v;
}

static inline uint32_t rd_u32(struct rd *r)
{
	uint32_t v = 0;
	if (r->end - r->p < 4) {
		r->bad = true;
		r->p = r->end;
		return 0;
	}
	memcpy(&v, r->p, 4);
	r->p += 4;
	return v;
}

/* A NUL-terminated string inside the record; "" when unterminated. */
static inline const char *rd_str(struct rd *r)
{
	const uint8_t *nul = memchr(r->p, '\0', (size_t)(r->end - r->p));
	if (!nul) {
		r->bad = true;
		return "";
	}
	const char *s = (const char *)r->p;
	r->p = nul + 1;
	return s;
}

/* Adds a running process from /proc: name, command line, mappings and,
 * when threads is set, its threads' names. false: it is gone. */
bool collect_add_from_proc(struct collect *c, pid_t pid, bool threads);
/* Adds the launched command's process before it execs: no /proc look
 * (that would find oneprof's own image), its name from the command. */
void collect_add_command(struct collect *c, pid_t pid, const char *name);
/* The CPU time the profiled process used, for END (single target). */
void collect_set_process_cpu(struct collect *c, uint64_t ns);
/* Writes lost counts gathered since the last call, then cuts a chunk. */
int collect_flush(struct collect *c);
/* The user frames only: the kernel refused kernel samples. */
void collect_note_kernel_excluded(struct collect *c);
/* Reads /proc/kallsyms, to name the kernel frames of the stacks to come. */
void collect_load_kernel_symbols(struct collect *c);
struct collect_stats *collect_stats_mut(struct collect *c);
/* A perf callchain of thread tid of pid at time (context markers dropped;
 * ip stands for an empty one) as a STACK record, written the first time;
 * the thread and its process are written first. In DWARF mode, when end
 * is not NULL, the sample's user registers and stack copy follow the
 * chain up to end and give the user frames. Its stack id; 0 when those
 * were malformed (counted in bad_records). */
uint64_t collect_stack(struct collect *c, pid_t pid, pid_t tid, uint64_t time, uint64_t ip,
		       const uint8_t *chain, uint64_t nr, const uint8_t *end);
/* An OFF_CPU record: tid left its CPU at time (CLOCK_MONOTONIC) in
 * stack, for off_ns, in state (CAPTURE_STATE_*). */
void collect_write_off_cpu(struct collect *c, uint64_t time, pid_t tid, uint64_t stack,
			   uint64_t off_ns, unsigned state);

/* --call-graph dwarf (dwarf.c): one unwind files cache for the session
 * and one unwind space per process, kept in step with the collector's
 * mapping table, and the unwinding of each sample's copied user stack. */
struct collect_dwarf;
struct collect_dwarf *collect_dwarf_new(void);
void collect_dwarf_free(struct collect_dwarf *d);
/* A mapping added to p's table (a new one replaces what it overlaps). */
void collect_dwarf_map(struct collect_dwarf *d, struct collect_process *p,
		       const struct collect_mapping *m);
/* fork: child gets a copy of parent's space. */
void collect_dwarf_fork(struct collect_dwarf *d, const struct collect_process *parent,
			struct collect_process *child);
/* exec: p's mappings are gone. */
void collect_dwarf_exec(struct collect_process *p);
/* p is freed. */
void collect_dwarf_forget(struct collect_process *p);
/* The sample's user registers and stack copy at [at, end) (right after
 * the callchain): appends the user frames to pcs[0..n) (at most max in
 * all) and returns the new count; *reason becomes the walk's end reason.
 * A sample with no user context keeps its n frames. *bad is set when
 * the fields do not fit the record. */
size_t collect_dwarf_user(struct collect_dwarf *d, struct collect_process *p,
			  const uint8_t *at, const uint8_t *end, uint64_t *pcs, size_t n,
			  size_t max, unsigned *reason, bool *bad);
/* Adds the files cache's counts and the samples' to st. */
void collect_dwarf_stats(const struct collect_dwarf *d, struct collect_stats *st);

#endif
