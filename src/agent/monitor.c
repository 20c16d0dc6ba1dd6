/* The in-process monitor (ONEPROF_MONITOR): a thread of the agent's own
 * (every signal blocked, CPU time counted as the agent's) that reads this
 * process's /proc files and the machine's every interval and hands the
 * values to the writer, which records them as METRIC series. It also
 * keeps the overhead budget (ONEPROF_MAX_OVERHEAD): the agent's own CPU
 * time plus the time the sampling handler spent on the program's threads,
 * over wall time; when the share passes the budget the sampling rate is
 * halved.
 *
 * The monitor thread never touches the capture: the writer owns it. The
 * two share a small queue of snapshots under a mutex neither signal
 * handlers nor allocator hooks ever take. Series names and units are in
 * doc/capture-format.md ("Metric series"). */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../capture/format.h"
#include "../capture/writer.h"
#include "agent.h"
#include "procfs.h"

/* Snapshots waiting for the writer; more are dropped and counted (the
 * writer drains every 50 ms, so only a stalled writer fills it). */
#define MONITOR_PENDING 64
#define MIN_HZ 1 /* the overhead budget never lowers the rate below this */

struct snapshot {
	uint64_t time; /* since the capture start */
	struct procfs_process proc;
	struct procfs_system sys;
	uint64_t agent_cpu_ns, handler_ns; /* running totals */
	uint64_t hz;                        /* sampling rate after this tick */
};

/* Series, in the order written. Field offsets into struct snapshot keep
 * one table for names, sources and what is lost when a file is not
 * readable. */
enum src { SRC_PROC, SRC_SYS, SRC_AGENT };
static const struct series {
	const char *name;
	enum src src;
	unsigned have; /* procfs bit it needs (0: always there) */
	size_t offset;
} series[] = {
#define P(name, bit, field) { name, SRC_PROC, bit, offsetof(struct snapshot, proc.field) }
#define S(name, bit, field) { name, SRC_SYS, bit, offsetof(struct snapshot, sys.field) }
#define A(name, field) { name, SRC_AGENT, 0, offsetof(struct snapshot, field) }
	P("process_cpu_user_ns_total", PROCFS_STAT, user_ns),
	P("process_cpu_system_ns_total", PROCFS_STAT, system_ns),
	P("process_resident_memory_bytes", PROCFS_STAT, resident_bytes),
	P("process_virtual_memory_bytes", PROCFS_STAT, virtual_bytes),
	P("process_minor_faults_total", PROCFS_STAT, minor_faults),
	P("process_major_faults_total", PROCFS_STAT, major_faults),
	P("process_threads", PROCFS_STAT, threads),
	P("process_resident_memory_peak_bytes", PROCFS_STATUS, peak_resident_bytes),
	P("process_voluntary_context_switches_total", PROCFS_STATUS, voluntary_switches),
	P("process_involuntary_context_switches_total", PROCFS_STATUS, involuntary_switches),
	P("process_open_fds", PROCFS_FDS, open_fds),
	S("system_load1_milli", PROCFS_LOADAVG, load_milli[0]),
	S("system_load5_milli", PROCFS_LOADAVG, load_milli[1]),
	S("system_load15_milli", PROCFS_LOADAVG, load_milli[2]),
	S("system_cpu_busy_ns_total", PROCFS_CPU, cpu_busy_ns),
	S("system_cpu_ns_total", PROCFS_CPU, cpu_total_ns),
	S("system_memory_total_bytes", PROCFS_MEMINFO, mem_total_bytes),
	S("system_memory_available_bytes", PROCFS_MEMINFO, mem_available_bytes),
	A("oneprof_agent_cpu_ns_total", agent_cpu_ns),
	A("oneprof_handler_ns_total", handler_ns),
	A("oneprof_sample_hz", hz),
#undef P
#undef S
#undef A
};
#define NSERIES (sizeof(series) / sizeof(series[0]))

/* What each unreadable file costs, for the one message about it. */
static const struct {
	enum src src;
	unsigned bit;
	const char *path, *lost;
} files[] = {
	{ SRC_PROC, PROCFS_STAT, "/proc/self/stat",
	  "CPU time, resident and virtual memory, faults and thread count" },
	{ SRC_PROC, PROCFS_STATUS, "/proc/self/status", "peak resident memory and context switches" },
	{ SRC_PROC, PROCFS_FDS, "/proc/self/fd", "the open file descriptor count" },
	{ SRC_SYS, PROCFS_LOADAVG, "/proc/loadavg", "the load average" },
	{ SRC_SYS, PROCFS_CPU, "/proc/stat", "the machine's CPU use" },
	{ SRC_SYS, PROCFS_MEMINFO, "/proc/meminfo", "the machine's memory use" },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static struct {
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	_Atomic uint32_t wake; /* futex word: bumped to end the sleep early */
	pthread_mutex_t lock;  /* guards the queue; monitor and writer only */
	struct snapshot queue[MONITOR_PENDING];
	unsigned head, n;
	uint64_t dropped;
	/* monitor thread */
	bool warned[NFILES];
	uint64_t last_time, last_cost;
	/* writer */
	uint64_t name_ids[NSERIES];
	uint64_t dropped_reported;
} m = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Time spent in the sampling signal handler on the program's threads,
 * summed by the handler itself (sampler.c). */
_Atomic uint64_t monitor_handler_ns;

static uint64_t field(const struct snapshot *s, const struct series *se)
{
	uint64_t v;
	memcpy(&v, (const char *)s + se->offset, sizeof(v));
	return v;
}

/* One message per file, the first time it cannot be read. */
static void warn_unreadable(unsigned have_proc, unsigned have_sys, int rc, const char *failed)
{
	for (size_t i = 0; i < NFILES; i++) {
		unsigned have = files[i].src == SRC_PROC ? have_proc : have_sys;
		if ((have & files[i].bit) || m.warned[i])
			continue;
		m.warned[i] = true;
		/* procfs names the first failure only (with its errno). */
		const char *why = rc && !strcmp(failed, files[i].path) ? strerror(-rc) : "unreadable";
		fprintf(stderr,
			"oneprof: monitor: cannot read %s (%s); %s will be missing from the "
			"capture's series, the program runs on (check that /proc is mounted and "
			"readable)\n",
			files[i].path, why, files[i].lost);
	}
}

/* The overhead budget: the agent's CPU (own threads and handler) since
 * the last tick over the wall time; halves the rate when it is over. */
static void keep_budget(uint64_t now, uint64_t cost)
{
	uint64_t ppm = agent.cfg.max_overhead_ppm;
	if (ppm && m.last_time && now > m.last_time && !atomic_load(&agent.paused) &&
	    agent.sampler != SAMPLER_WALL) {
		uint64_t spent = cost - m.last_cost, wall = now - m.last_time;
		unsigned hz = atomic_load(&agent.hz);
		/* spent / wall > ppm / 1e6, without overflow for any interval. */
		if ((double)spent * 1e6 > (double)wall * (double)ppm && hz > MIN_HZ) {
			hz = hz / 2 > MIN_HZ ? hz / 2 : MIN_HZ;
			sampler_set_hz(hz);
		}
	}
	m.last_time = now;
	m.last_cost = cost;
}

static void take(void)
{
	struct snapshot s;
	char failed[64] = "";
	int rc = procfs_read_process(0, &s.proc, failed, sizeof(failed));
	char failed_sys[64] = "";
	int rc_sys = procfs_read_system(&s.sys, failed_sys, sizeof(failed_sys));
	if (rc || rc_sys)
		warn_unreadable(s.proc.have, s.sys.have, rc ? rc : rc_sys, rc ? failed : failed_sys);
	uint64_t now = agent_now_ns();
	s.agent_cpu_ns = threads_own_cpu_ns();
	s.handler_ns = atomic_load_explicit(&monitor_handler_ns, memory_order_relaxed);
	keep_budget(now, s.agent_cpu_ns + s.handler_ns);
	s.hz = atomic_load(&agent.hz);
	s.time = now - agent.start_ns;
	pthread_mutex_lock(&m.lock);
	if (m.n < MONITOR_PENDING) {
		m.queue[(m.head + m.n) % MONITOR_PENDING] = s;
		m.n++;
	} else {
		m.dropped++;
	}
	pthread_mutex_unlock(&m.lock);
}

static void *monitor_main(void *arg)
{
	(void)arg;
	heap_busy_enter(); /* stdio in a message may allocate: never the program's */
	uint64_t interval = (uint64_t)agent.cfg.monitor_ms * 1000000u;
	take(); /* the values at the start */
	while (!atomic_load(&m.stop)) {
		uint32_t seen = atomic_load(&m.wake);
		struct timespec ts = { (time_t)(interval / 1000000000u),
				       (long)(interval % 1000000000u) };
		syscall(SYS_futex, &m.wake, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
		if (atomic_load(&m.stop))
			break;
		take();
	}
	take(); /* and at the end */
	return NULL;
}

int monitor_start(void)
{
	if (!agent.cfg.monitor_ms)
		return 0;
	atomic_store(&m.stop, false);
	int rc = threads_create_unprofiled(&m.thread, monitor_main, NULL);
	if (rc != 0)
		return -rc;
	m.started = true;
	return 0;
}

void monitor_stop(void)
{
	if (!m.started)
		return;
	atomic_store(&m.stop, true);
	atomic_fetch_add(&m.wake, 1);
	syscall(SYS_futex, &m.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_join(m.thread, NULL);
	m.started = false;
}

/* In a fork child: the monitor thread does not exist there; a followed
 * child starts its own with its capture (agent_begin). */
void monitor_forget(void)
{
	pthread_mutex_init(&m.lock, NULL);
	m.started = false;
	m.n = m.head = 0;
	m.dropped = m.dropped_reported = 0;
	m.last_time = m.last_cost = 0;
	memset(m.name_ids, 0, sizeof(m.name_ids));
	atomic_store(&monitor_handler_ns, 0);
}

/* Writer: a METRIC record per series for each snapshot taken. */
uint64_t monitor_write(void)
{
	struct capture_writer *cw = writer_capture();
	uint64_t last = 0;
	for (;;) {
		struct snapshot s;
		pthread_mutex_lock(&m.lock);
		bool any = m.n > 0;
		if (any) {
			s = m.queue[m.head];
			m.head = (m.head + 1) % MONITOR_PENDING;
			m.n--;
		}
		uint64_t dropped = m.dropped;
		pthread_mutex_unlock(&m.lock);
		if (dropped > m.dropped_reported) {
			writer_lost(CAPTURE_LOST_METRIC, CAPTURE_LOST_RING_FULL,
				    dropped - m.dropped_reported);
			m.dropped_reported = dropped;
		}
		if (!any)
			return last;
		last = s.time ? s.time : 1;
		for (size_t i = 0; i < NSERIES; i++) {
			const struct series *se = &series[i];
			unsigned have = se->src == SRC_PROC ? s.proc.have
					: se->src == SRC_SYS ? s.sys.have : ~0u;
			if (se->have && !(have & se->have))
				continue;
			if (!m.name_ids[i])
				m.name_ids[i] = writer_string_id(se->name);
			uint64_t f[3] = { s.time, m.name_ids[i], field(&s, se) };
			capture_write_varints(cw, CAPTURE_REC_METRIC, f, 3);
		}
	}
}
