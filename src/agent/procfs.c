/* /proc readers (procfs.h). Hand-written rather than libprocps: the agent
 * links libc and zstd only, and these few fields are simple to parse with
 * a bounded buffer and no allocation. */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procfs.h"

#define LINE_MAX_BYTES 4096

static void note_failure(int *rc, int err, const char *path, char *failed, size_t cap)
{
	if (*rc)
		return;
	*rc = -err;
	if (failed && cap)
		snprintf(failed, cap, "%s", path);
}

/* Calls fn for each line of the file (without its newline). A line longer
 * than the buffer is skipped: none of the lines read here is that long,
 * but /proc/stat's "intr" line can be. Returns 0 or -errno. */
static int each_line(const char *path, void (*fn)(char *line, size_t len, void *arg), void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[LINE_MAX_BYTES];
	size_t used = 0;
	bool skipping = false; /* inside an over-long line */
	for (;;) {
		ssize_t n = read(fd, buf + used, sizeof(buf) - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		size_t start = 0;
		for (char *nl; (nl = memchr(buf + start, '\n', used - start));) {
			size_t len = (size_t)(nl - (buf + start));
			*nl = '\0';
			if (!skipping)
				fn(buf + start, len, arg);
			skipping = false;
			start += len + 1;
		}
		if (start == 0 && used == sizeof(buf)) {
			skipping = true; /* no newline in a full buffer */
			used = 0;
			continue;
		}
		memmove(buf, buf + start, used - start);
		used -= start;
	}
	if (used && !skipping && used < sizeof(buf)) {
		buf[used] = '\0';
		fn(buf, used, arg);
	}
	close(fd);
	return 0;
}

/* "Key:   123 kB" → 123 × 1024; "Key: 123" → 123. */
static bool key_value(const char *line, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	if (strncmp(line, key, klen) != 0 || line[klen] != ':')
		return false;
	char *end;
	unsigned long long v = strtoull(line + klen + 1, &end, 10);
	while (*end == ' ')
		end++;
	*out = strncmp(end, "kB", 2) == 0 ? v * 1024 : v;
	return true;
}

static uint64_t ticks_to_ns(unsigned long long ticks)
{
	static long hz;
	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	return (uint64_t)ticks * (1000000000ull / (uint64_t)hz);
}

/* --- the process --- */

struct stat_line {
	struct procfs_process *p;
	bool ok;
	unsigned long long start_ticks;
};

/* /proc/PID/stat: one line; the command name (field 2) is in parentheses
 * and may itself hold spaces and ')', so fields are counted from the last
 * ')'. */
static void parse_stat(char *line, size_t len, void *arg)
{
	struct stat_line *s = arg;
	(void)len;
	char *p = strrchr(line, ')');
	if (!p)
		return;
	unsigned long long f[25] = { 0 }; /* f[i]: field i (1-based), from 4 on */
	int i = 3;
	p++;
	while (*p == ' ')
		p++;
	char state = *p;
	p = strchr(p, ' '); /* past field 3, the state letter */
	for (i = 4; p && i < 25; i++) {
		char *end;
		f[i] = strtoull(p, &end, 10);
		if (end == p)
			return;
		p = end;
	}
	if (i < 25)
		return;
	struct procfs_process *out = s->p;
	out->state = state;
	out->minor_faults = f[10];
	out->major_faults = f[12];
	out->user_ns = ticks_to_ns(f[14]);
	out->system_ns = ticks_to_ns(f[15]);
	out->threads = f[20];
	s->start_ticks = f[22];
	out->virtual_bytes = f[23];
	long page = sysconf(_SC_PAGESIZE);
	out->resident_bytes = f[24] * (uint64_t)(page > 0 ? page : 4096);
	s->ok = true;
}

static void parse_status(char *line, size_t len, void *arg)
{
	struct procfs_process *p = arg;
	(void)len;
	/* VmRSS replaces stat's field 24: on recent kernels that one comes
	 * from per-CPU counters not yet summed, tens of pages off (over 10%
	 * for a small process); status and statm sum them. */
	if (!key_value(line, "VmHWM", &p->peak_resident_bytes) &&
	    !key_value(line, "VmRSS", &p->resident_bytes) &&
	    !key_value(line, "voluntary_ctxt_switches", &p->voluntary_switches))
		key_value(line, "nonvoluntary_ctxt_switches", &p->involuntary_switches);
}

/* "Max open files            1024                 1048576              files" */
static void parse_limits(char *line, size_t len, void *arg)
{
	static const char key[] = "Max open files";
	(void)len;
	if (strncmp(line, key, sizeof(key) - 1) != 0)
		return;
	char *p = line + sizeof(key) - 1;
	while (*p == ' ')
		p++;
	*(uint64_t *)arg = strncmp(p, "unlimited", 9) == 0 ? 0 : strtoull(p, NULL, 10);
}

/* Entries of a /proc/PID/fd directory, read with getdents64 into a stack
 * buffer (opendir would allocate). */
static int count_fds(const char *dir, bool self, uint64_t *out)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[4096];
	uint64_t n = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (got == 0)
			break;
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			if (d->d_name[0] != '.')
				n++;
			off += d->d_reclen;
		}
	}
	close(fd);
	*out = self && n ? n - 1 : n; /* not the descriptor reading it */
	return 0;
}

/* Context switches of every thread: /proc/PID/status counts the main
 * thread's only. This process asks getrusage (ended threads included);
 * another sums its live threads' /proc/PID/task/TID/status. */
static int all_switches(const char *base, bool self, struct procfs_process *out)
{
	if (self) {
		struct rusage ru;
		if (getrusage(RUSAGE_SELF, &ru) != 0)
			return -errno;
		out->voluntary_switches = (uint64_t)ru.ru_nvcsw;
		out->involuntary_switches = (uint64_t)ru.ru_nivcsw;
		return 0;
	}
	char path[96];
	snprintf(path, sizeof(path), "%s/task", base);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[4096];
	uint64_t vol = 0, invol = 0;
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			struct procfs_process t = { 0 };
			snprintf(path, sizeof(path), "%s/task/%.20s/status", base, d->d_name);
			if (each_line(path, parse_status, &t) == 0) { /* a thread may end meanwhile */
				vol += t.voluntary_switches;
				invol += t.involuntary_switches;
			}
		}
	}
	close(fd);
	out->voluntary_switches = vol;
	out->involuntary_switches = invol;
	return 0;
}

static uint64_t boot_time_ns(void);

int procfs_read_process(pid_t pid, struct procfs_process *out, char *failed, size_t cap)
{
	char path[64];
	char base[32];
	int rc = 0, err;
	bool self = pid == 0 || pid == getpid();
	if (self)
		snprintf(base, sizeof(base), "/proc/self");
	else
		snprintf(base, sizeof(base), "/proc/%d", (int)pid);
	memset(out, 0, sizeof(*out));

	struct stat_line s = { .p = out };
	snprintf(path, sizeof(path), "%s/stat", base);
	if ((err = each_line(path, parse_stat, &s)) != 0)
		note_failure(&rc, -err, path, failed, cap);
	else if (!s.ok)
		note_failure(&rc, EPROTO, path, failed, cap);
	else {
		out->have |= PROCFS_STAT;
		uint64_t boot = boot_time_ns();
		out->start_time_ns = boot ? boot + ticks_to_ns(s.start_ticks) : 0;
	}

	snprintf(path, sizeof(path), "%s/status", base);
	if ((err = each_line(path, parse_status, out)) != 0)
		note_failure(&rc, -err, path, failed, cap);
	else if ((err = all_switches(base, self, out)) != 0) {
		snprintf(path, sizeof(path), "%s/task", base);
		note_failure(&rc, -err, path, failed, cap);
	}
	else
		out->have |= PROCFS_STATUS;

	snprintf(path, sizeof(path), "%s/fd", base);
	if ((err = count_fds(path, self, &out->open_fds)) != 0) {
		note_failure(&rc, -err, path, failed, cap);
	} else {
		snprintf(path, sizeof(path), "%s/limits", base);
		if ((err = each_line(path, parse_limits, &out->max_fds)) != 0)
			note_failure(&rc, -err, path, failed, cap);
		else
			out->have |= PROCFS_FDS;
	}
	return rc;
}

/* --- the system --- */

static void parse_cpu(char *line, size_t len, void *arg)
{
	struct procfs_system *s = arg;
	(void)len;
	if (strncmp(line, "btime ", 6) == 0) {
		s->boot_time_ns = strtoull(line + 6, NULL, 10) * 1000000000ull;
		return;
	}
	if (strncmp(line, "cpu", 3) != 0)
		return;
	if (line[3] != ' ') { /* cpuN */
		s->cpus++;
		return;
	}
	/* cpu  user nice system idle iowait irq softirq steal (guest time is
	 * already inside user and nice) */
	unsigned long long v[8] = { 0 };
	char *p = line + 3;
	for (int i = 0; i < 8; i++) {
		char *end;
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end;
	}
	unsigned long long total = 0;
	for (int i = 0; i < 8; i++)
		total += v[i];
	s->cpu_total_ns = ticks_to_ns(total);
	s->cpu_busy_ns = ticks_to_ns(total - v[3] - v[4]);
	s->have |= PROCFS_CPU;
}

static void parse_meminfo(char *line, size_t len, void *arg)
{
	struct procfs_system *s = arg;
	(void)len;
	if (!key_value(line, "MemTotal", &s->mem_total_bytes))
		key_value(line, "MemAvailable", &s->mem_available_bytes);
}

static void parse_loadavg(char *line, size_t len, void *arg)
{
	struct procfs_system *s = arg;
	(void)len;
	char *p = line;
	for (int i = 0; i < 3; i++) {
		char *end;
		unsigned long long whole = strtoull(p, &end, 10), frac = 0;
		if (end == p)
			return;
		if (*end == '.') {
			char *f = end + 1;
			frac = strtoull(f, &end, 10);
			for (ptrdiff_t d = end - f; d < 3; d++)
				frac *= 10;
			for (ptrdiff_t d = end - f; d > 3; d--)
				frac /= 10;
		}
		s->load_milli[i] = whole * 1000 + frac;
		p = end;
	}
	s->have |= PROCFS_LOADAVG;
}

static uint64_t boot_time_ns(void)
{
	static uint64_t boot; /* constant while the machine is up */
	if (!boot) {
		struct procfs_system s = { 0 };
		if (each_line("/proc/stat", parse_cpu, &s) == 0)
			boot = s.boot_time_ns;
	}
	return boot;
}

int procfs_read_system(struct procfs_system *out, char *failed, size_t cap)
{
	int rc = 0, err;
	memset(out, 0, sizeof(*out));
	if ((err = each_line("/proc/loadavg", parse_loadavg, out)) != 0)
		note_failure(&rc, -err, "/proc/loadavg", failed, cap);
	if ((err = each_line("/proc/stat", parse_cpu, out)) != 0)
		note_failure(&rc, -err, "/proc/stat", failed, cap);
	if ((err = each_line("/proc/meminfo", parse_meminfo, out)) != 0)
		note_failure(&rc, -err, "/proc/meminfo", failed, cap);
	else
		out->have |= PROCFS_MEMINFO;
	return rc;
}
