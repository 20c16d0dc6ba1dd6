/* ELF symbol-table symbolizer. See symbolize.h. */
#include "symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../model/profile.h"
#include "../util/util.h"

struct sym {
	uint64_t addr;
	uint64_t size;
	const char *name;
	int rank; /* lower wins among symbols at one address */
};

struct segment {
	uint64_t offset, filesz, vaddr;
};

struct module {
	const char *path;
	uint8_t build_id[64];
	size_t build_id_len;
	bool usable;
	struct sym *syms;
	size_t nsyms;
	struct segment *segs;
	size_t nsegs;
};

struct symbolizer {
	struct module *mods;
	size_t nmods, cap_mods;
	struct intern *names;
	const char **warnings;
	size_t nwarnings, cap_warnings;
};

struct symbolizer *sym_new(void)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));
	s->names = intern_new();
	/* On a libelf too old for us every module fails to open, and its
	 * frames fall back to module+offset with a warning. */
	elf_version(EV_CURRENT);
	return s;
}

__attribute__((format(printf, 2, 3))) static void warn(struct symbolizer *s, const char *fmt,
							 ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	GROW(s->warnings, s->cap_warnings, s->nwarnings + 1);
	s->warnings[s->nwarnings++] = intern_str(s->names, line, strlen(line));
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rank - y->rank;
}

static void read_build_id(Elf *elf, uint8_t *out, size_t *len)
{
	size_t nphdr;
	*len = 0;
	if (elf_getphdrnum(elf, &nphdr) != 0)
		return;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
						   ELF_T_NHDR);
		if (!d)
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((char *)d->d_buf + name_off, "GNU", 4) == 0 &&
			    nh.n_descsz <= 64) {
				memcpy(out, (char *)d->d_buf + desc_off, nh.n_descsz);
				*len = nh.n_descsz;
				return;
			}
		}
	}
}

static void load_symbols(struct symbolizer *s, struct module *mod, Elf *elf, Elf_Scn *scn,
			 GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || sh->sh_entsize == 0)
		return;
	size_t n = sh->sh_size / sh->sh_entsize;
	mod->syms = xmalloc((n ? n : 1) * sizeof(struct sym));
	for (size_t i = 0; i < n; i++) {
		GElf_Sym st;
		if (!gelf_getsym(d, (int)i, &st))
			break;
		int type = GELF_ST_TYPE(st.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || st.st_shndx == SHN_UNDEF ||
		    st.st_value == 0)
			continue;
		const char *name = elf_strptr(elf, sh->sh_link, st.st_name);
		if (!name || !*name)
			continue;
		int bind = GELF_ST_BIND(st.st_info);
		struct sym *y = &mod->syms[mod->nsyms++];
		y->addr = st.st_value;
		y->size = st.st_size;
		y->name = intern_str(s->names, name, strlen(name));
		y->rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
	}
	qsort(mod->syms, mod->nsyms, sizeof(struct sym), sym_cmp);
}

static void load_module(struct symbolizer *s, struct module *mod)
{
	int fd = open(mod->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (mod->path[0] == '[' || strncmp(mod->path, "linux-vdso", 10) == 0)
			return; /* kernel-provided, no file: module+offset is right */
		warn(s, "cannot read module '%s': %s; its frames are shown as module+offset",
		     mod->path, strerror(errno));
		return;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		warn(s, "module '%s' is not a readable ELF file (%s); its frames are shown as "
			"module+offset", mod->path, elf_errmsg(-1));
		goto out;
	}
	uint8_t bid[64];
	size_t bid_len;
	read_build_id(elf, bid, &bid_len);
	if (mod->build_id_len && bid_len &&
	    (bid_len != mod->build_id_len || memcmp(bid, mod->build_id, bid_len) != 0)) {
		warn(s, "module '%s' changed since the recording (build-id differs); its "
			"frames are shown as module+offset", mod->path);
		goto out;
	}

	size_t nphdr;
	if (elf_getphdrnum(elf, &nphdr) == 0) {
		mod->segs = xmalloc((nphdr ? nphdr : 1) * sizeof(struct segment));
		for (size_t i = 0; i < nphdr; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
				mod->segs[mod->nsegs++] =
					(struct segment){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
		}
	}

	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr sh, symtab_sh, dynsym_sh;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			symtab_sh = sh;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsym_sh = sh;
		}
	}
	/* .symtab is a superset when present; stripped files keep .dynsym. */
	if (symtab)
		load_symbols(s, mod, elf, symtab, &symtab_sh);
	if (mod->nsyms == 0 && dynsym)
		load_symbols(s, mod, elf, dynsym, &dynsym_sh);
	mod->usable = true;
out:
	if (elf)
		elf_end(elf);
	close(fd);
}

static struct module *module_for(struct symbolizer *s, const struct profile_mapping *m)
{
	for (size_t i = 0; i < s->nmods; i++) {
		struct module *mod = &s->mods[i];
		if (strcmp(mod->path, m->path) == 0 && mod->build_id_len == m->build_id_len &&
		    memcmp(mod->build_id, m->build_id, m->build_id_len) == 0)
			return mod;
	}
	GROW(s->mods, s->cap_mods, s->nmods + 1);
	struct module *mod = &s->mods[s->nmods++];
	memset(mod, 0, sizeof(*mod));
	mod->path = intern_str(s->names, m->path, strlen(m->path));
	memcpy(mod->build_id, m->build_id, m->build_id_len);
	mod->build_id_len = m->build_id_len;
	if (*mod->path)
		load_module(s, mod);
	return mod;
}

const char *sym_function(struct symbolizer *s, const struct profile_mapping *m, uint64_t addr)
{
	struct module *mod = module_for(s, m);
	if (!mod->usable)
		return NULL;
	uint64_t off = addr - m->start + m->offset;
	uint64_t vaddr = 0;
	bool found = false;
	for (size_t i = 0; i < mod->nsegs && !found; i++) {
		const struct segment *g = &mod->segs[i];
		if (off >= g->offset && off < g->offset + g->filesz) {
			vaddr = off - g->offset + g->vaddr;
			found = true;
		}
	}
	if (!found)
		return NULL;
	/* Last symbol starting at or below vaddr. */
	size_t lo = 0, hi = mod->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mod->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	size_t k = lo - 1;
	while (k > 0 && mod->syms[k - 1].addr == mod->syms[k].addr)
		k--; /* best-ranked symbol at that address */
	const struct sym *y = &mod->syms[k];
	if (y->size && vaddr >= y->addr + y->size)
		return NULL; /* in a gap between functions */
	return y->name;
}

size_t sym_warnings(const struct symbolizer *s, const char *const **lines)
{
	*lines = s->warnings;
	return s->nwarnings;
}

void sym_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++) {
		free(s->mods[i].syms);
		free(s->mods[i].segs);
	}
	free(s->mods);
	free(s->warnings);
	intern_free(s->names);
	free(s);
}
