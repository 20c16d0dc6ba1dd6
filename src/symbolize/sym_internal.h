/* What the symbolizer's files share: the module and symbolizer structs
 * and the entry points of each part (debug-file lookup, DWARF, JIT
 * index). Not for use outside src/symbolize/. */
#ifndef SYM_INTERNAL_H
#define SYM_INTERNAL_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"
#include "symbolize.h"

struct intern;
struct sym_dwarf;
struct sym_jit;

/* Longest chain the DWARF reader and each module keep their last answer
 * for (sorted addresses come in runs that share one). */
#define SYM_RUN_FRAMES 8

/* An ELF function symbol. */
struct sym_symbol {
	uint64_t addr;
	uint64_t size;
	const char *name; /* as in the file: mangled */
	int rank;         /* lower wins among symbols at one address */
};

/* A PT_LOAD segment: file offsets [offset, offset + filesz) are loaded at
 * vaddr. */
struct sym_segment {
	uint64_t offset, filesz, vaddr;
};

/* Pointer-keyed open-addressing map (demangling cache). */
struct sym_ptrmap {
	const void **keys;
	const void **vals;
	size_t cap, count;
};
const void *sym_ptrmap_get(const struct sym_ptrmap *m, const void *key);
void sym_ptrmap_put(struct sym_ptrmap *m, const void *key, const void *val);
void sym_ptrmap_free(struct sym_ptrmap *m);

struct sym_module {
	const char *path; /* as recorded */
	uint64_t pid;     /* of the first mapping of it: /proc/PID/root is tried
			   * when the path does not give the recorded file */
	uint8_t build_id[64];
	size_t build_id_len;
	bool usable; /* segments known: file offsets become ELF addresses */
	struct sym_symbol *syms;
	size_t nsyms;
	struct sym_segment *segs;
	size_t nsegs;
	bool no_offsets; /* from a debug file: segs hold addresses, not file offsets */
	/* DWARF, when found: addresses in it are ELF addresses of the module
	 * plus bias (non-zero only for a prelinked binary whose debug file
	 * was split off before prelinking). */
	struct sym_dwarf *dwarf;
	int64_t dwarf_bias;
	/* Kept open (mmapped) while symbol names or DWARF point into them. */
	Elf *bin_elf;
	Elf *debug_elf;
	/* Results by file offset: index + 1 into the frame pool (0: empty
	 * slot) and count; one slot, one cache line. */
	struct sym_cached {
		uint64_t off;
		uint32_t first, n;
	} *cache;
	size_t ccap, ccount;
	/* Until a lookup goes back to a lower offset, results are appended
	 * here in offset order instead (no hash table: lookups of a sorted
	 * batch then touch memory in order); the first out-of-order one
	 * moves them into the hash table. */
	struct sym_cached *seq;
	size_t nseq, cap_seq, seq_hint;
	size_t sym_hint; /* last symbol_at position: sorted lookups step forward */
	/* The last DWARF-backed answer, as returned: the next address with
	 * the same DWARF answer and symbol gets it without reading the DWARF,
	 * naming and demangling again. last_in is SIZE_MAX when there is
	 * none. */
	const struct sym_symbol *last_sym;
	size_t last_in, last_out_n; /* DWARF frames in, frames out */
	struct sym_frame last_out[SYM_RUN_FRAMES];
};

struct symbolizer {
	struct sym_options opts;
	struct sym_module **mods;
	size_t nmods, cap_mods;
	struct sym_module *last_module; /* consecutive lookups share one */
	struct intern *names;
	const char **warnings;
	size_t nwarnings, cap_warnings;
	struct sym_frame *pool; /* cached results */
	size_t npool, cap_pool;
	struct sym_ptrmap demangled;
	struct sym_jit *jit;
	/* debuginfod, loaded on first use when DEBUGINFOD_URLS is set. */
	void *dfd_lib;
	void *dfd_client;
	bool dfd_tried;
	/* The test-only switches of dwarf.c as they were at sym_new: modules
	 * open later, at their first lookup. */
	bool libdw_lines, search_ranges;
	/* The CLI's own vDSO, read once, for modules recorded as the vDSO. */
	void *vdso_copy;
	size_t vdso_len;
	bool vdso_tried;
};

/* How many of n sorted keys are <= x, the keys being the first uint64_t
 * of each stride-word element of base. Searches forward from *hint (the
 * previous answer) when x did not move back, so a sorted batch of lookups
 * walks each table once instead of binary-searching cold memory; *hint
 * becomes the answer. */
static inline size_t sym_count_le(const uint64_t *base, size_t stride, size_t n, uint64_t x,
				  size_t *hint)
{
	size_t lo = 0, hi = n; /* keys below lo are <= x, from hi on > x */
	size_t h = *hint;
	if (h > 0 && h <= n && base[(h - 1) * stride] <= x) {
		/* Sorted lookups mostly move a key or two on: the next keys
		 * are counted without a branch (a mispredicted one per
		 * search cost more than the search). */
		enum { AHEAD = 8 };
		if (h + AHEAD <= n) {
			size_t k = 0;
			for (size_t i = 0; i < AHEAD; i++)
				k += base[(h + i) * stride] <= x;
			if (k < AHEAD) {
				*hint = h + k;
				return h + k;
			}
			h += AHEAD;
		}
		lo = h;
		hi = h;
		for (size_t step = 1;; step *= 2) {
			if (hi >= n) {
				hi = n;
				break;
			}
			if (base[hi * stride] > x)
				break;
			lo = hi + 1;
			hi = lo + step;
		}
	}
	lo += util_count_le(base + lo * stride, stride, hi - lo, x);
	*hint = lo;
	return lo;
}

/* The first section called name with bytes in the file (its header in
 * *sh), or NULL. */
Elf_Scn *sym_elf_section(Elf *elf, const char *name, GElf_Shdr *sh);
void sym_warn(struct symbolizer *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sym_intern(struct symbolizer *s, const char *str, size_t len);

/* The build-id note of an ELF file; *len 0 when it has none. */
void sym_elf_build_id(Elf *elf, uint8_t *out, size_t *len);
/* True when the file carries DWARF line and function information. */
bool sym_elf_has_dwarf(Elf *elf);
/* A non-empty .symtab (full symbols, not just the dynamic ones). */
bool sym_elf_has_symtab(Elf *elf);

/* --- debuginfo.c: finding files --- */

/* Opens the file of a recorded module path, applying the path map and the
 * sysroot. Returns an fd (O_RDONLY) and the path opened, or -1 with errno
 * set and the last path tried in `opened`. */
int sym_open_module(struct symbolizer *s, const char *recorded, char *opened, size_t len);

/* Finds the separate debug file of a module: by build-id under the debug
 * directories, by .gnu_debuglink (bin may be NULL when the binary itself
 * is gone) beside the binary, in .debug/ beside it and under the debug
 * directories, then from debuginfod. Returns it opened and mmapped (the
 * caller elf_end()s it) with its path, or NULL. */
Elf *sym_find_debug(struct symbolizer *s, const struct sym_module *mod, Elf *bin,
		    const char *bin_path, char *found, size_t len);

/* Opens an ELF file read-only and mmapped, closing the fd (the mapping
 * stays). NULL when it cannot be opened or is not ELF; errno set. */
Elf *sym_elf_open(const char *path);

void sym_debuginfod_end(struct symbolizer *s);

/* --- dwarf.c: DWARF of one module --- */

/* Indexes the compilation units of elf (nothing else is read until an
 * address falls in a unit). NULL when the file has no usable DWARF; a
 * damaged file also gets a warning naming `path`. */
struct sym_dwarf *sym_dwarf_open(struct symbolizer *s, Elf *elf, const char *path);
/* Frames for an ELF address, innermost first, as in sym_lookup; names
 * are raw (mangled), a frame's function is NULL when the debug info has
 * no name for it. 0 when no unit covers addr. *same true on entry says
 * the caller kept the previous call's answer: when addr gets that
 * answer too (same line row and scope), its length is returned, out is
 * not written and *same stays true; else *same becomes false. */
size_t sym_dwarf_frames(struct symbolizer *s, struct sym_dwarf *d, uint64_t addr,
			struct sym_frame *out, size_t cap, bool *same);
void sym_dwarf_free(struct sym_dwarf *d);
/* Tests only: read line tables and function trees with libdw (the
 * reference) rather than ourselves. A symbolizer keeps the value it had
 * at sym_new. */
extern bool sym_dwarf_libdw_lines;
/* Tests only: find innermost scopes by searching the ranges, as for
 * ranges that do not nest, rather than in the flattened pieces. Kept at
 * sym_new like sym_dwarf_libdw_lines. */
extern bool sym_dwarf_search_ranges;

/* --- jit.c --- */
void sym_jit_free(struct sym_jit *j);

#endif
