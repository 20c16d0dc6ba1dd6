/* DWARF of one module, with elfutils' libdw: source lines and inline
 * chains for many addresses, fast.
 *
 * Opening a module only lists its compilation units and their address
 * ranges. The first address that falls in a unit loads that unit once:
 * its line table (copied into a compact sorted array) and the tree of its
 * functions and inlined calls, as address ranges sorted by start. A lookup
 * is then two binary searches and a walk up the inline chain; names, decl
 * lines and files are read from the DIEs only for scopes a lookup hits.
 * libdw's own per-address calls (dwarf_getscopes) walk the whole unit each
 * time, which is what makes addr2line-style symbolizing slow. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "sym_internal.h"

#define NONE UINT32_MAX
#define END_OF_SEQUENCE UINT32_MAX
/* DIE nesting deeper than this is damaged DWARF, not real code. */
#define MAX_DIE_DEPTH 256

struct row {
	uint64_t addr;
	const char *file;
	uint32_t line; /* END_OF_SEQUENCE: no code from here to the next row */
};

struct scope {
	Dwarf_Die die;
	uint32_t parent;      /* enclosing function or inlined call; NONE for a function */
	uint32_t first_range; /* into unit.own */
	uint32_t nranges;
	bool is_inline;
	bool resolved;
	const char *call_file; /* inlined call: where in the parent it was called */
	uint32_t call_line;
	const char *name;      /* after resolve() */
	uint32_t decl_line;
};

struct range {
	uint64_t lo, hi;
	uint32_t scope;
	uint32_t depth;
};

struct unit {
	Dwarf_Die cudie;  /* lines */
	Dwarf_Die treedie; /* functions: the split unit's DIE for a skeleton */
	enum { UNIT_NEW, UNIT_LOADED } state;
	struct row *rows;
	size_t nrows;
	struct scope *scopes;
	size_t nscopes, cap_scopes;
	struct range *ranges; /* sorted by lo, then depth */
	size_t nranges, cap_ranges;
	uint64_t *maxhi; /* running maximum of ranges' hi: ends backward scans */
	struct range *own; /* per scope, in scope order */
	size_t nown, cap_own;
	Dwarf_Files *files;
	size_t nfiles;
};

struct unit_range {
	uint64_t lo, hi;
	uint32_t unit;
};

struct sym_dwarf {
	Dwarf *dw;
	const char *path;
	struct unit *units;
	size_t nunits, cap_units;
	struct unit_range *ur; /* sorted by lo */
	size_t nur, cap_ur;
	uint64_t *ur_maxhi;    /* running maximum of hi: bounds the backward scan */
	bool warned;
};

static void damaged(struct symbolizer *s, struct sym_dwarf *d, const char *what)
{
	if (d->warned)
		return;
	d->warned = true;
	sym_warn(s, "debug info of '%s' is damaged (%s: %s); some of its frames have no source "
		    "line or inlined functions", d->path, what, dwarf_errmsg(-1));
}

static int cmp_ur(const void *a, const void *b)
{
	const struct unit_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

struct sym_dwarf *sym_dwarf_open(struct symbolizer *s, Elf *elf, const char *path)
{
	if (!sym_elf_has_dwarf(elf))
		return NULL;
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dw) {
		sym_warn(s, "cannot read the debug info of '%s': %s; its frames have no source "
			    "lines or inlined functions", path, dwarf_errmsg(-1));
		return NULL;
	}
	struct sym_dwarf *d = xcalloc(1, sizeof(*d));
	d->dw = dw;
	d->path = sym_intern(s, path, strlen(path));

	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t type;
	Dwarf_Die cudie, subdie;
	int rc;
	while ((rc = dwarf_get_units(dw, cu, &cu, &version, &type, &cudie, &subdie)) == 0) {
		if (type != DW_UT_compile && type != DW_UT_skeleton)
			continue; /* type and partial units hold no code of their own */
		uint32_t idx = (uint32_t)d->nunits;
		bool any = false;
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			GROW(d->ur, d->cap_ur, d->nur + 1);
			d->ur[d->nur++] = (struct unit_range){ lo, hi, idx };
			any = true;
		}
		if (!any)
			continue;
		GROW(d->units, d->cap_units, d->nunits + 1);
		struct unit *u = &d->units[d->nunits++];
		memset(u, 0, sizeof(*u));
		u->cudie = cudie;
		u->treedie = type == DW_UT_skeleton && dwarf_tag(&subdie) == DW_TAG_compile_unit
				     ? subdie
				     : cudie;
	}
	if (rc < 0)
		damaged(s, d, "listing its compilation units");
	if (d->nunits == 0) {
		sym_dwarf_free(d);
		return NULL;
	}
	qsort(d->ur, d->nur, sizeof(*d->ur), cmp_ur);
	d->ur_maxhi = xmalloc(d->nur * sizeof(uint64_t));
	for (size_t i = 0; i < d->nur; i++)
		d->ur_maxhi[i] = i && d->ur_maxhi[i - 1] > d->ur[i].hi ? d->ur_maxhi[i - 1]
								    : d->ur[i].hi;
	return d;
}

/* --- loading a unit --- */

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static void load_lines(struct symbolizer *s, struct sym_dwarf *d, struct unit *u)
{
	Dwarf_Lines *lines;
	size_t n;
	if (!dwarf_hasattr(&u->cudie, DW_AT_stmt_list))
		return; /* a unit without a line table */
	if (dwarf_getsrclines(&u->cudie, &lines, &n) != 0) {
		damaged(s, d, "reading a line table");
		return;
	}
	u->rows = xmalloc((n ? n : 1) * sizeof(struct row));
	bool sorted = true;
	for (size_t i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		Dwarf_Addr a;
		int lineno = 0;
		bool end = false;
		if (!l || dwarf_lineaddr(l, &a) != 0)
			continue;
		dwarf_lineno(l, &lineno);
		dwarf_lineendsequence(l, &end);
		const char *file = dwarf_linesrc(l, NULL, NULL);
		struct row r = { a, file ? file : "", end ? END_OF_SEQUENCE
						 : lineno > 0 ? (uint32_t)lineno : 0 };
		if (u->nrows && r.addr < u->rows[u->nrows - 1].addr)
			sorted = false;
		u->rows[u->nrows++] = r;
	}
	if (!sorted) /* libdw sorts them; a stable order is all we need */
		qsort(u->rows, u->nrows, sizeof(struct row), cmp_row);
	/* Keep one row per address: the last that is not an end of sequence
	 * (rows before it at the same address cover no code). */
	size_t k = 0;
	for (size_t i = 0; i < u->nrows; i++) {
		if (k && u->rows[k - 1].addr == u->rows[i].addr) {
			if (u->rows[i].line != END_OF_SEQUENCE ||
			    u->rows[k - 1].line == END_OF_SEQUENCE)
				u->rows[k - 1] = u->rows[i];
			continue;
		}
		u->rows[k++] = u->rows[i];
	}
	u->nrows = k;
}

struct walk {
	struct symbolizer *s;
	struct sym_dwarf *d;
	struct unit *u;
};

static const char *unit_file(struct unit *u, Dwarf_Word idx)
{
	if (!u->files || idx >= u->nfiles)
		return "";
	const char *f = dwarf_filesrc(u->files, idx, NULL, NULL);
	return f ? f : "";
}

/* Adds a function or inlined call with its ranges; NONE when it has no
 * code (a declaration, an abstract instance). */
static uint32_t add_scope(struct walk *w, Dwarf_Die *die, bool is_inline, uint32_t parent,
			  uint32_t depth)
{
	struct unit *u = w->u;
	uint32_t idx = (uint32_t)u->nscopes;
	size_t first = u->nown;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		GROW(u->own, u->cap_own, u->nown + 1);
		u->own[u->nown++] = (struct range){ lo, hi, idx, depth };
		GROW(u->ranges, u->cap_ranges, u->nranges + 1);
		u->ranges[u->nranges++] = (struct range){ lo, hi, idx, depth };
	}
	if (u->nown == first)
		return NONE;
	GROW(u->scopes, u->cap_scopes, u->nscopes + 1);
	struct scope *sc = &u->scopes[u->nscopes++];
	memset(sc, 0, sizeof(*sc));
	sc->die = *die;
	sc->parent = is_inline ? parent : NONE;
	sc->first_range = (uint32_t)first;
	sc->nranges = (uint32_t)(u->nown - first);
	sc->is_inline = is_inline;
	sc->call_file = "";
	if (is_inline) {
		Dwarf_Attribute at;
		Dwarf_Word v;
		if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &at), &v) == 0 &&
		    v <= UINT32_MAX)
			sc->call_line = (uint32_t)v;
		if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &at), &v) == 0)
			sc->call_file = unit_file(u, v);
	}
	return idx;
}

static void walk_children(struct walk *w, Dwarf_Die *parent_die, uint32_t parent,
			  uint32_t depth, int level)
{
	Dwarf_Die child;
	if (level > MAX_DIE_DEPTH || dwarf_child(parent_die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		switch (tag) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine: {
			bool inl = tag == DW_TAG_inlined_subroutine;
			uint32_t sc = add_scope(w, &child, inl, parent, depth + 1);
			if (sc != NONE)
				walk_children(w, &child, sc, depth + 1, level + 1);
			break;
		}
		/* Code can sit inside these; types and variables cannot. */
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_interface_type:
			walk_children(w, &child, parent, depth, level + 1);
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1; /* deeper last: found first */
	return (x->scope > y->scope) - (x->scope < y->scope);
}

static void load_unit(struct symbolizer *s, struct sym_dwarf *d, struct unit *u)
{
	u->state = UNIT_LOADED;
	load_lines(s, d, u);
	if (dwarf_getsrcfiles(&u->treedie, &u->files, &u->nfiles) != 0) {
		u->files = NULL;
		u->nfiles = 0;
	}
	struct walk w = { s, d, u };
	walk_children(&w, &u->treedie, NONE, 0, 0);
	qsort(u->ranges, u->nranges, sizeof(struct range), cmp_range);
	u->maxhi = xmalloc((u->nranges ? u->nranges : 1) * sizeof(uint64_t));
	for (size_t i = 0; i < u->nranges; i++)
		u->maxhi[i] = i && u->maxhi[i - 1] > u->ranges[i].hi ? u->maxhi[i - 1]
								    : u->ranges[i].hi;
}

/* --- lookup --- */

static struct unit *unit_at(struct sym_dwarf *d, uint64_t addr)
{
	size_t lo = 0, hi = d->nur;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->ur[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The latest-starting range that holds addr; ranges of different
	 * units should not overlap, but damaged files exist. */
	for (size_t j = lo; j-- > 0 && d->ur_maxhi[j] > addr;)
		if (addr < d->ur[j].hi)
			return &d->units[d->ur[j].unit];
	return NULL;
}

static const struct row *row_at(const struct unit *u, uint64_t addr)
{
	size_t lo = 0, hi = u->nrows;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u->rows[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || u->rows[lo - 1].line == END_OF_SEQUENCE)
		return NULL;
	return &u->rows[lo - 1];
}

static bool scope_holds(const struct unit *u, uint32_t sc, uint64_t addr)
{
	const struct scope *p = &u->scopes[sc];
	for (uint32_t i = 0; i < p->nranges; i++) {
		const struct range *r = &u->own[p->first_range + i];
		if (addr >= r->lo && addr < r->hi)
			return true;
	}
	return false;
}

/* The innermost function or inlined call holding addr. Ranges nest, so
 * the last range starting at or before addr either holds it or lies
 * inside the scope that does: walk up from there. */
static uint32_t innermost(const struct unit *u, uint64_t addr)
{
	size_t lo = 0, hi = u->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u->ranges[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NONE;
	const struct range *r = &u->ranges[lo - 1];
	if (addr < r->hi)
		return r->scope;
	for (uint32_t sc = r->scope, steps = 0; sc != NONE && steps < MAX_DIE_DEPTH;
	     sc = u->scopes[sc].parent, steps++)
		if (scope_holds(u, sc, addr))
			return sc;
	/* Between functions (padding), or badly nested ranges: look back
	 * while some earlier range still reaches past addr. */
	for (size_t j = lo - 1, steps = 0; j-- > 0 && u->maxhi[j] > addr && steps < 4096; steps++)
		if (addr >= u->ranges[j].lo && addr < u->ranges[j].hi)
			return u->ranges[j].scope;
	return NONE;
}

static void resolve(struct scope *sc)
{
	if (sc->resolved)
		return;
	sc->resolved = true;
	Dwarf_Attribute at;
	/* The linkage name demangles to the qualified name (namespace,
	 * class, template arguments); plain C has only DW_AT_name. Both
	 * are looked up through abstract origins and specifications. */
	const char *name = dwarf_formstring(dwarf_attr_integrate(&sc->die, DW_AT_linkage_name, &at));
	if (!name)
		name = dwarf_formstring(
			dwarf_attr_integrate(&sc->die, DW_AT_MIPS_linkage_name, &at));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(&sc->die, DW_AT_name, &at));
	sc->name = name;
	int line = 0;
	if (dwarf_decl_line(&sc->die, &line) == 0 && line > 0)
		sc->decl_line = (uint32_t)line;
}

size_t sym_dwarf_frames(struct symbolizer *s, struct sym_dwarf *d, uint64_t addr,
			struct sym_frame *out, size_t cap)
{
	struct unit *u = unit_at(d, addr);
	if (!u || cap == 0)
		return 0;
	if (u->state == UNIT_NEW)
		load_unit(s, d, u);
	const struct row *row = row_at(u, addr);
	const char *file = row ? row->file : "";
	uint32_t line = row ? row->line : 0;
	uint32_t sc = innermost(u, addr);
	if (sc == NONE) {
		if (!row)
			return 0;
		out[0] = (struct sym_frame){ NULL, file, line, 0 };
		return 1;
	}
	/* Innermost first: each inlined call's line is where its parent
	 * called it. A chain longer than cap keeps its innermost frames and
	 * the function holding the code. */
	size_t n = 0;
	for (uint32_t steps = 0; sc != NONE && steps < MAX_DIE_DEPTH; steps++) {
		struct scope *p = &u->scopes[sc];
		resolve(p);
		struct sym_frame f = { p->name, file, line, p->decl_line };
		if (n < cap)
			out[n++] = f;
		else
			out[cap - 1] = f;
		if (!p->is_inline)
			break;
		file = p->call_file;
		line = p->call_line;
		sc = p->parent;
	}
	return n;
}

void sym_dwarf_free(struct sym_dwarf *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nunits; i++) {
		free(d->units[i].rows);
		free(d->units[i].scopes);
		free(d->units[i].ranges);
		free(d->units[i].own);
		free(d->units[i].maxhi);
	}
	free(d->units);
	free(d->ur);
	free(d->ur_maxhi);
	dwarf_end(d->dw);
	free(d);
}
