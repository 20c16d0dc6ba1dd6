/* The CFI unwinder (src/unwind/) on real code: a chain of functions built
 * without frame pointers (unwind_chain.c), walked from a captured context,
 * from a signal interrupting a frameless leaf, from inside a signal
 * handler and in a thread, through libc to the outermost frame; its stack
 * bounds; random stacks between guard pages; the .eh_frame parser on
 * hand-made, truncated and corrupted tables. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "../../src/unwind/unwind.h"
#include "../../src/unwind/unwind_internal.h"
#include "unit.h"
#include "unwind_chain.h"
#include "unwind_syms.h"

#define MAX_PCS 64

struct walk_result {
	uint64_t pcs[MAX_PCS];
	unsigned n, reason;
};

/* The name of frame i: return addresses are looked up at pc-1, since the
 * call may be the last instruction of its function. */
static const char *frame_name(const struct usym_table *st, const struct walk_result *r, unsigned i)
{
	const struct usym *f = usym_find(st, (uintptr_t)r->pcs[i] - (i ? 1 : 0));
	return f ? f->name : NULL;
}

static int in_libc(uint64_t pc)
{
	Dl_info di;
	return dladdr((void *)(uintptr_t)(pc - 1), &di) && di.dli_fname &&
	       strstr(di.dli_fname, "libc.so") != NULL;
}

static void dump(const struct usym_table *st, const struct walk_result *r)
{
	printf("    walk: %u frames, reason %u\n", r->n, r->reason);
	for (unsigned i = 0; i < r->n; i++) {
		Dl_info di;
		const char *name = frame_name(st, r, i);
		const char *obj = dladdr((void *)(uintptr_t)(r->pcs[i] - (i ? 1 : 0)), &di) &&
					  di.dli_fname ? di.dli_fname : "?";
		printf("      #%u %#llx %s (%s)\n", i, (unsigned long long)r->pcs[i],
		       name ? name : "?", obj);
	}
}

/* Checks that frames from..from+n-1 are the functions named, in order. */
static int expect_frames(const struct usym_table *st, const struct walk_result *r, unsigned from,
			 const char *const *names, unsigned n)
{
	int ok = r->n >= from + n;
	for (unsigned i = 0; ok && i < n; i++) {
		const char *got = frame_name(st, r, from + i);
		if (!got || strcmp(got, names[i]) != 0)
			ok = 0;
	}
	CHECK(ok);
	if (!ok)
		dump(st, r);
	return ok;
}

/* ---- contexts ---- */

static void stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	pthread_attr_t a;
	void *addr = NULL;
	size_t size = 0;
	*lo = *hi = 0;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	pthread_attr_getstack(&a, &addr, &size);
	pthread_attr_destroy(&a);
	*lo = (uintptr_t)addr;
	*hi = (uintptr_t)addr + size;
}

struct walk_probe {
	struct walk_result res;
	uintptr_t lo, hi; /* 0: this thread's stack */
	unsigned max;
	struct unwind_regs regs;
};

static void walk_probe(const struct unwind_regs *regs, void *arg)
{
	struct walk_probe *p = arg;
	if (!p->hi)
		stack_bounds(&p->lo, &p->hi);
	p->regs = *regs;
	p->res.n = unwind_walk(regs, p->lo, p->hi, p->res.pcs, p->max ? p->max : MAX_PCS,
			       &p->res.reason);
}

static const char *const chain_names[] = { "unwind_chain_leaf", "unwind_chain_c",
					   "unwind_chain_b", "unwind_chain_a" };

/* The chain really has no frame pointer setup (push %rbp; mov %rsp,%rbp). */
static void check_frameless(const struct usym_table *st, const char *name)
{
	const struct usym *f = usym_named(st, name);
	CHECK(f != NULL);
	if (!f)
		return;
	const uint8_t *p = (const uint8_t *)f->lo;
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		p += 4; /* endbr64 */
	static const uint8_t fp_prologue[] = { 0x55, 0x48, 0x89, 0xe5 };
	if (memcmp(p, fp_prologue, sizeof(fp_prologue)) == 0)
		unit_fail(__FILE__, __LINE__, "%s sets up a frame pointer", name);
}

TEST(unwind_chain_without_frame_pointers)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct usym_table st;
	usym_load(&st);
	CHECK(st.n > 0);
	for (unsigned i = 0; i < 4; i++)
		check_frameless(&st, chain_names[i]);
	check_frameless(&st, "unwind_chain_leaf_spin");

	struct walk_probe p;
	memset(&p, 0, sizeof(p));
	struct unwind_chain_ctx ctx = { walk_probe, &p, 0, NULL, NULL };
	unwind_chain_a(&ctx);
	expect_frames(&st, &p.res, 0, chain_names, 4);
	static const char *const rest[] = { "test_unwind_chain_without_frame_pointers", "main" };
	expect_frames(&st, &p.res, 4, rest, 2);

	/* Frame pointers alone could not have found the chain: rbp points into
	 * this test function's frame (or holds chain_c's data). */
	usym_free(&st);
}

/* The traced walk: the same frames as unwind_walk() from the same
 * registers, and a trace of stack slots that hold what it read. */
struct traced_probe {
	struct walk_result plain, traced, cold, warm; /* cold, warm: with a row cache */
	struct unwind_row_cache *cache;
	struct unwind_trace trace;
	uintptr_t lo, hi, sp;
	bool slots_hold;
};

static void traced_probe(const struct unwind_regs *regs, void *arg)
{
	struct traced_probe *p = arg;
	stack_bounds(&p->lo, &p->hi);
	p->sp = regs->sp;
	p->plain.n = unwind_walk(regs, p->lo, p->hi, p->plain.pcs, MAX_PCS, &p->plain.reason);
	p->traced.n = unwind_walk_traced(regs, p->lo, p->hi, p->traced.pcs, MAX_PCS,
					 &p->traced.reason, &p->trace, NULL);
	struct unwind_trace t2;
	p->cold.n = unwind_walk_traced(regs, p->lo, p->hi, p->cold.pcs, MAX_PCS, &p->cold.reason,
				       &t2, p->cache);
	p->warm.n = unwind_walk_traced(regs, p->lo, p->hi, p->warm.pcs, MAX_PCS, &p->warm.reason,
				       &t2, p->cache);
	p->slots_hold = true;
	for (unsigned i = 0; i < p->trace.n && i < UNWIND_TRACE_MAX; i++)
		if (p->trace.addr[i] < regs->sp || p->trace.addr[i] >= p->hi ||
		    *(const uintptr_t *)p->trace.addr[i] != p->trace.val[i])
			p->slots_hold = false;
}

TEST(unwind_traced_walk_matches)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct traced_probe p;
	memset(&p, 0, sizeof(p));
	p.cache = calloc(1, UNWIND_ROW_CACHE_BYTES);
	struct unwind_chain_ctx ctx = { traced_probe, &p, 0, NULL, NULL };
	unwind_chain_a(&ctx);
	CHECK(p.plain.n >= 6);
	CHECK_EQ_INT(p.traced.n, p.plain.n);
	CHECK_EQ_INT(p.traced.reason, p.plain.reason);
	CHECK(memcmp(p.traced.pcs, p.plain.pcs, p.plain.n * sizeof(uint64_t)) == 0);
	/* The row cache, empty then holding every frame's row: the same walk. */
	CHECK_EQ_INT(p.cold.n, p.plain.n);
	CHECK_EQ_INT(p.warm.n, p.plain.n);
	CHECK_EQ_INT(p.warm.reason, p.plain.reason);
	CHECK(memcmp(p.cold.pcs, p.plain.pcs, p.plain.n * sizeof(uint64_t)) == 0);
	CHECK(memcmp(p.warm.pcs, p.plain.pcs, p.plain.n * sizeof(uint64_t)) == 0);
	free(p.cache);
	/* At least one return address a frame beyond the first. */
	CHECK(p.trace.n >= p.plain.n - 1);
	CHECK(p.slots_hold);
	CHECK_EQ_INT(p.trace.gen, unwind_generation());
}

TEST(unwind_reaches_libc_and_completes)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct usym_table st;
	usym_load(&st);
	struct walk_probe p;
	memset(&p, 0, sizeof(p));
	struct unwind_chain_ctx ctx = { walk_probe, &p, 0, NULL, NULL };
	unwind_chain_a(&ctx);
	int libc_frames = 0;
	for (unsigned i = 1; i < p.res.n; i++)
		libc_frames += in_libc(p.res.pcs[i]);
	CHECK(libc_frames >= 1);
	CHECK_EQ_INT(p.res.reason, CAPTURE_STACK_COMPLETE);
	/* main's caller is __libc_start_call_main, in libc. */
	const char *main_name = p.res.n > 5 ? frame_name(&st, &p.res, 5) : NULL;
	CHECK(main_name && strcmp(main_name, "main") == 0);
	CHECK(p.res.n > 6 && in_libc(p.res.pcs[6]));
	if (libc_frames < 1 || p.res.reason != CAPTURE_STACK_COMPLETE)
		dump(&st, &p.res);
	usym_free(&st);
}

/* ---- a signal interrupting a frameless leaf: the sampler's situation ---- */

static struct walk_result sig_res;
static volatile int sig_ready, sig_stop;
static uintptr_t sig_lo, sig_hi;

static void on_sigusr1(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	const ucontext_t *uc = ucv;
	struct unwind_regs r = { (uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
				 (uintptr_t)uc->uc_mcontext.gregs[REG_RSP],
				 (uintptr_t)uc->uc_mcontext.gregs[REG_RBP] };
	sig_res.n = unwind_walk(&r, sig_lo, sig_hi, sig_res.pcs, MAX_PCS, &sig_res.reason);
	sig_stop = 1;
}

static void *kicker(void *arg)
{
	pthread_t target = *(pthread_t *)arg;
	for (int i = 0; i < 5000 && !sig_ready; i++)
		usleep(1000);
	pthread_kill(target, SIGUSR1);
	for (int i = 0; i < 5000 && !sig_stop; i++)
		usleep(1000);
	sig_stop = 1; /* never leave the test spinning */
	return NULL;
}

TEST(unwind_signal_in_frameless_leaf)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct usym_table st;
	usym_load(&st);
	stack_bounds(&sig_lo, &sig_hi);
	memset(&sig_res, 0, sizeof(sig_res));
	sig_ready = sig_stop = 0;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigusr1;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	pthread_t self = pthread_self(), th;
	CHECK_EQ_INT(pthread_create(&th, NULL, kicker, &self), 0);
	struct unwind_chain_ctx ctx = { NULL, NULL, 1, &sig_ready, &sig_stop };
	unwind_chain_a(&ctx);
	pthread_join(th, NULL);
	sigaction(SIGUSR1, &old, NULL);

	static const char *const names[] = { "unwind_chain_leaf_spin", "unwind_chain_c",
					     "unwind_chain_b", "unwind_chain_a",
					     "test_unwind_signal_in_frameless_leaf", "main" };
	expect_frames(&st, &sig_res, 0, names, 6);
	CHECK_EQ_INT(sig_res.reason, CAPTURE_STACK_COMPLETE);
	usym_free(&st);
}

/* ---- from inside the application's own signal handler ---- */

static struct walk_probe handler_probe;

static void on_sigusr2(int sig)
{
	(void)sig;
	struct unwind_chain_ctx ctx = { walk_probe, &handler_probe, 0, NULL, NULL };
	unwind_chain_a(&ctx);
}

TEST(unwind_stops_at_signal_frame)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct usym_table st;
	usym_load(&st);
	memset(&handler_probe, 0, sizeof(handler_probe));
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, &old);
	raise(SIGUSR2);
	sigaction(SIGUSR2, &old, NULL);
	const struct walk_result *r = &handler_probe.res;
	expect_frames(&st, r, 0, chain_names, 4);
	static const char *const handler[] = { "on_sigusr2" };
	expect_frames(&st, r, 4, handler, 1);
	/* The handler returns to __restore_rt in libc, whose FDE is marked as a
	 * signal frame: the walk ends there, cleanly. */
	CHECK_EQ_INT(r->n, 6);
	CHECK(r->n == 6 && in_libc(r->pcs[5]));
	CHECK_EQ_INT(r->reason, CAPTURE_STACK_COMPLETE);
	if (r->n != 6)
		dump(&st, r);
	usym_free(&st);
}

/* ---- bounds ---- */

static void bounds_probe(const struct unwind_regs *regs, void *arg)
{
	struct walk_result *out = arg;
	uintptr_t lo, hi;
	stack_bounds(&lo, &hi);
	/* stack_hi just above sp: the leaf's return address lies beyond. */
	out[0].n = unwind_walk(regs, lo, regs->sp + 16, out[0].pcs, MAX_PCS, &out[0].reason);
	/* stack_lo above the leaf's frame: its slots are below the bound. */
	out[1].n = unwind_walk(regs, regs->sp + 4096, hi, out[1].pcs, MAX_PCS, &out[1].reason);
	/* Depth limit. */
	out[2].n = unwind_walk(regs, lo, hi, out[2].pcs, 3, &out[2].reason);
	out[3].n = unwind_walk(regs, lo, hi, out[3].pcs, 0, &out[3].reason);
	/* sp outside the stack altogether. */
	struct unwind_regs bad = *regs;
	bad.sp = hi + 4096;
	out[4].n = unwind_walk(&bad, lo, hi, out[4].pcs, MAX_PCS, &out[4].reason);
	/* A pc in no module and a garbage rbp: no CFI, and the frame-pointer
	 * fallback refuses the rbp. */
	bad = *regs;
	bad.pc = 0x1000;
	bad.fp = 0x12345;
	out[5].n = unwind_walk(&bad, lo, hi, out[5].pcs, MAX_PCS, &out[5].reason);
}

TEST(unwind_bounds)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct walk_result r[6];
	memset(r, 0, sizeof(r));
	struct unwind_chain_ctx ctx = { bounds_probe, r, 0, NULL, NULL };
	unwind_chain_a(&ctx);
	CHECK_EQ_INT(r[0].n, 1);
	CHECK_EQ_INT(r[0].reason, CAPTURE_STACK_BAD_FRAME);
	CHECK_EQ_INT(r[1].n, 1);
	CHECK_EQ_INT(r[1].reason, CAPTURE_STACK_BAD_FRAME);
	CHECK_EQ_INT(r[2].n, 3);
	CHECK_EQ_INT(r[2].reason, CAPTURE_STACK_TRUNCATED);
	CHECK_EQ_INT(r[3].n, 0);
	CHECK_EQ_INT(r[3].reason, CAPTURE_STACK_TRUNCATED);
	CHECK_EQ_INT(r[4].n, 1);
	CHECK_EQ_INT(r[4].reason, CAPTURE_STACK_BAD_FRAME);
	CHECK_EQ_INT(r[5].n, 1);
	CHECK_EQ_INT(r[5].reason, UNWIND_STACK_NO_UNWIND_INFO);
}

/* ---- random stacks between guard pages ---- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

struct text_ranges {
	uintptr_t lo[64], hi[64];
	unsigned n;
};

static int text_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct text_ranges *t = arg;
	for (int i = 0; i < info->dlpi_phnum && t->n < 64; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz) {
			t->lo[t->n] = info->dlpi_addr + ph->p_vaddr;
			t->hi[t->n] = t->lo[t->n] + ph->p_memsz;
			t->n++;
		}
	}
	return 0;
}

TEST(unwind_random_stacks_stay_in_bounds)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct text_ranges tr;
	memset(&tr, 0, sizeof(tr));
	dl_iterate_phdr(text_cb, &tr);
	CHECK(tr.n >= 3);
	long page = sysconf(_SC_PAGESIZE);
	size_t stack_len = 16 * (size_t)page;
	/* guard | stack | guard: a read outside the stack faults. */
	uint8_t *m = mmap(NULL, stack_len + 2 * (size_t)page, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	uint8_t *stack = m + page;
	CHECK_EQ_INT(mprotect(stack, stack_len, PROT_READ | PROT_WRITE), 0);
	uint64_t *w = (uint64_t *)stack;
	size_t nw = stack_len / 8;
	uintptr_t lo = (uintptr_t)stack, hi = lo + stack_len;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned long long frames = 0, complete = 0;
	for (int iter = 0; iter < 20000; iter++) {
		/* A fresh stack now and then, a few words changed in between. */
		size_t changes = iter % 64 == 0 ? nw : 256;
		for (size_t c = 0; c < changes; c++) {
			size_t i = changes == nw ? c : (size_t)(rng_next(&seed) % nw);
			uint64_t x = rng_next(&seed);
			unsigned k = tr.n ? (unsigned)(x >> 56) % tr.n : 0;
			switch (x & 7) {
			case 0: case 1: case 2: /* a pointer into the stack, maybe misaligned */
				w[i] = lo + (x >> 8) % stack_len;
				if (x & 8)
					w[i] &= ~(uint64_t)7;
				break;
			case 3: case 4: /* a code address */
				w[i] = tr.n ? tr.lo[k] + (x >> 8) % (tr.hi[k] - tr.lo[k]) : x;
				break;
			case 5:
				w[i] = 0;
				break;
			default:
				w[i] = x;
			}
		}
		uint64_t x = rng_next(&seed);
		unsigned k = (unsigned)(x % tr.n);
		struct unwind_regs r;
		r.pc = tr.lo[k] + (rng_next(&seed) % (tr.hi[k] - tr.lo[k]));
		r.sp = lo + (rng_next(&seed) % stack_len & ~(uint64_t)7);
		r.fp = (x & 1) ? lo + rng_next(&seed) % stack_len : rng_next(&seed);
		uint64_t pcs[MAX_PCS];
		unsigned reason = 99;
		unsigned n = unwind_walk(&r, lo, hi, pcs, MAX_PCS, &reason);
		CHECK(n >= 1 && n <= MAX_PCS);
		CHECK(reason < CAPTURE_STACK_END_COUNT);
		frames += n;
		complete += reason == CAPTURE_STACK_COMPLETE;
		if (n < 1 || n > MAX_PCS || reason >= CAPTURE_STACK_END_COUNT)
			break;
	}
	printf("    unwind: 20000 random stacks, %.2f frames on average, %llu complete\n",
	       (double)frames / 20000, complete);
	munmap(m, stack_len + 2 * (size_t)page);
}

/* ---- threads ---- */

struct thread_arg {
	struct walk_probe p;
};

static void *unwind_thread_fn(void *arg)
{
	struct thread_arg *t = arg;
	struct unwind_chain_ctx ctx = { walk_probe, &t->p, 0, NULL, NULL };
	unwind_chain_a(&ctx);
	return NULL;
}

TEST(unwind_thread_to_clone)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct usym_table st;
	usym_load(&st);
	struct thread_arg *t = calloc(1, sizeof(*t));
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, unwind_thread_fn, t), 0);
	pthread_join(th, NULL);
	const struct walk_result *r = &t->p.res;
	expect_frames(&st, r, 0, chain_names, 4);
	static const char *const fn[] = { "unwind_thread_fn" };
	expect_frames(&st, r, 4, fn, 1);
	/* start_thread, then clone3 whose outermost frame has RA undefined:
	 * the walk ends in libc, complete. (A sanitizer's thread wrapper may
	 * sit in between.) */
	CHECK(r->n >= 7);
	CHECK(r->n >= 1 && in_libc(r->pcs[r->n - 1]));
	CHECK_EQ_INT(r->reason, CAPTURE_STACK_COMPLETE);
	if (r->n < 7 || !in_libc(r->pcs[r->n - 1]) || r->reason != CAPTURE_STACK_COMPLETE)
		dump(&st, r);
	free(t);
	usym_free(&st);
}

/* ---- rebuilds while walking ---- */

static atomic_int churn_done;

/* A library of glibc this process has not loaded, to dlopen and dlclose. */
static const char *unloaded_lib(void)
{
	static const char *const libs[] = { "libm.so.6", "libresolv.so.2", "libanl.so.1",
					    "libutil.so.1" };
	for (unsigned i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		void *h = dlopen(libs[i], RTLD_NOW | RTLD_NOLOAD);
		if (!h)
			return libs[i];
		dlclose(h);
	}
	return NULL;
}

struct churn_arg {
	const char *lib;
	int failures, swaps;
};

static void *churn(void *arg)
{
	struct churn_arg *c = arg;
	for (int i = 0; i < 100; i++) {
		/* Every rebuild publishes a new set and frees the old one under
		 * walks in progress: with a library loaded and unloaded (modules
		 * shared between sets), and from nothing after unwind_free. ASan
		 * sees a walk that reads freed tables. */
		if (i % 10 == 9) {
			unwind_free();
		} else if (c->lib) {
			void *h = dlopen(c->lib, RTLD_NOW);
			if (unwind_rebuild() != 0)
				c->failures++;
			c->swaps++;
			if (h)
				dlclose(h);
		}
		if (unwind_rebuild() != 0)
			c->failures++;
		c->swaps++;
	}
	atomic_store(&churn_done, 1);
	return NULL;
}

struct churn_walks {
	unsigned long walks, full, bad;
};

static void churn_probe(const struct unwind_regs *regs, void *arg)
{
	struct churn_walks *w = arg;
	uintptr_t lo, hi;
	stack_bounds(&lo, &hi);
	while (!atomic_load(&churn_done)) {
		uint64_t pcs[MAX_PCS];
		unsigned reason = 99;
		unsigned n = unwind_walk(regs, lo, hi, pcs, MAX_PCS, &reason);
		w->walks++;
		w->full += n >= 8 && reason == CAPTURE_STACK_COMPLETE;
		/* Between a free and a rebuild the walk has frame pointers only. */
		if (n < 1 || reason >= CAPTURE_STACK_END_COUNT)
			w->bad++;
	}
}

TEST(unwind_rebuild_under_walks)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	atomic_store(&churn_done, 0);
	struct churn_arg c = { unloaded_lib(), 0, 0 };
	CHECK(c.lib != NULL);
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, churn, &c), 0);
	struct churn_walks w = { 0, 0, 0 };
	struct unwind_chain_ctx ctx = { churn_probe, &w, 0, NULL, NULL };
	unwind_chain_a(&ctx);
	pthread_join(th, NULL);
	CHECK_EQ_INT(c.failures, 0);
	CHECK_EQ_INT(w.bad, 0);
	CHECK(w.full > 0);
	printf("    unwind: %lu walks (%lu whole) during %d table swaps (dlopen/dlclose %s)\n",
	       w.walks, w.full, c.swaps, c.lib ? c.lib : "-");
	/* The tables are whole again afterwards. */
	struct walk_probe p;
	memset(&p, 0, sizeof(p));
	struct unwind_chain_ctx c2 = { walk_probe, &p, 0, NULL, NULL };
	unwind_chain_a(&c2);
	CHECK_EQ_INT(p.res.reason, CAPTURE_STACK_COMPLETE);
	CHECK(p.res.n >= 8);
}

/* In a forked child: tables inherited, rebuild and walk work there. */
TEST(unwind_after_fork)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(20); /* a deadlock fails the test instead of hanging it */
		struct walk_probe p;
		memset(&p, 0, sizeof(p));
		struct unwind_chain_ctx ctx = { walk_probe, &p, 0, NULL, NULL };
		unwind_chain_a(&ctx);
		int ok = p.res.reason == CAPTURE_STACK_COMPLETE && p.res.n >= 8;
		unwind_free();
		ok = ok && unwind_rebuild() == 0;
		memset(&p, 0, sizeof(p));
		unwind_chain_a(&ctx);
		ok = ok && p.res.reason == CAPTURE_STACK_COMPLETE && p.res.n >= 8;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- tables ---- */

TEST(unwind_rebuild_stats)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct unwind_stats a, b;
	unwind_get_stats(&a);
	CHECK_EQ_INT(unwind_rebuild(), 0);
	unwind_get_stats(&b);
	CHECK(a.modules >= 3); /* this binary, libc, ld.so (and the vDSO) */
	CHECK(a.rows > 1000);
	CHECK_EQ_INT(a.failed_modules, 0);
	CHECK_EQ_INT(a.modules, b.modules);
	CHECK_EQ_INT(a.rows, b.rows);
	CHECK_EQ_INT(a.unsupported_fdes, b.unsupported_fdes);
	printf("    unwind: %u modules, %zu rows (%zu KiB), %zu FDEs with unsupported ranges\n",
	       a.modules, a.rows, a.rows * sizeof(struct uw_row) / 1024, a.unsupported_fdes);
	/* Freed and rebuilt from nothing: the same tables. */
	unwind_free();
	unwind_get_stats(&b);
	CHECK_EQ_INT(b.modules, 0);
	CHECK_EQ_INT(unwind_rebuild(), 0);
	unwind_get_stats(&b);
	CHECK_EQ_INT(a.modules, b.modules);
	CHECK_EQ_INT(a.rows, b.rows);
}

/* A module's .eh_frame_hdr and .eh_frame, copied into exactly-sized heap
 * buffers so that ASan sees any read past them. */
struct eh_copy {
	uintptr_t hdr_addr, eh_addr, text_lo, text_hi;
	uint8_t *hdr, *eh;
	size_t hdr_len, eh_len;
};

struct eh_find {
	const char *needle; /* NULL: the main program */
	struct eh_copy *out;
	int found;
};

static int eh_find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct eh_find *f = arg;
	if (f->needle && (!info->dlpi_name || !strstr(info->dlpi_name, f->needle)))
		return 0;
	struct eh_copy *c = f->out;
	const ElfW(Phdr) *eh = NULL;
	c->text_lo = UINTPTR_MAX;
	c->text_hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_EH_FRAME)
			eh = ph;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			uintptr_t s = info->dlpi_addr + ph->p_vaddr;
			if (s < c->text_lo)
				c->text_lo = s;
			if (s + ph->p_memsz > c->text_hi)
				c->text_hi = s + ph->p_memsz;
		}
	}
	if (!eh)
		return 1;
	c->hdr_addr = info->dlpi_addr + eh->p_vaddr;
	c->hdr_len = eh->p_memsz;
	if (unwind__eh_frame_ptr((const uint8_t *)c->hdr_addr, c->hdr_len, c->hdr_addr,
				 &c->eh_addr) != 0)
		return 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && c->eh_addr >= s && c->eh_addr < s + ph->p_memsz)
			c->eh_len = s + ph->p_memsz - c->eh_addr;
	}
	if (!c->eh_len)
		return 1;
	c->hdr = malloc(c->hdr_len);
	c->eh = malloc(c->eh_len);
	memcpy(c->hdr, (const void *)c->hdr_addr, c->hdr_len);
	memcpy(c->eh, (const void *)c->eh_addr, c->eh_len);
	f->found = 1;
	return 1;
}

static int eh_copy_of(const char *needle, struct eh_copy *c)
{
	memset(c, 0, sizeof(*c));
	struct eh_find f = { needle, c, 0 };
	dl_iterate_phdr(eh_find_cb, &f);
	return f.found;
}

static void eh_copy_free(struct eh_copy *c)
{
	free(c->hdr);
	free(c->eh);
}

/* Rows are strictly increasing, inside the text, with known rules. */
static int rows_sane(const struct uw_table *t, uintptr_t text_len)
{
	for (size_t i = 0; i < t->nrows; i++) {
		if (i && t->rows[i].pc <= t->rows[i - 1].pc)
			return 0;
		if (t->rows[i].pc > text_len || t->rows[i].cfa_rule > UW_SIGNAL ||
		    t->rows[i].rbp_rule > UW_RBP_LOST)
			return 0;
	}
	return 1;
}

static void fuzz_tables(const struct eh_copy *src, int iters, uint64_t seed)
{
	struct uw_table t;
	CHECK_EQ_INT(unwind__parse_eh_frame(src->hdr, src->hdr_len, src->hdr_addr, src->eh,
					    src->eh_len, src->eh_addr, src->text_lo, src->text_hi,
					    &t),
		     0);
	CHECK(t.nrows > 10);
	CHECK(rows_sane(&t, src->text_hi - src->text_lo));
	free(t.rows);
	unsigned parsed = 0;
	for (int it = 0; it < iters; it++) {
		uint64_t x = rng_next(&seed);
		size_t hdr_len = src->hdr_len, eh_len = src->eh_len;
		if ((x & 3) == 0)
			eh_len = rng_next(&seed) % (eh_len + 1);
		else if ((x & 7) == 1)
			hdr_len = rng_next(&seed) % (hdr_len + 1);
		uint8_t *hdr = malloc(hdr_len ? hdr_len : 1), *eh = malloc(eh_len ? eh_len : 1);
		memcpy(hdr, src->hdr, hdr_len);
		memcpy(eh, src->eh, eh_len);
		unsigned flips = 1 + (unsigned)(rng_next(&seed) % 16);
		for (unsigned k = 0; k < flips; k++) {
			uint64_t y = rng_next(&seed);
			int in_hdr = (y & 15) == 0;
			uint8_t *buf = in_hdr ? hdr : eh;
			size_t len = in_hdr ? hdr_len : eh_len;
			if (!len)
				continue;
			size_t at = (size_t)(rng_next(&seed) % len);
			switch ((y >> 4) & 3) {
			case 0: /* a random byte */
				buf[at] = (uint8_t)(y >> 8);
				break;
			case 1: /* one bit */
				buf[at] ^= (uint8_t)(1u << ((y >> 8) & 7));
				break;
			default: { /* a 32-bit field set to an extreme */
				static const uint32_t extremes[] = { 0, 0xffffffffu, 0x7fffffffu,
								     0x80000000u, 1, 0xfffffff0u };
				uint32_t v = (y >> 8) & 1 ? extremes[(y >> 9) % 6] : (uint32_t)(y >> 16);
				size_t n = len - at < 4 ? len - at : 4;
				memcpy(buf + at, &v, n);
			}
			}
		}
		int rc = unwind__parse_eh_frame(hdr, hdr_len, src->hdr_addr, eh, eh_len,
						src->eh_addr, src->text_lo, src->text_hi, &t);
		CHECK(rc == 0 || rc == -EINVAL);
		if (rc == 0) {
			parsed++;
			if (!rows_sane(&t, src->text_hi - src->text_lo)) {
				unit_fail(__FILE__, __LINE__, "iteration %d: rows out of order", it);
				free(t.rows);
				free(hdr);
				free(eh);
				break;
			}
			free(t.rows);
		}
		free(hdr);
		free(eh);
	}
	printf("    unwind: %d corrupted tables, %u still parsed\n", iters, parsed);
}

TEST(unwind_malformed_tables)
{
	struct eh_copy self, libc;
	CHECK(eh_copy_of(NULL, &self));
	if (self.hdr)
		fuzz_tables(&self, 3000, 0x1234567887654321ull);
	eh_copy_free(&self);
	/* libc has more kinds of CFI: remember/restore, expressions, signal frames. */
	CHECK(eh_copy_of("libc.so", &libc));
	if (libc.hdr)
		fuzz_tables(&libc, 300, 0xdeadbeefcafef00dull);
	eh_copy_free(&libc);
}

/* ---- hand-made tables: every rule the walker knows ---- */

struct bytes {
	uint8_t b[1024];
	size_t n;
};

static void put(struct bytes *o, const void *p, size_t n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put8(struct bytes *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put32(struct bytes *o, uint32_t v)
{
	put(o, &v, 4);
}

static void put_at32(struct bytes *o, size_t at, uint32_t v)
{
	memcpy(o->b + at, &v, 4);
}

/* An FDE for [begin, begin+len) with the given program, after the CIE at 0. */
static void put_fde(struct bytes *eh, uint32_t begin, uint32_t len, const uint8_t *prog,
		    size_t prog_len)
{
	size_t start = eh->n;
	put32(eh, 0); /* length, patched below */
	put32(eh, (uint32_t)(eh->n)); /* CIE pointer: back to offset 0 */
	put32(eh, begin);
	put32(eh, len);
	put8(eh, 0); /* augmentation data length */
	put(eh, prog, prog_len);
	while ((eh->n - start) % 4)
		put8(eh, 0); /* DW_CFA_nop */
	put_at32(eh, start, (uint32_t)(eh->n - start - 4));
}

TEST(unwind_parse_handmade)
{
	const uintptr_t text = 0x400000, eh_addr = 0x500000, hdr_addr = 0x600000;
	struct bytes eh = { { 0 }, 0 }, hdr = { { 0 }, 0 };
	/* CIE "zR", code align 1, data align -8, RA r16, FDE addresses udata4
	 * absolute; CFA = rsp+8, RA at CFA-8. */
	static const uint8_t cie[] = { 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x03,
				       0x0c, 7, 8, 0x90, 1, 0, 0 };
	put32(&eh, sizeof(cie));
	put(&eh, cie, sizeof(cie));
	/* f1 at 0x1000: push rbp; mov rsp,rbp; ...; leave-like epilogue kept
	 * with remember/restore_state. */
	static const uint8_t f1[] = {
		0x41, 0x0e, 16,  /* +1: cfa rsp+16 */
		0x86, 2,         /* rbp at cfa-16 */
		0x43, 0x0d, 6,   /* +3: cfa rbp+16 */
		0x0a,            /* remember_state */
		0x45, 0x0c, 7, 8, /* +5: cfa rsp+8 (after leave) */
		0xc6,            /* restore rbp */
		0x41, 0x0b,      /* +1: restore_state */
	};
	put_fde(&eh, text + 0x1000, 0x20, f1, sizeof(f1));
	/* f2: lazy PLT entries. */
	static const uint8_t f2[] = { 0x0f, 11, 0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a,
				      0x33, 0x24, 0x22 };
	put_fde(&eh, text + 0x2000, 0x40, f2, sizeof(f2));
	/* f3: DRAP: cfa = *(rbp-8), rbp saved at rbp+0, then an unknown
	 * register as CFA (r10) for two bytes. */
	static const uint8_t f3[] = { 0x42, 0x0c, 10, 0, 0x42, 0x0f, 3, 0x76, 0x78, 0x06,
				      0x10, 6, 2, 0x76, 0 };
	put_fde(&eh, text + 0x3000, 0x10, f3, sizeof(f3));
	/* f4: the outermost frame (RA undefined). */
	static const uint8_t f4[] = { 0x07, 16 };
	put_fde(&eh, text + 0x3010, 0x10, f4, sizeof(f4));
	/* f5: an opcode we do not know: the FDE becomes one "no rule" row. */
	static const uint8_t f5[] = { 0x41, 0x3f };
	put_fde(&eh, text + 0x4000, 0x10, f5, sizeof(f5));
	put32(&eh, 0); /* terminator */

	/* .eh_frame_hdr without a search table: the scan path. */
	put8(&hdr, 1);
	put8(&hdr, 0x03); /* eh_frame_ptr: udata4 */
	put8(&hdr, 0xff); /* no fde count */
	put8(&hdr, 0xff); /* no table */
	put32(&hdr, (uint32_t)eh_addr);

	struct uw_table t;
	uint8_t *hb = malloc(hdr.n), *ebuf = malloc(eh.n);
	memcpy(hb, hdr.b, hdr.n);
	memcpy(ebuf, eh.b, eh.n);
	CHECK_EQ_INT(unwind__parse_eh_frame(hb, hdr.n, hdr_addr, ebuf, eh.n, eh_addr, text,
					    text + 0x10000, &t),
		     0);
	CHECK_EQ_INT(t.unsupported_fdes, 2); /* f3's r10 range, f5 */
	const struct uw_row *r;
#define ROW_AT(off) (r = unwind__find_row(t.rows, t.nrows, (off)))
	CHECK(ROW_AT(0x0fff) == NULL);
	CHECK(ROW_AT(0x1000) && r->cfa_rule == UW_CFA_RSP && r->cfa_off == 8 && r->ra_off == -8 &&
	      r->rbp_rule == UW_RBP_SAME);
	CHECK(ROW_AT(0x1001) && r->cfa_rule == UW_CFA_RSP && r->cfa_off == 16 &&
	      r->rbp_rule == UW_RBP_AT_CFA && r->rbp_off == -16);
	CHECK(ROW_AT(0x1004) && r->cfa_rule == UW_CFA_RBP && r->cfa_off == 16);
	CHECK(ROW_AT(0x1008) && r->cfa_rule == UW_CFA_RBP && r->cfa_off == 16);
	CHECK(ROW_AT(0x1009) && r->cfa_rule == UW_CFA_RSP && r->cfa_off == 8 &&
	      r->rbp_rule == UW_RBP_SAME);
	CHECK(ROW_AT(0x100a) && r->cfa_rule == UW_CFA_RBP && r->cfa_off == 16 &&
	      r->rbp_rule == UW_RBP_AT_CFA);
	CHECK(ROW_AT(0x101f) && r->cfa_rule == UW_CFA_RBP);
	CHECK(ROW_AT(0x1020) && r->cfa_rule == UW_NONE); /* the gap after f1 */
	CHECK(ROW_AT(0x2000) && r->cfa_rule == UW_CFA_PLT && r->cfa_off == 8 && r->arg == 11);
	CHECK(ROW_AT(0x2040) && r->cfa_rule == UW_NONE);
	CHECK(ROW_AT(0x3000) && r->cfa_rule == UW_CFA_RSP && r->cfa_off == 8);
	CHECK(ROW_AT(0x3002) && r->cfa_rule == UW_NONE); /* cfa = r10 */
	CHECK(ROW_AT(0x3004) && r->cfa_rule == UW_CFA_DEREF_RBP && r->cfa_off == -8 &&
	      r->arg == 0 && r->rbp_rule == UW_RBP_AT_RBP && r->rbp_off == 0);
	CHECK(ROW_AT(0x3010) && r->cfa_rule == UW_OUTERMOST);
	CHECK(ROW_AT(0x3020) && r->cfa_rule == UW_NONE);
	CHECK(ROW_AT(0x4000) && r->cfa_rule == UW_NONE);
	CHECK(ROW_AT(0x4008) && r->cfa_rule == UW_NONE);
	CHECK(ROW_AT(0xffff) && r->cfa_rule == UW_NONE);
	size_t nrows = t.nrows;
	free(t.rows);

	/* The same FDEs through a search table (datarel sdata4 entries). */
	struct bytes h2 = { { 0 }, 0 };
	put8(&h2, 1);
	put8(&h2, 0x1b); /* eh_frame_ptr: pcrel sdata4 */
	put8(&h2, 0x03); /* fde count: udata4 */
	put8(&h2, 0x3b); /* table: datarel sdata4 */
	put32(&h2, (uint32_t)(eh_addr - (hdr_addr + 4)));
	put32(&h2, 5);
	size_t off = 4 + sizeof(cie);
	for (int i = 0; i < 5; i++) {
		uint32_t len, begin;
		memcpy(&len, eh.b + off, 4);
		memcpy(&begin, eh.b + off + 8, 4);
		put32(&h2, (uint32_t)(begin - hdr_addr));
		put32(&h2, (uint32_t)(eh_addr + off - hdr_addr));
		off += 4 + len;
	}
	free(hb);
	hb = malloc(h2.n);
	memcpy(hb, h2.b, h2.n);
	CHECK_EQ_INT(unwind__parse_eh_frame(hb, h2.n, hdr_addr, ebuf, eh.n, eh_addr, text,
					    text + 0x10000, &t),
		     0);
	CHECK_EQ_INT(t.nrows, nrows);
	CHECK_EQ_INT(t.unsupported_fdes, 2);
	free(t.rows);
	/* A wrong eh_frame_ptr, a table count the header cannot hold. */
	CHECK_EQ_INT(unwind__parse_eh_frame(hb, h2.n, hdr_addr, ebuf, eh.n, eh_addr + 4, text,
					    text + 0x10000, &t),
		     -EINVAL);
	hb[8] = 0xff;
	CHECK_EQ_INT(unwind__parse_eh_frame(hb, h2.n, hdr_addr, ebuf, eh.n, eh_addr, text,
					    text + 0x10000, &t),
		     -EINVAL);
	free(hb);
	free(ebuf);
#undef ROW_AT
}

/* ---- cost ---- */

struct bench {
	double ns;
	unsigned frames;
};

static void bench_probe(const struct unwind_regs *regs, void *arg)
{
	struct bench *b = arg;
	uintptr_t lo, hi;
	stack_bounds(&lo, &hi);
	uint64_t pcs[MAX_PCS];
	unsigned reason;
	const int n = 100000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
		b->frames = unwind_walk(regs, lo, hi, pcs, MAX_PCS, &reason);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	b->ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
}

TEST(unwind_walk_cost)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct bench b = { 0, 0 };
	struct unwind_chain_ctx ctx = { bench_probe, &b, 0, NULL, NULL };
	unwind_chain_a(&ctx);
	CHECK(b.frames >= 8);
	printf("    unwind: %.0f ns per walk of %u frames (100000 walks)\n", b.ns, b.frames);
}
