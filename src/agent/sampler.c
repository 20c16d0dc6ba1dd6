/* CPU sampler: a per-thread CPU-time timer raises SIGPROF in the thread
 * that consumed the time; the handler walks the frame-pointer chain and
 * writes one record into that thread's ring.
 *
 * The handler is async-signal-safe by construction: it touches only its
 * own thread's ring (memory mapped at registration), reads memory only
 * inside the thread's recorded stack bounds (so a bad frame pointer can
 * never fault), calls no libc function but clock_gettime (vDSO), and saves
 * and restores errno. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "../capture/format.h"
#include "agent.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

__thread struct agent_thread *sampler_self __attribute__((tls_model("initial-exec")));

/* Walks frame pointers from the interrupted context. frames[0] is the
 * interrupted pc; the rest are return addresses. Every load is checked
 * against [sp, stack_hi) first. */
static unsigned walk(const struct agent_thread *t, const ucontext_t *uc, uint64_t *frames,
		     unsigned max, unsigned *end_reason)
{
#if defined(__x86_64__)
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.pc;
	uintptr_t fp = (uintptr_t)uc->uc_mcontext.regs[29];
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.sp;
#else
#error "oneprof: no frame-pointer walker for this architecture"
#endif
	unsigned n = 0;
	frames[n++] = pc;
	if (!t->stack_hi) {
		*end_reason = CAPTURE_STACK_NO_STACK_INFO;
		return n;
	}
	uintptr_t lo = sp < t->stack_lo ? t->stack_lo : sp;
	*end_reason = CAPTURE_STACK_COMPLETE;
	while (fp) {
		if (fp < lo || fp > t->stack_hi - 2 * sizeof(uintptr_t) ||
		    (fp & (sizeof(uintptr_t) - 1))) {
			*end_reason = CAPTURE_STACK_BAD_FRAME;
			break;
		}
		const uintptr_t *frame = (const uintptr_t *)fp;
		uintptr_t next = frame[0], ret = frame[1];
		if (ret == 0)
			break; /* the outermost frame */
		if (n >= max) {
			*end_reason = CAPTURE_STACK_TRUNCATED;
			break;
		}
		frames[n++] = ret;
		if (next && next <= fp) { /* stacks grow down: callers live higher */
			*end_reason = CAPTURE_STACK_BAD_FRAME;
			break;
		}
		fp = next;
	}
	return n;
}

static void on_sigprof(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	int saved_errno = errno;
	struct agent_thread *t = sampler_self;
	if (atomic_load_explicit(&agent.state, memory_order_relaxed) != AGENT_RUNNING)
		goto out;
	if (!t || !t->ring) {
		atomic_fetch_add_explicit(&agent.lost_no_ring, 1, memory_order_relaxed);
		goto out;
	}
	/* The kernel coalesces expirations it could not deliver in time into
	 * si_overrun: weight the sample so the total CPU time stays right. */
	uint64_t count = 1;
	if (si && si->si_code == SI_TIMER && si->si_overrun > 0)
		count += (uint64_t)si->si_overrun;

	unsigned max = agent.cfg.max_depth;
	uint64_t *rec = ring_reserve(t->ring, 3 + max);
	if (!rec)
		goto out;
	unsigned end_reason;
	unsigned n = walk(t, ucv, rec + 3, max, &end_reason);
	rec[0] = 3 + n; /* shrink to what the walk filled */
	rec[1] = agent_now_ns() - agent.start_ns;
	rec[2] = (count & 0xffffffffu) | ((uint64_t)end_reason << 32) | ((uint64_t)n << 40);
	ring_commit(t->ring, 3 + n);
out:
	errno = saved_errno;
}

int sampler_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigprof;
	/* SA_RESTART: a sample must never make a system call of the program
	 * fail with EINTR. */
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGPROF, &sa, NULL) == 0 ? 0 : -errno;
}

int sampler_thread_start(struct agent_thread *t)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGPROF;
	sev.sigev_notify_thread_id = t->tid;
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t->timer) != 0)
		return -errno;
	t->has_timer = true;
	struct itimerspec its;
	its.it_interval.tv_sec = (time_t)(agent.period_ns / 1000000000u);
	its.it_interval.tv_nsec = (long)(agent.period_ns % 1000000000u);
	its.it_value = its.it_interval;
	if (timer_settime(t->timer, 0, &its, NULL) != 0) {
		int e = errno;
		timer_delete(t->timer);
		t->has_timer = false;
		return -e;
	}
	return 0;
}

void sampler_thread_stop(struct agent_thread *t)
{
	if (t->has_timer) {
		timer_delete(t->timer);
		t->has_timer = false;
	}
}
