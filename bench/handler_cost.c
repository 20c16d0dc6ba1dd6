/* Per-sample cost of oneprof's CPU sampler, piece by piece. Built twice by
 * `make bench`: with frame pointers and without (-O2 -fomit-frame-pointer),
 * so the recursion below has the frames of either kind of build; linked
 * with the unwinder of build/liboneprof-cli.a. Run by bench/handler-cost.sh.
 *
 *   handler_cost walk DEPTH ITERS
 *       recurses to DEPTH, captures rip/rsp/rbp there and times ITERS calls
 *       of unwind_walk() on that context with the .eh_frame tables built:
 *       the walk alone, as the signal handler does it.
 *   handler_cost clock ITERS
 *       times clock_gettime(CLOCK_THREAD_CPUTIME_ID) (a system call: the
 *       handler makes one per sample) and CLOCK_MONOTONIC (the vDSO: the
 *       handler's timestamp).
 *   handler_cost raise DEPTH COUNT
 *       recurses to DEPTH, then sends itself SIGPROF COUNT times (tgkill):
 *       thread CPU time per round trip (system call, signal delivery,
 *       handler, sigreturn). Under `oneprof record` the handler is
 *       oneprof's, which takes a sample whoever sent the signal; alone, an
 *       empty one is installed. The difference is oneprof's handler body,
 *       free of any timer interrupt.
 *   handler_cost ab DEPTH PAIRS ITERS KIND HZ
 *       recurses to DEPTH, then runs PAIRS pairs of windows of ITERS
 *       iterations of fixed work, sampling switched off in one window of a
 *       pair and on in the other (order alternating): the thread CPU time a
 *       window takes, on minus off, divided by the samples the on window
 *       took, is what one sample costs the thread, all of it (interrupt,
 *       delivery, handler, return, the caches refilled after). In-process
 *       pairs a tenth of a second apart cancel the drift of a shared
 *       machine. KIND:
 *         oneprof  run under `oneprof record -F HZ`; switched with
 *                  oneprof_stop()/oneprof_start()
 *         signal   this program's own task-clock perf event raising
 *                  SIGPROF at HZ into an empty handler, the way oneprof's
 *                  sampler sets its own up: timer and signal delivery
 *         timer    the same perf event without a signal: the timer
 *                  interrupt and the kernel's overflow handling alone
 *
 * Everything printed is one line of key=value pairs for the script. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../src/unwind/unwind.h"

#define MAX_PCS 1100

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- walk ---- */

struct walk_job {
	long iters;
	double ns;
	unsigned frames, reason;
};

static void stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	pthread_attr_t a;
	void *addr;
	size_t size;
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &addr, &size);
	pthread_attr_destroy(&a);
	*lo = (uintptr_t)addr;
	*hi = (uintptr_t)addr + size;
}

__attribute__((noinline, noipa)) static void walk_leaf(struct walk_job *j)
{
	struct unwind_regs r;
	__asm__ volatile("lea 0(%%rip), %0\n\t"
			 "mov %%rsp, %1\n\t"
			 "mov %%rbp, %2"
			 : "=&r"(r.pc), "=&r"(r.sp), "=&r"(r.fp));
	uintptr_t lo, hi;
	stack_bounds(&lo, &hi);
	static uint64_t pcs[MAX_PCS];
	/* Warm the caches and branch predictors, as steady sampling would. */
	for (int i = 0; i < 1000; i++)
		unwind_walk(&r, lo, hi, pcs, MAX_PCS, &j->reason);
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < j->iters; i++)
		j->frames = unwind_walk(&r, lo, hi, pcs, MAX_PCS, &j->reason);
	j->ns = (double)(now_ns(CLOCK_MONOTONIC) - t0) / (double)j->iters;
}

/* ---- raise ---- */

struct raise_job {
	long count;
	uint64_t cpu_ns;
};

__attribute__((noinline, noipa)) static void raise_leaf(struct raise_job *j)
{
	pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
	for (int i = 0; i < 1000; i++) /* warm up */
		syscall(SYS_tgkill, pid, tid, SIGPROF);
	uint64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	for (long i = 0; i < j->count; i++)
		syscall(SYS_tgkill, pid, tid, SIGPROF);
	j->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
}

/* ---- ab: sampling off and on, in alternating windows ---- */

struct ab_job {
	long pairs, iters;
	void (*set)(bool on);
	double on_ms, diff_ns, diff_lo, diff_hi;
	uint64_t sink;
};

static volatile uint64_t signals;

/* Fixed work: a multiply-add chain, compute-bound, the same every call. */
static uint64_t work(long iters, uint64_t x)
{
	for (long i = 0; i < iters; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

__attribute__((noinline, noipa)) static void ab_leaf(struct ab_job *j)
{
	double *diff = calloc((size_t)j->pairs, sizeof(double));
	double *on = calloc((size_t)j->pairs, sizeof(double));
	if (!diff || !on)
		abort();
	uint64_t x = 1;
	j->set(false);
	x = work(j->iters, x); /* warm up */
	for (long p = 0; p < j->pairs; p++) {
		uint64_t t[2];
		for (int k = 0; k < 2; k++) {
			bool sampling = (p & 1) ? k == 0 : k == 1;
			j->set(sampling);
			uint64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
			x = work(j->iters, x);
			t[sampling] = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		}
		diff[p] = (double)t[1] - (double)t[0];
		on[p] = (double)t[1];
	}
	j->set(false);
	j->sink = x;
	j->on_ms = median(on, (size_t)j->pairs) / 1e6;
	j->diff_ns = median(diff, (size_t)j->pairs);
	j->diff_lo = diff[j->pairs / 4];
	j->diff_hi = diff[j->pairs - 1 - j->pairs / 4];
	free(diff);
	free(on);
}

static int (*oneprof_start_fn)(void), (*oneprof_stop_fn)(void);
static int perf_fd = -1;

static void set_oneprof(bool on)
{
	if (on)
		oneprof_start_fn();
	else
		oneprof_stop_fn();
}

static void set_perf(bool on)
{
	ioctl(perf_fd, on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}

static void empty_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	signals++;
}

static void install_empty_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = empty_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPROF, &sa, NULL);
}

/* A task-clock perf event on this thread, disabled, overflowing every
 * 1/hz s of its CPU time; with_signal: raising SIGPROF in this thread, as
 * oneprof's sampler sets its own up. */
static int perf_start(unsigned hz, bool with_signal)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_TASK_CLOCK;
	attr.sample_period = 1000000000u / hz;
	attr.wakeup_events = 1;
	attr.disabled = 1;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 || !with_signal)
		return fd;
	install_empty_handler();
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = tid };
	if (fcntl(fd, F_SETFL, O_ASYNC | O_NONBLOCK) != 0 || fcntl(fd, F_SETSIG, SIGPROF) != 0 ||
	    fcntl(fd, F_SETOWN_EX, &owner) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the recursion: one real frame per level, in either build ---- */

struct job {
	int mode; /* 0 walk, 1 ab, 2 raise */
	struct walk_job *w;
	struct ab_job *ab;
	struct raise_job *r;
};

volatile int sink;

/* Not inlined, not a tail call (work after the call), no clones: DEPTH
 * levels are DEPTH frames. The volatile slot gives every frame a stack
 * footprint like ordinary code. */
__attribute__((noinline, noipa)) static int recurse(int depth, struct job *job)
{
	volatile int slot = depth;
	int r;
	if (depth <= 1) {
		if (job->mode == 1)
			ab_leaf(job->ab);
		else if (job->mode == 2)
			raise_leaf(job->r);
		else
			walk_leaf(job->w);
		r = 0;
	} else {
		r = recurse(depth - 1, job);
	}
	sink = r + slot;
	return r + 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: handler_cost walk DEPTH ITERS | clock ITERS | raise DEPTH COUNT | "
			"ab DEPTH PAIRS ITERS oneprof|signal|timer HZ\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "clock") == 0) {
		long n = atol(argv[2]);
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);
		for (long i = 0; i < n; i++)
			sink += (int)now_ns(CLOCK_THREAD_CPUTIME_ID);
		uint64_t t1 = now_ns(CLOCK_MONOTONIC);
		for (long i = 0; i < n; i++)
			sink += (int)now_ns(CLOCK_MONOTONIC);
		uint64_t t2 = now_ns(CLOCK_MONOTONIC);
		printf("thread_cputime_ns=%.1f monotonic_ns=%.1f\n", (double)(t1 - t0) / (double)n,
		       (double)(t2 - t1) / (double)n);
		return 0;
	}
	if (argc < 4)
		return usage();
	int depth = atoi(argv[2]);
	long n = atol(argv[3]);
	if (depth < 1 || depth > 1000 || n < 1)
		return usage();
	if (strcmp(argv[1], "walk") == 0) {
		int rc = unwind_rebuild();
		if (rc != 0) {
			fprintf(stderr, "handler_cost: unwind_rebuild failed: %s\n", strerror(-rc));
			return 1;
		}
		struct walk_job w = { n, 0, 0, 0 };
		struct job job = { 0, &w, NULL, NULL };
		recurse(depth, &job);
		printf("depth=%d frames=%u end_reason=%u walk_ns=%.1f\n", depth, w.frames, w.reason,
		       w.ns);
		unwind_free();
		return 0;
	}
	if (strcmp(argv[1], "raise") == 0) {
		struct sigaction old;
		sigaction(SIGPROF, NULL, &old);
		bool empty = old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN;
		if (empty)
			install_empty_handler();
		struct raise_job r = { n, 0 };
		struct job job = { 2, NULL, NULL, &r };
		recurse(depth, &job);
		printf("depth=%d count=%ld handler=%s raise_cpu_ns=%.1f\n", depth, n,
		       empty ? "empty" : "installed", (double)r.cpu_ns / (double)n);
		return 0;
	}
	if (strcmp(argv[1], "ab") == 0 && argc >= 7) {
		struct ab_job ab;
		memset(&ab, 0, sizeof(ab));
		ab.pairs = n;
		ab.iters = atol(argv[4]);
		unsigned hz = (unsigned)atoi(argv[6]);
		if (ab.iters < 1 || hz < 1)
			return usage();
		if (strcmp(argv[5], "oneprof") == 0) {
			oneprof_start_fn = (int (*)(void))dlsym(RTLD_DEFAULT, "oneprof_start");
			oneprof_stop_fn = (int (*)(void))dlsym(RTLD_DEFAULT, "oneprof_stop");
			if (!oneprof_start_fn || !oneprof_stop_fn || oneprof_stop_fn() != 0) {
				fprintf(stderr, "handler_cost: run 'ab ... oneprof' under oneprof record\n");
				return 1;
			}
			ab.set = set_oneprof;
		} else if (strcmp(argv[5], "signal") == 0 || strcmp(argv[5], "timer") == 0) {
			perf_fd = perf_start(hz, argv[5][0] == 's');
			if (perf_fd < 0) {
				fprintf(stderr, "handler_cost: perf_event_open failed\n");
				return 1;
			}
			ab.set = set_perf;
		} else {
			return usage();
		}
		struct job job = { 1, NULL, &ab, NULL };
		recurse(depth, &job);
		/* Samples an on window takes: its CPU time over the period. */
		double per_window = ab.on_ms * 1e6 * hz / 1e9;
		printf("depth=%d pairs=%ld on_ms=%.2f samples_per_window=%.1f sample_ns=%.0f "
		       "sample_ns_q1=%.0f sample_ns_q3=%.0f signals=%llu\n",
		       depth, ab.pairs, ab.on_ms, per_window, ab.diff_ns / per_window,
		       ab.diff_lo / per_window, ab.diff_hi / per_window,
		       (unsigned long long)signals);
		return 0;
	}
	return usage();
}
