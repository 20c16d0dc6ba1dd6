/* Sample delivery by SIGTRAP (perf_event_attr.sigtrap, Linux 5.13+).
 *
 * Why: an O_ASYNC perf event raises the profiling signal from irq_work,
 * which on x86 is a self-interrupt: every sample costs the timer's
 * interrupt and then a second one. In a virtual machine each interrupt is
 * an exit to the hypervisor (15-20 us on the machines we measure on), so
 * that second interrupt is most of the profiler's overhead. A sigtrap
 * event queues its signal as task work, run on the way back to user mode
 * from the timer's interrupt: one interrupt a sample, as perf record pays.
 *
 * The price is that SIGTRAP is not ours. So trap delivery is used only
 * when SIGTRAP is at its default, no tracer is attached (a debugger would
 * stop at every sample), the agent is preloaded (it sees the program's
 * sigaction calls) and ONEPROF_SIGNAL did not name a signal. Then:
 * - the handler tells the agent's traps (si_code TRAP_PERF with the
 *   agent's sig_data) from any other SIGTRAP (a breakpoint instruction);
 * - a program that later installs a SIGTRAP handler or disposition gets it
 *   kept aside, not applied: its traps are passed to it, and sigaction()
 *   reports it back as if it were installed (the JVM's libjsig does the
 *   same kind of chaining);
 * - a trap with the default disposition kills the program as it would
 *   have (the capture flushed, the default restored, the signal raised
 *   again). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"

#ifndef TRAP_PERF
#define TRAP_PERF 6 /* si_code of a perf_event sigtrap */
#endif

/* The kernel's siginfo puts the event's sig_data right after si_addr
 * (_sigfault._perf._data); glibc's siginfo_t has no name for it. */
_Static_assert(offsetof(siginfo_t, si_addr) == 16, "x86-64/aarch64 siginfo layout");
#define PERF_DATA_OFFSET (offsetof(siginfo_t, si_addr) + sizeof(void *))

/* glibc's sigaction under its exported internal name: the agent's own
 * calls go past the interposer below. */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* glibc's signal() under another exported name, for the signals the
 * interposer below passes through. */
extern sighandler_t bsd_signal(int sig, sighandler_t handler);

static volatile bool trap_on;        /* SIGTRAP handler is the agent's */
static struct sigaction trap_program; /* the program's wish, kept aside */

static inline unsigned long perf_data(const siginfo_t *si)
{
	unsigned long v;
	memcpy(&v, (const char *)si + PERF_DATA_OFFSET, sizeof(v));
	return v;
}

static void on_sigtrap(int sig, siginfo_t *si, void *uc)
{
	if (si && si->si_code == TRAP_PERF && perf_data(si) == TRAP_SIG_DATA) {
		sampler_on_signal(sig, si, uc);
		return;
	}
	/* Not a sample: what the program asked for. */
	struct sigaction want = trap_program;
	if (want.sa_handler == SIG_IGN)
		return;
	if (want.sa_handler == SIG_DFL) {
		/* Die by SIGTRAP, as without the agent, the capture flushed
		 * first as for the other fatal signals (agent.c): the
		 * default back, the signal raised again and unblocked on
		 * return. */
		if (getpid() == agent.pid)
			writer_sync(1000);
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		trap_on = false;
		__sigaction(SIGTRAP, &dfl, NULL);
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGTRAP);
		return;
	}
	if (want.sa_flags & SA_RESETHAND)
		trap_program.sa_handler = SIG_DFL;
	if (want.sa_flags & SA_SIGINFO)
		want.sa_sigaction(sig, si, uc);
	else
		want.sa_handler(sig);
}

/* The pid of a tracer attached to this process (a debugger, strace), 0
 * when none or unknown. */
static long tracer_pid(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *at = strstr(buf, "\nTracerPid:");
	return at ? strtol(at + 11, NULL, 10) : 0;
}

bool trap_can_deliver(void)
{
	if (!agent.interposing || agent.cfg.signal_chosen)
		return false;
	struct sigaction old;
	if (__sigaction(SIGTRAP, NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO))
		return false;
	return tracer_pid() == 0;
}

int trap_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigtrap;
	/* SA_RESTART: a sample must never make a system call fail with
	 * EINTR. */
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	memset(&trap_program, 0, sizeof(trap_program));
	trap_program.sa_handler = SIG_DFL;
	if (__sigaction(SIGTRAP, &sa, NULL) != 0)
		return -errno;
	trap_on = true;
	return 0;
}

void trap_uninstall(void)
{
	if (!trap_on)
		return;
	trap_on = false;
	__sigaction(SIGTRAP, &trap_program, NULL);
}

/* The program's view of SIGTRAP while the agent holds it. */
__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction *act,
						     struct sigaction *old)
{
	if (sig != SIGTRAP || !trap_on)
		return __sigaction(sig, act, old);
	if (old)
		*old = trap_program;
	if (act)
		trap_program = *act;
	return 0;
}

/* glibc's signal() calls its sigaction internally, past the interposer
 * above: SIGTRAP's needs its own (BSD semantics, as glibc's: SA_RESTART);
 * every other signal goes to glibc's, which bsd_signal() is. */
__attribute__((visibility("default"))) sighandler_t signal(int sig, sighandler_t handler)
{
	if (sig != SIGTRAP || !trap_on)
		return bsd_signal(sig, handler);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig);
	sigaction(sig, &sa, &old);
	return old.sa_handler;
}
