/* Async-signal-safe stack unwinding for x86-64 Linux from .eh_frame CFI.
 *
 * src/unwind/ owns unwinding: tables built outside the signal handler from
 * every loaded module's .eh_frame_hdr/.eh_frame (eh_frame.c), and a walker
 * that the SIGPROF handler calls (walk.c). Stacks come out right for code
 * built without frame pointers (GCC -O2, Debian's libc, frameless leaves).
 *
 * The DWARF CFI parser is hand-written on purpose: the agent is injected
 * into the profiled process and links only libc, pthread and zstd, so
 * libunwind, libelf and libgcc's unwinder are out. It understands the
 * subset of CFI that compilers and glibc emit for x86-64; anything else
 * becomes a range with no rule, where the walker takes one frame-pointer
 * step instead.
 *
 * The same rows also unwind stacks offline (space.c, CLI side only): a
 * copy of a user stack taken by the kernel for the out-of-process
 * collector, with tables read from the module files on disk.
 *
 * Ownership: the module owns every in-process table; unwind_free()
 * releases them. */
#ifndef UNWIND_H
#define UNWIND_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "../capture/format.h"

/* End reason for "pc in no module with CFI and the frame-pointer fallback
 * failed". Becomes CAPTURE_STACK_NO_UNWIND_INFO (4) once format.h has it. */
#define UNWIND_STACK_NO_UNWIND_INFO CAPTURE_STACK_NO_UNWIND_INFO

/* The interrupted context: rip, rsp and rbp. */
struct unwind_regs {
	uintptr_t pc, sp, fp;
};

/* Builds the CFI tables of every module now loaded (dl_iterate_phdr,
 * PT_GNU_EH_FRAME -> .eh_frame_hdr -> .eh_frame, read from process memory)
 * and publishes them for unwind_walk; tables of modules still loaded are
 * kept, only new modules are parsed, and nothing is done when the loader
 * reports no load or unload since the last call. Call it at start and after
 * dlopen/dlclose from an ordinary thread (it allocates, takes the loader
 * lock and waits for walks in progress on the old tables to finish).
 * Returns 0 or -errno. */
int unwind_rebuild(void);

/* Walks the stack from regs: pcs[0] = regs->pc, then return addresses, at
 * most max entries. Returns the count and sets *end_reason to a
 * CAPTURE_STACK_* value: COMPLETE at the outermost frame (return address 0,
 * return address column undefined, or a signal trampoline, whose ucontext
 * is not parsed), TRUNCATED at max, BAD_FRAME when a slot would be read
 * outside [max(stack_lo, regs->sp), stack_hi) or the walk does not move up
 * the stack, UNWIND_STACK_NO_UNWIND_INFO when a pc has no CFI and the
 * frame-pointer step fails. Async-signal-safe: no allocation, lock, stdio
 * or system call, and every load is a bounds-checked stack slot. */
unsigned unwind_walk(const struct unwind_regs *regs, uintptr_t stack_lo, uintptr_t stack_hi,
		     uint64_t *pcs, unsigned max, unsigned *end_reason);

/* unwind_walk() that also records the stack slots it read, so a caller
 * can tell later, by reading the same slots again, that a walk from the
 * same registers would give the same frames (the walk is a function of
 * its registers, the slots it reads, the thread's stack bounds and the
 * tables, whose generation the trace keeps; of its fp only when fp_used).
 * n > UNWIND_TRACE_MAX, or gen UNWIND_TRACE_NONE: the walk cannot be
 * replayed. Async-signal-safe. */
#define UNWIND_TRACE_MAX 48
#define UNWIND_TRACE_NONE 0xffffffffu
struct unwind_trace {
	unsigned n, gen;
	bool fp_used;
	uintptr_t addr[UNWIND_TRACE_MAX], val[UNWIND_TRACE_MAX];
};
/* A thread's cache of the table rows its walks found, by pc: a frame
 * seen before costs one probe instead of two binary searches (over the
 * modules, then over the module's rows), which on deep stacks of a big
 * program were most of a walk. Owned by one thread and never used from a
 * signal handler; zeroed memory is an empty cache. */
struct unwind_row_cache;
#define UNWIND_ROW_CACHE_BYTES (64 + 2048 * 32)
/* cache may be NULL. */
unsigned unwind_walk_traced(const struct unwind_regs *regs, uintptr_t stack_lo,
			    uintptr_t stack_hi, uint64_t *pcs, unsigned max,
			    unsigned *end_reason, struct unwind_trace *trace,
			    struct unwind_row_cache *cache);
/* The tables' generation: it changes whenever new tables are published. */
unsigned unwind_generation(void);

/* Frees every table. Call at process exit after sampling stopped; it waits
 * for walks in progress, and later walks use frame pointers only. */
void unwind_free(void);

/* Statistics of the published tables: modules with tables, rows, FDEs with
 * a range the walker cannot use (skipped as malformed or unsupported, or
 * with a CFA rule it does not know), modules whose .eh_frame could not be
 * parsed at all. */
struct unwind_stats {
	unsigned modules;
	size_t rows;
	size_t unsupported_fdes;
	unsigned failed_modules;
};
void unwind_get_stats(struct unwind_stats *st);

/* ---- offline: copied stacks of another process (CLI side) ----
 *
 * The out-of-process collector gets, per sample, the user registers and
 * SIZE bytes of user stack from the sample's rsp (perf_event's
 * PERF_SAMPLE_REGS_USER and PERF_SAMPLE_STACK_USER) and unwinds them here,
 * with the rows and the row interpreter of the in-process walker. x86-64
 * only. Neither type is thread-safe: one thread owns a files cache and the
 * spaces made from it. Not for the agent: space.c is not linked into it. */

/* Tables of module files read from disk, cached by file identity (device,
 * inode, size, mtime) and shared by every address space made from it, so
 * libc is parsed once for all processes. Owns every table; outlives the
 * spaces made from it. */
struct unwind_files;
struct unwind_files *unwind_files_new(void);
void unwind_files_free(struct unwind_files *f);

/* The most bytes of .eh_frame_hdr or .eh_frame read from one file (a
 * larger .eh_frame is read up to this many bytes, whose FDEs still count;
 * a larger header fails the file). */
#define UNWIND_MAX_TABLE_BYTES ((size_t)256 << 20)
void unwind_files_set_max_table_bytes(struct unwind_files *f, size_t bytes);

/* files: distinct files seen (by identity); parsed: files with tables;
 * failed: files that could not be opened (or changed since they were
 * mapped), are not x86-64 ELF, are truncated, have no .eh_frame_hdr or a
 * malformed one (walks take frame-pointer steps in them); missing:
 * mappings whose path did not name a regular file ([vdso], deleted
 * files); rows and unsupported_fdes as in struct unwind_stats. */
struct unwind_files_stats {
	unsigned files, parsed, failed, missing;
	size_t rows, unsupported_fdes;
};
void unwind_files_get_stats(const struct unwind_files *f, struct unwind_files_stats *st);

/* One process's address space: its executable mappings. Refers to the
 * files cache it was made with; owns its mapping list only. */
struct unwind_space;
struct unwind_space *unwind_space_new(struct unwind_files *files);

/* Maps [start, end) of the file at path (a path this process can open:
 * the collector passes /proc/PID/root/PATH) from file offset `offset`, as
 * in /proc/PID/maps; replaces whatever was mapped there (mmap over mmap).
 * The file is identified now (stat) and read at the first walk that needs
 * it, so the path must still open then; a path that names no file is
 * mapped without tables and counted as missing. Returns 0, -EINVAL (empty
 * range) or -ENOMEM. */
int unwind_space_map(struct unwind_space *s, uint64_t start, uint64_t end, uint64_t offset,
		     const char *path);
/* Removes whatever is mapped in [start, end). */
void unwind_space_unmap(struct unwind_space *s, uint64_t start, uint64_t end);
/* fork: a copy of the mappings, sharing the files cache. NULL when out of
 * memory. */
struct unwind_space *unwind_space_clone(const struct unwind_space *s);
/* exec: no mappings. */
void unwind_space_clear(struct unwind_space *s);
void unwind_space_free(struct unwind_space *s);

/* Walks the stack of regs using a copy of it: stack[0] is the byte at
 * regs->sp, stack_len bytes (the kernel's dyn_size). pcs and end reasons
 * as for unwind_walk, the window being the copy, except that a slot
 * beyond the copy's end (a user address, aligned) ends the walk with
 * CAPTURE_STACK_TRUNCATED: the copy was too small for the stack (the
 * sample's SIZE; most programs need 8 to 16 KiB), the frames found are
 * right and the outer ones missing. A slot below regs->sp or misaligned,
 * or a CFA that does not move outward, is CAPTURE_STACK_BAD_FRAME; an
 * empty copy (the kernel could not read at sp) is BAD_FRAME after pcs[0].
 * A module file is read on the first walk that needs it (may allocate and
 * do file I/O). */
unsigned unwind_space_walk(struct unwind_space *s, const struct unwind_regs *regs,
			   const uint8_t *stack, size_t stack_len, uint64_t *pcs, unsigned max,
			   unsigned *end_reason);

#endif
