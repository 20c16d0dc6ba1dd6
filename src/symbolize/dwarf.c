/* DWARF of one module, with elfutils' libdw: source lines and inline
 * chains for many addresses, fast.
 *
 * Opening a module only lists its compilation units and their address
 * ranges. The first address that falls in a unit loads that unit once:
 * its line table (read by our own line-program reader, libdw's as the
 * fallback, into a compact sorted array) and the tree of its functions
 * and inlined calls, as address ranges sorted by start. A lookup is then
 * two searches (forward from the previous answer when lookups come
 * sorted) and a walk up the inline chain; names, decl
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
	size_t row_hint, range_hint; /* sorted lookups step forward from here */
	Dwarf_Files *files; /* libdw's, when its line reader was used */
	size_t nfiles;
	const char **own_files; /* ours, when ours was */
	size_t nown_files;
};

struct unit_range {
	uint64_t lo, hi;
	uint32_t unit;
};

/* A section's bytes, decompressed. */
struct sect {
	const uint8_t *p;
	size_t len;
};

/* A name shared by every inlined copy of one function: read once from
 * the abstract origin. */
struct origin {
	const char *name;
	uint32_t decl_line;
};

struct sym_dwarf {
	Dwarf *dw;
	struct sect line, line_str, str; /* for reading line tables ourselves */
	struct sym_ptrmap origins;       /* DIE offset + 1 -> index + 1 in origin */
	struct origin *origin;
	size_t norigin, cap_origin;
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

bool sym_dwarf_libdw_lines;

/* The bytes of a section, decompressed (libdw has usually done that
 * already, in place); empty when absent or unreadable. */
static struct sect section(Elf *elf, size_t shstrndx, const char *want)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, want) != 0)
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			break;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			break;
		return (struct sect){ data->d_buf, data->d_size };
	}
	return (struct sect){ NULL, 0 };
}

/* Our own line-table reader needs the raw sections; only little-endian
 * files (what oneprof profiles), and not when a test asks for libdw's. */
static void find_sections(struct sym_dwarf *d, Elf *elf)
{
	GElf_Ehdr eh;
	size_t shstrndx;
	if (sym_dwarf_libdw_lines || !elf || !gelf_getehdr(elf, &eh) ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	d->line = section(elf, shstrndx, ".debug_line");
	d->line_str = section(elf, shstrndx, ".debug_line_str");
	d->str = section(elf, shstrndx, ".debug_str");
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
	find_sections(d, dwarf_getelf(dw));

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

/* --- reading a line table ourselves --- */

/* libdw's dwarf_getsrclines keeps a malloc'd list node per row and sorts
 * them with qsort: on a large unit most of the symbolizer's time. The
 * rows we keep (address, file, line) come straight from the line program
 * here; anything unusual (another byte order, VLIW op indexes,
 * DW_LNE_define_file, a form we do not read, a damaged header) returns
 * false and libdw reads the table instead, so its answers and warnings
 * stay the reference. */

struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t rd_fixed(struct cur *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i); /* little-endian files only */
	c->p += n;
	return v;
}

static uint64_t rd_uleb(struct cur *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; c->p < c->end; shift += 7) {
		uint8_t b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static int64_t rd_sleb(struct cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	while (c->p < c->end) {
		uint8_t b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= ~UINT64_C(0) << shift;
			return (int64_t)v;
		}
	}
	c->bad = true;
	return 0;
}

static const char *rd_cstr(struct cur *c)
{
	const uint8_t *z = memchr(c->p, 0, (size_t)(c->end - c->p));
	if (!z) {
		c->bad = true;
		c->p = c->end;
		return NULL;
	}
	const char *str = (const char *)c->p;
	c->p = z + 1;
	return str;
}

static const char *sect_str(const struct sect *x, uint64_t off)
{
	if (off >= x->len || !memchr(x->p + off, 0, x->len - off))
		return NULL;
	return (const char *)x->p + off;
}

/* One value of a DWARF 5 directory or file entry: a string (*str) or a
 * number (*num); other content (timestamps, sizes, MD5) is skipped.
 * False for a form we do not read. */
static bool rd_form(const struct sym_dwarf *d, struct cur *c, uint64_t form, size_t offset_size,
		    const char **str, uint64_t *num)
{
	switch (form) {
	case DW_FORM_string:
		*str = rd_cstr(c);
		return true;
	case DW_FORM_line_strp:
		*str = sect_str(&d->line_str, rd_fixed(c, offset_size));
		return *str != NULL;
	case DW_FORM_strp:
		*str = sect_str(&d->str, rd_fixed(c, offset_size));
		return *str != NULL;
	case DW_FORM_udata:
		*num = rd_uleb(c);
		return true;
	case DW_FORM_sdata:
		*num = (uint64_t)rd_sleb(c);
		return true;
	case DW_FORM_data1:
		*num = rd_fixed(c, 1);
		return true;
	case DW_FORM_data2:
		*num = rd_fixed(c, 2);
		return true;
	case DW_FORM_data4:
		*num = rd_fixed(c, 4);
		return true;
	case DW_FORM_data8:
		*num = rd_fixed(c, 8);
		return true;
	case DW_FORM_data16:
		rd_fixed(c, 8);
		rd_fixed(c, 8);
		return true;
	case DW_FORM_block: {
		uint64_t n = rd_uleb(c);
		if (n > (size_t)(c->end - c->p))
			return false;
		c->p += n;
		return true;
	}
	default:
		return false;
	}
}

/* DIR/NAME as libdw names a line-table file: an absolute name as is, a
 * relative one after its directory and a slash (when there is one). */
static const char *join_path(struct symbolizer *s, const char *dir, const char *name)
{
	if (name[0] == '/' || !dir)
		return sym_intern(s, name, strlen(name));
	size_t dl = strlen(dir), nl = strlen(name);
	char stackbuf[1024];
	char *buf = dl + nl + 2 <= sizeof(stackbuf) ? stackbuf : xmalloc(dl + nl + 2);
	memcpy(buf, dir, dl);
	buf[dl] = '/';
	memcpy(buf + dl + 1, name, nl + 1);
	const char *out = sym_intern(s, buf, dl + nl + 1);
	if (buf != stackbuf)
		free(buf);
	return out;
}

/* A DWARF 5 directory or file table: each entry's path (and directory
 * index, for files). */
static bool rd_entries(const struct sym_dwarf *d, struct cur *c, size_t offset_size,
		       const char ***paths, uint64_t **dirs, size_t *n)
{
	uint64_t fmt[32][2];
	unsigned nfmt = (unsigned)rd_fixed(c, 1);
	if (nfmt > 32)
		return false;
	for (unsigned i = 0; i < nfmt; i++) {
		fmt[i][0] = rd_uleb(c);
		fmt[i][1] = rd_uleb(c);
	}
	uint64_t count = rd_uleb(c);
	if (c->bad || (nfmt == 0 && count) || count > (size_t)(c->end - c->p))
		return false;
	*paths = xcalloc(count ? count : 1, sizeof(char *));
	if (dirs)
		*dirs = xcalloc(count ? count : 1, sizeof(uint64_t));
	*n = count;
	for (uint64_t k = 0; k < count; k++) {
		const char *path = NULL;
		uint64_t dir = 0;
		for (unsigned i = 0; i < nfmt; i++) {
			const char *str = NULL;
			uint64_t num = 0;
			if (!rd_form(d, c, fmt[i][1], offset_size, &str, &num) || c->bad)
				return false;
			if (fmt[i][0] == DW_LNCT_path)
				path = str;
			else if (fmt[i][0] == DW_LNCT_directory_index)
				dir = num;
		}
		if (!path)
			return false;
		(*paths)[k] = path;
		if (dirs)
			(*dirs)[k] = dir;
	}
	return true;
}

/* The header's file table: u->own_files, indexed as the line program and
 * DW_AT_call_file index it (from 1 before DWARF 5, entry 0 then being
 * "???" as libdw has it; from 0 since). */
static bool rd_files(struct symbolizer *s, const struct sym_dwarf *d, struct unit *u,
		     struct cur *c, unsigned version, size_t offset_size)
{
	const char **dirs = NULL, **names = NULL;
	uint64_t *dir_of = NULL;
	size_t ndirs = 0, nnames = 0;
	bool ok = false;
	if (version >= 5) {
		if (!rd_entries(d, c, offset_size, &dirs, NULL, &ndirs) ||
		    !rd_entries(d, c, offset_size, &names, &dir_of, &nnames))
			goto out;
		u->own_files = xcalloc(nnames ? nnames : 1, sizeof(char *));
		for (size_t k = 0; k < nnames; k++) {
			if (dir_of[k] >= ndirs)
				goto out;
			u->own_files[k] = join_path(s, dirs[dir_of[k]], names[k]);
		}
		u->nown_files = nnames;
		ok = true;
		goto out;
	}
	/* Before DWARF 5: directory 0 is the unit's compilation directory. */
	Dwarf_Attribute at;
	size_t cap_dirs = 0, cap_files = 0;
	GROW(dirs, cap_dirs, 1);
	dirs[ndirs++] = dwarf_formstring(dwarf_attr(&u->cudie, DW_AT_comp_dir, &at));
	while (!c->bad && c->p < c->end && *c->p) {
		GROW(dirs, cap_dirs, ndirs + 1);
		dirs[ndirs++] = rd_cstr(c);
	}
	rd_fixed(c, 1);
	GROW(u->own_files, cap_files, 1);
	u->own_files[u->nown_files++] = "???";
	while (!c->bad && c->p < c->end && *c->p) {
		const char *name = rd_cstr(c);
		uint64_t dir = rd_uleb(c);
		rd_uleb(c); /* modification time */
		rd_uleb(c); /* length */
		if (c->bad || dir >= ndirs)
			goto out;
		GROW(u->own_files, cap_files, u->nown_files + 1);
		u->own_files[u->nown_files++] = join_path(s, dirs[dir], name);
	}
	rd_fixed(c, 1);
	ok = !c->bad;
out:
	free(dirs);
	free(names);
	free(dir_of);
	return ok;
}

/* Rows in address order, stably (rows at one address keep the program's
 * order, which the deduplication below relies on, as on libdw's). */
static void sort_rows(struct unit *u)
{
	struct util_kv *kv = xmalloc(u->nrows * sizeof(*kv));
	for (size_t i = 0; i < u->nrows; i++)
		kv[i] = (struct util_kv){ u->rows[i].addr, i };
	util_sort_kv(kv, u->nrows);
	struct row *sorted = xmalloc(u->nrows * sizeof(*sorted));
	for (size_t i = 0; i < u->nrows; i++)
		sorted[i] = u->rows[kv[i].val];
	free(kv);
	free(u->rows);
	u->rows = sorted;
}

/* Rows in address order when the program's sequences (each in address
 * order, none overlapping another) are merely out of order, as when the
 * linker puts .text.startup before .text: the sequences are sorted, not
 * the rows. starts[k]: the first row of sequence k. False when they do
 * overlap. */
static bool sort_sequences(struct unit *u, const uint32_t *starts, size_t nseq)
{
	struct util_kv *kv = xmalloc((nseq ? nseq : 1) * sizeof(*kv));
	for (size_t k = 0; k < nseq; k++)
		kv[k] = (struct util_kv){ u->rows[starts[k]].addr, k };
	util_sort_kv(kv, nseq);
	bool ok = true;
	for (size_t k = 1; k < nseq && ok; k++) {
		size_t prev = kv[k - 1].val;
		size_t last = (prev + 1 < nseq ? starts[prev + 1] : u->nrows) - 1;
		ok = u->rows[last].addr <= kv[k].key;
	}
	if (ok) {
		struct row *out = xmalloc(u->nrows * sizeof(*out));
		size_t n = 0;
		for (size_t k = 0; k < nseq; k++) {
			size_t q = kv[k].val;
			size_t end = q + 1 < nseq ? starts[q + 1] : u->nrows;
			memcpy(&out[n], &u->rows[starts[q]], (end - starts[q]) * sizeof(*out));
			n += end - starts[q];
		}
		free(u->rows);
		u->rows = out;
	}
	free(kv);
	return ok;
}

static bool own_lines(struct symbolizer *s, struct sym_dwarf *d, struct unit *u)
{
	Dwarf_Attribute at;
	Dwarf_Word off;
	if (!d->line.p || u->treedie.addr != u->cudie.addr ||
	    dwarf_formudata(dwarf_attr(&u->cudie, DW_AT_stmt_list, &at), &off) != 0 ||
	    off >= d->line.len)
		return false;
	struct cur c = { d->line.p + off, d->line.p + d->line.len, false };
	size_t offset_size = 4;
	uint64_t len = rd_fixed(&c, 4);
	if (len == 0xffffffff) {
		len = rd_fixed(&c, 8);
		offset_size = 8;
	}
	if (c.bad || len > (size_t)(c.end - c.p))
		return false;
	c.end = c.p + len;
	unsigned version = (unsigned)rd_fixed(&c, 2);
	if (version < 2 || version > 5)
		return false;
	if (version >= 5 && (rd_fixed(&c, 1) > 8 || rd_fixed(&c, 1) != 0))
		return false; /* address size; segment selectors */
	uint64_t hlen = rd_fixed(&c, offset_size);
	if (c.bad || hlen > (size_t)(c.end - c.p))
		return false;
	const uint8_t *prog = c.p + hlen;
	unsigned min_len = (unsigned)rd_fixed(&c, 1);
	unsigned max_ops = version >= 4 ? (unsigned)rd_fixed(&c, 1) : 1;
	rd_fixed(&c, 1); /* default is_stmt: every row counts */
	int line_base = (int8_t)rd_fixed(&c, 1);
	unsigned line_range = (unsigned)rd_fixed(&c, 1);
	unsigned opcode_base = (unsigned)rd_fixed(&c, 1);
	const uint8_t *oplen = c.p - 1; /* oplen[op]: operands of standard opcode op */
	if (c.bad || max_ops != 1 || line_range == 0 || opcode_base == 0 ||
	    (size_t)(c.end - c.p) < opcode_base - 1)
		return false;
	c.p += opcode_base - 1;
	struct cur hdr = { c.p, prog, false };
	if (!rd_files(s, d, u, &hdr, version, offset_size) || hdr.p != prog) {
		free(u->own_files);
		u->own_files = NULL;
		u->nown_files = 0;
		return false;
	}

	c.p = prog;
	size_t cap = len / 4 + 16; /* about one row per 4 bytes of program */
	u->rows = xmalloc(cap * sizeof(struct row));
	u->nrows = 0;
	bool sorted = true, seq_sorted = true;
	uint32_t *starts = NULL; /* each sequence's first row */
	size_t nseq = 0, cap_seq = 0;
	uint64_t addr = 0, file = 1;
	int64_t line = 1;
#define EMIT(end_seq)                                                                        \
	do {                                                                                 \
		if (u->nrows == cap) {                                                       \
			cap *= 2;                                                            \
			u->rows = xrealloc(u->rows, cap * sizeof(struct row));               \
		}                                                                            \
		bool first_row = !u->nrows || u->rows[u->nrows - 1].line == END_OF_SEQUENCE;  \
		if (first_row) {                                                             \
			GROW(starts, cap_seq, nseq + 1);                                     \
			starts[nseq++] = (uint32_t)u->nrows;                                 \
		}                                                                            \
		if (u->nrows && addr < u->rows[u->nrows - 1].addr) {                         \
			sorted = false;                                                      \
			seq_sorted = seq_sorted && first_row;                                \
		}                                                                            \
		u->rows[u->nrows++] = (struct row){                                          \
			addr, file < u->nown_files ? u->own_files[file] : "",                \
			(end_seq) ? END_OF_SEQUENCE                                          \
			: line > 0 && line < INT32_MAX ? (uint32_t)line                     \
						       : 0 };                                \
	} while (0)
	while (c.p < c.end && !c.bad) {
		unsigned op = *c.p++;
		if (op >= opcode_base) { /* special: advance address and line, add a row */
			unsigned adj = op - opcode_base;
			line += line_base + (int)(adj % line_range);
			addr += (uint64_t)min_len * (adj / line_range);
			EMIT(false);
			continue;
		}
		switch (op) {
		case 0: { /* extended */
			uint64_t elen = rd_uleb(&c);
			if (c.bad || elen == 0 || elen > (size_t)(c.end - c.p))
				goto fail;
			const uint8_t *next = c.p + elen;
			unsigned sub = *c.p++;
			if (sub == DW_LNE_end_sequence) {
				EMIT(true);
				addr = 0;
				file = 1;
				line = 1;
			} else if (sub == DW_LNE_set_address) {
				if (elen - 1 > 8)
					goto fail;
				addr = rd_fixed(&c, elen - 1);
			} else if (sub == DW_LNE_define_file) {
				goto fail; /* DWARF 2 only, never seen: libdw has it */
			}
			c.p = next;
			break;
		}
		case DW_LNS_copy:
			EMIT(false);
			break;
		case DW_LNS_advance_pc:
			addr += (uint64_t)min_len * rd_uleb(&c);
			break;
		case DW_LNS_advance_line:
			line += rd_sleb(&c);
			break;
		case DW_LNS_set_file:
			file = rd_uleb(&c);
			break;
		case DW_LNS_const_add_pc:
			addr += (uint64_t)min_len * ((255 - opcode_base) / line_range);
			break;
		case DW_LNS_fixed_advance_pc:
			addr += rd_fixed(&c, 2);
			break;
		case DW_LNS_negate_stmt:
		case DW_LNS_set_basic_block:
		case DW_LNS_set_prologue_end:
		case DW_LNS_set_epilogue_begin:
			break;
		default: /* column, isa and opcodes we do not know: skip operands */
			for (unsigned k = 0; k < oplen[op]; k++)
				rd_uleb(&c);
			break;
		}
	}
#undef EMIT
	if (c.bad || u->nrows > UINT32_MAX)
		goto fail;
	if (!sorted && (!seq_sorted || !sort_sequences(u, starts, nseq)))
		sort_rows(u);
	free(starts);
	return true;
fail:
	free(starts);
	free(u->rows);
	u->rows = NULL;
	u->nrows = 0;
	free(u->own_files);
	u->own_files = NULL;
	u->nown_files = 0;
	return false;
}

/* Keeps one row per address: the last that is not an end of sequence
 * (rows before it at the same address cover no code). */
static void dedup_rows(struct unit *u)
{
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

static void load_lines(struct symbolizer *s, struct sym_dwarf *d, struct unit *u)
{
	Dwarf_Lines *lines;
	size_t n;
	if (!dwarf_hasattr(&u->cudie, DW_AT_stmt_list))
		return; /* a unit without a line table */
	if (own_lines(s, d, u)) {
		dedup_rows(u);
		return;
	}
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
		sort_rows(u);
	dedup_rows(u);
}

struct walk {
	struct symbolizer *s;
	struct sym_dwarf *d;
	struct unit *u;
};

static const char *unit_file(struct unit *u, Dwarf_Word idx)
{
	if (u->own_files)
		return idx < u->nown_files ? u->own_files[idx] : "";
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

/* By start, then depth (deeper last: found first), then scope: stable
 * radix passes by depth and then by start over ranges already in scope
 * order. */
static void sort_ranges(struct unit *u)
{
	size_t n = u->nranges;
	if (n < 2)
		return;
	struct util_kv *kv = xmalloc(n * sizeof(*kv));
	for (size_t i = 0; i < n; i++)
		kv[i] = (struct util_kv){ u->ranges[i].depth, i };
	util_sort_kv(kv, n);
	for (size_t i = 0; i < n; i++)
		kv[i].key = u->ranges[kv[i].val].lo;
	util_sort_kv(kv, n);
	struct range *out = xmalloc(u->cap_ranges * sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = u->ranges[kv[i].val];
	free(u->ranges);
	u->ranges = out;
	free(kv);
}

static void load_unit(struct symbolizer *s, struct sym_dwarf *d, struct unit *u)
{
	u->state = UNIT_LOADED;
	load_lines(s, d, u);
	if (!u->own_files && dwarf_getsrcfiles(&u->treedie, &u->files, &u->nfiles) != 0) {
		u->files = NULL;
		u->nfiles = 0;
	}
	struct walk w = { s, d, u };
	walk_children(&w, &u->treedie, NONE, 0, 0);
	sort_ranges(u);
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

_Static_assert(sizeof(struct row) % 8 == 0, "rows are searched as uint64_t words");
_Static_assert(sizeof(struct range) % 8 == 0, "ranges are searched as uint64_t words");

static const struct row *row_at(struct unit *u, uint64_t addr)
{
	if (!u->nrows)
		return NULL;
	size_t lo = sym_count_le(&u->rows[0].addr, sizeof(struct row) / 8, u->nrows, addr,
				 &u->row_hint);
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
static uint32_t innermost(struct unit *u, uint64_t addr)
{
	if (!u->nranges)
		return NONE;
	size_t lo = sym_count_le(&u->ranges[0].lo, sizeof(struct range) / 8, u->nranges, addr,
				 &u->range_hint);
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

/* The name and declaration line of a DIE, through abstract origins and
 * specifications. */
static struct origin read_name(Dwarf_Die *die)
{
	Dwarf_Attribute at;
	/* The linkage name demangles to the qualified name (namespace,
	 * class, template arguments); plain C has only DW_AT_name. */
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &at));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &at));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &at));
	struct origin o = { name, 0 };
	int line = 0;
	if (dwarf_decl_line(die, &line) == 0 && line > 0)
		o.decl_line = (uint32_t)line;
	return o;
}

static void resolve(struct sym_dwarf *d, struct scope *sc)
{
	if (sc->resolved)
		return;
	sc->resolved = true;
	/* Every inlined copy of a function names it through the same
	 * abstract origin (an inlined call carries no name of its own):
	 * read that once, not once per copy. */
	Dwarf_Attribute at;
	Dwarf_Die org;
	if (sc->is_inline && dwarf_formref_die(dwarf_attr(&sc->die, DW_AT_abstract_origin, &at), &org)) {
		const void *key = (const void *)(uintptr_t)(dwarf_dieoffset(&org) + 1);
		uintptr_t idx = (uintptr_t)sym_ptrmap_get(&d->origins, key);
		if (!idx) {
			GROW(d->origin, d->cap_origin, d->norigin + 1);
			d->origin[d->norigin++] = read_name(&org);
			idx = d->norigin;
			sym_ptrmap_put(&d->origins, key, (const void *)idx);
		}
		sc->name = d->origin[idx - 1].name;
		sc->decl_line = d->origin[idx - 1].decl_line;
		return;
	}
	struct origin o = read_name(&sc->die);
	sc->name = o.name;
	sc->decl_line = o.decl_line;
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
		resolve(d, p);
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
		free(d->units[i].own_files);
	}
	free(d->origin);
	sym_ptrmap_free(&d->origins);
	free(d->units);
	free(d->ur);
	free(d->ur_maxhi);
	dwarf_end(d->dw);
	free(d);
}
