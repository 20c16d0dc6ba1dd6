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
#include <endian.h>
#include <elfutils/libdw.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "sym_internal.h"

#define NONE UINT32_MAX
#define END_OF_SEQUENCE UINT32_MAX
/* DIE nesting deeper than this is damaged DWARF, not real code. */
#define MAX_DIE_DEPTH 256

/* 16 bytes: a large unit has a row per 4 bytes of code, and fresh
 * memory costs a page fault per 4 KiB. */
struct row {
	uint64_t addr;
	uint32_t file; /* into unit.row_files; NO_FILE: none */
	uint32_t line; /* END_OF_SEQUENCE: no code from here to the next row */
};

#define NO_FILE UINT32_MAX

struct scope {
	Dwarf_Off off;        /* the DIE, in unit.tree_dw: names are read from it on demand */
	Dwarf_Off origin;     /* inlined call: its abstract origin's DIE when our reader
			       * found it, else 0 (libdw finds it from off) */
	const char *call_file; /* inlined call: where in the parent it was called */
	const char *name;      /* after resolve() */
	uint32_t parent;      /* enclosing function or inlined call; NONE for a function */
	uint32_t first_range; /* into unit.own */
	uint32_t nranges;
	uint32_t call_line;
	uint32_t decl_line;
	bool is_inline;
	bool resolved;
};

struct range {
	uint64_t lo, hi;
	uint32_t scope;
	uint32_t depth;
};

/* The innermost scope of the addresses from lo to the next piece's lo
 * (NONE: no function there). */
struct piece {
	uint64_t lo;
	uint32_t scope;
};

struct unit {
	Dwarf_Die cudie;  /* lines */
	Dwarf_Die treedie; /* functions: the split unit's DIE for a skeleton */
	Dwarf *tree_dw;    /* where the scopes' DIE offsets point */
	enum { UNIT_NEW, UNIT_LOADED } state;
	struct row *rows;
	size_t nrows;
	struct scope *scopes;
	size_t nscopes, cap_scopes;
	struct range *ranges; /* own's, sorted by lo, then depth */
	size_t nranges;
	uint64_t *maxhi; /* running maximum of ranges' hi: ends backward scans */
	struct range *own; /* per scope, in scope order */
	size_t nown, cap_own;
	/* The ranges flattened, when they nest as their scopes do (every
	 * real compiler's output): one search answers innermost(). */
	struct piece *pieces;
	size_t npieces;
	size_t row_hint, range_hint, piece_hint; /* sorted lookups step forward from here */
	Dwarf_Files *files; /* libdw's, when its line reader was used */
	size_t nfiles;
	const char **own_files; /* ours, when ours was */
	size_t nown_files;
	const char **row_files; /* what rows' file indexes name: own_files or lib_files */
	size_t nrow_files;
	const char **lib_files; /* the distinct names libdw's rows gave */
	size_t nlib_files, cap_lib_files;
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
	struct sect info, abbrev, ranges, rnglists; /* and function trees */
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
	/* The addresses [run_lo, run_hi) that get the last answer (same
	 * unit, line row and innermost scope) and its length: a sorted batch
	 * mostly asks for several addresses of one row in a row. */
	uint64_t run_lo, run_hi;
	size_t run_n, run_cap;
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
bool sym_dwarf_search_ranges;

/* The bytes of a section, decompressed (libdw has usually done that
 * already, in place); empty when absent or unreadable. */
static struct sect section(Elf *elf, const char *want)
{
	GElf_Shdr sh;
	Elf_Scn *scn = sym_elf_section(elf, want, &sh);
	if (!scn || ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0))
		return (struct sect){ NULL, 0 };
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf)
		return (struct sect){ NULL, 0 };
	return (struct sect){ data->d_buf, data->d_size };
}

/* Our own line-table reader needs the raw sections; only little-endian
 * files (what oneprof profiles), and not when a test asks for libdw's. */
static void find_sections(struct symbolizer *s, struct sym_dwarf *d, Elf *elf)
{
	GElf_Ehdr eh;
	if (s->libdw_lines || !elf || !gelf_getehdr(elf, &eh) ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return;
	d->line = section(elf, ".debug_line");
	d->line_str = section(elf, ".debug_line_str");
	d->str = section(elf, ".debug_str");
	d->info = section(elf, ".debug_info");
	d->abbrev = section(elf, ".debug_abbrev");
	d->ranges = section(elf, ".debug_ranges");
	d->rnglists = section(elf, ".debug_rnglists");
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
	find_sections(s, d, dwarf_getelf(dw));

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
	/* Little-endian files only. The usual sizes as one load each: the
	 * byte loop was a tenth of reading a unit's DIEs. */
	uint64_t v = 0;
	switch (n) {
	case 1:
		v = c->p[0];
		break;
	case 2: {
		uint16_t x;
		memcpy(&x, c->p, 2);
		v = le16toh(x);
		break;
	}
	case 4: {
		uint32_t x;
		memcpy(&x, c->p, 4);
		v = le32toh(x);
		break;
	}
	case 8:
		memcpy(&v, c->p, 8);
		v = le64toh(v);
		break;
	default:
		for (size_t i = 0; i < n; i++)
			v |= (uint64_t)c->p[i] << (8 * i);
	}
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

/* Directories after the first are relative to the first, the unit's
 * compilation directory, unless absolute: a file is named by its whole
 * path, as addr2line and libdw name it (a build run from the source
 * tree's root names its files src/x.c otherwise). */
static void absolute_dirs(struct symbolizer *s, const char **dirs, size_t ndirs)
{
	if (ndirs == 0 || !dirs[0] || dirs[0][0] != '/')
		return;
	for (size_t k = 1; k < ndirs; k++)
		if (dirs[k] && dirs[k][0] != '/')
			dirs[k] = join_path(s, dirs[0], dirs[k]);
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
		absolute_dirs(s, dirs, ndirs);
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
	absolute_dirs(s, dirs, ndirs);
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

/* Swaps rows [a, m) and [m, b) in place. */
static void rotate_rows(struct row *r, size_t a, size_t m, size_t b)
{
	for (size_t i = a, j = m; i < j;) {
		struct row t = r[i];
		r[i++] = r[--j];
		r[j] = t;
	}
	for (size_t i = m, j = b; i < j;) {
		struct row t = r[i];
		r[i++] = r[--j];
		r[j] = t;
	}
	for (size_t i = a, j = b; i < j;) {
		struct row t = r[i];
		r[i++] = r[--j];
		r[j] = t;
	}
}

/* Sequences moved in place by rotations: a few (the linker put
 * .text.startup or .text.unlikely before .text) cost a pass or two over
 * rows already in memory, where a sorted copy would fault in as many
 * fresh pages again. */
#define MAX_ROTATED_SEQUENCES 8

/* Rows in address order when the program's sequences (each in address
 * order, none overlapping another) are merely out of order, as when the
 * linker puts .text.startup before .text: the sequences are sorted, not
 * the rows. starts[k]: the first row of sequence k. False when they do
 * overlap. */
static bool sort_sequences(struct unit *u, uint32_t *starts, size_t nseq)
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
	if (ok && nseq <= MAX_ROTATED_SEQUENCES) {
		/* order[i]: the sequence now i-th in the rows; its length. */
		size_t order[MAX_ROTATED_SEQUENCES], len[MAX_ROTATED_SEQUENCES];
		for (size_t k = 0; k < nseq; k++) {
			order[k] = k;
			len[k] = (k + 1 < nseq ? starts[k + 1] : u->nrows) - starts[k];
		}
		size_t at = 0; /* rows before position k are in place */
		for (size_t k = 0; k < nseq; k++) {
			size_t want = kv[k].val, i = k, from = at;
			while (order[i] != want)
				from += len[order[i++]];
			if (i != k) {
				rotate_rows(u->rows, at, from, from + len[want]);
				memmove(&order[k + 1], &order[k], (i - k) * sizeof(order[0]));
				order[k] = want;
			}
			at += len[want];
		}
	} else if (ok) {
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
	uint32_t *starts = NULL; /* each sequence's first row */
	if (!rd_files(s, d, u, &hdr, version, offset_size) || hdr.p != prog)
		goto fail;

	c.p = prog;
	/* Every row takes at least one byte of the program, so this many
	 * rows always fit; the pages of the rest are never touched. */
	struct row *rows = xmalloc_big(((size_t)(c.end - prog) + 1) * sizeof(struct row));
	u->rows = rows;
	size_t nrows = 0;
	bool sorted = true, seq_sorted = true;
	size_t nseq = 0, cap_seq = 0;
	uint64_t addr = 0, prev = 0; /* prev: the last row's address */
	bool seq_start = true;       /* the next row starts a sequence */
	const uint32_t file1 = 1 < u->nown_files ? 1 : NO_FILE; /* the file register's start */
	uint32_t row_file = file1;
	int64_t line = 1;
	/* Locals, not u->rows and u->nrows: a store through rows could
	 * alias u, which would make the compiler reload them at each row. */
#define ROW(end_seq)                                                                         \
	(struct row)                                                                         \
	{                                                                                    \
		addr, row_file,                                                              \
			(end_seq) ? END_OF_SEQUENCE                                          \
			: line > 0 && line < INT32_MAX ? (uint32_t)line                     \
						       : 0                                   \
	}
#define EMIT(end_seq)                                                                        \
	do {                                                                                 \
		if (seq_start) {                                                             \
			GROW(starts, cap_seq, nseq + 1);                                     \
			starts[nseq++] = (uint32_t)nrows;                                    \
		} else if (addr == prev && !(end_seq)) {                                     \
			/* A later row at one address replaces an earlier one (as \
			 * dedup_rows does): most of a program's rows. */        \
			nrows--;                                                             \
		}                                                                            \
		if (addr < prev) {                                                           \
			sorted = false;                                                      \
			seq_sorted = seq_sorted && seq_start;                                \
		}                                                                            \
		rows[nrows++] = ROW(end_seq);                                                \
		prev = addr;                                                                 \
		seq_start = (end_seq);                                                       \
	} while (0)
	/* What each special opcode adds to the address and the line, worked
	 * out once: two divisions per row were a tenth of the decoding. */
	uint32_t sp_addr[256];
	int32_t sp_line[256];
	for (unsigned op = opcode_base; op < 256; op++) {
		unsigned adj = op - opcode_base;
		sp_line[op] = line_base + (int)(adj % line_range);
		sp_addr[op] = min_len * (adj / line_range);
	}
	while (c.p < c.end && !c.bad) {
		unsigned op = *c.p++;
		if (op >= opcode_base) { /* special: advance address and line, add a row */
			line += sp_line[op];
			addr += sp_addr[op];
			if (seq_start || addr < prev) {
				EMIT(false);
				continue;
			}
			/* Inside a sequence, in order: the common row. */
			nrows -= addr == prev;
			rows[nrows++] = ROW(false);
			prev = addr;
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
				row_file = file1;
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
		case DW_LNS_set_file: {
			uint64_t file = rd_uleb(&c);
			row_file = file < u->nown_files ? (uint32_t)file : NO_FILE;
			break;
		}
		case DW_LNS_const_add_pc:
			addr += (uint64_t)min_len * ((255 - opcode_base) / line_range);
			break;
		case DW_LNS_fixed_advance_pc:
			addr += rd_fixed(&c, 2);
			break;
		case DW_LNS_set_column: /* one operand on every row or so: skipped inline */
			if (oplen[op] != 1) {
				for (unsigned k = 0; k < oplen[op]; k++)
					rd_uleb(&c);
				break;
			}
			while (c.p < c.end && (*c.p & 0x80))
				c.p++;
			if (c.p < c.end)
				c.p++;
			else
				c.bad = true;
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
#undef ROW
	u->nrows = nrows;
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
		u->row_files = u->own_files;
		u->nrow_files = u->nown_files;
		dedup_rows(u);
		return;
	}
	if (dwarf_getsrclines(&u->cudie, &lines, &n) != 0) {
		damaged(s, d, "reading a line table");
		return;
	}
	u->rows = xmalloc((n ? n : 1) * sizeof(struct row));
	struct sym_ptrmap index = { 0 }; /* name -> index + 1 in lib_files */
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
		uint32_t fi = NO_FILE;
		if (file) {
			uintptr_t k = (uintptr_t)sym_ptrmap_get(&index, file);
			if (!k) {
				GROW(u->lib_files, u->cap_lib_files, u->nlib_files + 1);
				u->lib_files[u->nlib_files++] = file;
				k = u->nlib_files;
				sym_ptrmap_put(&index, file, (const void *)k);
			}
			fi = (uint32_t)(k - 1);
		}
		struct row r = { a, fi, end ? END_OF_SEQUENCE : lineno > 0 ? (uint32_t)lineno : 0 };
		if (u->nrows && r.addr < u->rows[u->nrows - 1].addr)
			sorted = false;
		u->rows[u->nrows++] = r;
	}
	sym_ptrmap_free(&index);
	u->row_files = u->lib_files;
	u->nrow_files = u->nlib_files;
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

static void push_range(struct unit *u, uint64_t lo, uint64_t hi, uint32_t idx, uint32_t depth)
{
	if (hi <= lo)
		return;
	GROW(u->own, u->cap_own, u->nown + 1);
	u->own[u->nown++] = (struct range){ lo, hi, idx, depth };
}

/* The scope whose ranges were pushed from own[first] on; NONE when none
 * were (a declaration, an abstract instance: no code). */
static uint32_t new_scope(struct unit *u, Dwarf_Off off, bool is_inline, uint32_t parent,
			  size_t first)
{
	if (u->nown == first)
		return NONE;
	GROW(u->scopes, u->cap_scopes, u->nscopes + 1);
	struct scope *sc = &u->scopes[u->nscopes++];
	memset(sc, 0, sizeof(*sc));
	sc->off = off;
	sc->parent = is_inline ? parent : NONE;
	sc->first_range = (uint32_t)first;
	sc->nranges = (uint32_t)(u->nown - first);
	sc->is_inline = is_inline;
	sc->call_file = "";
	return (uint32_t)(u->nscopes - 1);
}

/* Adds a function or inlined call with its ranges, through libdw. */
static uint32_t add_scope(struct walk *w, Dwarf_Die *die, bool is_inline, uint32_t parent,
			  uint32_t depth)
{
	struct unit *u = w->u;
	uint32_t idx = (uint32_t)u->nscopes;
	size_t first = u->nown;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0)
		push_range(u, lo, hi, idx, depth);
	if (new_scope(u, dwarf_dieoffset(die), is_inline, parent, first) == NONE)
		return NONE;
	struct scope *sc = &u->scopes[idx];
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

/* Tags whose children may hold code (functions, inlined calls) though
 * they hold none themselves; types and variables cannot. */
static bool tag_may_hold_code(int tag)
{
	switch (tag) {
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_interface_type:
		return true;
	default:
		return false;
	}
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
		default:
			if (tag_may_hold_code(tag))
				walk_children(w, &child, parent, depth, level + 1);
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* --- reading a unit's functions ourselves --- */

/* libdw decodes a DIE's abbreviation anew for each dwarf_attr and
 * dwarf_siblingof: walking a large unit's tree that way was most of the
 * symbolizer's time. This reader decodes each DIE once, keeps what the
 * tree of functions needs (tag, nesting, pc ranges, call site) and jumps
 * over other subtrees by DW_AT_sibling. Anything unusual (an address or
 * range list index, DW_FORM_indirect, 4-byte addresses, a damaged entry)
 * returns false and libdw walks the unit instead, as for line tables;
 * the unit test that compares the two line readers compares the two
 * tree readers as well. */

struct abbrev {
	uint32_t tag;
	bool children;
	/* Nothing the walk reads: neither a function nor an inlined call, and
	 * no DW_AT_sibling. A DIE is then its bytes to pass over, and when
	 * each form has one size (skip >= 0) that is one add (parameters,
	 * variables, call sites: most DIEs of optimized code). */
	bool plain;
	int32_t skip;
	uint32_t first, n; /* into tree.specs */
};

struct spec {
	uint32_t name, form;
	int32_t size; /* form_size() */
	int64_t implicit; /* DW_FORM_implicit_const */
};

/* Abbreviation codes are small and dense in practice. */
#define MAX_ABBREV_CODE 65536

struct tree {
	struct sym_dwarf *d;
	struct unit *u;
	struct cur c;         /* over the unit's DIEs */
	const uint8_t *start; /* the unit's header: references count from here */
	unsigned version, addr_size, offset_size;
	uint32_t *by_code; /* abbreviation code -> index + 1 in abbrevs */
	size_t ncodes;
	struct abbrev *abbrevs;
	size_t nabbrevs, cap_abbrevs;
	struct spec *specs;
	size_t nspecs, cap_specs;
	bool have_base;
	uint64_t base; /* the unit's base address, for range lists */
};

/* What the walk needs from one DIE; ab is NULL at a null entry (the end
 * of a list of siblings). */
struct die {
	const struct abbrev *ab;
	Dwarf_Off off;
	bool has_lo, has_hi, hi_offset, has_ranges, has_sibling, has_call_file, has_call_line;
	bool has_origin;
	uint64_t lo, hi, ranges, sibling, call_file, call_line;
	Dwarf_Off origin; /* the first DW_AT_abstract_origin, when a reference within
			   * the unit (else 0): a DIE offset in .debug_info */
};

static bool skip_bytes(struct cur *c, uint64_t n)
{
	if (n > (size_t)(c->end - c->p)) {
		c->bad = true;
		return false;
	}
	c->p += n;
	return true;
}

/* The size of a form's value in the unit, or -1 when it varies (or is
 * not a form we read). */
static int form_size(const struct tree *t, uint32_t form)
{
	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return 0;
	case DW_FORM_data1:
	case DW_FORM_ref1:
	case DW_FORM_flag:
	case DW_FORM_strx1:
	case DW_FORM_addrx1:
		return 1;
	case DW_FORM_data2:
	case DW_FORM_ref2:
	case DW_FORM_strx2:
	case DW_FORM_addrx2:
		return 2;
	case DW_FORM_strx3:
	case DW_FORM_addrx3:
		return 3;
	case DW_FORM_data4:
	case DW_FORM_ref4:
	case DW_FORM_ref_sup4:
	case DW_FORM_strx4:
	case DW_FORM_addrx4:
		return 4;
	case DW_FORM_data8:
	case DW_FORM_ref8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		return 8;
	case DW_FORM_data16:
		return 16;
	case DW_FORM_addr:
		return (int)t->addr_size;
	case DW_FORM_strp:
	case DW_FORM_line_strp:
	case DW_FORM_sec_offset:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt:
	case DW_FORM_GNU_strp_alt:
		return (int)t->offset_size;
	case DW_FORM_ref_addr:
		return (int)(t->version == 2 ? t->addr_size : t->offset_size);
	default:
		return -1;
	}
}

static bool rd_abbrevs(struct tree *t, uint64_t off)
{
	const struct sect *a = &t->d->abbrev;
	if (off >= a->len)
		return false;
	struct cur c = { a->p + off, a->p + a->len, false };
	for (;;) {
		uint64_t code = rd_uleb(&c);
		if (c.bad)
			return false;
		if (code == 0)
			return true;
		if (code >= MAX_ABBREV_CODE)
			return false;
		if (code >= t->ncodes) {
			size_t n = t->ncodes ? t->ncodes : 64;
			while (n <= code)
				n *= 2;
			t->by_code = xrealloc(t->by_code, n * sizeof(uint32_t));
			memset(t->by_code + t->ncodes, 0, (n - t->ncodes) * sizeof(uint32_t));
			t->ncodes = n;
		}
		if (t->by_code[code])
			return false; /* a code defined twice */
		GROW(t->abbrevs, t->cap_abbrevs, t->nabbrevs + 1);
		struct abbrev *ab = &t->abbrevs[t->nabbrevs++];
		t->by_code[code] = (uint32_t)t->nabbrevs;
		uint64_t tag = rd_uleb(&c);
		ab->tag = tag <= UINT32_MAX ? (uint32_t)tag : 0;
		ab->children = rd_fixed(&c, 1) == DW_CHILDREN_yes;
		ab->first = (uint32_t)t->nspecs;
		for (;;) {
			uint64_t name = rd_uleb(&c), form = rd_uleb(&c);
			if (c.bad || name > UINT32_MAX || form > UINT32_MAX)
				return false;
			if (name == 0 && form == 0)
				break;
			if (form == DW_FORM_indirect)
				return false;
			GROW(t->specs, t->cap_specs, t->nspecs + 1);
			t->specs[t->nspecs++] = (struct spec){
				(uint32_t)name, (uint32_t)form, form_size(t, (uint32_t)form),
				form == DW_FORM_implicit_const ? rd_sleb(&c) : 0
			};
		}
		ab->n = (uint32_t)(t->nspecs - ab->first);
		ab->plain = ab->tag != DW_TAG_subprogram && ab->tag != DW_TAG_inlined_subroutine;
		ab->skip = 0;
		for (uint32_t i = 0; i < ab->n; i++) {
			const struct spec *sp = &t->specs[ab->first + i];
			ab->plain = ab->plain && sp->name != DW_AT_sibling;
			ab->skip = sp->size < 0 || ab->skip < 0 ? -1 : ab->skip + sp->size;
		}
	}
}

/* One attribute value: numbers, addresses and offsets in *v (0 for
 * strings and blocks, which are skipped). False for a form not read
 * here or past the unit's end. */
static bool rd_value(struct tree *t, const struct spec *sp, uint64_t *v)
{
	struct cur *c = &t->c;
	*v = 0;
	switch (sp->form) {
	case DW_FORM_flag_present:
		*v = 1;
		break;
	case DW_FORM_implicit_const:
		*v = (uint64_t)sp->implicit;
		break;
	case DW_FORM_data16:
		skip_bytes(c, 16);
		break;
	case DW_FORM_udata:
	case DW_FORM_ref_udata:
	case DW_FORM_strx:
	case DW_FORM_addrx:
	case DW_FORM_loclistx:
	case DW_FORM_rnglistx:
	case DW_FORM_GNU_addr_index:
	case DW_FORM_GNU_str_index:
		*v = rd_uleb(c);
		break;
	case DW_FORM_sdata:
		*v = (uint64_t)rd_sleb(c);
		break;
	case DW_FORM_string:
		rd_cstr(c);
		break;
	case DW_FORM_block1:
		skip_bytes(c, rd_fixed(c, 1));
		break;
	case DW_FORM_block2:
		skip_bytes(c, rd_fixed(c, 2));
		break;
	case DW_FORM_block4:
		skip_bytes(c, rd_fixed(c, 4));
		break;
	case DW_FORM_block:
	case DW_FORM_exprloc:
		skip_bytes(c, rd_uleb(c));
		break;
	default: /* the forms of one size: a number, an address, an offset */
		if (sp->size < 0)
			return false;
		*v = rd_fixed(c, (size_t)sp->size);
		break;
	}
	return !c->bad;
}

/* A constant, as dwarf_formudata reads one for these attributes. */
static bool is_constant(uint32_t form)
{
	switch (form) {
	case DW_FORM_data1:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
	case DW_FORM_udata:
	case DW_FORM_sdata:
	case DW_FORM_implicit_const:
		return true;
	default:
		return false;
	}
}

/* The next DIE, or a null entry (also at the unit's end, where libdw's
 * walk stops as well). An attribute the walk uses in a form it does not
 * read fails the whole reader. */
static bool rd_die(struct tree *t, struct die *e)
{
	struct cur *c = &t->c;
	e->ab = NULL;
	if (c->p >= c->end)
		return true;
	e->off = (Dwarf_Off)(c->p - t->d->info.p);
	uint64_t code = rd_uleb(c);
	if (c->bad)
		return false;
	if (code == 0)
		return true;
	if (code >= t->ncodes || !t->by_code[code])
		return false;
	const struct abbrev *ab = &t->abbrevs[t->by_code[code] - 1];
	e->ab = ab;
	e->has_lo = e->has_hi = e->has_ranges = e->has_sibling = false;
	e->has_call_file = e->has_call_line = e->has_origin = false;
	e->origin = 0;
	if (ab->plain && ab->skip >= 0 && (size_t)ab->skip <= (size_t)(c->end - c->p)) {
		c->p += ab->skip;
		return true;
	}
	const struct spec *sp = &t->specs[ab->first];
	for (uint32_t i = 0; i < ab->n; i++, sp++) {
		uint64_t v;
		if (!rd_value(t, sp, &v))
			return false;
		/* dwarf_attr finds the first of each: keep the first. */
		switch (sp->name) {
		case DW_AT_low_pc:
			if (e->has_lo)
				break;
			if (sp->form != DW_FORM_addr)
				return false;
			e->has_lo = true;
			e->lo = v;
			break;
		case DW_AT_high_pc:
			if (e->has_hi)
				break;
			if (sp->form != DW_FORM_addr && !is_constant(sp->form))
				return false;
			e->has_hi = true;
			e->hi_offset = sp->form != DW_FORM_addr;
			e->hi = v;
			break;
		case DW_AT_ranges:
			if (e->has_ranges)
				break;
			if (sp->form != DW_FORM_sec_offset &&
			    !(t->version < 4 && (sp->form == DW_FORM_data4 || sp->form == DW_FORM_data8)))
				return false;
			e->has_ranges = true;
			e->ranges = v;
			break;
		case DW_AT_sibling:
			if (e->has_sibling || sp->form == DW_FORM_ref_addr || sp->form == DW_FORM_ref_sig8 ||
			    sp->form == DW_FORM_ref_sup4 || sp->form == DW_FORM_ref_sup8 ||
			    sp->form == DW_FORM_GNU_ref_alt)
				break;
			e->has_sibling = true;
			e->sibling = v;
			break;
		case DW_AT_abstract_origin:
			if (e->has_origin)
				break;
			e->has_origin = true;
			if (sp->form == DW_FORM_ref1 || sp->form == DW_FORM_ref2 ||
			    sp->form == DW_FORM_ref4 || sp->form == DW_FORM_ref8 ||
			    sp->form == DW_FORM_ref_udata)
				e->origin = (Dwarf_Off)(t->start - t->d->info.p) + v;
			break;
		case DW_AT_call_file:
			if (e->has_call_file)
				break;
			if (!is_constant(sp->form))
				return false;
			e->has_call_file = true;
			e->call_file = v;
			break;
		case DW_AT_call_line:
			if (e->has_call_line)
				break;
			if (!is_constant(sp->form))
				return false;
			e->has_call_line = true;
			e->call_line = v;
			break;
		default:
			break;
		}
	}
	return true;
}

/* To a DIE's next sibling, by its DW_AT_sibling. */
static bool jump(struct tree *t, uint64_t sibling)
{
	if (sibling > (size_t)(t->c.end - t->start) || t->start + sibling <= t->c.p)
		return false;
	t->c.p = t->start + sibling;
	return true;
}

/* Past the children of a DIE that has some: to its DW_AT_sibling when
 * it has one, as dwarf_siblingof goes, else DIE by DIE to the null entry
 * that ends them. */
static bool skip_children(struct tree *t, const struct die *e)
{
	if (e->has_sibling)
		return jump(t, e->sibling);
	for (size_t open = 1; open;) {
		struct die next;
		if (!rd_die(t, &next))
			return false;
		if (!next.ab) {
			if (t->c.p >= t->c.end)
				return true; /* the unit's end closes every list */
			open--;
		} else if (next.ab->children) {
			if (next.has_sibling) {
				if (!jump(t, next.sibling))
					return false;
			} else {
				open++;
			}
		}
	}
	return true;
}

/* The unit's base address for range lists, as libdw takes it: the unit
 * DIE's DW_AT_low_pc, else its DW_AT_entry_pc, else 0. */
static uint64_t unit_base(struct tree *t)
{
	if (!t->have_base) {
		t->have_base = true;
		Dwarf_Attribute at;
		Dwarf_Addr base;
		if (dwarf_lowpc(&t->u->cudie, &base) != 0 &&
		    dwarf_formaddr(dwarf_attr(&t->u->cudie, DW_AT_entry_pc, &at), &base) != 0)
			base = 0;
		t->base = base;
	}
	return t->base;
}

/* A range list: .debug_ranges before DWARF 5, .debug_rnglists since. */
static bool rd_ranges(struct tree *t, uint64_t off, uint32_t idx, uint32_t depth)
{
	uint64_t base = unit_base(t);
	const struct sect *x = t->version < 5 ? &t->d->ranges : &t->d->rnglists;
	if (off >= x->len)
		return false;
	struct cur c = { x->p + off, x->p + x->len, false };
	if (t->version < 5) {
		for (;;) {
			uint64_t lo = rd_fixed(&c, 8), hi = rd_fixed(&c, 8);
			if (c.bad)
				return false;
			if (lo == 0 && hi == 0)
				return true;
			if (lo == UINT64_MAX)
				base = hi; /* a base address selection entry */
			else
				push_range(t->u, base + lo, base + hi, idx, depth);
		}
	}
	for (;;) {
		unsigned kind = (unsigned)rd_fixed(&c, 1);
		uint64_t lo, hi;
		switch (kind) {
		case DW_RLE_end_of_list:
			return !c.bad;
		case DW_RLE_offset_pair:
			lo = rd_uleb(&c);
			hi = rd_uleb(&c);
			push_range(t->u, base + lo, base + hi, idx, depth);
			break;
		case DW_RLE_base_address:
			base = rd_fixed(&c, 8);
			break;
		case DW_RLE_start_end:
			lo = rd_fixed(&c, 8);
			hi = rd_fixed(&c, 8);
			push_range(t->u, lo, hi, idx, depth);
			break;
		case DW_RLE_start_length:
			lo = rd_fixed(&c, 8);
			hi = lo + rd_uleb(&c);
			push_range(t->u, lo, hi, idx, depth);
			break;
		default: /* address indexes (split units): libdw has them */
			return false;
		}
		if (c.bad)
			return false;
	}
}

/* A function or inlined call, as add_scope makes it. */
static bool own_scope(struct tree *t, const struct die *e, bool is_inline, uint32_t parent,
		      uint32_t depth, uint32_t *out)
{
	struct unit *u = t->u;
	uint32_t idx = (uint32_t)u->nscopes;
	size_t first = u->nown;
	if (e->has_lo && e->has_hi)
		push_range(u, e->lo, e->hi_offset ? e->lo + e->hi : e->hi, idx, depth);
	else if (e->has_ranges && !rd_ranges(t, e->ranges, idx, depth))
		return false;
	*out = new_scope(u, e->off, is_inline, parent, first);
	if (*out == NONE || !is_inline)
		return true;
	struct scope *sc = &u->scopes[idx];
	sc->origin = e->origin;
	if (e->has_call_line && e->call_line <= UINT32_MAX)
		sc->call_line = (uint32_t)e->call_line;
	if (e->has_call_file)
		sc->call_file = unit_file(u, e->call_file);
	return true;
}

/* The children of a DIE, as walk_children visits them: through the
 * null entry that ends them. */
static bool walk_own(struct tree *t, uint32_t parent, uint32_t depth, int level)
{
	for (;;) {
		struct die e;
		if (!rd_die(t, &e))
			return false;
		if (!e.ab)
			return true;
		bool descend = false;
		uint32_t under = parent, under_depth = depth;
		switch (e.ab->tag) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
			if (!own_scope(t, &e, e.ab->tag == DW_TAG_inlined_subroutine, parent, depth + 1,
				       &under))
				return false;
			descend = under != NONE;
			under_depth = depth + 1;
			break;
		default:
			descend = tag_may_hold_code(e.ab->tag);
			break;
		}
		if (!e.ab->children)
			continue;
		if (descend && level + 1 <= MAX_DIE_DEPTH) {
			if (!walk_own(t, under, under_depth, level + 1))
				return false;
			if (t->c.p >= t->c.end)
				return true; /* the unit's end closes every list */
		} else if (!skip_children(t, &e)) {
			return false;
		}
	}
}

/* The unit's functions and inlined calls, read by us; false (nothing
 * kept) when libdw must do it. */
static bool own_tree(struct sym_dwarf *d, struct unit *u)
{
	if (!d->info.p || !d->abbrev.p || u->treedie.addr != u->cudie.addr)
		return false;
	Dwarf_Off die_off = dwarf_dieoffset(&u->cudie);
	Dwarf_Off in_unit = dwarf_cuoffset(&u->cudie);
	if (die_off >= d->info.len || in_unit > die_off)
		return false;
	struct tree t = { .d = d, .u = u };
	t.start = d->info.p + (die_off - in_unit);
	t.c = (struct cur){ t.start, d->info.p + d->info.len, false };
	t.offset_size = 4;
	uint64_t len = rd_fixed(&t.c, 4);
	if (len == 0xffffffff) {
		len = rd_fixed(&t.c, 8);
		t.offset_size = 8;
	}
	if (t.c.bad || len > (size_t)(t.c.end - t.c.p))
		return false;
	t.c.end = t.c.p + len;
	/* Sized once from the unit's length (a function or an inlined call
	 * takes a few dozen bytes of DIEs): grown by doubling, these arrays
	 * were copied, and their pages touched anew, at every step. */
	if (!u->scopes) {
		u->cap_scopes = u->cap_own = len / 32 + 16;
		u->scopes = xmalloc_big(u->cap_scopes * sizeof(*u->scopes));
		u->own = xmalloc_big(u->cap_own * sizeof(*u->own));
	}
	t.version = (unsigned)rd_fixed(&t.c, 2);
	uint64_t abbrev_off;
	if (t.version >= 5) {
		if (rd_fixed(&t.c, 1) != DW_UT_compile)
			return false;
		t.addr_size = (unsigned)rd_fixed(&t.c, 1);
		abbrev_off = rd_fixed(&t.c, t.offset_size);
	} else {
		abbrev_off = rd_fixed(&t.c, t.offset_size);
		t.addr_size = (unsigned)rd_fixed(&t.c, 1);
	}
	bool ok = false;
	struct die cu;
	if (!t.c.bad && t.version >= 2 && t.version <= 5 && t.addr_size == 8 &&
	    t.c.p == d->info.p + die_off && rd_abbrevs(&t, abbrev_off) && rd_die(&t, &cu) && cu.ab)
		ok = !cu.ab->children || walk_own(&t, NONE, 0, 0);
	free(t.by_code);
	free(t.abbrevs);
	free(t.specs);
	if (!ok) {
		u->nscopes = u->nown = 0;
		return false;
	}
	u->tree_dw = d->dw;
	return true;
}

/* The ranges by start, then depth (deeper last: found first), then
 * scope (own is in scope order, and the sort is stable). One radix sort
 * of (start, depth) packed in a key when they fit, as they do in any
 * real binary, else one by depth and then one by start. */
static void sort_ranges(struct unit *u)
{
	size_t n = u->nown;
	u->nranges = n;
	u->ranges = xmalloc_big((n ? n : 1) * sizeof(*u->ranges));
	if (n < 2) {
		memcpy(u->ranges, u->own, n * sizeof(*u->ranges));
		return;
	}
	uint64_t min = UINT64_MAX, max = 0;
	uint32_t deepest = 0;
	for (size_t i = 0; i < n; i++) {
		min = u->own[i].lo < min ? u->own[i].lo : min;
		max = u->own[i].lo > max ? u->own[i].lo : max;
		deepest = u->own[i].depth > deepest ? u->own[i].depth : deepest;
	}
	struct util_kv *kv = xmalloc(n * sizeof(*kv));
	if (deepest < 512 && max - min < UINT64_C(1) << 55) {
		for (size_t i = 0; i < n; i++)
			kv[i] = (struct util_kv){ (u->own[i].lo - min) << 9 | u->own[i].depth, i };
		util_sort_kv(kv, n);
	} else {
		for (size_t i = 0; i < n; i++)
			kv[i] = (struct util_kv){ u->own[i].depth, i };
		util_sort_kv(kv, n);
		for (size_t i = 0; i < n; i++)
			kv[i].key = u->own[kv[i].val].lo;
		util_sort_kv(kv, n);
	}
	for (size_t i = 0; i < n; i++)
		u->ranges[i] = u->own[kv[i].val];
	free(kv);
}

/* Adds the piece [lo, ...) of scope sc unless it is empty (the next
 * piece starts at lo too: it replaces this one) or continues the last. */
static void add_piece(struct unit *u, uint64_t lo, uint32_t sc)
{
	if (u->npieces && u->pieces[u->npieces - 1].lo == lo)
		u->npieces--;
	if (u->npieces && u->pieces[u->npieces - 1].scope == sc)
		return;
	u->pieces[u->npieces++] = (struct piece){ lo, sc };
}

/* The ranges (sorted by start, then depth) as pieces with the innermost
 * scope of each address, by one sweep with the open ranges on a stack.
 * This is what innermost() answers only when every range lies inside
 * one range of its scope's parent (a function's, inside none): then the
 * ranges holding an address are the open ones, and the deepest is the
 * one innermost() finds, directly or through the parents of an earlier
 * range's scope. Otherwise (damaged DWARF, overlapping siblings) false,
 * and innermost() searches the ranges. */
static bool flatten(struct unit *u)
{
	size_t n = u->nranges;
	u->pieces = xmalloc_big((2 * n + 1) * sizeof(*u->pieces));
	u->npieces = 0;
	const struct range *open[MAX_DIE_DEPTH];
	size_t depth = 0;
	uint64_t at = 0; /* pieces cover the addresses below at */
	for (size_t i = 0;; i++) {
		uint64_t next = i < n ? u->ranges[i].lo : UINT64_MAX;
		/* Close the ranges that end by next: up to each end, the
		 * innermost is the range closing. */
		while (depth && open[depth - 1]->hi <= next) {
			const struct range *t = open[--depth];
			if (t->hi > at) {
				add_piece(u, at, t->scope);
				at = t->hi;
			}
		}
		if (i == n)
			break;
		const struct range *r = &u->ranges[i];
		uint32_t parent = u->scopes[r->scope].parent;
		if (depth ? r->hi > open[depth - 1]->hi || open[depth - 1]->scope != parent
			  : parent != NONE)
			goto fail;
		if (r->lo >= r->hi)
			continue; /* holds nothing */
		if (depth == MAX_DIE_DEPTH)
			goto fail;
		add_piece(u, at, depth ? open[depth - 1]->scope : NONE);
		at = r->lo;
		open[depth++] = r;
	}
	add_piece(u, at, NONE);
	return true;
fail:
	free(u->pieces);
	u->pieces = NULL;
	u->npieces = 0;
	return false;
}

static void load_unit(struct symbolizer *s, struct sym_dwarf *d, struct unit *u)
{
	u->state = UNIT_LOADED;
	load_lines(s, d, u);
	if (!u->own_files && dwarf_getsrcfiles(&u->treedie, &u->files, &u->nfiles) != 0) {
		u->files = NULL;
		u->nfiles = 0;
	}
	if (!own_tree(d, u)) {
		struct walk w = { s, d, u };
		u->tree_dw = u->treedie.cu ? dwarf_cu_getdwarf(u->treedie.cu) : d->dw;
		walk_children(&w, &u->treedie, NONE, 0, 0);
	}
	sort_ranges(u);
	if (!s->search_ranges && flatten(u)) {
		/* Lookups read only the pieces from now on. */
		free(u->ranges);
		free(u->own);
		u->ranges = u->own = NULL;
		u->nranges = u->nown = u->cap_own = 0;
		return;
	}
	u->maxhi = xmalloc((u->nranges ? u->nranges : 1) * sizeof(uint64_t));
	for (size_t i = 0; i < u->nranges; i++)
		u->maxhi[i] = i && u->maxhi[i - 1] > u->ranges[i].hi ? u->maxhi[i - 1]
								    : u->ranges[i].hi;
}

/* --- lookup --- */

/* The unit holding addr; *until bounds the addresses above addr that
 * surely get the same answer. */
static struct unit *unit_at(struct sym_dwarf *d, uint64_t addr, uint64_t *until)
{
	size_t lo = UTIL_COUNT_LE(d->ur, d->nur, lo, addr);
	/* The latest-starting range that holds addr; ranges of different
	 * units should not overlap, but damaged files exist. */
	*until = lo < d->nur ? d->ur[lo].lo : UINT64_MAX;
	for (size_t j = lo; j-- > 0 && d->ur_maxhi[j] > addr;)
		if (addr < d->ur[j].hi) {
			if (d->ur[j].hi < *until)
				*until = d->ur[j].hi;
			return &d->units[d->ur[j].unit];
		}
	return NULL;
}

_Static_assert(sizeof(struct row) % 8 == 0, "rows are searched as uint64_t words");
_Static_assert(sizeof(struct range) % 8 == 0, "ranges are searched as uint64_t words");
_Static_assert(sizeof(struct piece) % 8 == 0, "pieces are searched as uint64_t words");

/* The line row of addr; *until is lowered to where the next row starts. */
static const struct row *row_at(struct unit *u, uint64_t addr, uint64_t *until)
{
	if (!u->nrows)
		return NULL;
	size_t lo = sym_count_le(&u->rows[0].addr, sizeof(struct row) / 8, u->nrows, addr,
				 &u->row_hint);
	if (lo < u->nrows && u->rows[lo].addr < *until)
		*until = u->rows[lo].addr;
	if (lo == 0 || u->rows[lo - 1].line == END_OF_SEQUENCE)
		return NULL;
	return &u->rows[lo - 1];
}

/* Whether scope sc holds addr; if so, *until is lowered to the end of
 * the range holding it. */
static bool scope_holds(const struct unit *u, uint32_t sc, uint64_t addr, uint64_t *until)
{
	const struct scope *p = &u->scopes[sc];
	for (uint32_t i = 0; i < p->nranges; i++) {
		const struct range *r = &u->own[p->first_range + i];
		if (addr >= r->lo && addr < r->hi) {
			if (r->hi < *until)
				*until = r->hi;
			return true;
		}
	}
	return false;
}

/* The innermost function or inlined call holding addr. Ranges nest, so
 * the last range starting at or before addr either holds it or lies
 * inside the scope that does: walk up from there. *until is lowered to
 * where the answer may change: the next range's start or the end of the
 * range holding addr (no other range starts in between, so any scope
 * that did not hold addr holds none of those addresses either). When
 * the answer is NONE, it is addr + 1. */
static uint32_t innermost(struct unit *u, uint64_t addr, uint64_t *until)
{
	if (u->pieces) {
		size_t k = sym_count_le(&u->pieces[0].lo, sizeof(struct piece) / 8, u->npieces, addr,
					&u->piece_hint);
		if (k < u->npieces && u->pieces[k].lo < *until)
			*until = u->pieces[k].lo;
		return k ? u->pieces[k - 1].scope : NONE;
	}
	uint64_t own_until = addr + 1;
	if (!u->nranges) {
		*until = own_until;
		return NONE;
	}
	size_t lo = sym_count_le(&u->ranges[0].lo, sizeof(struct range) / 8, u->nranges, addr,
				 &u->range_hint);
	if (lo == 0) {
		*until = own_until;
		return NONE;
	}
	if (lo < u->nranges && u->ranges[lo].lo < *until)
		*until = u->ranges[lo].lo;
	const struct range *r = &u->ranges[lo - 1];
	if (addr < r->hi) {
		if (r->hi < *until)
			*until = r->hi;
		return r->scope;
	}
	for (uint32_t sc = r->scope, steps = 0; sc != NONE && steps < MAX_DIE_DEPTH;
	     sc = u->scopes[sc].parent, steps++)
		if (scope_holds(u, sc, addr, until))
			return sc;
	*until = own_until;
	/* Between functions (padding), or badly nested ranges: look back
	 * while some earlier range still reaches past addr. */
	for (size_t j = lo - 1, steps = 0; j-- > 0 && u->maxhi[j] > addr && steps < 4096; steps++)
		if (addr >= u->ranges[j].lo && addr < u->ranges[j].hi)
			return u->ranges[j].scope;
	return NONE;
}

/* What read_name needs of one DIE: the first of each attribute, as
 * dwarf_attr finds it. */
struct name_attrs {
	Dwarf_Attribute at[6];
	bool has[6];
};
enum { NA_LINKAGE, NA_MIPS_LINKAGE, NA_NAME, NA_DECL_LINE, NA_ORIGIN, NA_SPECIFICATION };

static int collect_name_attr(Dwarf_Attribute *a, void *arg)
{
	struct name_attrs *n = arg;
	int k;
	switch (dwarf_whatattr(a)) {
	case DW_AT_linkage_name:
		k = NA_LINKAGE;
		break;
	case DW_AT_MIPS_linkage_name:
		k = NA_MIPS_LINKAGE;
		break;
	case DW_AT_name:
		k = NA_NAME;
		break;
	case DW_AT_decl_line:
		k = NA_DECL_LINE;
		break;
	case DW_AT_abstract_origin:
		k = NA_ORIGIN;
		break;
	case DW_AT_specification:
		k = NA_SPECIFICATION;
		break;
	default:
		return DWARF_CB_OK;
	}
	if (!n->has[k]) {
		n->has[k] = true;
		n->at[k] = *a;
	}
	return DWARF_CB_OK;
}

/* DIEs dwarf_attr_integrate looks at: the DIE and 16 origins. */
#define NAME_CHAIN 17

/* The name and declaration line of a DIE, through abstract origins and
 * specifications, as dwarf_attr_integrate finds each (the first DIE of
 * the chain that has it), but each DIE's attributes read once for all
 * of them rather than once per attribute. */
static struct origin read_name(Dwarf_Die *die)
{
	struct name_attrs chain[NAME_CHAIN];
	size_t n = 0;
	Dwarf_Die cur = *die;
	for (;;) {
		struct name_attrs *a = &chain[n++];
		memset(a, 0, sizeof(*a));
		dwarf_getattrs(&cur, collect_name_attr, a, 0);
		Dwarf_Attribute *ref = a->has[NA_ORIGIN]	  ? &a->at[NA_ORIGIN]
				       : a->has[NA_SPECIFICATION] ? &a->at[NA_SPECIFICATION]
								  : NULL;
		Dwarf_Die next;
		if (!ref || n == NAME_CHAIN || !dwarf_formref_die(ref, &next))
			break;
		cur = next;
	}
	/* The linkage name demangles to the qualified name (namespace,
	 * class, template arguments); plain C has only DW_AT_name. */
	struct origin o = { NULL, 0 };
	static const int names[] = { NA_LINKAGE, NA_MIPS_LINKAGE, NA_NAME };
	for (size_t k = 0; k < 3 && !o.name; k++)
		for (size_t i = 0; i < n; i++)
			if (chain[i].has[names[k]]) {
				o.name = dwarf_formstring(&chain[i].at[names[k]]);
				break;
			}
	for (size_t i = 0; i < n; i++)
		if (chain[i].has[NA_DECL_LINE]) {
			Dwarf_Word line;
			if (dwarf_formudata(&chain[i].at[NA_DECL_LINE], &line) == 0 && line > 0 &&
			    line <= INT32_MAX)
				o.decl_line = (uint32_t)line;
			break;
		}
	return o;
}

/* The name of an inlined call from its abstract origin at offset org_off
 * (org, when not NULL, is that DIE). False when the DIE is not there. */
static bool resolve_origin(struct sym_dwarf *d, struct unit *u, struct scope *sc,
			   Dwarf_Off org_off, Dwarf_Die *org)
{
	const void *key = (const void *)(uintptr_t)(org_off + 1);
	uintptr_t idx = (uintptr_t)sym_ptrmap_get(&d->origins, key);
	if (!idx) {
		Dwarf_Die die;
		if (!org && !dwarf_offdie(u->tree_dw, org_off, org = &die))
			return false;
		GROW(d->origin, d->cap_origin, d->norigin + 1);
		d->origin[d->norigin++] = read_name(org);
		idx = d->norigin;
		sym_ptrmap_put(&d->origins, key, (const void *)idx);
	}
	sc->name = d->origin[idx - 1].name;
	sc->decl_line = d->origin[idx - 1].decl_line;
	return true;
}

static void resolve(struct sym_dwarf *d, struct unit *u, struct scope *sc)
{
	if (sc->resolved)
		return;
	sc->resolved = true;
	/* Every inlined copy of a function names it through the same
	 * abstract origin (an inlined call carries no name of its own):
	 * read that once, not once per copy. Our DIE reader kept where the
	 * origin is, so a copy after the first reads no DIE at all. */
	if (sc->is_inline && sc->origin && resolve_origin(d, u, sc, sc->origin, NULL))
		return;
	Dwarf_Die die;
	if (!dwarf_offdie(u->tree_dw, sc->off, &die))
		return;
	Dwarf_Attribute at;
	Dwarf_Die org;
	if (sc->is_inline && dwarf_formref_die(dwarf_attr(&die, DW_AT_abstract_origin, &at), &org) &&
	    resolve_origin(d, u, sc, dwarf_dieoffset(&org), &org))
		return;
	struct origin o = read_name(&die);
	sc->name = o.name;
	sc->decl_line = o.decl_line;
}

static size_t frames_of(struct symbolizer *s, struct sym_dwarf *d, uint64_t addr,
			struct sym_frame *out, size_t cap, uint64_t *until)
{
	struct unit *u = unit_at(d, addr, until);
	if (!u || cap == 0) {
		*until = addr + 1;
		return 0;
	}
	if (u->state == UNIT_NEW)
		load_unit(s, d, u);
	const struct row *row = row_at(u, addr, until);
	const char *file = row && row->file < u->nrow_files ? u->row_files[row->file] : "";
	uint32_t line = row ? row->line : 0;
	uint32_t sc = innermost(u, addr, until);
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
		resolve(d, u, p);
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

size_t sym_dwarf_frames(struct symbolizer *s, struct sym_dwarf *d, uint64_t addr,
			struct sym_frame *out, size_t cap, bool *same)
{
	/* The addresses of a sorted batch come in runs within one line row
	 * and one scope: the caller keeps the answer of those. */
	if (*same && addr >= d->run_lo && addr < d->run_hi && cap == d->run_cap)
		return d->run_n;
	*same = false;
	uint64_t until = UINT64_MAX;
	size_t n = frames_of(s, d, addr, out, cap, &until);
	if (n <= SYM_RUN_FRAMES && until > addr) {
		d->run_n = n;
		d->run_cap = cap;
		d->run_lo = addr;
		d->run_hi = until;
	} else {
		d->run_lo = d->run_hi = 0;
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
		free(d->units[i].pieces);
		free(d->units[i].own_files);
		free(d->units[i].lib_files);
	}
	free(d->origin);
	sym_ptrmap_free(&d->origins);
	free(d->units);
	free(d->ur);
	free(d->ur_maxhi);
	dwarf_end(d->dw);
	free(d);
}
