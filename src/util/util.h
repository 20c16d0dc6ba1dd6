/* Small helpers shared by the CLI-side library (never linked into the
 * agent): checked allocation and growable arrays. */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Out-of-memory in the CLI is fatal: print and exit(70). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Memory for a big array that is written in full (freed with free()).
 * First-touch page faults, one per 4 KiB, cost more than filling the
 * array: from UTIL_BIG_ARRAY bytes on it is 2 MiB aligned and marked
 * for transparent huge pages, one fault per 2 MiB where the system
 * allows them ("madvise" or "always"); elsewhere a plain malloc. */
#define UTIL_BIG_ARRAY ((size_t)1 << 20)
void *xmalloc_big(size_t n);

/* Grows *arr (of elements of `size` bytes, capacity *cap) to hold `need`. */
void grow_array(void **arr, size_t *cap, size_t need, size_t size);
/* The check is inline: most calls find room, and a call per element
 * added was measurable on hot paths. */
#define GROW(arr, cap, need)                                                    \
	do {                                                                     \
		size_t grow_need_ = (need);                                      \
		if (grow_need_ > (cap))                                          \
			grow_array((void **)&(arr), &(cap), grow_need_, sizeof(*(arr))); \
	} while (0)

/* String interner: equal strings get the same stable pointer. A string
 * is cut at its first NUL byte. */
struct intern;
struct intern *intern_new(void);
const char *intern_str(struct intern *in, const char *s, size_t len);
void intern_free(struct intern *in);

const char *path_basename(const char *path);

/* Stable sort by key (LSD radix, one pass per byte in which the keys
 * differ): what large address sorts use instead of qsort, whose
 * comparison calls cost more than the sort itself. */
struct util_kv {
	uint64_t key;
	uint64_t val;
};
void util_sort_kv(struct util_kv *a, size_t n);

/* How many of n sorted keys are <= x (so the element holding x, if any,
 * is the one before that index). The keys are uint64_t fields, key0 the
 * first and stride the distance between keys in uint64_t units. */
static inline size_t util_count_le(const uint64_t *key0, size_t stride, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (key0[mid * stride] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* util_count_le over the uint64_t field `field` of the n elements of
 * arr, an array of structs (their size a multiple of 8, as any struct
 * holding a uint64_t has). */
#define UTIL_COUNT_LE(arr, n, field, x)                                                         \
	((n) ? util_count_le(&(arr)[0].field, sizeof(*(arr)) / sizeof(uint64_t), (n), (x)) : 0)

#endif
