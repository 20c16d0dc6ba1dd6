/* Runtime control: pause and resume sampling without restarting the
 * program, from the program itself (oneprof_start/oneprof_stop) or from
 * outside with the toggle signal (ONEPROF_TOGGLE_SIGNAL), so a service can
 * be profiled for a window. While paused no timer is armed: a paused
 * agent costs the program nothing but its idle writer thread.
 *
 * The toggle handler only counts the request (async-signal-safe); the
 * writer thread, which wakes every few milliseconds, carries it out. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oneprof.h"
#include "agent.h"

static _Atomic unsigned toggles_requested;
static unsigned toggles_done; /* by the writer thread */

/* Arms or disarms every thread's timer and records the change; callers
 * hold nothing. Returns 0, or -ESRCH when the agent is not running. */
static int set_paused(bool paused)
{
	if (atomic_load(&agent.state) != AGENT_RUNNING || getpid() != agent.pid)
		return -ESRCH;
	pthread_mutex_lock(&agent.threads_lock);
	if (atomic_load(&agent.paused) != paused) {
		atomic_store(&agent.paused, paused);
		/* The next sample of each thread starts its CPU-time count
		 * afresh: the paused stretch is not charged to it. */
		atomic_fetch_add(&agent.epoch, 1);
		for (struct agent_thread *t = agent.threads; t; t = t->next)
			if (!atomic_load(&t->exited))
				sampler_thread_arm(t, !paused);
		if (paused)
			sampler_stop_process();
		else
			sampler_start_process();
		writer_note_pause(paused);
	}
	pthread_mutex_unlock(&agent.threads_lock);
	return 0;
}

ONEPROF_API int oneprof_start(void)
{
	return set_paused(false);
}

ONEPROF_API int oneprof_stop(void)
{
	return set_paused(true);
}

static void on_toggle(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&toggles_requested, 1, memory_order_relaxed);
}

void control_poll(void)
{
	unsigned want = atomic_load_explicit(&toggles_requested, memory_order_relaxed);
	if (want == toggles_done)
		return;
	/* An odd number of requests since the last poll flips the state. */
	if ((want - toggles_done) & 1)
		set_paused(!atomic_load(&agent.paused));
	toggles_done = want;
}

void control_install_toggle(void)
{
	int signo = agent.cfg.toggle_signo;
	if (!signo)
		return;
	struct sigaction sa, old;
	if (sigaction(signo, NULL, &old) == 0 && old.sa_handler != SIG_DFL &&
	    old.sa_handler != SIG_IGN && old.sa_handler != on_toggle) {
		fprintf(stderr,
			"oneprof: signal %d (%s) already has a handler in this program; no toggle "
			"signal (choose a free one with ONEPROF_TOGGLE_SIGNAL)\n",
			signo, strsignal(signo));
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_toggle;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(signo, &sa, NULL);
}

/* ONEPROF_INHERIT=0: programs this one execs run without the agent. The
 * constructor runs before the program's own threads exist, so editing
 * the environment here races with nobody. */
void control_drop_preload(void)
{
	const char *preload = getenv("LD_PRELOAD");
	Dl_info self;
	if (!preload || !dladdr((void *)control_drop_preload, &self) || !self.dli_fname)
		return;
	const char *base = strrchr(self.dli_fname, '/');
	base = base ? base + 1 : self.dli_fname;
	char kept[4096] = "";
	size_t used = 0;
	for (const char *p = preload; *p;) {
		size_t len = strcspn(p, " :");
		const char *slash = memrchr(p, '/', len);
		const char *name = slash ? slash + 1 : p;
		bool ours = len && (size_t)(p + len - name) == strlen(base) &&
			    !strncmp(name, base, strlen(base));
		if (len && !ours && used + len + 2 < sizeof(kept))
			used += (size_t)snprintf(kept + used, sizeof(kept) - used, "%s%.*s",
						 used ? " " : "", (int)len, p);
		p += len;
		p += strspn(p, " :");
	}
	if (used)
		setenv("LD_PRELOAD", kept, 1);
	else
		unsetenv("LD_PRELOAD");
}
