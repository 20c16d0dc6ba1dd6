/* Symbolizer: maps an address in a recorded module mapping to the name of
 * the function containing it, from the module's ELF symbol tables (.symtab,
 * else .dynsym) read once with libelf and cached per module.
 *
 * Ownership: a symbolizer owns its module cache and every name and warning
 * it returns; they stay valid until sym_free(). */
#ifndef SYMBOLIZE_H
#define SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct profile_mapping;
struct symbolizer;

struct symbolizer *sym_new(void);
void sym_free(struct symbolizer *s);

/* Function containing `addr` (a process address inside mapping m), or NULL
 * when the module cannot be read, does not match the recorded build-id, or
 * has no symbol there. */
const char *sym_function(struct symbolizer *s, const struct profile_mapping *m, uint64_t addr);

/* Problems met so far, one line each (a module not found, a build-id
 * mismatch, a damaged ELF file); each module is reported once. */
size_t sym_warnings(const struct symbolizer *s, const char *const **lines);

#endif
