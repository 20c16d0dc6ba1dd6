/* Agent lifecycle: start when the library is loaded (constructor), finish
 * the capture at process exit (destructor), stand down in forked children.
 * A bad setting or an unwritable output disables profiling with one
 * message; the profiled program always runs unchanged.
 *
 * Loaded later with dlopen (a language binding's ctypes, say), the
 * library starts nothing by itself: the program records with
 * oneprof_session_begin()/oneprof_session_end(), as often as it likes. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oneprof.h"
#include "../unwind/unwind.h"
#include "agent.h"

struct agent agent = {
	.fd = -1,
	.threads_lock = PTHREAD_MUTEX_INITIALIZER,
};
__thread struct agent_tls agent_tls __attribute__((tls_model("initial-exec")));

uint64_t agent_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Under 'oneprof record' (ONEPROF_ROOT_PID set) every process image gets
 * its own capture. The recorded process writes FILE, and when it execs,
 * the finished capture of the old image moves aside to FILE.PID.N, so FILE
 * always holds the program the shell finally exec'd. A descendant process
 * (exec'd or forked) writes FILE.PID (FILE.PID.N when taken). */
int agent_free_name(const char *base, char *out, size_t cap)
{
	for (int n = 1; n < 1000; n++) {
		if (n == 1)
			snprintf(out, cap, "%s.%d", base, (int)agent.pid);
		else
			snprintf(out, cap, "%s.%d.%d", base, (int)agent.pid, n);
		int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Opens agent.path for this process: the configured file, or for a
 * descendant FILE.PID; with no file configured, oneprof.PID.opf. */
static int open_output(void)
{
	if (agent.cfg.output_default)
		snprintf(agent.path, sizeof(agent.path), "oneprof.%d.opf", (int)agent.pid);
	else if (agent.cfg.descendant)
		return agent_free_name(agent.cfg.output, agent.path, sizeof(agent.path));
	else
		snprintf(agent.path, sizeof(agent.path), "%s", agent.cfg.output);
	return open(agent.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* Opens the capture and starts the sampler and the writer; on failure
 * says why once and leaves the agent off. */
static int agent_begin(void)
{
	agent.start_ns = agent_now_ns();
	agent.fd = open_output();
	if (agent.fd < 0) {
		fprintf(stderr,
			"oneprof: cannot create capture '%s': %s; profiling disabled (choose a "
			"writable path with ONEPROF_OUTPUT or 'oneprof record -o')\n",
			agent.path, strerror(errno));
		return -1;
	}
	/* The sampler first: the capture's header names the timer it chose. */
	ticks_start(); /* the event clock before anything stamps an event */
	spans_start();
	int rc = heap_start();
	if (rc == 0)
		rc = sampler_install();
	if (rc == 0 && (rc = writer_start()) != 0) {
		writer_finish();
		sampler_uninstall();
	}
	if (rc != 0) {
		if (rc != -EBUSY) /* EBUSY: sampler_install said why */
			fprintf(stderr, "oneprof: cannot start the profiler: %s; profiling disabled\n",
				strerror(-rc));
		close(agent.fd);
		agent.fd = -1;
		return -1;
	}
	atomic_store(&agent.state, AGENT_RUNNING);
	spans_running(true);
	/* Without it the program runs profiled, unmonitored. */
	if ((rc = monitor_start()) != 0)
		fprintf(stderr, "oneprof: cannot start the monitor thread: %s; the capture has no "
				"monitor series\n", strerror(-rc));
	return 0;
}

/* --- fork ---
 * The prepare handler holds the thread list so the child gets it whole.
 * The child has only the thread that forked; the writer thread, the
 * other threads and every POSIX timer are gone, and the capture file is
 * the parent's. With follow-fork the child starts over with a capture of
 * its own (FILE.PID) that the forking thread samples into; the parent's
 * writer state is abandoned, not freed, since the fork may have caught it
 * mid-update. Without it the child runs unprofiled. */
static bool fork_locked;

static void on_fork_prepare(void)
{
	fork_locked = atomic_load(&agent.state) == AGENT_RUNNING;
	if (fork_locked)
		pthread_mutex_lock(&agent.threads_lock);
}

static void on_fork_parent(void)
{
	if (fork_locked)
		pthread_mutex_unlock(&agent.threads_lock);
}

static void fork_child(void)
{
	struct agent_thread *self = agent_tls.self;
	bool was_running = atomic_load(&agent.state) == AGENT_RUNNING;
	heap_switch(false);
	atomic_store(&agent.state, AGENT_OFF);
	spans_fork_child(self);
	agent_set_self(NULL);
	threads_own_forget();
	metrics_forget();
	pthread_mutex_init(&agent.threads_lock, NULL);
	if (!was_running)
		return;
	if (agent.fd >= 0)
		close(agent.fd);
	agent.fd = -1;
	/* The parent's perf events (closing our copies of their fds only)
	 * and the other threads, which do not exist here. */
	for (struct agent_thread *t = agent.threads, *next; t; t = next) {
		next = t->next;
		if (t->perf_fd >= 0)
			close(t->perf_fd);
		t->perf_fd = -1;
		t->has_timer = false; /* POSIX timers are not inherited */
		if (t != self)
			threads_free(t);
	}
	agent.threads = NULL;
	if (!agent.cfg.follow_fork || !self)
		return;
	agent.pid = getpid();
	agent.forked = true;
	agent.cfg.descendant = true;
	agent.writer_started = false;
	agent.stop_writer = false;
	atomic_store(&agent.lost_no_ring, 0);
	monitor_forget();
	writer_forget();
	wall_forget();
	heap_forget();
	labels_forget();
	counters_forget();
	if (agent_begin() != 0)
		return;
	threads_adopt_self(self);
	heap_switch(true);
}

static void on_fork_child(void)
{
	heap_busy_enter();
	fork_child();
	heap_busy_leave();
}

/* --- crashes ---
 * A program dying on a fatal signal (SIGSEGV, glibc's abort on a double
 * free) would lose up to a flush interval of events. The handler asks the
 * writer for one last drain and flush, waits for it at most a second (the
 * crash may have left a lock held that the writer needs), then lets the
 * signal kill the program as it would have. Installed only for signals
 * the program left at their default. */
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

static void on_fatal(int sig)
{
	int saved = errno;
	if (getpid() == agent.pid)
		writer_sync(1000);
	signal(sig, SIG_DFL);
	errno = saved;
	/* A fault re-executes the instruction and dies; abort() raises again. */
	if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE)
		raise(sig);
}

static void crash_install(void)
{
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction old, sa;
		if (sigaction(fatal_signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fatal;
		sa.sa_flags = SA_NODEFER | SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

/* Whether the program's pthread_create is ours: preloaded or linked at
 * start, so every thread registers (and malloc is ours for the heap).
 * Not when dlopen'ed into a running program: libc's comes first. */
static bool interposing(void)
{
	Dl_info found, self;
	void *fn = dlsym(RTLD_DEFAULT, "pthread_create");
	return fn && dladdr(fn, &found) && dladdr((void *)interposing, &self) &&
	       found.dli_fbase == self.dli_fbase;
}

/* Process-wide hooks, once per process whichever recording comes first. */
static void install_hooks(void)
{
	if (agent.hooks_installed)
		return;
	agent.hooks_installed = true;
	pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child);
	control_install_toggle();
	crash_install();
}

/* A recording has begun (at load, or a session): threads known from an
 * earlier recording sample again, the calling thread registers, the heap
 * hooks and the metrics endpoint start. */
static void agent_started(void)
{
	install_hooks();
	threads_rearm();
	if (!agent_tls.self)
		threads_register_self();
	heap_switch(true);
	metrics_start();
}

static bool ring_fits(const struct agent_config *cfg)
{
	return cfg->ring_bytes / sizeof(uint64_t) >= 4 * (SAMPLE_WORDS + (uint64_t)cfg->max_depth);
}

__attribute__((constructor)) static void agent_start(void)
{
	int saved_errno = errno;
	heap_busy_enter();
	agent.interposing = interposing();
	threads_init();
	/* dlopen'ed with no ONEPROF_* setting (a binding's ctypes): sessions
	 * only. With settings given it records at once, as when preloaded. */
	if (!agent.interposing && !agent_config_env_given())
		goto out;
	if (agent_config_load(&agent.cfg) != 0)
		goto out;
	if (!ring_fits(&agent.cfg)) {
		fprintf(stderr,
			"oneprof: ONEPROF_RING_SIZE=%llu cannot hold four stacks of "
			"ONEPROF_MAX_DEPTH=%u frames; profiling disabled (raise the ring size "
			"or lower the depth)\n",
			(unsigned long long)agent.cfg.ring_bytes, agent.cfg.max_depth);
		goto out;
	}
	agent.pid = getpid();
	agent.period_ns = 1000000000u / agent.cfg.hz;
	atomic_store(&agent.hz, agent.cfg.hz);
	atomic_store(&agent.paused, agent.cfg.start_paused);
	if (!agent.cfg.inherit)
		control_drop_preload();
	/* Unwind tables before the first sample; a failure only costs the
	 * frames CFI would have found (the walker steps by frame pointer). */
	unwind_rebuild();
	if (agent_begin() != 0)
		goto out;
	agent_started();
out:
	heap_busy_leave();
	errno = saved_errno;
}

bool agent_finish(void)
{
	int expected = AGENT_RUNNING;
	if (getpid() != agent.pid ||
	    !atomic_compare_exchange_strong(&agent.state, &expected, AGENT_STOPPING))
		return false;
	int saved_errno = errno;
	heap_busy_enter();
	spans_running(false);
	monitor_stop(); /* its last snapshot goes into the capture */
	metrics_stop();
	heap_switch(false);
	threads_stop_all();
	sampler_stop_process();
	wall_stop();
	uint64_t events = writer_finish();
	close(agent.fd);
	agent.fd = -1;
	/* A forked child that recorded nothing (the usual fork-then-exec,
	 * too short for a sample) leaves no file behind. */
	if (agent.forked && events == 0)
		unlink(agent.path);
	agent.finished_once = true;
	atomic_store(&agent.state, AGENT_OFF);
	heap_busy_leave();
	errno = saved_errno;
	return true;
}

__attribute__((destructor)) static void agent_stop(void)
{
	agent_finish();
}

/* --- in-process sessions --- */

static char last_error[1024];

static int session_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int session_fail(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return rc;
}

/* Everything the last recording left, so the next starts as the first
 * did: the writer's tables, span sites, label and counter definitions,
 * heap tables, and each live thread's rings. */
static void session_reset(void)
{
	writer_release();
	wall_release();
	spans_session_reset();
	threads_session_reset();
	labels_forget();
	counters_forget();
	heap_forget();
	threads_own_forget();
	agent.writer_started = false;
	agent.stop_writer = false;
	agent.forked = false;
	atomic_store(&agent.lost_no_ring, 0);
	atomic_fetch_add(&agent.epoch, 1);
	agent.finished_once = false;
}

ONEPROF_API int oneprof_session_begin(const char *output, const char *settings)
{
	int saved_errno = errno;
	int rc = 0;
	heap_busy_enter();
	last_error[0] = '\0';
	if (atomic_load(&agent.state) != AGENT_OFF && getpid() == agent.pid) {
		rc = agent.session
			     ? session_fail(-EALREADY, "oneprof: a recording is already running "
						"into '%s'; end it with oneprof_session_end() first",
					    agent.path)
			     : session_fail(-EBUSY, "oneprof: this process is already recorded as a "
						"whole into '%s' (the agent was preloaded, e.g. by "
						"'oneprof record'); use oneprof_start()/oneprof_stop() "
						"to pause and resume it", agent.path);
		goto out;
	}
	struct agent_config cfg;
	char err[sizeof(last_error)];
	if ((rc = agent_config_session(&cfg, output, settings, err, sizeof(err))) != 0) {
		session_fail(rc, "%s", err);
		goto out;
	}
	if (!ring_fits(&cfg)) {
		rc = session_fail(-EINVAL, "oneprof: RING_SIZE=%llu cannot hold four stacks of "
				  "MAX_DEPTH=%u frames; raise the ring size or lower the depth",
				  (unsigned long long)cfg.ring_bytes, cfg.max_depth);
		goto out;
	}
	if (cfg.heap && !agent.interposing) {
		rc = session_fail(-ENOTSUP, "oneprof: heap profiling needs the agent preloaded (it "
				  "must own malloc from the program's start); run the program "
				  "under 'oneprof record --heap' instead");
		goto out;
	}
	/* Created here, not in agent_begin, so the error can be returned. */
	int probe = open(cfg.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (probe < 0) {
		rc = session_fail(-errno, "oneprof: cannot create capture '%s': %s; choose a "
				  "writable path", cfg.output, strerror(errno));
		goto out;
	}
	close(probe);
	if (agent.finished_once || getpid() != agent.pid)
		session_reset();
	agent.cfg = cfg;
	agent.pid = getpid();
	agent.period_ns = 1000000000u / cfg.hz;
	atomic_store(&agent.paused, cfg.start_paused);
	unwind_rebuild();
	agent.session = true;
	if (agent_begin() != 0) {
		agent.session = false;
		rc = session_fail(-EIO, "oneprof: cannot start recording into '%s' (the reason was "
				  "printed on standard error)", cfg.output);
		goto out;
	}
	agent_started();
out:
	heap_busy_leave();
	errno = saved_errno;
	return rc;
}

ONEPROF_API int oneprof_session_end(void)
{
	last_error[0] = '\0';
	if (atomic_load(&agent.state) != AGENT_RUNNING || getpid() != agent.pid)
		return session_fail(-ESRCH, "oneprof: no recording is running in this process; "
				    "begin one with oneprof_session_begin()");
	if (!agent.session)
		return session_fail(-EPERM, "oneprof: the recording into '%s' covers the whole "
				    "process (the agent was preloaded); it ends when the program "
				    "exits", agent.path);
	if (!agent_finish())
		return session_fail(-ESRCH, "oneprof: the recording ended already");
	agent.session = false;
	return 0;
}

ONEPROF_API int oneprof_session_active(void)
{
	return atomic_load(&agent.state) == AGENT_RUNNING && getpid() == agent.pid
		       ? (agent.session ? 1 : 2)
		       : 0;
}

ONEPROF_API const char *oneprof_last_error(void)
{
	return last_error;
}

ONEPROF_API const char *oneprof_version(void)
{
	return ONEPROF_VERSION_STRING;
}

ONEPROF_API int oneprof_is_active(void)
{
	return atomic_load(&agent.state) == AGENT_RUNNING && !atomic_load(&agent.paused);
}

ONEPROF_API const char *oneprof_output_path(void)
{
	return atomic_load(&agent.state) == AGENT_RUNNING ? agent.path : NULL;
}
