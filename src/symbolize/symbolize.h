/* Symbolizer: maps an address in a recorded module mapping to the
 * functions it belongs to, innermost inlined function first, each with its
 * source file, line and start line; and addresses in JIT code to the names
 * a runtime wrote into its perf map (kept in the capture).
 *
 * Per module (identified by build-id, else by path) it reads, once: the ELF
 * symbol tables (.symtab, else the debug file's, else .dynsym), the PT_LOAD
 * segments, and the DWARF of the binary or of its separate debug file
 * (found by build-id, .gnu_debuglink, or debuginfod), indexed lazily per
 * compilation unit. Results are cached per (module, file offset). No
 * subprocess, ever. See doc/design/symbolize.md.
 *
 * Ownership: a symbolizer owns its module cache and every string and frame
 * it returns; strings stay valid until sym_free(), frame arrays until the
 * next sym_lookup(). */
#ifndef SYMBOLIZE_H
#define SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct profile_mapping;
struct profile_jit_symbol;
struct symbolizer;

/* One prefix rewrite of a recorded module path: a path starting with
 * `from` is looked up with that prefix replaced by `to`. */
struct sym_path_map {
	const char *from, *to;
};

/* How to find files and what to show. Zeroed: the recorded paths,
 * /usr/lib/debug, demangled names, inlined frames. The strings are not
 * copied: they must outlive the symbolizer. */
struct sym_options {
	const char *sysroot;                 /* prefix of every module path, or NULL */
	const struct sym_path_map *path_map; /* tried first, in order; first match wins */
	size_t npath_map;
	const char *const *debug_dirs;       /* searched before /usr/lib/debug */
	size_t ndebug_dirs;
	bool no_demangle;   /* keep C++/Rust names as the linker sees them */
	bool no_inlines;    /* one frame per address: the function holding the code */
	bool no_debuginfod; /* never ask a server, even with DEBUGINFOD_URLS set */
};

/* Inline chains deeper than this are cut (at their outermost end). */
#define SYM_MAX_FRAMES 64

struct sym_frame {
	const char *function; /* never NULL */
	const char *file;     /* source file, "" when unknown */
	uint32_t line;        /* 0 when unknown */
	uint32_t start_line;  /* line where the function is declared, 0 when unknown */
};

/* A symbolizer with the default options, or with opts (NULL: defaults). */
struct symbolizer *sym_new(void);
struct symbolizer *sym_new_with(const struct sym_options *opts);
void sym_free(struct symbolizer *s);

/* The frames of `addr` (a process address inside mapping m), innermost
 * inlined function first; the last one is the function whose code holds
 * addr. Returns how many (0: unknown, *frames is then NULL): the module
 * cannot be read, does not match the recorded build-id, or has neither
 * symbol nor debug info there. */
size_t sym_lookup(struct symbolizer *s, const struct profile_mapping *m, uint64_t addr,
		  const struct sym_frame **frames);

/* As sym_lookup, into out (SYM_MAX_FRAMES frames), without keeping the
 * result: for a caller that asks for each address once (a profile's
 * distinct addresses), where the result cache would only cost memory. */
size_t sym_lookup_into(struct symbolizer *s, const struct profile_mapping *m, uint64_t addr,
		       struct sym_frame *out);

/* The module of mapping m (opened on its first use), for a caller that
 * looks up many addresses of one mapping: sym_lookup_module_into then
 * skips finding the module by build-id and path at each address. */
struct sym_module *sym_module(struct symbolizer *s, const struct profile_mapping *m);
/* As sym_lookup_into, in mod, which is sym_module(s, m). */
size_t sym_lookup_module_into(struct symbolizer *s, struct sym_module *mod,
			      const struct profile_mapping *m, uint64_t addr,
			      struct sym_frame *out);

/* The function containing addr, or NULL: the last frame of sym_lookup. */
const char *sym_function(struct symbolizer *s, const struct profile_mapping *m, uint64_t addr);

/* JIT symbols from the capture's perf map copies, in the order written:
 * when two overlap, the later one wins (the runtime reused that memory).
 * The array is copied. */
void sym_set_jit(struct symbolizer *s, const struct profile_jit_symbol *syms, size_t n);
/* The JIT symbol covering addr, or NULL. */
const char *sym_jit(struct symbolizer *s, uint64_t addr);

/* True when a mapping holds code without a file behind it (anonymous or
 * memfd executable memory, where JIT compilers put their code). */
bool sym_mapping_is_anonymous(const struct profile_mapping *m);

/* Problems met so far, one line each (a module not found, a build-id
 * mismatch, a damaged ELF or DWARF file, a debuginfod failure); each
 * module is reported once. */
size_t sym_warnings(const struct symbolizer *s, const char *const **lines);

/* The name as it should be shown: demangled (C++, Rust legacy and v0)
 * unless the options say not to; the argument itself when it is not a
 * mangled name. Cached; valid until sym_free(). */
const char *sym_demangle(struct symbolizer *s, const char *name);

#endif
