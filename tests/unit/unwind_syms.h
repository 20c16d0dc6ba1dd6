/* Function names and ranges from the test binary's own .symtab (libelf),
 * for the unwinder tests to check that each frame lies in the function
 * expected. */
#ifndef UNWIND_SYMS_H
#define UNWIND_SYMS_H

#include <stddef.h>
#include <stdint.h>

struct usym {
	uintptr_t lo, hi;
	char *name;
};

struct usym_table {
	struct usym *v;
	size_t n;
};

void usym_load(struct usym_table *st);
void usym_free(struct usym_table *st);
/* The function holding pc, or NULL. */
const struct usym *usym_find(const struct usym_table *st, uintptr_t pc);
const struct usym *usym_named(const struct usym_table *st, const char *name);

#endif
