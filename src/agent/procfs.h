/* Process and system metrics from /proc, for the agent's monitor and
 * metrics endpoint and for 'oneprof monitor -p PID'.
 *
 * Everything is read with plain open/read into stack buffers: nothing
 * here allocates, takes a lock or uses a stdio stream, so the agent's own threads
 * can call it while the program's allocator is being profiled. Values are
 * integers in base units (bytes, nanoseconds, counts); a field that could
 * not be read has its bit clear in `have`. */
#ifndef AGENT_PROCFS_H
#define AGENT_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* procfs_process.have / procfs_system.have bits: which file was read. */
#define PROCFS_STAT 0x1u   /* /proc/PID/stat */
#define PROCFS_STATUS 0x2u /* /proc/PID/status */
#define PROCFS_FDS 0x4u    /* /proc/PID/fd and the RLIMIT_NOFILE soft limit */

struct procfs_process {
	unsigned have;
	/* stat */
	char state;                   /* field 3: R, S, D, Z (exited, not yet reaped)... */
	uint64_t user_ns, system_ns;  /* CPU time (fields 14, 15) */
	uint64_t minor_faults, major_faults;
	uint64_t threads;
	uint64_t start_time_ns;       /* since the Unix epoch (field 22 + btime) */
	uint64_t virtual_bytes, resident_bytes; /* resident: VmRSS of status when read */
	/* status */
	uint64_t peak_resident_bytes; /* VmHWM */
	uint64_t voluntary_switches, involuntary_switches; /* of every thread */
	/* fd */
	uint64_t open_fds, max_fds;   /* max_fds: 0 when unlimited */
};

#define PROCFS_LOADAVG 0x1u /* /proc/loadavg */
#define PROCFS_CPU 0x2u     /* /proc/stat */
#define PROCFS_MEMINFO 0x4u /* /proc/meminfo */

struct procfs_system {
	unsigned have;
	uint64_t load_milli[3];          /* load average ×1000: 1, 5, 15 minutes */
	uint64_t cpu_busy_ns, cpu_total_ns; /* all CPUs since boot; busy excludes idle and iowait */
	uint64_t cpus;                   /* CPUs listed in /proc/stat */
	uint64_t mem_total_bytes, mem_available_bytes;
	uint64_t boot_time_ns;           /* since the Unix epoch (btime) */
};

/* Reads what it can of process `pid` (0: this process). Returns 0 when
 * every file was read, else -errno of the first that failed, with its
 * path in `failed` (when not NULL, at least 64 bytes). max_fds is only
 * known for this process and for others through /proc/PID/limits. */
int procfs_read_process(pid_t pid, struct procfs_process *out, char *failed, size_t cap);

/* The same for the machine. */
int procfs_read_system(struct procfs_system *out, char *failed, size_t cap);

#endif
