/* Kernel symbols: see kallsyms.h. */
#include "kallsyms.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

struct pending {
	uint64_t start;
	size_t name_off;
};

static int by_start(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

int kallsyms_read(FILE *f, struct kallsyms *ks)
{
	memset(ks, 0, sizeof(*ks));
	struct pending *p = NULL;
	size_t np = 0, cap = 0, nlen = 0, ncap = 0, zero = 0;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		char *end;
		uint64_t addr = strtoull(line, &end, 16);
		if (end == line || *end != ' ')
			continue;
		char type = end[1];
		if (!type || end[2] != ' ' || !strchr("tTwW", type))
			continue;
		char *name = end + 3;
		name[strcspn(name, "\n")] = '\0';
		/* "name\t[module]" becomes "name [module]". */
		char *tab = strchr(name, '\t');
		if (tab)
			*tab = ' ';
		if (!*name)
			continue;
		if (addr == 0) {
			zero++;
			continue;
		}
		size_t len = strlen(name) + 1;
		GROW(p, cap, np + 1);
		if (nlen + len > ncap) {
			ncap = (nlen + len) * 2;
			ks->names = xrealloc(ks->names, ncap);
		}
		memcpy(ks->names + nlen, name, len);
		p[np++] = (struct pending){ addr, nlen };
		nlen += len;
	}
	ks->hidden = np == 0 && zero > 0;
	if (np) /* p is NULL when nothing was read */
		qsort(p, np, sizeof(*p), by_start);
	ks->syms = xcalloc(np ? np : 1, sizeof(*ks->syms));
	for (size_t i = 0; i < np; i++) {
		/* Aliases share a start: the next symbol with a greater start
		 * bounds this one. */
		size_t j = i + 1;
		while (j < np && p[j].start == p[i].start)
			j++;
		ks->syms[i].start = p[i].start;
		ks->syms[i].size = j < np ? p[j].start - p[i].start : KALLSYMS_LAST_SIZE;
		ks->syms[i].name = ks->names + p[i].name_off;
	}
	ks->n = np;
	free(p);
	return 0;
}

int kallsyms_load(struct kallsyms *ks)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	if (!f) {
		memset(ks, 0, sizeof(*ks));
		return -errno;
	}
	int rc = kallsyms_read(f, ks);
	fclose(f);
	return rc;
}

const struct kallsyms_sym *kallsyms_find(const struct kallsyms *ks, uint64_t addr)
{
	/* The last symbol starting at or below addr. */
	size_t lo = UTIL_COUNT_LE(ks->syms, ks->n, start, addr);
	if (lo == 0)
		return NULL;
	const struct kallsyms_sym *s = &ks->syms[lo - 1];
	return addr - s->start < s->size ? s : NULL;
}

void kallsyms_free(struct kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->names);
	memset(ks, 0, sizeof(*ks));
}
