/* Demangling with libiberty, the demangler binutils and gdb use: C++ (the
 * Itanium ABI), Rust legacy (_ZN...17h<hash>E, hash dropped) and Rust v0
 * (_R...), chosen by the library's automatic style. Results are cached
 * by name pointer: the names come from interned or mmapped tables, so a
 * repeated name is a repeated pointer. */
#include <stdlib.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "sym_internal.h"

/* Only names that can be mangled go to the demangler: it would happily
 * "demangle" some plain C names (a function called "f" reads as a type). */
static bool looks_mangled(const char *name)
{
	return name[0] == '_' && (name[1] == 'Z' || name[1] == 'R');
}

const char *sym_demangle(struct symbolizer *s, const char *name)
{
	if (!name || s->opts.no_demangle || !looks_mangled(name))
		return name;
	const char *hit = sym_ptrmap_get(&s->demangled, name);
	if (hit)
		return hit;
	char *d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	const char *out = d ? sym_intern(s, d, strlen(d)) : name;
	free(d);
	sym_ptrmap_put(&s->demangled, name, out);
	return out;
}
