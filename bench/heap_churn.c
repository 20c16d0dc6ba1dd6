/* Allocation-heavy workload with exactly known ground truth, for
 * bench/heap-overhead.sh: THREADS threads (default 2), each running ROUNDS
 * rounds of what real programs do with the heap: build a small hash table
 * of string keys and values (calloc'd buckets), a linked list of records,
 * and grow a string with realloc, touching and hashing every block, then
 * tear it all down. Sizes are drawn from 16..4096 bytes, small ones more
 * often, from a fixed-seed generator: every run makes the same calls.
 *
 * Usage: heap_churn [-t THREADS] [-n ROUNDS]   (defaults 2 and 1500: about
 * 1.5 s of wall time plain on a 2-vCPU machine, 32 million allocations)
 *
 * At its end it prints one line to stderr:
 *   heap_churn: allocations=N frees=M reallocs=R realloc_moves=V
 *     peak_bytes_lower_bound=P peak_bytes_upper_bound=Q leaked_bytes=L
 *     leaked_blocks=K cpu_ns=C
 * counting only this program's own calls (the C library adds a few of
 * its own: pthread_create's, stdio's):
 *   allocations  successful malloc, calloc and realloc calls, a realloc
 *                counting as one allocation whether or not it moved
 *   frees        free() of a non-NULL pointer, plus one for every realloc
 *                of a non-NULL block: its old block is released, moved or
 *                not, which is how heaptrack counts it (a free then a
 *                malloc); realloc_moves says how many of those moved
 *   peak_bytes_* bounds on the peak of live requested bytes: each thread
 *                knows its own peak exactly, but not how the threads'
 *                peaks overlapped, so the process peak lies between the
 *                largest thread peak and the sum of them (the leak, made
 *                before the threads start, added to both)
 *   leaked_*     leak_some()'s 100 blocks of 1000 bytes, never freed
 *   cpu_ns       the process CPU time at the end (CLOCK_PROCESS_CPUTIME_ID)
 * and a checksum of the work to stdout, so none of it is optimized away.
 *
 * Built -O2 -g -fno-omit-frame-pointer by `make bench`; a heap profiler
 * must cope with the same code built without frame pointers too (its
 * allocation stacks then come from .eh_frame alone). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEAK_BLOCKS 100
#define LEAK_SIZE 1000
#define MAX_THREADS 64

/* One thread's counts; summed after the join. */
struct stats {
	uint64_t allocs, frees, reallocs, moves;
	uint64_t live, peak;
	uint64_t sum;		/* checksum of the work */
};

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	/* xorshift64*: cheap, and the same sequence on every run. */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ull;
}

/* 16..4096 bytes, small sizes most often: a power of two from 16 to 4096
 * with weight halving as it doubles, then a jitter within it. */
static size_t pick_size(struct rng *r)
{
	uint64_t x = next(r);
	int shift = 4;

	while (shift < 12 && (x & 1)) {
		shift++;
		x >>= 1;
	}
	x >>= 8;
	return ((size_t)1 << shift) + (size_t)(x % ((size_t)1 << shift)) / 2;
}

static void count_alloc(struct stats *st, size_t size)
{
	st->allocs++;
	st->live += size;
	if (st->live > st->peak)
		st->peak = st->live;
}

static void *xmalloc(struct stats *st, size_t size)
{
	void *p = malloc(size);

	if (!p)
		abort();
	count_alloc(st, size);
	return p;
}

static void *xcalloc(struct stats *st, size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		abort();
	count_alloc(st, n * size);
	return p;
}

static void *xrealloc(struct stats *st, void *old, size_t old_size, size_t size)
{
	uintptr_t was = (uintptr_t)old;
	void *p = realloc(old, size);

	if (!p)
		abort();
	st->reallocs++;
	if (old) {
		st->frees++;
		st->live -= old_size;
		if ((uintptr_t)p != was)
			st->moves++;
	}
	count_alloc(st, size);
	return p;
}

static void xfree(struct stats *st, void *p, size_t size)
{
	free(p);
	st->frees++;
	st->live -= size;
}

/* The real work a program does with a block: initialize its head (a
 * header, a short string), write every cache line of the rest and hash
 * what it wrote. */
static uint64_t fill_hash(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t h = 1469598103934665603ull ^ seed;

	memset(p, (int)(seed & 0xff), n < 64 ? n : 64);
	for (size_t i = 0; i < n; i += 64) {
		p[i] = (unsigned char)(h >> 7);
		h = (h ^ p[i]) * 1099511628211ull;
	}
	return h;
}

/* --- a hash table of string keys --- */

struct entry {
	struct entry *next;
	char *key;
	size_t key_len;
	unsigned char *val;
	size_t val_len;
};

struct table {
	struct entry **b;
	size_t nb;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* "k" and the two numbers in hex, 2..33 characters: what snprintf would
 * do, at a fraction of its cost. */
static size_t make_key(char *buf, unsigned i, uint64_t x)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	buf[n++] = 'k';
	do {
		buf[n++] = hex[i & 15];
		i >>= 4;
	} while (i);
	buf[n++] = '-';
	for (x >>= 64 - 4 * (1 + x % 12); x; x >>= 4)
		buf[n++] = hex[x & 15];
	buf[n] = '\0';
	return n;
}

static void table_put(struct stats *st, struct table *t, struct rng *r, unsigned i)
{
	struct entry *e = xmalloc(st, sizeof(*e));
	char buf[64];
	size_t n = make_key(buf, i, next(r));
	uint64_t h;

	e->key_len = n + 1;
	e->key = xmalloc(st, e->key_len);
	memcpy(e->key, buf, e->key_len);
	e->val_len = pick_size(r);
	e->val = xmalloc(st, e->val_len);
	st->sum += fill_hash(e->val, e->val_len, i);
	h = str_hash(e->key) % t->nb;
	e->next = t->b[h];
	t->b[h] = e;
}

static void table_build(struct stats *st, struct table *t, struct rng *r, unsigned n)
{
	t->nb = 64 + next(r) % 960;
	t->b = xcalloc(st, t->nb, sizeof(*t->b));
	for (unsigned i = 0; i < n; i++)
		table_put(st, t, r, i);
}

static void table_free(struct stats *st, struct table *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct entry *e = t->b[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			st->sum += e->val[(e->val_len / 2) & ~(size_t)63] + str_hash(e->key);
			xfree(st, e->val, e->val_len);
			xfree(st, e->key, e->key_len);
			xfree(st, e, sizeof(*e));
		}
	}
	xfree(st, t->b, t->nb * sizeof(*t->b));
}

/* --- a linked list of records --- */

struct node {
	struct node *next;
	size_t len;
	unsigned char data[];
};

static uint64_t list_round(struct stats *st, struct rng *r, unsigned n)
{
	struct node *head = NULL, *nd, *nx;
	uint64_t h = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t len = pick_size(r);

		if (len > sizeof(*nd))
			len -= sizeof(*nd);
		nd = xmalloc(st, sizeof(*nd) + len);
		nd->len = len;
		h += fill_hash(nd->data, len, i);
		nd->next = head;
		head = nd;
	}
	for (nd = head; nd; nd = nx) {
		nx = nd->next;
		h ^= nd->data[(nd->len - 1) & ~(size_t)63];
		xfree(st, nd, sizeof(*nd) + nd->len);
	}
	return h;
}

/* --- a string grown by realloc, as a string builder does --- */

static uint64_t grow_string(struct stats *st, struct rng *r)
{
	size_t cap = 16, len = 0, want = 256 + next(r) % 3840;
	char *s = xmalloc(st, cap);
	uint64_t h;

	while (len < want) {
		size_t chunk = 8 + next(r) % 56;

		while (len + chunk + 1 > cap) {
			size_t ncap = cap * 2;

			s = xrealloc(st, s, cap, ncap);
			cap = ncap;
		}
		memset(s + len, 'a' + (int)(chunk % 26), chunk);
		len += chunk;
		s[len] = '\0';
	}
	h = str_hash(s);
	xfree(st, s, cap);
	return h;
}

/* --- the threads --- */

/* One cache line or more each: a thread's counts change at every call,
 * and two threads' counts on one line made the run 1.4 times slower
 * whenever the machine's two CPUs did not share a cache, and as fast as
 * one thread alone when they did: a benchmark that measured where the
 * CPUs sat more than what the allocator cost. */
struct worker {
	pthread_t tid;
	unsigned id, rounds;
	struct stats st;
} __attribute__((aligned(64)));

static void one_round(struct stats *st, struct rng *r)
{
	struct table t;

	table_build(st, &t, r, 2000 + next(r) % 2000);
	st->sum += list_round(st, r, 1000 + next(r) % 1000);
	for (int i = 0; i < 40; i++)
		st->sum += grow_string(st, r);
	table_free(st, &t);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct rng r = { 0x9e3779b97f4a7c15ull * (w->id + 1) };

	for (unsigned i = 0; i < w->rounds; i++)
		one_round(&w->st, &r);
	return NULL;
}

/* The known leak: LEAK_BLOCKS blocks of LEAK_SIZE bytes from this one
 * function, never freed (the pointers stay reachable in leaked[], so
 * reachability-based leak checkers call them "still reachable"). */
static void *leaked[LEAK_BLOCKS];

__attribute__((noinline)) static void leak_some(struct stats *st)
{
	for (int i = 0; i < LEAK_BLOCKS; i++) {
		leaked[i] = xmalloc(st, LEAK_SIZE);
		memset(leaked[i], i, LEAK_SIZE);
	}
}

static void report(struct worker *w, unsigned n, struct stats *main_st)
{
	struct stats tot = *main_st;
	uint64_t max_peak = 0, sum_peak = 0, leak = main_st->live;
	struct timespec ts;

	for (unsigned i = 0; i < n; i++) {
		tot.allocs += w[i].st.allocs;
		tot.frees += w[i].st.frees;
		tot.reallocs += w[i].st.reallocs;
		tot.moves += w[i].st.moves;
		tot.sum += w[i].st.sum;
		sum_peak += w[i].st.peak;
		if (w[i].st.peak > max_peak)
			max_peak = w[i].st.peak;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	printf("checksum %llx\n", (unsigned long long)tot.sum);
	fflush(stdout);
	fprintf(stderr, "heap_churn: allocations=%llu frees=%llu reallocs=%llu "
		"realloc_moves=%llu peak_bytes_lower_bound=%llu "
		"peak_bytes_upper_bound=%llu leaked_bytes=%llu leaked_blocks=%d "
		"cpu_ns=%lld\n",
		(unsigned long long)tot.allocs, (unsigned long long)tot.frees,
		(unsigned long long)tot.reallocs, (unsigned long long)tot.moves,
		(unsigned long long)(leak + max_peak),
		(unsigned long long)(leak + sum_peak), (unsigned long long)leak,
		LEAK_BLOCKS, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static void usage(void)
{
	fprintf(stderr, "usage: heap_churn [-t THREADS] [-n ROUNDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	struct stats main_st = { 0 };
	unsigned threads = 2, rounds = 1500;
	int c;

	while ((c = getopt(argc, argv, "t:n:")) != -1) {
		if (c == 't')
			threads = (unsigned)atoi(optarg);
		else if (c == 'n')
			rounds = (unsigned)atoi(optarg);
		else
			usage();
	}
	if (threads < 1 || threads > MAX_THREADS)
		usage();
	leak_some(&main_st);
	for (unsigned i = 0; i < threads; i++) {
		w[i].id = i;
		w[i].rounds = rounds;
		if (pthread_create(&w[i].tid, NULL, run, &w[i]))
			abort();
	}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(w[i].tid, NULL);
	report(w, threads, &main_st);
	return 0;
}
