/* See util.h. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xxhash.h>

static void die_oom(size_t n)
{
	fprintf(stderr, "oneprof: out of memory allocating %zu bytes\n", n);
	exit(70);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die_oom(n);
	return p;
}

#define HUGE_PAGE ((size_t)2 << 20)

void *xmalloc_big(size_t n)
{
	if (n < UTIL_BIG_ARRAY)
		return xmalloc(n);
	/* Whole huge pages: the tail of the last one is never touched. */
	size_t len = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	void *p;
	if (len < n || posix_memalign(&p, HUGE_PAGE, len) != 0)
		die_oom(n);
	madvise(p, len, MADV_HUGEPAGE); /* advice: refused, it is plain memory */
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

void grow_array(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	*arr = xrealloc(*arr, c * size);
	*cap = c;
}

struct intern {
	char **slots; /* open addressing, power-of-two size */
	size_t cap;
	size_t count;
};

struct intern *intern_new(void)
{
	struct intern *in = xcalloc(1, sizeof(*in));
	in->cap = 256;
	in->slots = xcalloc(in->cap, sizeof(char *));
	return in;
}

static size_t slot_of(char **slots, size_t cap, const char *s, size_t len)
{
	size_t i = (size_t)XXH3_64bits(s, len) & (cap - 1);
	while (slots[i] && !(strncmp(slots[i], s, len) == 0 && slots[i][len] == '\0'))
		i = (i + 1) & (cap - 1);
	return i;
}

const char *intern_str(struct intern *in, const char *s, size_t len)
{
	/* Interned strings are C strings: bytes after a NUL (possible in a
	 * damaged capture) are not part of them. */
	const char *nul = memchr(s, '\0', len);
	if (nul)
		len = (size_t)(nul - s);
	size_t i = slot_of(in->slots, in->cap, s, len);
	if (in->slots[i])
		return in->slots[i];
	if ((in->count + 1) * 2 > in->cap) {
		size_t cap = in->cap * 2;
		char **slots = xcalloc(cap, sizeof(char *));
		for (size_t k = 0; k < in->cap; k++)
			if (in->slots[k])
				slots[slot_of(slots, cap, in->slots[k], strlen(in->slots[k]))] = in->slots[k];
		free(in->slots);
		in->slots = slots;
		in->cap = cap;
		i = slot_of(in->slots, in->cap, s, len);
	}
	in->slots[i] = xstrndup(s, len);
	in->count++;
	return in->slots[i];
}

void intern_free(struct intern *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->cap; i++)
		free(in->slots[i]);
	free(in->slots);
	free(in);
}

const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

void util_sort_kv(struct util_kv *a, size_t n)
{
	if (n < 2)
		return;
	/* Only the bytes in which some keys differ need a pass: addresses
	 * of one binary differ in two or three. */
	uint64_t diff = 0;
	for (size_t i = 1; i < n; i++)
		diff |= a[i].key ^ a[0].key;
	size_t count[256];
	struct util_kv *tmp = NULL, *src = a, *dst = NULL;
	for (int b = 0; b < 8; b++) {
		unsigned shift = 8 * (unsigned)b;
		if (!((diff >> shift) & 0xff))
			continue;
		if (!tmp)
			tmp = xmalloc_big(n * sizeof(*tmp));
		dst = src == a ? tmp : a;
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xff]++;
		size_t pos = 0;
		for (int v = 0; v < 256; v++) {
			size_t c = count[v];
			count[v] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xff]++] = src[i];
		src = dst;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	free(tmp);
}
