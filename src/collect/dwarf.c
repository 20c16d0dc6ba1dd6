/* --call-graph dwarf for the perf_event collector: the kernel copies each
 * sample's user registers and the top of its user stack; this unwinds the
 * copy at record time with the offline unwinder (src/unwind/space.c), so
 * the capture holds the pcs only, never the stack bytes.
 *
 * One unwind_files cache for the session: a module's tables are parsed
 * once, at the first walk that needs them, for every process mapping it.
 * One unwind_space per process, fed from the collector's own mapping
 * table as it changes (collect.c calls in on a new mapping, fork, exec and
 * when a process is freed), with the path readable from here
 * (/proc/PID/root/PATH). munmap sends no record: a mapping stays until
 * another one is mapped over it, as in the collector's table.
 *
 * A walk allocates nothing (the tables are built once per file) and reads
 * only the copy, so the collector keeps up with the sampling rate. */
#include "collect.h"
#include "collect_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/format.h"
#include "../unwind/unwind.h"
#include "../util/util.h"

struct collect_dwarf {
	struct unwind_files *files;
	uint64_t no_user, truncated;
};

struct collect_dwarf *collect_dwarf_new(void)
{
	struct collect_dwarf *d = xcalloc(1, sizeof(*d));
	d->files = unwind_files_new();
	if (!d->files) {
		free(d);
		return NULL;
	}
	return d;
}

void collect_dwarf_free(struct collect_dwarf *d)
{
	if (!d)
		return;
	unwind_files_free(d->files);
	free(d);
}

static struct unwind_space *space_of(struct collect_dwarf *d, struct collect_process *p)
{
	if (!p->space)
		p->space = unwind_space_new(d->files);
	return p->space;
}

void collect_dwarf_map(struct collect_dwarf *d, struct collect_process *p,
		       const struct collect_mapping *m)
{
	struct unwind_space *s = space_of(d, p);
	/* Out of memory: the pcs there take frame-pointer steps. */
	if (s)
		unwind_space_map(s, m->start, m->end, m->offset, m->open_path);
}

void collect_dwarf_fork(struct collect_dwarf *d, const struct collect_process *parent,
			struct collect_process *child)
{
	unwind_space_free(child->space);
	child->space = parent->space ? unwind_space_clone(parent->space)
				     : unwind_space_new(d->files);
}

void collect_dwarf_exec(struct collect_process *p)
{
	if (p->space)
		unwind_space_clear(p->space);
}

void collect_dwarf_forget(struct collect_process *p)
{
	unwind_space_free(p->space);
	p->space = NULL;
}

size_t collect_dwarf_user(struct collect_dwarf *d, struct collect_process *p,
			  const uint8_t *at, const uint8_t *end, uint64_t *pcs, size_t n,
			  size_t max, unsigned *reason, bool *bad)
{
	struct perf_user_stack u;
	if (!perf_parse_user_stack(at, end, &u)) {
		*bad = true;
		return n;
	}
	if (u.abi == PERF_SAMPLE_REGS_ABI_NONE) {
		d->no_user++; /* a kernel thread: its kernel frames are the stack */
		return n;
	}
	if (n >= max) {
		*reason = CAPTURE_STACK_TRUNCATED;
		return n;
	}
	if (u.abi != PERF_SAMPLE_REGS_ABI_64) {
		/* A 32-bit process: the x86-64 unwinder has no rows for it. */
		pcs[n++] = u.ip;
		*reason = CAPTURE_STACK_NO_UNWIND_INFO;
		return n;
	}
	struct unwind_space *s = space_of(d, p);
	if (!s) {
		pcs[n++] = u.ip;
		*reason = CAPTURE_STACK_NO_UNWIND_INFO;
		return n;
	}
	struct unwind_regs regs = { (uintptr_t)u.ip, (uintptr_t)u.sp, (uintptr_t)u.bp };
	unsigned why = CAPTURE_STACK_COMPLETE;
	unsigned got = unwind_space_walk(s, &regs, u.stack, (size_t)u.dyn_size, pcs + n,
					 (unsigned)(max - n), &why);
	if (why == CAPTURE_STACK_TRUNCATED)
		d->truncated++;
	*reason = why;
	return n + got;
}

void collect_dwarf_stats(const struct collect_dwarf *d, struct collect_stats *st)
{
	struct unwind_files_stats fs;
	unwind_files_get_stats(d->files, &fs);
	st->dwarf_files = fs.parsed;
	st->dwarf_files_failed = fs.failed;
	st->dwarf_no_user = d->no_user;
	st->dwarf_truncated = d->truncated;
}
