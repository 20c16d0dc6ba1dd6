/* Kernel symbols from /proc/kallsyms, for the kernel frames of the
 * collector's stacks. kallsyms gives start addresses only: a symbol ends
 * where the next one starts.
 *
 * Ownership: a kallsyms owns its arrays and names. */
#ifndef COLLECT_KALLSYMS_H
#define COLLECT_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The last symbol's size, which nothing bounds: a kernel function longer
 * than this is not expected. */
#define KALLSYMS_LAST_SIZE 4096u

struct kallsyms_sym {
	uint64_t start, size;
	const char *name; /* "name" or "name [module]" */
};

struct kallsyms {
	struct kallsyms_sym *syms; /* sorted by start */
	size_t n;
	char *names;               /* every name, NUL-separated */
	bool hidden;               /* every address read as 0 (kptr_restrict) */
};

/* Reads text symbols (types t, T, w, W) from f. Returns 0 or -errno. */
int kallsyms_read(FILE *f, struct kallsyms *ks);
/* /proc/kallsyms. */
int kallsyms_load(struct kallsyms *ks);
/* The symbol holding addr, or NULL. */
const struct kallsyms_sym *kallsyms_find(const struct kallsyms *ks, uint64_t addr);
void kallsyms_free(struct kallsyms *ks);

#endif
