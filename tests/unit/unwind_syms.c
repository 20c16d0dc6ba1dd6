/* See unwind_syms.h. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unwind_syms.h"

static int main_bias_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(uintptr_t *)arg = info->dlpi_addr;
	return 1; /* the first object is the main program */
}

void usym_load(struct usym_table *st)
{
	memset(st, 0, sizeof(*st));
	uintptr_t bias = 0;
	dl_iterate_phdr(main_bias_cb, &bias);
	elf_version(EV_CURRENT);
	int fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0)
		return;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_size / sh.sh_entsize;
		st->v = calloc(n, sizeof(*st->v));
		for (size_t i = 0; d && st->v && i < n; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    !s.st_size || !s.st_value)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name)
				continue;
			st->v[st->n].lo = bias + s.st_value;
			st->v[st->n].hi = bias + s.st_value + s.st_size;
			st->v[st->n].name = strdup(name);
			st->n++;
		}
		break;
	}
	if (e)
		elf_end(e);
	close(fd);
}

void usym_free(struct usym_table *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->v[i].name);
	free(st->v);
}

const struct usym *usym_find(const struct usym_table *st, uintptr_t pc)
{
	for (size_t i = 0; i < st->n; i++)
		if (pc >= st->v[i].lo && pc < st->v[i].hi)
			return &st->v[i];
	return NULL;
}

const struct usym *usym_named(const struct usym_table *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->v[i].name, name) == 0)
			return &st->v[i];
	return NULL;
}

