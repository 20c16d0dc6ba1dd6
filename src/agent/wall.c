/* Wall-clock sampling (ONEPROF_WALL=1): every thread gets one sample per
 * 1/HZ second of real time, running or blocked, with its state, so time
 * in read, poll, futex and nanosleep shows up where it was spent.
 *
 * One ticker thread does it. Each tick it reads every thread's CPU clock
 * (one system call) and acts on what it finds:
 *   - the thread used no CPU since the previous tick: it is still where it
 *     was, so that stack is recorded again (no signal, no /proc read: an
 *     idle thread costs one clock read per tick);
 *   - it ran: /proc/self/task/TID/stat and .../syscall say whether it runs
 *     now or where it blocks. A running thread, or one blocked in a system
 *     call that SA_RESTART restarts transparently (read, write, futex
 *     without timeout, wait4, accept...), is signalled and walks its own
 *     stack in the handler, as in CPU mode;
 *   - a thread blocked in a call that a signal handler would cut short
 *     with EINTR whatever SA_RESTART says (nanosleep, poll, select,
 *     epoll_wait, a futex with a timeout...) is never signalled: those
 *     calls are interposed below and leave the caller's stack in the
 *     thread's "blocked" slot on entry; the ticker records that. A call
 *     made some other way (a raw syscall) gets the one frame the kernel
 *     reports, its pc.
 *
 * The ticker writes its samples into a ring of its own (one producer, the
 * ticker; one consumer, the writer). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../capture/format.h"
#include "../unwind/unwind.h"
#include "agent.h"

/* CPU time a signalled thread spends around its handler, beyond what the
 * handler sees; a thread that ran less than this since is taken to be
 * where it was (documented as the mode's resolution). */
#define WALL_SIGNAL_CPU_NS 30000

static struct ring *ticker_ring;
static pthread_t ticker;
static _Atomic bool ticker_stop;
static bool ticker_started;

struct ring *wall_ring(void)
{
	return ticker_ring;
}

/* The kernel's per-thread CPU clock id for a tid (the encoding of
 * MAKE_THREAD_CPUCLOCK in the kernel's ABI): reading it for a thread that
 * has exited fails cleanly instead of touching a freed pthread_t. */
static bool tid_cpu_ns(pid_t tid, uint64_t *out)
{
	clockid_t clock = (clockid_t)((~(unsigned)tid << 3) | 6);
	struct timespec ts;
	if (clock_gettime(clock, &ts) != 0)
		return false;
	*out = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return true;
}

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* System calls a signal with an SA_RESTART handler restarts without the
 * program noticing. A futex wait qualifies only without a timeout. */
static bool restarts(long nr, unsigned long timeout_arg)
{
	switch (nr) {
	case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2:
	case SYS_write: case SYS_writev: case SYS_pwrite64: case SYS_pwritev: case SYS_pwritev2:
	case SYS_wait4: case SYS_waitid: case SYS_accept: case SYS_accept4:
	case SYS_recvfrom: case SYS_recvmsg: case SYS_sendto: case SYS_sendmsg:
	case SYS_flock: case SYS_fcntl: case SYS_open: case SYS_openat: case SYS_ioctl:
	case SYS_getrandom:
		return true;
	case SYS_futex:
		return timeout_arg == 0;
	default:
		return false;
	}
}

/* Where a thread is: its scheduler state and, when blocked in a system
 * call, the call, its timeout argument and the pc the kernel saved. */
struct where {
	unsigned state;
	bool in_syscall;
	long nr;
	unsigned long timeout_arg;
	uint64_t pc;
};

static bool thread_where(pid_t tid, struct where *w)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	const char *p = strrchr(buf, ')'); /* the name may hold anything */
	char st = p && p[1] == ' ' ? p[2] : '?';
	w->state = st == 'R' ? CAPTURE_STATE_RUNNING
		 : st == 'D' ? CAPTURE_STATE_DISK
		 : st == 'S' ? CAPTURE_STATE_SLEEPING
			     : CAPTURE_STATE_OTHER;
	w->in_syscall = false;
	if (w->state == CAPTURE_STATE_RUNNING)
		return true;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (read_small(path, buf, sizeof(buf)) <= 0 || buf[0] == 'r' /* "running" */)
		return true;
	/* "NR arg1 ... arg6 sp pc", arguments in hex. */
	unsigned long v[9];
	if (sscanf(buf, "%ld %lx %lx %lx %lx %lx %lx %lx %lx", &w->nr, &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) == 9) {
		w->in_syscall = true;
		w->timeout_arg = w->nr == SYS_futex ? v[3] : 1;
		w->pc = v[7];
	}
	return true;
}

/* Copies the thread's blocked-call stack if it is in an interposed call
 * (seqlock: the thread is its only writer). Returns the frame count. */
static unsigned copy_blocked(struct agent_thread *t, uint64_t *frames)
{
	for (int tries = 0; tries < 3; tries++) {
		unsigned seq = atomic_load_explicit(&t->blocked_seq, memory_order_acquire);
		if (seq & 1)
			continue;
		unsigned n = t->blocked_n;
		if (n > WALL_BLOCKED_MAX)
			n = 0;
		memcpy(frames, t->blocked, n * sizeof(uint64_t));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&t->blocked_seq, memory_order_relaxed) == seq)
			return n;
	}
	return 0;
}

static void record(struct agent_thread *t, uint64_t time, uint64_t count, unsigned state,
		   unsigned reason, const uint64_t *frames, unsigned n, uint64_t cpu_delta)
{
	uint64_t *rec = ring_reserve(ticker_ring, WALL_WORDS + n);
	if (!rec)
		return;
	rec[1] = time;
	rec[2] = (count & 0xffffff) | ((uint64_t)state << 24) | ((uint64_t)reason << 32) |
		 ((uint64_t)n << 40);
	rec[3] = cpu_delta;
	rec[4] = atomic_load_explicit(&t->labels, memory_order_relaxed);
	/* The writer frees a thread only after draining this ring in the
	 * same pass (both under threads_lock), so the pointer stays good. */
	rec[5] = (uint64_t)(uintptr_t)t;
	if (n)
		memcpy(rec + WALL_WORDS, frames, n * sizeof(uint64_t));
	ring_commit(ticker_ring, WALL_WORDS + n);
}

static void tick_thread(struct agent_thread *t, uint64_t now, uint64_t count)
{
	uint64_t cpu;
	if (!tid_cpu_ns(t->tid, &cpu))
		return; /* exited: its destructor is on the way */
	uint64_t frames[WALL_BLOCKED_MAX];
	/* Our own signal makes a blocked thread run its handler and block
	 * again: CPU time that must not count as having moved, or every
	 * signalled thread would be signalled again at every tick. The
	 * handler notes the thread's CPU time; a little more is spent after
	 * it (sigreturn, restarting the call). */
	uint64_t base = t->wall_cpu_ns;
	uint64_t handler_cpu = atomic_load_explicit(&t->wall_handler_cpu_ns, memory_order_relaxed);
	if (t->wall_signalled && handler_cpu > base)
		base = handler_cpu;
	bool ran = !t->wall_seen || cpu > base + WALL_SIGNAL_CPU_NS;
	uint64_t delta = t->wall_seen && cpu > t->wall_cpu_ns ? cpu - t->wall_cpu_ns : 0;
	t->wall_seen = true;
	t->wall_cpu_ns = ran ? cpu : base;
	if (!ran) {
		/* Still where the previous tick found it. If that tick saw it
		 * running, look again: it may have blocked just after (within
		 * the slack above), or be runnable and waiting for a CPU. */
		struct where w;
		if (t->wall_state == CAPTURE_STATE_RUNNING && thread_where(t->tid, &w))
			t->wall_state = w.state;
		unsigned n = copy_blocked(t, frames);
		if (n)
			record(t, now, count, t->wall_state, CAPTURE_STACK_COMPLETE, frames, n, 0);
		else if (t->wall_signalled) /* the writer knows that stack */
			record(t, now, count, t->wall_state, WALL_REPEAT, NULL, 0, 0);
		else if (t->wall_pc)
			record(t, now, count, t->wall_state, CAPTURE_STACK_NO_STACK_INFO,
			       &t->wall_pc, 1, 0);
		return;
	}
	struct where w;
	if (!thread_where(t->tid, &w))
		return;
	t->wall_state = w.state;
	t->wall_signalled = false;
	t->wall_pc = 0;
	unsigned n = copy_blocked(t, frames);
	if (n) {
		record(t, now, count, w.state, CAPTURE_STACK_COMPLETE, frames, n, delta);
		return;
	}
	if (!w.in_syscall || restarts(w.nr, w.timeout_arg)) {
		/* The handler takes the stack; it reads the state and count. */
		atomic_store_explicit(&t->wall_pending, (count & 0xffffff) | ((uint64_t)w.state << 24),
				      memory_order_release);
		t->wall_signalled = true;
		if (syscall(SYS_tgkill, agent.pid, t->tid, agent.cfg.signo) != 0)
			t->wall_signalled = false;
		return;
	}
	t->wall_pc = w.pc;
	record(t, now, count, w.state, CAPTURE_STACK_NO_STACK_INFO, &t->wall_pc, 1, delta);
}

static void *ticker_main(void *arg)
{
	(void)arg;
	heap_busy_enter(); /* the ticker's allocations are never the program's */
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	uint64_t last = agent_now_ns();
	while (!atomic_load(&ticker_stop)) {
		next.tv_nsec += (long)agent.period_ns;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		uint64_t now = agent_now_ns();
		/* A late tick (a loaded machine) stands for every period it
		 * missed, so wall time adds up. */
		uint64_t count = (now - last + agent.period_ns / 2) / agent.period_ns;
		if (count == 0)
			continue;
		last += count * agent.period_ns;
		if (now - last > 10 * agent.period_ns) { /* long stall: resynchronise */
			clock_gettime(CLOCK_MONOTONIC, &next);
			last = now;
		}
		if (atomic_load(&agent.paused) || atomic_load(&agent.state) != AGENT_RUNNING)
			continue;
		pthread_mutex_lock(&agent.threads_lock);
		for (struct agent_thread *t = agent.threads; t; t = t->next)
			if (!atomic_load_explicit(&t->exited, memory_order_acquire))
				tick_thread(t, now - agent.start_ns, count);
		pthread_mutex_unlock(&agent.threads_lock);
	}
	return NULL;
}

int wall_start(void)
{
	size_t bytes = sizeof(struct ring) + agent.cfg.ring_bytes;
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	ticker_ring = mem;
	ticker_ring->words = agent.cfg.ring_bytes / sizeof(uint64_t);
	atomic_store(&ticker_stop, false);
	int rc = threads_create_unprofiled(&ticker, ticker_main, NULL);
	if (rc != 0)
		return -rc;
	ticker_started = true;
	return 0;
}

/* Stops the ticker (before the writer's last drain). */
void wall_stop(void)
{
	if (!ticker_started)
		return;
	atomic_store(&ticker_stop, true);
	pthread_join(ticker, NULL);
	ticker_started = false;
}

/* Before a second recording: the ticker ended with the last one. */
void wall_release(void)
{
	if (ticker_ring)
		munmap(ticker_ring, sizeof(struct ring) + agent.cfg.ring_bytes);
	ticker_ring = NULL;
}

/* In a fork child the ticker thread is gone: start over. */
void wall_forget(void)
{
	ticker_started = false;
	ticker_ring = NULL;
}

/* --- interposed calls that a signal would cut short --- */

/* Records the caller's stack in the blocked slot: frames[0] is the call
 * (the real function), then the return addresses from the caller up. */
static void block_begin(void *real, uintptr_t ret, uintptr_t frame)
{
	struct agent_thread *t = agent_tls.self;
	if (!agent.cfg.wall || !t || !t->stack_hi)
		return;
	unsigned seq = atomic_load_explicit(&t->blocked_seq, memory_order_relaxed);
	atomic_store_explicit(&t->blocked_seq, seq + 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	atomic_thread_fence(memory_order_release);
	/* The wrapper's caller resumes at ret with sp just above our return
	 * address and rbp as our frame saved it (the agent keeps frame
	 * pointers); ret - 1 is inside its call instruction. */
	const struct unwind_regs regs = { ret - 1, frame + 2 * sizeof(uintptr_t),
					  *(const uintptr_t *)frame };
	unsigned reason;
	t->blocked[0] = (uint64_t)(uintptr_t)real;
	unsigned n = unwind_walk(&regs, t->stack_lo, t->stack_hi, t->blocked + 1,
				 WALL_BLOCKED_MAX - 1, &reason);
	t->blocked_n = n + 1;
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&t->blocked_seq, seq + 2, memory_order_release);
}

static void block_end(void)
{
	struct agent_thread *t = agent_tls.self;
	if (!agent.cfg.wall || !t)
		return;
	unsigned seq = atomic_load_explicit(&t->blocked_seq, memory_order_relaxed);
	atomic_store_explicit(&t->blocked_seq, seq + 1, memory_order_relaxed);
	t->blocked_n = 0;
	atomic_store_explicit(&t->blocked_seq, seq + 2, memory_order_release);
}

#define EXPORT __attribute__((visibility("default"), noinline))
#define BEGIN()                                                                         \
	block_begin((void *)real, (uintptr_t)__builtin_return_address(0),               \
		    (uintptr_t)__builtin_frame_address(0))
#define END_RETURN(expr)              \
	do {                          \
		int saved_ = errno;   \
		block_end();          \
		errno = saved_;       \
		return (expr);        \
	} while (0)

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	AGENT_REAL(nanosleep);
	BEGIN();
	int rc = real(req, rem);
	END_RETURN(rc);
}

EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
			   struct timespec *rem)
{
	static __typeof__(clock_nanosleep) *real;
	if (!real)
		real = (__typeof__(clock_nanosleep) *)dlsym(RTLD_NEXT, "clock_nanosleep");
	if (!real)
		return ENOSYS; /* returns the error, not -1 */
	BEGIN();
	int rc = real(clock, flags, req, rem);
	END_RETURN(rc);
}

EXPORT int usleep(useconds_t usec)
{
	AGENT_REAL(usleep);
	BEGIN();
	int rc = real(usec);
	END_RETURN(rc);
}

EXPORT unsigned int sleep(unsigned int seconds)
{
	static __typeof__(sleep) *real;
	if (!real)
		real = (__typeof__(sleep) *)dlsym(RTLD_NEXT, "sleep");
	if (!real)
		return seconds;
	BEGIN();
	unsigned rc = real(seconds);
	END_RETURN(rc);
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	AGENT_REAL(poll);
	BEGIN();
	int rc = real(fds, n, timeout);
	END_RETURN(rc);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
		 const sigset_t *mask)
{
	AGENT_REAL(ppoll);
	BEGIN();
	int rc = real(fds, n, timeout, mask);
	END_RETURN(rc);
}

EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout)
{
	AGENT_REAL(select);
	BEGIN();
	int rc = real(n, r, w, e, timeout);
	END_RETURN(rc);
}

EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *timeout,
		   const sigset_t *mask)
{
	AGENT_REAL(pselect);
	BEGIN();
	int rc = real(n, r, w, e, timeout, mask);
	END_RETURN(rc);
}

EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	AGENT_REAL(epoll_wait);
	BEGIN();
	int rc = real(epfd, ev, max, timeout);
	END_RETURN(rc);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
		       const sigset_t *mask)
{
	AGENT_REAL(epoll_pwait);
	BEGIN();
	int rc = real(epfd, ev, max, timeout, mask);
	END_RETURN(rc);
}
