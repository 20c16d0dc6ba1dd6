/* Off-CPU time from sched:sched_switch: see offcpu.h.
 *
 * How intervals are formed, the same way in every mode:
 *
 * - Switch-out: a sample of the tracepoint. It fires in __schedule()
 *   while the task leaving is still current, so the sample's pid/tid and
 *   callchain (kernel frames, then the user frame-pointer chain) are that
 *   task's: the stack it blocked in. prev_state says why it left.
 * - Switch-in: whatever shows the thread running again first, of
 *   (a) a sched_switch whose next_pid is the thread, when the task
 *       leaving is profiled too (per-CPU events of --system see both
 *       sides of most switches);
 *   (b) a PERF_RECORD_SWITCH without the OUT flag (context_switch=1 on
 *       the same event), which the kernel writes in the incoming task's
 *       context once its events are in, with its tid and time
 *       (sample_id_all). Task-bound events (-p, --perf) are scheduled in
 *       only while their task runs, so the tracepoint of a switch to the
 *       task fires before its event is on and only (b) sees it; and
 *       under --system, sched_switch samples of the idle task leaving a
 *       CPU go missing on this machine's kernel on some CPUs (a sleeper
 *       woken there lost 10 of 13 switch-ins), while (b) does not depend
 *       on the task leaving. So every mode asks for both.
 *   Both may report the same switch-in; the second finds nothing open.
 * - The end: an interval still open when the recording ends is closed at
 *   that time (a thread blocked until then was off-CPU all along).
 *
 * A switch-out while the thread's interval is still open means its
 * switch-in was not seen: lost to a full ring, or never reported (some
 * kernels report no sched_switch away from certain tasks, so the switch
 * to the next one is missing). The thread ran on this CPU without a break
 * until now, so it came in after the last switch seen on this CPU: that
 * switch's time ends the interval (a lower bound, off by the unseen
 * task's run at most). Without such a switch after the interval began,
 * the interval is left out. Both are counted (off_cpu_unpaired). A thread's last switch
 * (state dead or zombie) opens nothing. */
#include "offcpu.h"
#include "intmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../capture/format.h"
#include "../util/util.h"
#include "collect.h"
#include "collect_internal.h"

/* --- the format file --- */

/* "field:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;": the field
 * named name, if this line is it. */
static bool field_line(const char *line, const char *name, struct offcpu_field *out)
{
	const char *f = strstr(line, "field:");
	if (!f)
		return false;
	const char *semi = strchr(f, ';');
	if (!semi)
		return false;
	/* The name is the last word before ';' (an array's [N] after it). */
	const char *end = semi;
	const char *br = memchr(f, '[', (size_t)(semi - f));
	if (br)
		end = br;
	const char *start = end;
	while (start > f && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
			     (start[-1] >= 'A' && start[-1] <= 'Z') ||
			     (start[-1] >= '0' && start[-1] <= '9')))
		start--;
	size_t len = (size_t)(end - start);
	if (len != strlen(name) || memcmp(start, name, len))
		return false;
	const char *off = strstr(semi, "offset:"), *size = strstr(semi, "size:");
	if (!off || !size)
		return false;
	long o = strtol(off + 7, NULL, 10), sz = strtol(size + 5, NULL, 10);
	if (o < 0 || o > 65535 || sz <= 0 || sz > 8)
		return false;
	out->offset = (uint16_t)o;
	out->size = (uint16_t)sz;
	return true;
}

/* A constant expression of the print format, as the kernel expands its
 * macros there: numbers, ( ), | & + - << >>. Precedence as in C. */
struct expr {
	const char *p;
	bool bad;
};

static void expr_space(struct expr *e)
{
	while (*e->p == ' ' || *e->p == '\t')
		e->p++;
}

static uint64_t expr_or(struct expr *e);

static uint64_t expr_atom(struct expr *e)
{
	expr_space(e);
	if (*e->p == '(') {
		e->p++;
		uint64_t v = expr_or(e);
		expr_space(e);
		if (*e->p != ')')
			e->bad = true;
		else
			e->p++;
		return v;
	}
	char *end;
	unsigned long long v = strtoull(e->p, &end, 0);
	if (end == e->p)
		e->bad = true;
	e->p = end;
	return v;
}

static uint64_t expr_add(struct expr *e)
{
	uint64_t v = expr_atom(e);
	for (;;) {
		expr_space(e);
		if (*e->p == '+') {
			e->p++;
			v += expr_atom(e);
		} else if (*e->p == '-') {
			e->p++;
			v -= expr_atom(e);
		} else {
			return v;
		}
	}
}

static uint64_t expr_shift(struct expr *e)
{
	uint64_t v = expr_add(e);
	for (;;) {
		expr_space(e);
		if (e->p[0] == '<' && e->p[1] == '<') {
			e->p += 2;
			uint64_t n = expr_add(e);
			v = n < 64 ? v << n : 0;
		} else if (e->p[0] == '>' && e->p[1] == '>') {
			e->p += 2;
			uint64_t n = expr_add(e);
			v = n < 64 ? v >> n : 0;
		} else {
			return v;
		}
	}
}

static uint64_t expr_and(struct expr *e)
{
	uint64_t v = expr_shift(e);
	for (;;) {
		expr_space(e);
		if (e->p[0] == '&' && e->p[1] != '&') {
			e->p++;
			v &= expr_shift(e);
		} else {
			return v;
		}
	}
}

static uint64_t expr_or(struct expr *e)
{
	uint64_t v = expr_and(e);
	for (;;) {
		expr_space(e);
		if (e->p[0] == '|' && e->p[1] != '|') {
			e->p++;
			v |= expr_and(e);
		} else {
			return v;
		}
	}
}

/* The preemption bit: the print format ends its state with
 * `REC->prev_state & BIT ? "+" : ""`, BIT spelt out as an expression
 * (TASK_REPORT_MAX, or TASK_STATE_MAX on kernels before 4.14). */
static bool preempt_bit(const char *text, uint64_t *out)
{
	const char *plus = strstr(text, "? \"+\"");
	if (!plus)
		return false;
	const char *key = "REC->prev_state &", *at = NULL;
	for (const char *p = text; (p = strstr(p, key)) && p < plus; p++)
		at = p;
	if (!at)
		return false;
	size_t len = (size_t)(plus - (at + strlen(key)));
	char buf[1024];
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, at + strlen(key), len);
	buf[len] = '\0';
	struct expr e = { buf, false };
	uint64_t v = expr_or(&e);
	expr_space(&e);
	if (e.bad || *e.p || !v || (v & (v - 1)))
		return false;
	*out = v;
	return true;
}

int offcpu_format_parse(const char *text, struct offcpu_format *f, char *err, size_t cap)
{
	memset(f, 0, sizeof(*f));
	const char *id = strstr(text, "\nID:");
	if (!strncmp(text, "ID:", 3))
		id = text - 1;
	if (!id) {
		snprintf(err, cap, "no ID line");
		return -1;
	}
	long v = strtol(id + 4, NULL, 10);
	if (v <= 0 || v > 0x7fffffff) {
		snprintf(err, cap, "a bad ID line");
		return -1;
	}
	f->id = (uint32_t)v;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		char buf[512];
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			if (!field_line(buf, "prev_pid", &f->prev_pid) &&
			    !field_line(buf, "prev_state", &f->prev_state))
				field_line(buf, "next_pid", &f->next_pid);
		}
		line = nl ? nl + 1 : NULL;
	}
	const char *missing = !f->prev_pid.size     ? "prev_pid"
			      : !f->prev_state.size ? "prev_state"
			      : !f->next_pid.size   ? "next_pid"
						    : NULL;
	if (missing) {
		snprintf(err, cap, "no field %s", missing);
		return -1;
	}
	if (!preempt_bit(text, &f->preempt_bit)) {
		/* TASK_REPORT_MAX of today's kernels. */
		f->preempt_bit = 0x100;
		f->preempt_guessed = true;
	}
	return 0;
}

/* Where tracefs is: its mounts, debugfs's tracing/, the usual paths. */
static size_t tracefs_dirs(char dirs[][PATH_MAX], size_t max)
{
	size_t n = 0;
	FILE *m = fopen("/proc/self/mounts", "re");
	char line[PATH_MAX + 256];
	while (m && n + 2 < max && fgets(line, sizeof(line), m)) {
		char dev[256], dir[PATH_MAX], type[64];
		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) != 3)
			continue;
		if (!strcmp(type, "tracefs"))
			snprintf(dirs[n++], PATH_MAX, "%s", dir);
		else if (!strcmp(type, "debugfs"))
			snprintf(dirs[n++], PATH_MAX, "%.4000s/tracing", dir);
	}
	if (m)
		fclose(m);
	snprintf(dirs[n++], PATH_MAX, "/sys/kernel/tracing");
	snprintf(dirs[n++], PATH_MAX, "/sys/kernel/debug/tracing");
	return n;
}

int offcpu_format_load(struct offcpu_format *f, char *err, size_t cap)
{
	char dirs[16][PATH_MAX];
	size_t n = tracefs_dirs(dirs, 16);
	int denied = 0;
	const char *denied_path = NULL;
	bool mounted = false;
	char path[PATH_MAX + 64];
	for (size_t i = 0; i < n; i++) {
		char probe[PATH_MAX + 16];
		snprintf(probe, sizeof(probe), "%s/events", dirs[i]);
		if (access(probe, F_OK) == 0)
			mounted = true;
		snprintf(path, sizeof(path), "%s/events/sched/sched_switch/format", dirs[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if ((errno == EACCES || errno == EPERM) && !denied) {
				denied = errno;
				denied_path = dirs[i];
			}
			continue;
		}
		char text[16384];
		size_t len = 0;
		ssize_t r;
		while (len + 1 < sizeof(text) &&
		       (r = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
			len += (size_t)r;
		close(fd);
		text[len] = '\0';
		char why[128];
		if (offcpu_format_parse(text, f, why, sizeof(why)) != 0) {
			snprintf(err, cap, "cannot record off-CPU time: %s is not a sched_switch "
				 "format this oneprof understands (%s); record without --off-cpu",
				 path, why);
			return -1;
		}
		return 0;
	}
	if (denied)
		snprintf(err, cap, "cannot record off-CPU time: cannot read the sched:sched_switch "
			 "tracepoint's format under %s: %s; run as root (tracefs is readable by "
			 "root only), or record without --off-cpu", denied_path, strerror(denied));
	else if (!mounted)
		snprintf(err, cap, "cannot record off-CPU time: tracefs is not mounted (no "
			 "/sys/kernel/tracing/events), so the sched:sched_switch tracepoint cannot "
			 "be found; mount it with 'mount -t tracefs nodev /sys/kernel/tracing' as "
			 "root, or record without --off-cpu");
	else
		snprintf(err, cap, "cannot record off-CPU time: this kernel has no "
			 "sched:sched_switch tracepoint (no events/sched/sched_switch in tracefs); a "
			 "kernel with CONFIG_TRACEPOINTS and CONFIG_PERF_EVENTS is needed, or record "
			 "without --off-cpu");
	return -1;
}

static int64_t field_value(const uint8_t *raw, size_t len, struct offcpu_field fl, bool *ok)
{
	if ((size_t)fl.offset + fl.size > len) {
		*ok = false;
		return 0;
	}
	const uint8_t *p = raw + fl.offset;
	switch (fl.size) {
	case 1:
		return (int8_t)p[0];
	case 2: {
		int16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		int32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	case 8: {
		int64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	default:
		*ok = false;
		return 0;
	}
}

bool offcpu_decode(const struct offcpu_format *f, const uint8_t *raw, size_t len,
		   struct offcpu_switch *out)
{
	bool ok = true;
	out->prev_pid = (int32_t)field_value(raw, len, f->prev_pid, &ok);
	out->prev_state = field_value(raw, len, f->prev_state, &ok);
	out->next_pid = (int32_t)field_value(raw, len, f->next_pid, &ok);
	return ok;
}

/* prev_state's bits below the preemption bit are one task state each
 * (since 4.14 a single bit of TASK_REPORT; before, the task's state
 * word, where the same low bits mean the same): 1 S, 2 D, 4 T, 8 t,
 * 0x10 X (dead), 0x20 Z (zombie), 0x40 P (parked), 0x80 I (an idle kernel
 * thread, where 0x100 is the preemption bit). */
unsigned offcpu_state(const struct offcpu_format *f, int64_t prev_state)
{
	uint64_t v = (uint64_t)prev_state;
	if (v & f->preempt_bit)
		return CAPTURE_STATE_RUNNING; /* preempted: runnable all along */
	v &= f->preempt_bit - 1;
	if (!v)
		return CAPTURE_STATE_RUNNING; /* left while runnable (yield) */
	if (v & 0x30)
		return OFFCPU_STATE_EXITED;
	if (v & 0x2)
		return CAPTURE_STATE_DISK;
	if (v & 0x1)
		return CAPTURE_STATE_SLEEPING;
	if ((v & 0x80) && f->preempt_bit == 0x100)
		return CAPTURE_STATE_SLEEPING; /* I: idle, like S but not counted in load */
	return CAPTURE_STATE_OTHER;
}

void offcpu_attr(struct perf_event_attr *attr, const struct offcpu_format *f, bool per_task,
		 bool enable_on_exec)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->type = PERF_TYPE_TRACEPOINT;
	attr->config = f->id;
	/* Every switch. With a fixed period and PERIOD in the sample the
	 * kernel takes the path that never throttles (a switch lost to
	 * throttling would leave an interval without its end). The fields
	 * before RAW are the cpu-clock samples', so the session times both
	 * kinds alike. */
	attr->sample_period = 1;
	attr->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			    PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN |
			    PERF_SAMPLE_RAW;
	attr->sample_id_all = 1;
	attr->disabled = 1;
	attr->use_clockid = 1;
	attr->clockid = CLOCK_MONOTONIC;
	attr->inherit = per_task;
	attr->context_switch = 1; /* switch-in records: see the top */
	attr->enable_on_exec = enable_on_exec;
}

void offcpu_open_error(int err, const struct offcpu_format *f, const char *what, char *msg,
		       size_t cap)
{
	switch (err) {
	case EACCES:
	case EPERM:
		snprintf(msg, cap,
			 "cannot record off-CPU time of %s: permission denied for the "
			 "sched:sched_switch tracepoint (its raw data needs root or CAP_PERFMON; "
			 "kernel.perf_event_paranoid is %ld, -1 allows it to everyone); run as root, "
			 "or record without --off-cpu", what,
			 perf_sysctl("/proc/sys/kernel/perf_event_paranoid", 99));
		break;
	case ENOENT:
	case EINVAL:
	case EOPNOTSUPP:
		snprintf(msg, cap,
			 "cannot record off-CPU time of %s: the kernel refused the sched:sched_switch "
			 "tracepoint event (id %u): %s; a kernel with tracepoint support in perf "
			 "(CONFIG_TRACEPOINTS, CONFIG_PERF_EVENTS) is needed, or record without "
			 "--off-cpu", what, f->id, strerror(err));
		break;
	default: {
		char inner[512];
		perf_open_error(err, what, inner, sizeof(inner));
		snprintf(msg, cap, "off-CPU tracepoint: %s", inner);
		break;
	}
	}
}

/* --- the tracker --- */

struct open_interval {
	int32_t tid, pid;
	bool open;
	uint8_t state;
	uint64_t since; /* CLOCK_MONOTONIC */
	uint64_t stack;
};

struct offcpu {
	struct offcpu_format f;
	pid_t self;
	/* One entry per thread seen, for good (threads are few next to
	 * the records), found by tid. */
	struct open_interval *threads;
	size_t nthreads, cap_threads;
	struct intmap by_tid;
	uint64_t *cpu_last; /* by CPU: the time of the last switch seen there */
	size_t ncpu_last;
};

struct offcpu *offcpu_new(const struct offcpu_format *f, pid_t self)
{
	struct offcpu *o = xcalloc(1, sizeof(*o));
	o->f = *f;
	o->self = self;
	return o;
}

void offcpu_free(struct offcpu *o)
{
	if (!o)
		return;
	free(o->threads);
	intmap_free(&o->by_tid);
	free(o->cpu_last);
	free(o);
}

static struct open_interval *find(struct offcpu *o, int32_t tid, bool add)
{
	if (tid <= 0)
		return NULL;
	uint32_t i = intmap_get(&o->by_tid, tid);
	if (i)
		return &o->threads[i - 1];
	if (!add)
		return NULL;
	GROW(o->threads, o->cap_threads, o->nthreads + 1);
	struct open_interval *s = &o->threads[o->nthreads++];
	memset(s, 0, sizeof(*s));
	s->tid = tid;
	intmap_put(&o->by_tid, tid, (uint32_t)o->nthreads);
	return s;
}

static void switch_in(struct offcpu *o, struct collect *c, int32_t tid, uint64_t time)
{
	struct open_interval *s = find(o, tid, false);
	/* Earlier than the switch-out: the other report of a switch-in
	 * already closed, read after the thread left again. */
	if (!s || !s->open || time < s->since)
		return;
	s->open = false;
	collect_write_off_cpu(c, s->since, tid, s->stack, time > s->since ? time - s->since : 0,
			      s->state);
}

/* Reads the fields of a sample as offcpu_attr asks for them. */
static void on_switch_sample(struct offcpu *o, struct collect *c, const struct perf_event_header *h)
{
	struct collect_stats *st = collect_stats_mut(c);
	struct rd r = { (const uint8_t *)(h + 1), (const uint8_t *)h + h->size, false };
	uint64_t ip = rd_u64(&r);
	uint32_t pid = rd_u32(&r), tid = rd_u32(&r);
	uint64_t time = rd_u64(&r);
	uint32_t cpu = rd_u32(&r);
	rd_u32(&r); /* res */
	rd_u64(&r); /* period */
	uint64_t nr = rd_u64(&r);
	const uint8_t *chain = r.p;
	if (r.bad || nr > (uint64_t)(r.end - r.p) / 8) {
		st->bad_records++;
		return;
	}
	r.p += nr * 8;
	uint32_t raw_size = rd_u32(&r);
	struct offcpu_switch sw;
	if (r.bad || raw_size > (uint64_t)(r.end - r.p) ||
	    !offcpu_decode(&o->f, r.p, raw_size, &sw)) {
		st->bad_records++;
		return;
	}
	switch_in(o, c, sw.next_pid, time);
	uint64_t cpu_last = 0;
	if (cpu < OFFCPU_MAX_CPUS) {
		if (cpu >= o->ncpu_last) {
			size_t n = (size_t)cpu + 1;
			o->cpu_last = xrealloc(o->cpu_last, n * sizeof(*o->cpu_last));
			memset(o->cpu_last + o->ncpu_last, 0, (n - o->ncpu_last) * sizeof(*o->cpu_last));
			o->ncpu_last = n;
		}
		cpu_last = o->cpu_last[cpu];
		o->cpu_last[cpu] = time;
	}
	if (tid == 0 || (o->self && (pid_t)pid == o->self))
		return; /* the idle task, or the collector itself */
	unsigned state = offcpu_state(&o->f, sw.prev_state);
	struct open_interval *s = find(o, (int32_t)tid, state != OFFCPU_STATE_EXITED);
	if (!s)
		return;
	if (s->open) {
		st->off_cpu_unpaired++;
		if (cpu_last > s->since && cpu_last <= time)
			switch_in(o, c, (int32_t)tid, cpu_last);
	}
	s->open = false;
	if (state == OFFCPU_STATE_EXITED)
		return;
	s->pid = (int32_t)pid;
	s->since = time;
	s->state = (uint8_t)state;
	s->stack = collect_stack(c, (pid_t)pid, (pid_t)tid, time, ip, chain, nr, NULL);
	s->open = true;
}

void offcpu_record(struct offcpu *o, struct collect *c, const struct perf_event_header *h)
{
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		on_switch_sample(o, c, h);
		break;
	case PERF_RECORD_SWITCH:
	case PERF_RECORD_SWITCH_CPU_WIDE:
		/* sample_id_all's trailer: pid/tid, time, cpu/res. */
		if (!(h->misc & PERF_RECORD_MISC_SWITCH_OUT) && h->size >= sizeof(*h) + 24) {
			const uint8_t *t = (const uint8_t *)h + h->size - 24;
			uint32_t tid;
			uint64_t time;
			memcpy(&tid, t + 4, 4);
			memcpy(&time, t + 8, 8);
			switch_in(o, c, (int32_t)tid, time);
		}
		break;
	default:
		collect_record(c, h); /* LOST and the like count as the others' */
		break;
	}
}

void offcpu_finish(struct offcpu *o, struct collect *c, uint64_t end_ns)
{
	struct collect_stats *st = collect_stats_mut(c);
	for (size_t i = 0; i < o->nthreads; i++) {
		struct open_interval *s = &o->threads[i];
		if (!s->open)
			continue;
		s->open = false;
		if (s->since >= end_ns)
			continue;
		collect_write_off_cpu(c, s->since, s->tid, s->stack, end_ns - s->since, s->state);
		st->off_cpu_open++;
	}
}
