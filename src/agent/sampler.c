/* CPU sampler: a per-thread CPU-time clock raises the profiling signal
 * (SIGPROF unless ONEPROF_SIGNAL says otherwise) in the thread that
 * consumed the time; the handler walks the stack and writes one record
 * into that thread's ring. The clock is, in order of preference, the
 * thread's perf_event task clock, a POSIX CPU-time timer, or one
 * process-wide setitimer.
 *
 * The handler is async-signal-safe by construction: it touches only its
 * own thread's ring (memory mapped at registration), reads memory only
 * inside the thread's recorded stack bounds and its own unwind tables (so
 * a corrupt stack can never fault), calls no libc function but
 * clock_gettime (the vDSO for the time, one system call for the thread's
 * CPU time), and saves and restores errno. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "../capture/format.h"
#include "../unwind/unwind.h"
#include "agent.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* Walks the interrupted thread's stack: frames[0] is the interrupted pc,
 * the rest are return addresses. On x86-64 with the .eh_frame tables of
 * src/unwind (right without frame pointers); elsewhere by frame pointers.
 * Every load is checked against the thread's stack bounds first. */
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
#error "oneprof: no stack walker for this architecture"
#endif
	if (!t->stack_hi) {
		frames[0] = pc;
		*end_reason = CAPTURE_STACK_NO_STACK_INFO;
		return 1;
	}
#if defined(__x86_64__)
	const struct unwind_regs regs = { pc, sp, fp };
	return unwind_walk(&regs, t->stack_lo, t->stack_hi, frames, max, end_reason);
#else
	unsigned n = 0;
	frames[n++] = pc;
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
#endif
}

uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sampler_on_signal(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	int saved_errno = errno;
	/* The handler's own duration, for the overhead budget: the vDSO
	 * clock, no system call. */
	uint64_t entry = agent_now_ns();
	struct agent_thread *t = agent_tls.self;
	if (atomic_load_explicit(&agent.state, memory_order_relaxed) != AGENT_RUNNING ||
	    atomic_load_explicit(&agent.paused, memory_order_relaxed))
		goto out; /* a signal still in flight when sampling stopped */
	if (!t || !t->ring) {
		atomic_fetch_add_explicit(&agent.lost_no_ring, 1, memory_order_relaxed);
		goto out;
	}
	/* The kernel coalesces expirations it could not deliver in time into
	 * si_overrun: weight the sample so the total CPU time stays right. */
	uint64_t count = 1, state = 0;
	if (si && si->si_code == SI_TIMER && si->si_overrun > 0)
		count += (uint64_t)si->si_overrun;
	if (agent.sampler == SAMPLER_WALL) {
		/* The ticker's request: how many periods, in which state. */
		uint64_t pending = atomic_exchange_explicit(&t->wall_pending, 0,
							    memory_order_acquire);
		if (!pending)
			goto out; /* not the ticker's signal */
		count = pending & SAMPLE_COUNT_MASK;
		state = pending >> 24;
	}
	if (count > SAMPLE_COUNT_MASK)
		count = SAMPLE_COUNT_MASK;

	unsigned max = agent.cfg.max_depth;
	uint64_t *rec = ring_reserve(t->ring, SAMPLE_WORDS + max);
	if (!rec)
		goto out;
	unsigned end_reason;
	unsigned n = walk(t, ucv, rec + SAMPLE_WORDS, max, &end_reason);
	rec[0] = SAMPLE_WORDS + n; /* shrink to what the walk filled */
	rec[1] = agent_now_ns() - agent.start_ns;
	rec[2] = count | (state << 24) | ((uint64_t)end_reason << 32) | ((uint64_t)n << 40);
	/* The CPU time this sample stands for, measured rather than assumed
	 * from the period: right under overruns, coalesced signals and a
	 * clock that drifts from the kernel's CPU accounting. */
	uint64_t cpu = thread_cpu_ns();
	unsigned epoch = atomic_load_explicit(&agent.epoch, memory_order_relaxed);
	/* After a pause only the period since the timer was re-armed counts. */
	rec[3] = epoch == t->epoch ? cpu - t->last_cpu_ns : agent.period_ns * count;
	rec[4] = atomic_load_explicit(&t->labels, memory_order_relaxed);
	t->last_cpu_ns = cpu;
	t->epoch = epoch;
	atomic_store_explicit(&t->wall_handler_cpu_ns, cpu, memory_order_relaxed);
	ring_commit(t->ring, SAMPLE_WORDS + n);
out:
	atomic_fetch_add_explicit(&monitor_handler_ns, agent_now_ns() - entry,
				  memory_order_relaxed);
	errno = saved_errno;
}

/* The signal perf events raise: the sampling signal, or SIGTRAP. */
static int perf_signo;

static const char *const sampler_names[] = {
	[SAMPLER_PERF] = "perf_event(task-clock)",
	[SAMPLER_TIMER] = "timer_create(CLOCK_THREAD_CPUTIME_ID)",
	[SAMPLER_ITIMER] = "setitimer(ITIMER_PROF)",
	[SAMPLER_WALL] = "wall-clock ticker",
};

const char *sampler_name(void)
{
	if (agent.sampler == SAMPLER_PERF && perf_signo == SIGTRAP)
		return "perf_event(task-clock) by SIGTRAP";
	return sampler_names[agent.sampler];
}

/* The task clock of one thread, counting its CPU time in ns (user and
 * kernel) with an hrtimer, not the scheduler tick: it fires at the
 * requested rate even at 1 kHz and above. Its overflow raises the signal
 * in that thread through F_SETOWN_EX; no ring buffer is mapped. */
static int perf_open(pid_t tid, uint64_t period_ns, int signo, bool enable)
{
	bool trap = signo == SIGTRAP;
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_TASK_CLOCK;
	attr.sample_period = period_ns;
	attr.wakeup_events = 1;
	attr.disabled = 1;
	if (trap) {
		/* The kernel sends SIGTRAP itself (trap.c); removed on exec,
		 * which the kernel requires of sigtrap events. */
		attr.sigtrap = 1;
		attr.remove_on_exec = 1;
		attr.sig_data = TRAP_SIG_DATA;
	}
	int fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (trap) {
		if (enable && ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		return fd;
	}
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = tid };
	if (fcntl(fd, F_SETFL, O_ASYNC | O_NONBLOCK) != 0 || fcntl(fd, F_SETSIG, signo) != 0 ||
	    fcntl(fd, F_SETOWN_EX, &owner) != 0 ||
	    (enable && ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int timer_arm(struct agent_thread *t, bool on)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (on) {
		its.it_interval.tv_sec = (time_t)(agent.period_ns / 1000000000u);
		its.it_interval.tv_nsec = (long)(agent.period_ns % 1000000000u);
		its.it_value = its.it_interval;
	}
	return timer_settime(t->timer, 0, &its, NULL) == 0 ? 0 : -errno;
}

static int timer_start(struct agent_thread *t, bool on)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = agent.cfg.signo;
	sev.sigev_notify_thread_id = t->tid;
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t->timer) != 0)
		return -errno;
	t->has_timer = true;
	int rc = timer_arm(t, on);
	if (rc != 0) {
		timer_delete(t->timer);
		t->has_timer = false;
	}
	return rc;
}

static int itimer_set(uint64_t period_ns)
{
	struct itimerval it;
	it.it_interval.tv_sec = (time_t)(period_ns / 1000000000u);
	it.it_interval.tv_usec = (suseconds_t)(period_ns % 1000000000u / 1000u);
	it.it_value = it.it_interval;
	return setitimer(ITIMER_PROF, &it, NULL) == 0 ? 0 : -errno;
}

int sampler_install(void)
{
	int signo = agent.cfg.signo;
	struct sigaction sa, old;
	if (sigaction(signo, NULL, &old) != 0)
		return -errno;
	void (*prev)(int) = old.sa_handler; /* the union: either member tells */
	/* Our own handler is there in a fork child starting over. */
	if (prev != SIG_DFL && prev != SIG_IGN && old.sa_sigaction != sampler_on_signal) {
		fprintf(stderr,
			"oneprof: signal %d (%s) already has a handler in this program; profiling "
			"disabled rather than replacing it (choose a free signal with "
			"ONEPROF_SIGNAL, e.g. ONEPROF_SIGNAL=RTMIN+4)\n",
			signo, strsignal(signo));
		return -EBUSY;
	}
	/* Choose the timer once, by trying it on this thread: every thread
	 * then uses the same kind, and the capture says which. A perf event
	 * delivers by SIGTRAP where it can (trap.c), else by the signal. */
	pid_t tid = (pid_t)syscall(SYS_gettid);
	bool perf = agent.cfg.timer == SAMPLER_PERF && !agent.cfg.wall;
	int fd = -1;
	perf_signo = signo;
	if (perf && trap_can_deliver()) {
		fd = perf_open(tid, agent.period_ns, SIGTRAP, false);
		if (fd >= 0 && trap_install() == 0)
			perf_signo = SIGTRAP;
	}
	if (perf && perf_signo != SIGTRAP) {
		if (fd >= 0)
			close(fd);
		fd = perf_open(tid, agent.period_ns, signo, false);
	}
	if (agent.cfg.wall) {
		agent.sampler = SAMPLER_WALL;
	} else if (fd >= 0) {
		close(fd);
		agent.sampler = SAMPLER_PERF;
	} else if (agent.cfg.timer <= SAMPLER_TIMER) {
		agent.sampler = SAMPLER_TIMER;
	} else {
		agent.sampler = SAMPLER_ITIMER;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sampler_on_signal;
	/* SA_RESTART: a sample must never make a system call of the program
	 * fail with EINTR. */
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) != 0)
		return -errno;
	/* One process-wide timer: it samples whichever thread runs. */
	if (agent.sampler == SAMPLER_ITIMER && signo != SIGPROF)
		return -EINVAL; /* setitimer can only raise SIGPROF */
	if (agent.sampler == SAMPLER_WALL)
		return wall_start();
	if (!atomic_load(&agent.paused))
		sampler_start_process();
	return 0;
}

int sampler_thread_start(struct agent_thread *t)
{
	bool on = !atomic_load(&agent.paused);
	t->perf_fd = -1;
	t->epoch = atomic_load(&agent.epoch);
	if (agent.sampler == SAMPLER_PERF) {
		int fd = perf_open(t->tid, agent.period_ns, perf_signo, on);
		if (fd >= 0) {
			t->perf_fd = fd;
			return 0;
		}
		/* Out of fds, say: this thread still gets a POSIX timer. */
	}
	if (agent.sampler == SAMPLER_ITIMER || agent.sampler == SAMPLER_WALL)
		return 0; /* process-wide */
	return timer_start(t, on);
}

void sampler_thread_arm(struct agent_thread *t, bool on)
{
	if (t->perf_fd >= 0)
		ioctl(t->perf_fd, on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
	else if (t->has_timer)
		timer_arm(t, on);
}

void sampler_thread_stop(struct agent_thread *t)
{
	if (t->perf_fd >= 0) {
		close(t->perf_fd);
		t->perf_fd = -1;
	}
	if (t->has_timer) {
		timer_delete(t->timer);
		t->has_timer = false;
	}
}

void sampler_stop_process(void)
{
	if (agent.sampler == SAMPLER_ITIMER)
		itimer_set(0);
}

void sampler_start_process(void)
{
	if (agent.sampler == SAMPLER_ITIMER)
		itimer_set(agent.period_ns);
}

void sampler_set_hz(unsigned hz)
{
	pthread_mutex_lock(&agent.threads_lock);
	agent.period_ns = 1000000000u / hz;
	atomic_store(&agent.hz, hz);
	if (!atomic_load(&agent.paused) && agent.sampler != SAMPLER_WALL) {
		uint64_t period = agent.period_ns;
		for (struct agent_thread *t = agent.threads; t; t = t->next) {
			if (atomic_load(&t->exited))
				continue;
			if (t->perf_fd >= 0)
				ioctl(t->perf_fd, PERF_EVENT_IOC_PERIOD, &period);
			else if (t->has_timer)
				timer_arm(t, true);
		}
		if (agent.sampler == SAMPLER_ITIMER)
			itimer_set(period);
	}
	pthread_mutex_unlock(&agent.threads_lock);
}

void sampler_uninstall(void)
{
	sampler_stop_process();
	wall_stop();
	signal(agent.cfg.signo, SIG_DFL);
	trap_uninstall();
}
