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
 * Ownership: the module owns every table; unwind_free() releases them. */
#ifndef UNWIND_H
#define UNWIND_H

#include <stddef.h>
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

#endif
