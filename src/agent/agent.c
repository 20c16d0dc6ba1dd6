/* Agent lifecycle: start when the library is loaded (constructor), finish
 * the capture at process exit (destructor), stand down in forked children.
 * A bad setting or an unwritable output disables profiling with one
 * message; the profiled program always runs unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

uint64_t agent_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The child of a fork has no writer thread and no timers (POSIX timers
 * are not inherited), and shares the parent's capture file: it must never
 * write to it. It runs unprofiled; an exec then starts a fresh agent. */
static void on_fork_child(void)
{
	atomic_store(&agent.state, AGENT_OFF);
	sampler_self = NULL;
}

/* Under 'oneprof record' (ONEPROF_ROOT_PID set) every process image gets
 * its own capture. The recorded process writes FILE, and when it execs,
 * the finished capture of the old image moves aside to FILE.PID.N, so FILE
 * always holds the program the shell finally exec'd. A descendant process
 * writes FILE.PID (FILE.PID.N when taken). */
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

static int open_output(char *path, size_t cap)
{
	if (!agent.cfg.descendant)
		return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char base[sizeof(agent.cfg.output)];
	snprintf(base, sizeof(base), "%s", path);
	return agent_free_name(base, path, cap);
}

__attribute__((constructor)) static void agent_start(void)
{
	int saved_errno = errno;
	if (agent_config_load(&agent.cfg) != 0)
		goto out;
	if (agent.cfg.ring_bytes / sizeof(uint64_t) < 4 * (SAMPLE_WORDS + (uint64_t)agent.cfg.max_depth)) {
		fprintf(stderr,
			"oneprof: ONEPROF_RING_SIZE=%llu cannot hold four stacks of "
			"ONEPROF_MAX_DEPTH=%u frames; profiling disabled (raise the ring size "
			"or lower the depth)\n",
			(unsigned long long)agent.cfg.ring_bytes, agent.cfg.max_depth);
		goto out;
	}
	agent.pid = getpid();
	agent.start_ns = agent_now_ns();
	agent.period_ns = 1000000000u / agent.cfg.hz;
	agent.fd = open_output(agent.cfg.output, sizeof(agent.cfg.output));
	if (agent.fd < 0) {
		fprintf(stderr,
			"oneprof: cannot create capture '%s': %s; profiling disabled (choose a "
			"writable path with ONEPROF_OUTPUT or 'oneprof record -o')\n",
			agent.cfg.output, strerror(errno));
		goto out;
	}
	threads_init();
	/* Unwind tables before the first sample; a failure only costs the
	 * frames CFI would have found (the walker steps by frame pointer). */
	unwind_rebuild();
	/* The sampler first: the capture's header names the timer it chose. */
	int rc = sampler_install();
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
		goto out;
	}
	pthread_atfork(NULL, NULL, on_fork_child);
	atomic_store(&agent.state, AGENT_RUNNING);
	threads_register_self();
out:
	errno = saved_errno;
}

bool agent_finish(void)
{
	int expected = AGENT_RUNNING;
	if (getpid() != agent.pid ||
	    !atomic_compare_exchange_strong(&agent.state, &expected, AGENT_STOPPING))
		return false;
	int saved_errno = errno;
	threads_stop_all();
	sampler_stop_process();
	writer_finish();
	close(agent.fd);
	agent.fd = -1;
	atomic_store(&agent.state, AGENT_OFF);
	errno = saved_errno;
	return true;
}

__attribute__((destructor)) static void agent_stop(void)
{
	agent_finish();
}

ONEPROF_API const char *oneprof_version(void)
{
	return ONEPROF_VERSION_STRING;
}

ONEPROF_API int oneprof_is_active(void)
{
	return atomic_load(&agent.state) == AGENT_RUNNING;
}

ONEPROF_API const char *oneprof_output_path(void)
{
	return oneprof_is_active() ? agent.cfg.output : NULL;
}
