/* Odd inputs to the allocation functions: a heap profiler that intercepts
 * them must hand back what glibc does, errno included. Each check prints
 * name=result (all on one line, no addresses), so a test can require the
 * line under the profiler to equal the line without it.
 *
 * Usage:
 *   heapodd                 run the checks; exit 0 when every result is the
 *                           one glibc documents, 1 otherwise
 *   heapodd double-free     free one block twice: glibc detects it and
 *                           aborts (SIGABRT), as it must under the profiler
 *   heapodd leak-then-kill  leak LEAK_BLOCKS blocks of LEAK_SIZE bytes from
 *                           leak_before_kill, print the ground truth line,
 *                           then "ready" on its own line, then allocate and
 *                           free temporaries in churn_forever until killed
 *                           (it gives up after MAX_SECONDS, exit 3, so a
 *                           broken test leaves nothing running)
 *
 * stdout is unbuffered (setvbuf _IONBF, which allocates nothing) so stdio
 * makes no allocation of its own and every line is out before a kill. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEAK_BLOCKS	5
#define LEAK_SIZE	5000
#define CHURN_SIZE	256
#define MAX_SECONDS	120

/* Sizes go through volatiles so the compiler can neither fold the calls
 * nor warn about sizes it can see are too large. */
static volatile size_t v_max = SIZE_MAX;
static volatile size_t v_half = SIZE_MAX / 2;
static volatile size_t v_zero;
static void *volatile sink;
/* NULL through a volatile: GCC turns a literal realloc(NULL, n) into
 * malloc(n), which would not test realloc at all. */
static void *volatile null_ptr;
static int bad;

static void put(const char *name, const char *result, int as_documented)
{
	printf("%s=%s ", name, result);
	if (!as_documented) {
		fprintf(stderr, "heapodd: %s=%s is not what glibc documents\n", name, result);
		bad = 1;
	}
}

static const char *errname(int e)
{
	switch (e) {
	case 0:
		return "0";
	case ENOMEM:
		return "ENOMEM";
	case EINVAL:
		return "EINVAL";
	default:
		return "other";
	}
}

static int aligned(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

static void checks(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char buf[64];
	void *p, *q;
	int err;

	/* free(NULL) does nothing. */
	free(NULL);
	put("free_null", "ok", 1);

	/* malloc(0) returns a unique, freeable pointer in glibc. */
	p = malloc(v_zero);
	put("malloc_zero", p ? "nonnull" : "null", p != NULL);
	free(p);

	/* realloc(p, 0) frees p and returns NULL in glibc (not C23's
	 * "implementation defined" anything else). */
	p = malloc(16);
	memset(p, 1, 16);
	errno = 0;
	q = realloc(p, v_zero);
	put("realloc_zero", q ? "nonnull" : "null_freed", q == NULL);
	free(q);

	/* realloc(NULL, n) is malloc(n). */
	p = realloc(null_ptr, 32);
	put("realloc_null", p ? "nonnull" : "null", p != NULL);
	free(p);

	/* Too large: NULL, errno ENOMEM. */
	errno = 0;
	p = malloc(v_max);
	snprintf(buf, sizeof(buf), "%s_%s", p ? "nonnull" : "null", errname(errno));
	put("malloc_max", buf, !p && errno == ENOMEM);
	free(p);

	/* n * size overflows: NULL, errno ENOMEM. */
	errno = 0;
	p = calloc(v_half, 4);
	snprintf(buf, sizeof(buf), "%s_%s", p ? "nonnull" : "null", errname(errno));
	put("calloc_overflow", buf, !p && errno == ENOMEM);
	free(p);

	/* calloc's memory is zeroed (a profiler that builds calloc on malloc
	 * must still clear it). Dirty a block first so reuse would show. */
	p = malloc(1000);
	memset(p, 0xff, 1000);
	free(p);
	unsigned char *z = calloc(100, 10);
	int zeroed = z != NULL;
	for (int i = 0; z && i < 1000; i++)
		zeroed &= z[i] == 0;
	put("calloc_zeroed", zeroed ? "ok" : "dirty", zeroed);
	free(z);

	/* posix_memalign returns EINVAL (not in errno) for an alignment that
	 * is not a power of two multiple of sizeof(void *), and leaves the
	 * pointer alone. 3: not a multiple; 24: not a power of two. */
	p = sink;
	err = posix_memalign(&p, 3, 64);
	put("posix_memalign_3", errname(err), err == EINVAL && p == sink);
	err = posix_memalign(&p, 24, 64);
	put("posix_memalign_24", errname(err), err == EINVAL && p == sink);
	err = posix_memalign(&p, 4096, 100);
	put("posix_memalign_4096", err ? errname(err) : aligned(p, 4096) ? "aligned" : "misaligned",
	    err == 0 && aligned(p, 4096));
	if (!err)
		free(p);

	/* aligned_alloc(3, 64): glibc up to 2.37 treats it as memalign, which
	 * rounds the alignment up to a power of two (at least 16) and succeeds;
	 * 2.38 and later return NULL with EINVAL. Both are glibc's documented
	 * behaviour for its version; the line says which one this is. */
	errno = 0;
	p = aligned_alloc(3, 64);
	if (p)
		snprintf(buf, sizeof(buf), "nonnull_%s", aligned(p, 16) ? "aligned16" : "misaligned");
	else
		snprintf(buf, sizeof(buf), "null_%s", errname(errno));
	put("aligned_alloc_3", buf, p ? aligned(p, 16) : errno == EINVAL);
	free(p);

	/* memalign: a power of two is honoured, any other alignment rounded
	 * up to the next one (24 -> 32). */
	p = memalign(64, 100);
	put("memalign_64", p && aligned(p, 64) ? "aligned" : "bad", p && aligned(p, 64));
	free(p);
	p = memalign(24, 100);
	put("memalign_24", p && aligned(p, 32) ? "aligned32" : "bad", p && aligned(p, 32));
	free(p);

	/* valloc: page aligned. pvalloc: page aligned and the size rounded up
	 * to whole pages, so at least a page is usable. */
	p = valloc(100);
	put("valloc", p && aligned(p, (size_t)page) ? "page_aligned" : "bad",
	    p && aligned(p, (size_t)page));
	free(p);
	p = pvalloc(100);
	int pv_ok = p && aligned(p, (size_t)page) && malloc_usable_size(p) >= (size_t)page;
	put("pvalloc", pv_ok ? "page_aligned_page_usable" : "bad", pv_ok);
	free(p);

	/* reallocarray whose n * size overflows: NULL, ENOMEM, and the old
	 * block is untouched (still ours to use and free). */
	p = malloc(32);
	memset(p, 0x3c, 32);
	/* Read back through a volatile: GCC cannot see that the failed call
	 * left p alive and would warn about a use after reallocarray. */
	unsigned char *volatile old = p;
	errno = 0;
	q = reallocarray(p, v_half, 4);
	int kept = !q && old[31] == 0x3c;
	snprintf(buf, sizeof(buf), "%s_%s%s", q ? "nonnull" : "null", errname(errno),
		 kept ? "_kept" : "_lost");
	put("reallocarray_overflow", buf, !q && errno == ENOMEM && kept);
	free(q ? q : (void *)old);

	/* realloc keeps the contents when it moves a block. */
	p = malloc(40);
	memset(p, 0x77, 40);
	q = realloc(p, 100000);
	int same = q != NULL;
	for (int i = 0; q && i < 40; i++)
		same &= ((unsigned char *)q)[i] == 0x77;
	put("realloc_keeps", same ? "ok" : "bad", same);
	free(q);

	/* malloc_usable_size is at least what was asked for. */
	p = malloc(100);
	size_t us = malloc_usable_size(p);
	put("usable_size", us >= 100 ? "ge_requested" : "lt_requested", us >= 100);
	free(p);
	put("usable_size_null", malloc_usable_size(NULL) == 0 ? "0" : "nonzero",
	    malloc_usable_size(NULL) == 0);

	printf("result=%s\n", bad ? "unexpected" : "as_documented");
}

__attribute__((noinline)) static void double_free(void)
{
	void *volatile p = malloc(64);
	void *q = p;

	free(q);
	q = p;
	/* glibc: "free(): double free detected in tcache 2", then abort(). */
	free(q);
	printf("double_free=survived\n");
}

__attribute__((noinline)) void leak_before_kill(void)
{
	for (int i = 0; i < LEAK_BLOCKS; i++) {
		char *p = malloc(LEAK_SIZE);
		if (!p)
			exit(1);
		memset(p, 0x40 + i, LEAK_SIZE); /* not 0: GCC would make it calloc */
		sink = p;
	}
	sink = NULL;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void churn_forever(void)
{
	struct timespec t0, now, ms = { 0, 1000000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *p = malloc(CHURN_SIZE);
		if (!p)
			exit(1);
		memset(p, 0x42, CHURN_SIZE);
		sink = p;
		free(p);
		nanosleep(&ms, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > MAX_SECONDS)
			exit(3);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);

	if (argc == 1) {
		checks();
		return bad;
	}
	if (strcmp(argv[1], "double-free") == 0) {
		double_free();
		return 1;
	}
	if (strcmp(argv[1], "leak-then-kill") == 0) {
		leak_before_kill();
		printf("pid=%d leaked_bytes=%d leaked_blocks=%d leak_function=leak_before_kill "
		       "churn_function=churn_forever churn_size=%d\n",
		       (int)getpid(), LEAK_BLOCKS * LEAK_SIZE, LEAK_BLOCKS, CHURN_SIZE);
		printf("ready\n");
		churn_forever();
		return 3;
	}
	fprintf(stderr, "usage: heapodd [double-free | leak-then-kill]\n");
	return 2;
}
