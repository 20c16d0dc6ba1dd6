/* Agent lifecycle: start when the library is loaded (constructor), finish
 * the capture at process exit (destructor), stand down in forked children.
 * A bad setting or an unwritable output disables profiling with one
 * message; the profiled program always runs unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oneprof.h"
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
	agent.fd = open(agent.cfg.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (agent.fd < 0) {
		fprintf(stderr,
			"oneprof: cannot create capture '%s': %s; profiling disabled (choose a "
			"writable path with ONEPROF_OUTPUT or 'oneprof record -o')\n",
			agent.cfg.output, strerror(errno));
		goto out;
	}
	threads_init();
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

__attribute__((destructor)) static void agent_stop(void)
{
	if (atomic_load(&agent.state) != AGENT_RUNNING || getpid() != agent.pid)
		return;
	int saved_errno = errno;
	atomic_store(&agent.state, AGENT_STOPPING);
	threads_stop_all();
	sampler_stop_process();
	writer_finish();
	close(agent.fd);
	agent.fd = -1;
	errno = saved_errno;
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
