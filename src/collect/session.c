/* The collector's session: opens the events, maps their rings, drains
 * them into the capture until the recording ends. See collect.h and
 * doc/design/collect.md. */
#include "collect.h"
#include "collect_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../agent/procfs.h"
#include "../util/util.h"
#include "offcpu.h"

/* One ring per CPU: every event on that CPU writes into it
 * (PERF_EVENT_IOC_SET_OUTPUT). The kernel refuses to map the ring of an
 * inherited event that is not bound to a CPU, so per-task events are
 * opened once per CPU, as perf does. */
struct cpu_ring {
	int cpu;
	int fd; /* the event that owns the ring; -1: none yet */
	struct perf_ring ring;
	bool hup;
	bool off; /* --off-cpu: the ring of the CPU's sched_switch events */
};

struct session {
	const struct collect_options *o;
	struct perf_event_attr attr;
	struct cpu_ring *rings; /* ncpus cpu-clock rings, then (--off-cpu) ncpus off-CPU ones */
	size_t nrings, ncpus;
	struct perf_event_attr off_attr; /* --off-cpu: the sched_switch event */
	struct offcpu_format off_format;
	struct offcpu *off;             /* --off-cpu: the interval tracker */
	int *fds;           /* every event */
	size_t nfds, cap_fds;
	bool kernel_excluded;
	pid_t child;        /* COLLECT_COMMAND */
	int go_fd;          /* COLLECT_COMMAND: the child execs when this closes */
	int exec_fd;        /* COLLECT_COMMAND: the child's exec errno, if it failed */
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void close_events(struct session *s)
{
	for (size_t i = 0; i < s->nrings; i++)
		perf_ring_unmap(&s->rings[i].ring);
	for (size_t i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	free(s->fds);
	s->fds = NULL;
	s->nfds = 0;
	free(s->rings);
	s->rings = NULL;
	s->nrings = 0;
}

/* The online CPUs ("0-3,5" in sysfs). */
static void online_cpus(struct session *s)
{
	char buf[4096];
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		snprintf(buf, sizeof(buf), "0-%ld", n > 0 ? n - 1 : 0);
	}
	if (f)
		fclose(f);
	size_t cap = 0;
	for (char *p = buf; *p && *p != '\n';) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		if (end == p)
			break;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long cpu = lo; cpu <= hi && cpu - lo < 65536; cpu++) {
			GROW(s->rings, cap, s->nrings + 1);
			s->rings[s->nrings++] = (struct cpu_ring){ .cpu = (int)cpu, .fd = -1 };
		}
		if (*p == ',')
			p++;
	}
}

/* Opens one event and maps its ring (or shares the ring of the slot).
 * 0, or -errno with err filled. When the kernel refuses kernel samples
 * only (perf_event_paranoid 2 for a process of one's own), the cpu-clock
 * event is opened again for user frames. */
static int open_one(struct session *s, struct perf_event_attr *attr, pid_t pid, size_t slot,
		    const char *what, char *err, size_t cap)
{
	int cpu = s->rings[slot].cpu;
	int fd = perf_open(attr, pid, cpu);
	if (fd < 0 && attr == &s->off_attr) {
		offcpu_open_error(-fd, &s->off_format, what, err, cap);
		return fd;
	}
	if ((fd == -EACCES || fd == -EPERM) && !s->attr.exclude_kernel && pid != -1) {
		struct perf_event_attr user = s->attr;
		user.exclude_kernel = 1;
		user.exclude_callchain_kernel = 1;
		int ufd = perf_open(&user, pid, cpu);
		if (ufd >= 0) {
			s->attr = user;
			s->kernel_excluded = true;
			fd = ufd;
		}
	}
	if (fd < 0) {
		perf_open_error(-fd, what, err, cap);
		return fd;
	}
	GROW(s->fds, s->cap_fds, s->nfds + 1);
	s->fds[s->nfds++] = fd;
	struct cpu_ring *r = &s->rings[slot];
	if (r->fd >= 0) {
		if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd) != 0) {
			snprintf(err, cap, "cannot profile %s: sharing the ring of CPU %d failed: %s",
				 what, r->cpu, strerror(errno));
			return -errno;
		}
		return 0;
	}
	int rc = perf_ring_map(&r->ring, fd, s->o->ring_pages);
	if (rc != 0) {
		if (rc == -EPERM || rc == -ENOMEM)
			snprintf(err, cap,
				 "cannot map the perf ring of %s (%u pages): %s; the locked-memory "
				 "limit (kernel.perf_event_mlock_kb, 'ulimit -l') is too low: lower "
				 "--ring-pages or raise the limit",
				 what, s->o->ring_pages, strerror(-rc));
		else
			snprintf(err, cap, "cannot map the perf ring of %s: %s", what, strerror(-rc));
		return rc;
	}
	r->fd = fd;
	return 0;
}

/* The cpu-clock event of pid on the CPU of slot and, with --off-cpu, its
 * sched_switch event, into that CPU's off-CPU ring. */
static int open_event(struct session *s, pid_t pid, size_t slot, const char *what, char *err,
		      size_t cap)
{
	int rc = open_one(s, &s->attr, pid, slot, what, err, cap);
	if (rc == 0 && s->off)
		rc = open_one(s, &s->off_attr, pid, s->ncpus + slot, what, err, cap);
	return rc;
}

/* The event of task pid (-1: every task) on every online CPU. */
static int open_task(struct session *s, pid_t pid, const char *what, char *err, size_t cap)
{
	for (size_t i = 0; i < s->ncpus; i++) {
		int rc = open_event(s, pid, i, what, err, cap);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static bool tid_opened(const pid_t *tids, size_t n, pid_t tid)
{
	for (size_t i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

/* -p: one event per existing thread (and CPU), with inherit, so threads
 * and processes they start later are followed by the kernel. Per-CPU
 * events of every task cannot be limited to one process; per-task events
 * never see other processes. inherit does not reach threads that exist
 * already, hence events for each; the task list is read again until it
 * holds no thread without events (one created while we opened). */
static int open_pid(struct session *s, pid_t pid, char *err, size_t cap)
{
	char path[64], what[64];
	snprintf(what, sizeof(what), "process %d", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	pid_t *done = NULL;
	size_t ndone = 0, cap_done = 0;
	for (;;) {
		DIR *d = opendir(path);
		if (!d) {
			free(done);
			if (ndone)
				return 0; /* it exited meanwhile: its events report that */
			perf_open_error(ESRCH, what, err, cap);
			return -ESRCH;
		}
		size_t added = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			pid_t tid = (pid_t)atoi(e->d_name);
			if (tid <= 0 || tid_opened(done, ndone, tid))
				continue;
			char twhat[96];
			if (tid == pid)
				snprintf(twhat, sizeof(twhat), "%s", what);
			else
				snprintf(twhat, sizeof(twhat), "thread %d of process %d", (int)tid,
					 (int)pid);
			int rc = open_task(s, tid, twhat, err, cap);
			if (rc == -ESRCH)
				continue; /* the thread ended between readdir and open */
			if (rc != 0) {
				closedir(d);
				free(done);
				return rc;
			}
			GROW(done, cap_done, ndone + 1);
			done[ndone++] = tid;
			added++;
		}
		closedir(d);
		if (!added)
			break;
	}
	free(done);
	if (!ndone) {
		perf_open_error(ESRCH, what, err, cap);
		return -ESRCH;
	}
	return 0;
}

/* --system: one event per online CPU, for every task. */
static int open_system(struct session *s, char *err, size_t cap)
{
	for (size_t i = 0; i < s->ncpus; i++) {
		char what[32];
		snprintf(what, sizeof(what), "CPU %d", s->rings[i].cpu);
		int rc = open_event(s, -1, i, what, err, cap);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* --perf: the child waits until the event is on it, then execs; the
 * event is enabled by that exec (enable_on_exec) and inherited by every
 * thread and process the command starts. */
static int launch(struct session *s, char *err, size_t cap)
{
	int go[2], ex[2];
	if (pipe2(go, O_CLOEXEC) != 0 || pipe2(ex, O_CLOEXEC) != 0) {
		snprintf(err, cap, "cannot launch '%s': pipe: %s", s->o->argv[0], strerror(errno));
		return -errno;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, cap, "cannot launch '%s': fork: %s", s->o->argv[0], strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		close(go[1]);
		close(ex[0]);
		char c;
		ssize_t n;
		while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n == 1) {
			execv(s->o->path, s->o->argv);
			int e = errno;
			ssize_t ignored = write(ex[1], &e, sizeof(e));
			(void)ignored;
		}
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	s->child = pid;
	s->go_fd = go[1];
	s->exec_fd = ex[0];
	return 0;
}

/* The command runs: 0, or its exec's errno. */
static int release_child(struct session *s)
{
	char c = 1;
	ssize_t ignored = write(s->go_fd, &c, 1);
	(void)ignored;
	close(s->go_fd);
	s->go_fd = -1;
	int e = 0;
	ssize_t n;
	while ((n = read(s->exec_fd, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(s->exec_fd);
	s->exec_fd = -1;
	return n == sizeof(e) ? e : 0;
}

/* Records of one drain round, from every ring, put in time order before
 * they are decoded: a process that moved between CPUs has its mapping in
 * one ring and its samples in another, and a definition must come before
 * its use. Every ring is emptied each round, so a record written before
 * the round began is in it; the kernel's order within one ring is kept. */
struct round_rec {
	uint64_t time;
	size_t seq, off;
	bool off_cpu; /* from an off-CPU ring */
};

struct round {
	bool off; /* the ring being drained is an off-CPU one */
	uint8_t *bytes;
	size_t len, cap;
	struct round_rec *recs;
	size_t n, cap_recs;
};

static uint64_t record_time(const struct perf_event_header *h)
{
	uint64_t t = 0;
	if (h->type == PERF_RECORD_SAMPLE) {
		/* ip, pid/tid, then time */
		if (h->size >= sizeof(*h) + 24)
			memcpy(&t, (const uint8_t *)h + sizeof(*h) + 16, 8);
	} else if (h->size >= sizeof(*h) + 24) {
		/* sample_id_all: pid/tid, time, cpu/res at the end */
		memcpy(&t, (const uint8_t *)h + h->size - 16, 8);
	}
	return t;
}

static void keep_record(void *arg, const struct perf_event_header *h)
{
	struct round *r = arg;
	if (r->len + h->size > r->cap) {
		r->cap = (r->len + h->size) * 2;
		r->bytes = xrealloc(r->bytes, r->cap);
	}
	memcpy(r->bytes + r->len, h, h->size);
	GROW(r->recs, r->cap_recs, r->n + 1);
	r->recs[r->n] = (struct round_rec){ record_time(h), r->n, r->len, r->off };
	r->n++;
	r->len += h->size;
}

static int by_time(const void *a, const void *b)
{
	const struct round_rec *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Decodes the records of every ring up to a cut: the time when the round
 * began (all: the last round). A record stamped later stays for the next
 * round, since a ring drained earlier in this round may still get records
 * stamped before it: a thread that leaves CPU 0 after its ring was read
 * and comes back on CPU 1 before that one is would otherwise show its
 * return before its departure. */
static void drain_all(struct session *s, struct collect *c, struct round *r, bool last)
{
	struct collect_stats *st = collect_stats_mut(c);
	uint64_t cut = last ? UINT64_MAX : mono_ns();
	for (size_t i = 0; i < s->nrings; i++)
		if (s->rings[i].fd >= 0) {
			r->off = s->rings[i].off;
			perf_ring_drain(&s->rings[i].ring, keep_record, r, &st->bad_records);
		}
	qsort(r->recs, r->n, sizeof(*r->recs), by_time);
	size_t i = 0;
	for (; i < r->n && r->recs[i].time < cut; i++) {
		const struct perf_event_header *h =
			(const struct perf_event_header *)(r->bytes + r->recs[i].off);
		if (r->recs[i].off_cpu)
			offcpu_record(s->off, c, h);
		else
			collect_record(c, h);
	}
	/* The rest moves to the front, in order, ahead of the next round's. */
	size_t kept = r->n - i, len = 0;
	uint8_t *bytes = kept ? xmalloc(r->len) : NULL;
	for (size_t k = 0; k < kept; k++) {
		struct round_rec *rec = &r->recs[i + k];
		uint16_t size = ((const struct perf_event_header *)(r->bytes + rec->off))->size;
		memcpy(bytes + len, r->bytes + rec->off, size);
		r->recs[k] = (struct round_rec){ rec->time, k, len, rec->off_cpu };
		len += size;
	}
	if (kept)
		memcpy(r->bytes, bytes, len);
	free(bytes);
	r->n = kept;
	r->len = len;
}

/* CPU time of a single -p target (user + system), when readable. */
static bool target_cpu(pid_t pid, uint64_t *ns)
{
	struct procfs_process p;
	procfs_read_process(pid, &p, NULL, 0);
	if (!(p.have & PROCFS_STAT))
		return false;
	*ns = p.user_ns + p.system_ns;
	return true;
}

static bool target_alive(pid_t pid)
{
	struct procfs_process p;
	procfs_read_process(pid, &p, NULL, 0);
	return (p.have & PROCFS_STAT) && p.state != 'Z' && p.state != 'X';
}

static int open_output(const char *path, char *err, size_t cap)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		snprintf(err, cap, "cannot write capture '%s': %s; choose a writable path with -o",
			 path, strerror(errno));
	return fd;
}

int collect_run(const struct collect_options *o, struct collect_stats *out, char *err,
		size_t cap)
{
	memset(out, 0, sizeof(*out));
	if (!o->ring_pages || (o->ring_pages & (o->ring_pages - 1)) ||
	    o->ring_pages > COLLECT_MAX_RING_PAGES) {
		snprintf(err, cap, "ring size %u pages is not a power of two from 1 to %u; give "
			 "--ring-pages 1, 2, 4, ... (default %u)", o->ring_pages,
			 COLLECT_MAX_RING_PAGES, COLLECT_DEFAULT_RING_PAGES);
		return 2;
	}
	if (o->dwarf_stack && (o->dwarf_stack < PERF_DWARF_MIN_STACK ||
				o->dwarf_stack > PERF_DWARF_MAX_STACK || o->dwarf_stack % 8)) {
		snprintf(err, cap, "DWARF stack size %u is not a multiple of 8 from %u to %u bytes; "
			 "give --call-graph dwarf,SIZE like dwarf,16384 (default %u)",
			 o->dwarf_stack, PERF_DWARF_MIN_STACK, PERF_DWARF_MAX_STACK,
			 PERF_DWARF_DEFAULT_STACK);
		return 2;
	}
	struct session s = { .o = o, .go_fd = -1, .exec_fd = -1 };
	perf_attr_cpu_clock(&s.attr, o->hz);
	if (o->dwarf_stack)
		perf_attr_dwarf(&s.attr, o->dwarf_stack);
	/* Wake up when half the ring is full; the loop drains every
	 * COLLECT_POLL_MS anyway. */
	s.attr.watermark = 1;
	s.attr.wakeup_watermark = (uint32_t)(o->ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 2);
	int rc = 0;
	pid_t header_pid = 0;
	online_cpus(&s);
	s.ncpus = s.nrings;
	if (o->off_cpu) {
		/* Before any event: without the tracepoint, --off-cpu fails
		 * here rather than record CPU samples only. */
		if (offcpu_format_load(&s.off_format, err, cap) != 0) {
			free(s.rings);
			return 2;
		}
		offcpu_attr(&s.off_attr, &s.off_format, o->mode != COLLECT_SYSTEM,
			    o->mode == COLLECT_COMMAND);
		s.off_attr.watermark = 1;
		s.off_attr.wakeup_watermark = s.attr.wakeup_watermark;
		/* --system: the collector's own switches (its poll loop) are
		 * left out, as nothing of the profiled work. */
		s.off = offcpu_new(&s.off_format, o->mode == COLLECT_SYSTEM ? getpid() : 0);
		s.rings = xrealloc(s.rings, 2 * s.ncpus * sizeof(*s.rings));
		for (size_t i = 0; i < s.ncpus; i++)
			s.rings[s.ncpus + i] = (struct cpu_ring){ .cpu = s.rings[i].cpu, .fd = -1,
								   .off = true };
		s.nrings = 2 * s.ncpus;
	}
	switch (o->mode) {
	case COLLECT_PIDS:
		s.attr.inherit = 1;
		for (size_t i = 0; i < o->npids && rc == 0; i++)
			rc = open_pid(&s, o->pids[i], err, cap);
		header_pid = o->npids == 1 ? o->pids[0] : 0;
		break;
	case COLLECT_SYSTEM:
		/* Idle time is no program's: left out, as CPU time. */
		s.attr.exclude_idle = 1;
		rc = open_system(&s, err, cap);
		break;
	case COLLECT_COMMAND: {
		s.attr.inherit = 1;
		s.attr.enable_on_exec = 1;
		rc = launch(&s, err, cap);
		if (rc == 0) {
			char what[PATH_MAX + 16];
			snprintf(what, sizeof(what), "command '%s'", o->argv[0]);
			rc = open_task(&s, s.child, what, err, cap);
		}
		header_pid = s.child;
		break;
	}
	}
	int fd = rc != 0 ? -1 : o->use_fd ? o->fd : open_output(o->output, err, cap);
	struct collect *c = fd >= 0 ? collect_new(fd, o, header_pid, err, cap) : NULL;
	if (!c) {
		close_events(&s);
		offcpu_free(s.off);
		if (s.child > 0) {
			close(s.go_fd); /* the child exits without running the command */
			close(s.exec_fd);
			waitpid(s.child, NULL, 0);
		}
		if (fd >= 0 && !o->use_fd)
			close(fd);
		return rc == -ESRCH ? 1 : 2;
	}
	struct collect_stats *st = collect_stats_mut(c);
	st->events = s.nfds;
	if (s.kernel_excluded)
		collect_note_kernel_excluded(c);
	else
		collect_load_kernel_symbols(c);

	/* What runs already: processes (their names, arguments and
	 * mappings) and, for -p, their threads' names. */
	uint64_t cpu0 = 0, cpu_last = 0;
	bool have_cpu = false;
	if (o->mode == COLLECT_PIDS) {
		for (size_t i = 0; i < o->npids; i++)
			collect_add_from_proc(c, o->pids[i], true);
		have_cpu = o->npids == 1 && target_cpu(o->pids[0], &cpu0);
		cpu_last = cpu0;
	} else if (o->mode == COLLECT_SYSTEM) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			pid_t pid = (pid_t)atoi(e->d_name);
			if (pid > 0)
				collect_add_from_proc(c, pid, false);
		}
		if (d)
			closedir(d);
	} else {
		collect_add_command(c, s.child, o->argv[0]);
	}

	struct sigaction act = { .sa_handler = on_stop }, ign = { .sa_handler = SIG_IGN };
	struct sigaction old_int, old_term, old_quit;
	stop_signal = 0;
	/* --perf: like time(1), the terminal's ^C goes to the command and
	 * oneprof stays to finish the capture; SIGTERM is passed on. */
	sigaction(SIGINT, o->mode == COLLECT_COMMAND ? &ign : &act, &old_int);
	sigaction(SIGQUIT, o->mode == COLLECT_COMMAND ? &ign : NULL, &old_quit);
	sigaction(SIGTERM, &act, &old_term);

	if (o->mode == COLLECT_COMMAND) {
		int e = release_child(&s);
		if (e) {
			snprintf(err, cap, "cannot run '%s': %s", o->path, strerror(e));
			rc = 127;
		}
	} else {
		for (size_t i = 0; i < s.nfds; i++)
			ioctl(s.fds[i], PERF_EVENT_IOC_ENABLE, 0);
	}

	struct round round = { 0 };
	struct pollfd *pfd = xcalloc(s.nrings ? s.nrings : 1, sizeof(*pfd));
	uint64_t start = mono_ns(), last_flush = start;
	bool forwarded = false;
	while (rc == 0) {
		uint64_t now = mono_ns();
		if (o->duration_ns && now - start >= o->duration_ns)
			break;
		if (stop_signal && o->mode != COLLECT_COMMAND)
			break;
		if (o->stop && atomic_load(o->stop))
			break;
		if (stop_signal && !forwarded) {
			kill(s.child, stop_signal);
			forwarded = true;
		}
		size_t live = 0;
		/* A ring's owner that hung up (its task ended) is not polled
		 * again, but its ring, which other tasks share, is still
		 * drained every round. */
		for (size_t i = 0; i < s.nrings; i++) {
			bool on = s.rings[i].fd >= 0 && !s.rings[i].hup;
			pfd[i].fd = on ? s.rings[i].fd : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			live += on;
		}
		int timeout = COLLECT_POLL_MS;
		if (o->duration_ns && o->duration_ns - (now - start) < (uint64_t)timeout * 1000000u)
			timeout = (int)((o->duration_ns - (now - start)) / 1000000u) + 1;
		if (live)
			poll(pfd, s.nrings, timeout);
		else
			usleep((useconds_t)timeout * 1000u);
		for (size_t i = 0; i < s.nrings; i++)
			if (pfd[i].revents & (POLLHUP | POLLERR))
				s.rings[i].hup = true;
		drain_all(&s, c, &round, false);
		now = mono_ns();
		if (now - last_flush >= (o->flush_ns ? o->flush_ns : COLLECT_FLUSH_NS)) {
			collect_flush(c);
			last_flush = now;
			if (have_cpu)
				target_cpu(o->pids[0], &cpu_last);
		}
		if (o->mode == COLLECT_COMMAND) {
			int status;
			if (waitpid(s.child, &status, WNOHANG) == s.child) {
				st->command_exited = true;
				st->command_status = status;
				break;
			}
		} else if (o->mode == COLLECT_PIDS) {
			bool any = false;
			for (size_t i = 0; i < o->npids && !any; i++)
				any = target_alive(o->pids[i]);
			if (!any)
				break;
		}
	}
	free(pfd);
	/* Off-CPU intervals still open end here, when recording stops. */
	uint64_t end_ns = mono_ns();
	for (size_t i = 0; i < s.nfds; i++)
		ioctl(s.fds[i], PERF_EVENT_IOC_DISABLE, 0);
	drain_all(&s, c, &round, true);
	if (s.off)
		offcpu_finish(s.off, c, end_ns);
	if (have_cpu)
		target_cpu(o->pids[0], &cpu_last);

	if (o->mode == COLLECT_COMMAND && !st->command_exited && rc == 0) {
		/* --duration ended the recording: the command runs on; its
		 * status is still the one passed through. */
		close_events(&s);
		int status;
		if (waitpid(s.child, &status, 0) == s.child) {
			st->command_exited = true;
			st->command_status = status;
		}
	}
	if (o->mode == COLLECT_COMMAND && st->command_exited) {
		struct rusage ru;
		getrusage(RUSAGE_CHILDREN, &ru);
		collect_set_process_cpu(c, (uint64_t)ru.ru_utime.tv_sec * 1000000000u +
						   (uint64_t)ru.ru_utime.tv_usec * 1000u +
						   (uint64_t)ru.ru_stime.tv_sec * 1000000000u +
						   (uint64_t)ru.ru_stime.tv_usec * 1000u);
	} else if (have_cpu) {
		collect_set_process_cpu(c, cpu_last - cpu0);
	}
	if (o->mode == COLLECT_COMMAND && !st->command_exited) {
		int status;
		if (waitpid(s.child, &status, 0) == s.child) {
			st->command_exited = true;
			st->command_status = status;
		}
	}
	free(round.bytes);
	free(round.recs);
	offcpu_free(s.off);
	int wrc = collect_finish(c);
	*out = *collect_get_stats(c);
	collect_free(c);
	close_events(&s);
	if (!o->use_fd)
		close(fd);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc == 0 && wrc != 0) {
		snprintf(err, cap, "writing capture '%s' failed: %s; the capture is cut short",
			 o->use_fd ? "(live view)" : o->output, strerror(-wrc));
		return 1;
	}
	return rc;
}
