/* Symbolizer core: modules, ELF symbol tables and segments, the vDSO,
 * the result cache, and the lookup that puts DWARF, symbols and
 * demangling together. See symbolize.h and doc/design/symbolize.md. */
#include "symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "../model/profile.h"
#include "../util/util.h"
#include "sym_internal.h"

struct symbolizer *sym_new(void)
{
	return sym_new_with(NULL);
}

struct symbolizer *sym_new_with(const struct sym_options *opts)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));
	if (opts)
		s->opts = *opts;
	s->names = intern_new();
	s->libdw_lines = sym_dwarf_libdw_lines;
	s->search_ranges = sym_dwarf_search_ranges;
	/* On a libelf too old for us every module fails to open, and its
	 * frames fall back to module+offset with a warning. */
	elf_version(EV_CURRENT);
	return s;
}

void sym_warn(struct symbolizer *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	GROW(s->warnings, s->cap_warnings, s->nwarnings + 1);
	s->warnings[s->nwarnings++] = intern_str(s->names, line, strlen(line));
}

const char *sym_intern(struct symbolizer *s, const char *str, size_t len)
{
	return intern_str(s->names, str, len);
}

size_t sym_warnings(const struct symbolizer *s, const char *const **lines)
{
	*lines = s->warnings;
	return s->nwarnings;
}

/* --- pointer map --- */

static size_t ptr_slot(const void *p, size_t mask)
{
	uint64_t k = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
	return (size_t)(k >> 32) & mask;
}

const void *sym_ptrmap_get(const struct sym_ptrmap *m, const void *key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = ptr_slot(key, m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return NULL;
		if (m->keys[i] == key)
			return m->vals[i];
	}
}

void sym_ptrmap_put(struct sym_ptrmap *m, const void *key, const void *val)
{
	if ((m->count + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		const void **keys = xcalloc(cap, sizeof(void *));
		const void **vals = xcalloc(cap, sizeof(void *));
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->keys[k])
				continue;
			size_t j = ptr_slot(m->keys[k], cap - 1);
			while (keys[j])
				j = (j + 1) & (cap - 1);
			keys[j] = m->keys[k];
			vals[j] = m->vals[k];
		}
		free(m->keys);
		free(m->vals);
		m->keys = keys;
		m->vals = vals;
		m->cap = cap;
	}
	size_t i = ptr_slot(key, m->cap - 1);
	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->count++;
	m->keys[i] = key;
	m->vals[i] = val;
}

void sym_ptrmap_free(struct sym_ptrmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* --- ELF helpers --- */

static bool note_build_id(Elf_Data *d, uint8_t *out, size_t *len)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;
	while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((char *)d->d_buf + name_off, "GNU", 4) == 0 && nh.n_descsz > 0 &&
		    nh.n_descsz <= 64) {
			memcpy(out, (char *)d->d_buf + desc_off, nh.n_descsz);
			*len = nh.n_descsz;
			return true;
		}
	}
	return false;
}

void sym_elf_build_id(Elf *elf, uint8_t *out, size_t *len)
{
	*len = 0;
	/* Sections first: a debug file split off with objcopy keeps the
	 * note section but its program headers may point at nothing. */
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (d && note_build_id(d, out, len))
			return;
	}
	size_t nphdr;
	if (elf_getphdrnum(elf, &nphdr) != 0)
		return;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
						   ELF_T_NHDR);
		if (d && note_build_id(d, out, len))
			return;
	}
}

static const char *section_name(Elf *elf, const GElf_Shdr *sh)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	return elf_strptr(elf, shstrndx, sh->sh_name);
}

Elf_Scn *sym_elf_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS)
			continue;
		const char *n = section_name(elf, sh);
		if (n && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

bool sym_elf_has_dwarf(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
			continue;
		const char *name = section_name(elf, &sh);
		if (name && (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0))
			return true;
	}
	return false;
}

/* Why a file's headers point past its end, or NULL when they do not: a
 * truncated copy still opens, and the parts past the end read as errors
 * rather than names, so say so once. */
static const char *elf_damage(Elf *elf, char *buf, size_t len)
{
	size_t size = 0;
	if (!elf_rawfile(elf, &size))
		return NULL;
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh))
		return "its ELF header is damaged";
	/* The header's own count: libelf reports no sections at all when
	 * their table lies past the end. 0 means the count is in the first
	 * section header (extended numbering), which must exist then. */
	uint64_t nshdr = eh.e_shnum ? eh.e_shnum : 1;
	if (eh.e_shoff && (eh.e_shoff > size || nshdr * eh.e_shentsize > size - eh.e_shoff)) {
		snprintf(buf, len, "its section headers lie past its end (%zu bytes)", size);
		return buf;
	}
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return "a section header is damaged";
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset) {
			const char *name = section_name(elf, &sh);
			snprintf(buf, len, "section '%s' ends at byte %" PRIu64 ", past its end (%zu bytes)",
				 name ? name : "?", (uint64_t)(sh.sh_offset + sh.sh_size), size);
			return buf;
		}
	}
	return NULL;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym_symbol *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rank - y->rank;
}

/* Function symbols of one symbol table, with their addresses moved by
 * -bias (the debug file's addresses to the binary's). */
static void load_symbols(struct symbolizer *s, struct sym_module *mod, Elf *elf, int type,
			 int64_t bias)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || (int)sh.sh_type != type)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || sh.sh_entsize == 0 || sh.sh_type == SHT_NOBITS)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		if (n > d->d_size / sh.sh_entsize)
			n = d->d_size / sh.sh_entsize; /* a damaged size: trust the data */
		mod->syms = xrealloc(mod->syms, (mod->nsyms + n + 1) * sizeof(struct sym_symbol));
		for (size_t i = 0; i < n; i++) {
			GElf_Sym st;
			if (!gelf_getsym(d, (int)i, &st))
				break;
			int t = GELF_ST_TYPE(st.st_info);
			if ((t != STT_FUNC && t != STT_GNU_IFUNC) || st.st_shndx == SHN_UNDEF ||
			    st.st_value == 0)
				continue;
			/* The name stays in the mmapped file, open until sym_free. */
			const char *name = elf_strptr(elf, sh.sh_link, st.st_name);
			if (!name || !*name)
				continue;
			/* A versioned alias (memcpy@@GLIBC_2.14): the name without
			 * its version is what users know. */
			const char *at = strchr(name, '@');
			if (at && at != name)
				name = sym_intern(s, name, (size_t)(at - name));
			int bind = GELF_ST_BIND(st.st_info);
			struct sym_symbol *y = &mod->syms[mod->nsyms++];
			y->addr = st.st_value - (uint64_t)bias;
			y->size = st.st_size;
			y->name = name;
			y->rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		}
	}
	if (mod->nsyms)
		qsort(mod->syms, mod->nsyms, sizeof(struct sym_symbol), sym_cmp);
}

static void load_segments(struct sym_module *mod, Elf *elf)
{
	size_t nphdr;
	if (elf_getphdrnum(elf, &nphdr) != 0)
		return;
	mod->segs = xmalloc((nphdr ? nphdr : 1) * sizeof(struct sym_segment));
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			mod->segs[mod->nsegs++] =
				(struct sym_segment){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
	}
}

/* Address of the first loaded byte: comparing it between a binary and
 * its debug file gives the prelink bias. */
static bool first_load_vaddr(Elf *elf, uint64_t *vaddr)
{
	size_t nphdr;
	if (elf_getphdrnum(elf, &nphdr) != 0)
		return false;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		/* Not minus the offset: a debug file's offsets are zeroed. */
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
			*vaddr = ph.p_vaddr;
			return true;
		}
	}
	return false;
}

bool sym_elf_has_symtab(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB && sh.sh_size > 0)
			return true;
	return false;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

/* --- the vDSO --- */

static bool is_vdso(const char *path)
{
	return strcmp(path, "[vdso]") == 0 || strncmp(path, "linux-vdso", 10) == 0 ||
	       strncmp(path, "linux-gate", 10) == 0;
}

/* The kernel's vDSO image has no file: a recorded one can only be read
 * from this process's own copy, and only when the build-ids say it is the
 * same image (same kernel). The mapping's bounds come from /proc/self/maps
 * so nothing past it is read. */
static Elf *own_vdso(struct symbolizer *s)
{
	if (!s->vdso_tried) {
		s->vdso_tried = true;
		uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
		FILE *f = base ? fopen("/proc/self/maps", "re") : NULL;
		char line[512];
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long lo, hi;
			if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo == base && hi > lo &&
			    hi - lo <= (16u << 20) && strstr(line, "[vdso]")) {
				s->vdso_len = hi - lo;
				s->vdso_copy = xmalloc(s->vdso_len);
				memcpy(s->vdso_copy, (const void *)base, s->vdso_len);
				break;
			}
		}
		if (f)
			fclose(f);
	}
	if (!s->vdso_copy)
		return NULL;
	Elf *elf = elf_memory(s->vdso_copy, s->vdso_len);
	if (elf && elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

static void load_vdso(struct symbolizer *s, struct sym_module *mod)
{
	Elf *elf = own_vdso(s);
	if (!elf)
		return;
	uint8_t bid[64];
	size_t bid_len;
	sym_elf_build_id(elf, bid, &bid_len);
	/* Another kernel's vDSO (a capture from elsewhere): module+offset,
	 * which is right, and nothing to warn about. */
	if (!mod->build_id_len || bid_len != mod->build_id_len ||
	    memcmp(bid, mod->build_id, bid_len) != 0) {
		elf_end(elf);
		return;
	}
	load_segments(mod, elf);
	load_symbols(s, mod, elf, SHT_SYMTAB, 0);
	if (mod->nsyms == 0)
		load_symbols(s, mod, elf, SHT_DYNSYM, 0);
	mod->bin_elf = elf; /* symbol names point into it */
	mod->usable = true;
}

/* --- modules --- */

/* Uses dbg (a debug file found by build-id, the binary being unusable) as
 * the whole module: it has the program headers, .symtab and DWARF. */
static void load_from_debug(struct symbolizer *s, struct sym_module *mod, Elf *dbg,
			    const char *dbg_path)
{
	/* A debug file keeps the program headers but not the file layout
	 * (objcopy zeroes offsets and file sizes): keep the executable
	 * segments' addresses and sizes, and place addresses by the
	 * mapping's start instead (see sym_lookup). */
	size_t nphdr;
	if (elf_getphdrnum(dbg, &nphdr) == 0) {
		mod->segs = xmalloc((nphdr ? nphdr : 1) * sizeof(struct sym_segment));
		for (size_t i = 0; i < nphdr; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(dbg, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    (ph.p_flags & PF_X))
				mod->segs[mod->nsegs++] =
					(struct sym_segment){ 0, ph.p_memsz, ph.p_vaddr };
		}
	}
	mod->no_offsets = true;
	load_symbols(s, mod, dbg, SHT_SYMTAB, 0);
	mod->dwarf = sym_dwarf_open(s, dbg, dbg_path);
	mod->debug_elf = dbg;
	mod->usable = mod->nsegs > 0;
}

/* Tries the debug file with the recorded build-id when the binary cannot
 * be used; says which in the warning. */
static void fall_back(struct symbolizer *s, struct sym_module *mod, const char *why)
{
	char found[4096];
	Elf *dbg = mod->build_id_len ? sym_find_debug(s, mod, NULL, NULL, found, sizeof(found))
				     : NULL;
	if (dbg) {
		sym_warn(s, "module '%s' %s; using its debug file '%s', found by build-id", mod->path,
			 why, found);
		load_from_debug(s, mod, dbg, found);
		return;
	}
	sym_warn(s, "module '%s' %s; its frames are shown as module+offset", mod->path, why);
}

/* The ELF file open on fd, when it is one and has the recorded build-id
 * (or the capture recorded none); else NULL and why. Closes fd. */
static Elf *open_checked(const struct sym_module *mod, int fd, const char *opened, char *why,
			 size_t len)
{
	Elf *bin = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	/* Everything is mapped now: the descriptor is not needed, and a
	 * capture with hundreds of modules must not run out of them. */
	if (bin)
		elf_cntl(bin, ELF_C_FDDONE);
	close(fd);
	GElf_Ehdr eh;
	if (!bin || elf_kind(bin) != ELF_K_ELF || !gelf_getehdr(bin, &eh)) {
		snprintf(why, len, "('%s') is not a readable ELF file (%s)", opened, elf_errmsg(-1));
		if (bin)
			elf_end(bin);
		return NULL;
	}
	uint8_t bid[64];
	size_t bid_len;
	sym_elf_build_id(bin, bid, &bid_len);
	if (mod->build_id_len && bid_len &&
	    (bid_len != mod->build_id_len || memcmp(bid, mod->build_id, bid_len) != 0)) {
		char want[129], got[129];
		hex(mod->build_id, mod->build_id_len, want);
		hex(bid, bid_len, got);
		snprintf(why, len, "changed since the recording ('%s' has build-id %s, the capture %s)",
			 opened, got, want);
		elf_end(bin);
		return NULL;
	}
	return bin;
}

static void load_module(struct symbolizer *s, struct sym_module *mod)
{
	if (is_vdso(mod->path)) {
		load_vdso(s, mod);
		return;
	}
	if (mod->path[0] == '[')
		return; /* [heap], [stack], [anon:...]: no file, module+offset is right */

	char opened[4096], why[1024], dmg[256];
	Elf *bin = NULL;
	int fd = sym_open_module(s, mod->path, opened, sizeof(opened));
	if (fd < 0)
		snprintf(why, sizeof(why), "cannot be read ('%s': %s)", opened, strerror(errno));
	else
		bin = open_checked(mod, fd, opened, why, sizeof(why));
	/* A process in another mount namespace (a container) sees its files
	 * under its own root: while it runs, /proc/PID/root reaches them;
	 * the build-id says whether it is the recorded file. */
	if (!bin && mod->pid && mod->path[0] == '/') {
		char root[4096], why2[512];
		snprintf(root, sizeof(root), "/proc/%" PRIu64 "/root%s", mod->pid, mod->path);
		int rfd = open(root, O_RDONLY | O_CLOEXEC);
		if (rfd < 0)
			snprintf(why2, sizeof(why2), "'%s': %s", root, strerror(errno));
		else if ((bin = open_checked(mod, rfd, root, why2, sizeof(why2))))
			snprintf(opened, sizeof(opened), "%s", root);
		if (!bin) {
			size_t len = strlen(why);
			snprintf(why + len, sizeof(why) - len, "; nor through its process's root (%s)",
				 why2);
		}
	}
	if (!bin) {
		fall_back(s, mod, why);
		return;
	}
	const char *damage = elf_damage(bin, dmg, sizeof(dmg));
	if (damage)
		sym_warn(s, "module '%s' ('%s') is truncated or corrupt: %s; frames in the missing "
			    "part are shown as module+offset", mod->path, opened, damage);

	load_segments(mod, bin);
	bool keep_bin = false;
	Elf *dbg = NULL;
	char dbg_path[4096] = "";
	if (sym_elf_has_dwarf(bin)) {
		mod->dwarf = sym_dwarf_open(s, bin, opened);
		keep_bin = true;
	} else {
		dbg = sym_find_debug(s, mod, bin, opened, dbg_path, sizeof(dbg_path));
	}
	uint64_t bin_base = 0, dbg_base = 0;
	if (dbg && first_load_vaddr(bin, &bin_base) && first_load_vaddr(dbg, &dbg_base))
		mod->dwarf_bias = (int64_t)(dbg_base - bin_base);

	/* .symtab is a superset when present; a stripped binary may have it
	 * in its debug file, else keeps .dynsym. */
	if (sym_elf_has_symtab(bin)) {
		load_symbols(s, mod, bin, SHT_SYMTAB, 0);
		keep_bin = true;
	} else if (dbg && sym_elf_has_symtab(dbg)) {
		load_symbols(s, mod, dbg, SHT_SYMTAB, mod->dwarf_bias);
	}
	if (mod->nsyms == 0) {
		load_symbols(s, mod, bin, SHT_DYNSYM, 0);
		keep_bin = true;
	}
	if (dbg) {
		mod->dwarf = sym_dwarf_open(s, dbg, dbg_path);
		mod->debug_elf = dbg;
	}
	/* Symbol names and the DWARF point into the files' mappings. */
	if (keep_bin)
		mod->bin_elf = bin;
	else
		elf_end(bin);
	mod->usable = true;
}

static bool same_module(const struct sym_module *mod, const struct profile_mapping *m)
{
	/* One build-id is one file whatever its path (a library seen from two
	 * containers); without one the path is all there is. */
	if (m->build_id_len || mod->build_id_len)
		return mod->build_id_len == m->build_id_len &&
		       memcmp(mod->build_id, m->build_id, m->build_id_len) == 0 &&
		       (m->build_id_len || strcmp(mod->path, m->path) == 0);
	return strcmp(mod->path, m->path) == 0;
}

struct sym_module *sym_module(struct symbolizer *s, const struct profile_mapping *m)
{
	/* Lookups come sorted by address: most hit the previous module. */
	if (s->last_module && same_module(s->last_module, m))
		return s->last_module;
	struct sym_module *mod = NULL;
	for (size_t i = 0; i < s->nmods && !mod; i++)
		if (same_module(s->mods[i], m))
			mod = s->mods[i];
	if (!mod) {
		mod = xcalloc(1, sizeof(*mod));
		mod->last_in = SIZE_MAX;
		mod->path = sym_intern(s, m->path, strlen(m->path));
		mod->pid = m->pid;
		memcpy(mod->build_id, m->build_id, m->build_id_len);
		mod->build_id_len = m->build_id_len;
		GROW(s->mods, s->cap_mods, s->nmods + 1);
		s->mods[s->nmods++] = mod;
		if (*mod->path)
			load_module(s, mod);
	}
	s->last_module = mod;
	return mod;
}

/* --- lookup --- */

_Static_assert(sizeof(struct sym_symbol) % 8 == 0, "symbols are searched as uint64_t words");
_Static_assert(sizeof(struct sym_cached) % 8 == 0, "results are searched as uint64_t words");

static const struct sym_symbol *symbol_at(struct sym_module *mod, uint64_t vaddr)
{
	if (!mod->nsyms)
		return NULL;
	/* Last symbol starting at or below vaddr. */
	size_t lo = sym_count_le(&mod->syms[0].addr, sizeof(struct sym_symbol) / 8, mod->nsyms,
				 vaddr, &mod->sym_hint);
	if (lo == 0)
		return NULL;
	size_t k = lo - 1;
	while (k > 0 && mod->syms[k - 1].addr == mod->syms[k].addr)
		k--; /* best-ranked symbol at that address */
	const struct sym_symbol *y = &mod->syms[k];
	if (y->size && vaddr >= y->addr + y->size)
		return NULL; /* in a gap between functions */
	return y;
}

static size_t cache_slot(const struct sym_module *mod, uint64_t off)
{
	size_t mask = mod->ccap - 1;
	size_t i = (size_t)((off * 0x9e3779b97f4a7c15ull) >> 24) & mask;
	while (mod->cache[i].first && mod->cache[i].off != off)
		i = (i + 1) & mask;
	return i;
}

static void cache_put_hash(struct sym_module *mod, uint64_t off, uint32_t first, uint32_t n)
{
	if ((mod->ccount + 1) * 2 > mod->ccap) {
		struct sym_cached *old = mod->cache;
		size_t old_cap = mod->ccap;
		mod->ccap = mod->ccap ? mod->ccap * 2 : 1024;
		mod->cache = xcalloc(mod->ccap, sizeof(*mod->cache));
		for (size_t k = 0; k < old_cap; k++)
			if (old[k].first)
				mod->cache[cache_slot(mod, old[k].off)] = old[k];
		free(old);
	}
	mod->cache[cache_slot(mod, off)] = (struct sym_cached){ off, first + 1, n };
	mod->ccount++;
}

/* A cached result (first is index + 1 into the pool), or NULL. */
static const struct sym_cached *cache_get(struct sym_module *mod, uint64_t off)
{
	if (mod->ccap) {
		const struct sym_cached *c = &mod->cache[cache_slot(mod, off)];
		return c->first ? c : NULL;
	}
	if (!mod->nseq || off > mod->seq[mod->nseq - 1].off)
		return NULL; /* past every result so far: the sorted batch's case */
	size_t k = sym_count_le(&mod->seq[0].off, sizeof(struct sym_cached) / 8, mod->nseq, off,
				&mod->seq_hint);
	return k && mod->seq[k - 1].off == off ? &mod->seq[k - 1] : NULL;
}

static void cache_put(struct sym_module *mod, uint64_t off, uint32_t first, uint32_t n)
{
	if (!mod->ccap && (!mod->nseq || off > mod->seq[mod->nseq - 1].off)) {
		GROW(mod->seq, mod->cap_seq, mod->nseq + 1);
		mod->seq[mod->nseq++] = (struct sym_cached){ off, first + 1, n };
		return;
	}
	if (!mod->ccap) { /* out of order: the hash table from now on */
		for (size_t i = 0; i < mod->nseq; i++)
			cache_put_hash(mod, mod->seq[i].off, mod->seq[i].first - 1, mod->seq[i].n);
		free(mod->seq);
		mod->seq = NULL;
		mod->nseq = mod->cap_seq = 0;
	}
	cache_put_hash(mod, off, first, n);
}

/* The frames of an ELF address of a usable module, innermost first. */
static size_t compute(struct symbolizer *s, struct sym_module *mod, uint64_t vaddr,
		      struct sym_frame *out)
{
	const struct sym_symbol *y = symbol_at(mod, vaddr);
	size_t n = 0;
	/* The same DWARF answer and symbol as the last address: the same
	 * frames, already named and demangled. */
	bool same = mod->last_in != SIZE_MAX && y == mod->last_sym;
	if (mod->dwarf)
		n = sym_dwarf_frames(s, mod->dwarf, vaddr + (uint64_t)mod->dwarf_bias, out,
				     SYM_MAX_FRAMES, &same);
	if (same && mod->dwarf && n == mod->last_in) {
		_Static_assert(SYM_RUN_FRAMES <= SYM_MAX_FRAMES, "out holds a kept answer");
		for (size_t i = 0; i < mod->last_out_n; i++)
			out[i] = mod->last_out[i];
		return mod->last_out_n;
	}
	mod->last_in = SIZE_MAX;
	if (n == 0) {
		if (!y)
			return 0;
		out[0] = (struct sym_frame){ y->name, "", 0, 0 };
		n = 1;
	}
	/* The function holding the code is named by its symbol when there is
	 * one, as perf and the symbol table name it: a compiler's clone
	 * keeps its suffix (run.constprop.0, run.cold), which says which
	 * copy ran. Inlined functions have only their DWARF names. */
	if (y && (y->size || !out[n - 1].function))
		out[n - 1].function = y->name; /* a sized symbol, or nothing better */
	else if (!out[n - 1].function)
		return 0; /* lines but no function: module+offset says more */
	for (size_t i = 0; i < n; i++) {
		if (!out[i].function)
			out[i].function = "[inlined]";
		if (out[i].function[0] == '_') /* what can be mangled: _Z, _R */
			out[i].function = sym_demangle(s, out[i].function);
		if (!out[i].file)
			out[i].file = "";
	}
	size_t from_dwarf = n;
	if (s->opts.no_inlines && n > 1) {
		out[0] = out[n - 1];
		n = 1;
	}
	if (mod->dwarf && from_dwarf <= SYM_RUN_FRAMES) {
		for (size_t i = 0; i < n; i++)
			mod->last_out[i] = out[i];
		mod->last_out_n = n;
		mod->last_in = from_dwarf;
		mod->last_sym = y;
	}
	return n;
}

/* The frames of addr in mod, computed. */
static size_t lookup(struct symbolizer *s, struct sym_module *mod, const struct profile_mapping *m,
		     uint64_t addr, struct sym_frame *out)
{
	uint64_t off = addr - m->start + m->offset;
	for (size_t i = 0; i < mod->nsegs; i++) {
		const struct sym_segment *g = &mod->segs[i];
		if (mod->no_offsets) {
			/* The loader maps a segment at a page-aligned base plus its
			 * address, so the mapping's start and the segment's
			 * address agree below the page size (4 KiB assumed):
			 * true for mappings recorded at the segment's start and
			 * for page-aligned ones alike. */
			uint64_t v = addr - m->start + (g->vaddr & ~UINT64_C(0xfff)) +
				     (m->start & 0xfff);
			if (v >= g->vaddr && v < g->vaddr + g->filesz)
				return compute(s, mod, v, out);
		} else if (off >= g->offset && off < g->offset + g->filesz) {
			return compute(s, mod, off - g->offset + g->vaddr, out);
		}
	}
	return 0;
}

size_t sym_lookup(struct symbolizer *s, const struct profile_mapping *m, uint64_t addr,
		  const struct sym_frame **frames)
{
	*frames = NULL;
	struct sym_module *mod = sym_module(s, m);
	if (!mod->usable)
		return 0;
	uint64_t off = addr - m->start + m->offset;
	const struct sym_cached *c = cache_get(mod, off);
	if (c) {
		*frames = c->n ? &s->pool[c->first - 1] : NULL;
		return c->n;
	}
	struct sym_frame out[SYM_MAX_FRAMES];
	size_t n = lookup(s, mod, m, addr, out);
	uint32_t first = (uint32_t)s->npool;
	if (n) {
		GROW(s->pool, s->cap_pool, s->npool + n);
		memcpy(&s->pool[first], out, n * sizeof(struct sym_frame));
		s->npool += n;
	}
	cache_put(mod, off, first, (uint32_t)n);
	*frames = n ? &s->pool[first] : NULL;
	return n;
}

size_t sym_lookup_into(struct symbolizer *s, const struct profile_mapping *m, uint64_t addr,
		       struct sym_frame *out)
{
	return sym_lookup_module_into(s, sym_module(s, m), m, addr, out);
}

size_t sym_lookup_module_into(struct symbolizer *s, struct sym_module *mod,
			      const struct profile_mapping *m, uint64_t addr, struct sym_frame *out)
{
	return mod->usable ? lookup(s, mod, m, addr, out) : 0;
}

const char *sym_function(struct symbolizer *s, const struct profile_mapping *m, uint64_t addr)
{
	const struct sym_frame *f;
	size_t n = sym_lookup(s, m, addr, &f);
	return n ? f[n - 1].function : NULL;
}

bool sym_mapping_is_anonymous(const struct profile_mapping *m)
{
	const char *p = m->path ? m->path : "";
	return !*p || strncmp(p, "//anon", 6) == 0 || strncmp(p, "[anon", 5) == 0 ||
	       strncmp(p, "/memfd:", 7) == 0 || strcmp(p, "[heap]") == 0;
}

void sym_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++) {
		struct sym_module *mod = s->mods[i];
		sym_dwarf_free(mod->dwarf);
		if (mod->debug_elf)
			elf_end(mod->debug_elf);
		if (mod->bin_elf)
			elf_end(mod->bin_elf);
		free(mod->syms);
		free(mod->segs);
		free(mod->cache);
		free(mod->seq);
		free(mod);
	}
	free(s->mods);
	free(s->warnings);
	free(s->pool);
	sym_ptrmap_free(&s->demangled);
	sym_jit_free(s->jit);
	sym_debuginfod_end(s);
	free(s->vdso_copy);
	intern_free(s->names);
	free(s);
}
