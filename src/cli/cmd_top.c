/* oneprof top: a live view of the hottest functions of running processes
 * or of the whole machine, refreshed every interval.
 *
 * One pipeline with record and report (doc/design/top.md): the perf_event
 * collector runs on a thread of its own and writes its capture into a
 * pipe; this thread reads the capture as it arrives into the live model
 * (model/live.h), and each interval takes the interval's samples as a
 * profile, resolves it with one symbolizer kept for the whole session
 * (its module, symbol and DWARF caches stay warm) and prints it with
 * report --top's own report. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../agent/procfs.h"
#include "../capture/reader.h"
#include "../collect/collect.h"
#include "../model/live.h"
#include "../report/report.h"
#include "../symbolize/symbolize.h"
#include "../util/util.h"
#include "cli.h"

const char cmd_top_help[] =
	"usage: oneprof top -p PID[,PID...] [options]\n"
	"       oneprof top --system [options]\n"
	"\n"
	"Shows the hottest functions of running processes (-p) or of every CPU\n"
	"(--system), refreshed every interval: what 'oneprof report --top' shows\n"
	"for the samples of the last interval, with each function's samples and\n"
	"process, under a header of each process's CPU use, memory and threads and\n"
	"the collector's lost and throttled counts. Samples are taken from outside\n"
	"with perf_event, as 'oneprof record -p/--system' takes them. On a terminal\n"
	"the view is redrawn in place ('q' or Ctrl-C quits); otherwise one block is\n"
	"printed per interval.\n"
	"\n"
	"  -p, --pid PID[,PID...] the processes to watch (and the threads and\n"
	"                         processes they start)\n"
	"  -a, --system           every CPU of the machine\n"
	"  -F, --freq, --hz HZ    samples per second per CPU or thread (1-10000,\n"
	"                         default 99)\n"
	"  -i, --interval S       seconds between refreshes (0.1-3600, default 1)\n"
	"  -n, --iterations N     stop after N refreshes (default: until 'q', Ctrl-C\n"
	"                         or every target exited)\n"
	"  -s, --sort flat|cum    order functions by flat (default) or cumulative time\n"
	"      --cumulative       every sample since the start, not the last interval\n"
	"      --threads          a table of the busiest threads under the functions\n"
	"      --lines            rows are source lines (function file:line)\n"
	"  -N, --rows N           function rows (default: what fits the terminal; 20\n"
	"                         when not a terminal)\n"
	"      --procs N          processes in the header (default 5)\n"
	"      --ring-pages N     kernel ring per CPU, in pages (a power of two,\n"
	"                         default 64); lost records are counted and shown\n";

/* Rows when stdout is no terminal, and the least on a small one. */
#define TOP_DEFAULT_ROWS 20u
#define TOP_MIN_ROWS 5u
#define TOP_DEFAULT_PROCS 5u
#define TOP_MAX_PROCS 1000u
/* How often the collector cuts a chunk into the pipe: the view is at
 * most this late. */
#define TOP_FLUSH_NS 100000000ull

struct top_options {
	struct collect_options co;
	pid_t pids[COLLECT_MAX_PIDS];
	double interval;
	unsigned long iterations, rows, procs;
	bool cumulative, threads, tty;
	struct report_options ro;
};

/* The collector's thread and what it ended with. */
struct collector {
	struct collect_options o;
	atomic_bool stop;
	int rc;
	char err[1024];
	struct collect_stats st;
	int wfd;
};

static void *collector_main(void *arg)
{
	struct collector *c = arg;
	c->o.stop = &c->stop;
	c->rc = collect_run(&c->o, &c->st, c->err, sizeof(c->err));
	close(c->wfd); /* the reader sees the end */
	return NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- the header: processes from /proc --- */

/* The CPU time of a process at the last refresh, for its CPU %. */
struct cpu_seen {
	uint64_t pid, cpu_ns, at_ns;
};

struct header_state {
	struct cpu_seen *seen;
	size_t nseen, cap_seen;
	uint64_t lost_last, throttled_last;
};

static double cpu_pct(struct header_state *h, uint64_t pid, const struct procfs_process *pp,
		      uint64_t now)
{
	uint64_t cpu = pp->user_ns + pp->system_ns;
	for (size_t i = 0; i < h->nseen; i++) {
		struct cpu_seen *s = &h->seen[i];
		if (s->pid != pid)
			continue;
		double pct = now > s->at_ns && cpu >= s->cpu_ns
				     ? 100.0 * (double)(cpu - s->cpu_ns) / (double)(now - s->at_ns)
				     : -1;
		s->cpu_ns = cpu;
		s->at_ns = now;
		return pct;
	}
	GROW(h->seen, h->cap_seen, h->nseen + 1);
	h->seen[h->nseen++] = (struct cpu_seen){ pid, cpu, now };
	return -1; /* first sight: no interval yet */
}

static int by_samples_desc(const void *a, const void *b, void *arg)
{
	const uint64_t *samples = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (samples[x] != samples[y])
		return samples[x] < samples[y] ? 1 : -1;
	return x < y ? -1 : x > y;
}

static void print_process(FILE *out, struct header_state *h, uint64_t pid, const char *name,
			  uint64_t samples, uint64_t now)
{
	struct procfs_process pp;
	procfs_read_process((pid_t)pid, &pp, NULL, 0);
	if (!(pp.have & PROCFS_STAT)) {
		fprintf(out, "  %8" PRIu64 "  %-16.16s %7s %10s %7s %8" PRIu64 "  (exited)\n", pid,
			name, "-", "-", "-", samples);
		return;
	}
	double pct = cpu_pct(h, pid, &pp, now);
	char cpu[16] = "-", rss[32];
	if (pct >= 0)
		snprintf(cpu, sizeof(cpu), "%.1f%%", pct);
	report_format_bytes(rss, sizeof(rss), (double)pp.resident_bytes);
	fprintf(out, "  %8" PRIu64 "  %-16.16s %7s %10s %7" PRIu64 " %8" PRIu64 "\n", pid, name,
		cpu, rss, pp.threads, samples);
}

/* Processes: the -p targets, or the busiest of the interval. */
static void print_processes(FILE *out, const struct top_options *t, struct header_state *h,
			    const struct profile *q, uint64_t now)
{
	uint64_t *samples, *ns;
	profile_process_totals(q, &samples, &ns);
	fprintf(out, "  %8s  %-16s %7s %10s %7s %8s\n", "pid", "process", "CPU", "RSS", "threads",
		"samples");
	if (t->co.mode == COLLECT_PIDS) {
		for (size_t i = 0; i < t->co.npids && i < t->procs; i++) {
			uint64_t pid = (uint64_t)t->pids[i], n = 0;
			const char *name = "?";
			for (size_t k = 0; k < q->nprocesses; k++) {
				if (q->processes[k].pid != pid)
					continue;
				name = q->processes[k].name;
				n += samples[k];
			}
			print_process(out, h, pid, name, n, now);
		}
	} else {
		size_t *order = xmalloc((q->nprocesses + 1) * sizeof(size_t)), n = 0;
		for (size_t k = 0; k < q->nprocesses; k++)
			if (samples[k])
				order[n++] = k;
		qsort_r(order, n, sizeof(size_t), by_samples_desc, samples);
		for (size_t i = 0; i < n && i < t->procs; i++)
			print_process(out, h, q->processes[order[i]].pid, q->processes[order[i]].name,
				      samples[order[i]], now);
		if (n > t->procs)
			fprintf(out, "  ... and %zu more processes\n", n - t->procs);
		free(order);
	}
	free(samples);
	free(ns);
}

/* The collector's lost and throttled counts, from its LOST records. */
static void lost_counts(const struct profile *s, uint64_t *lost, uint64_t *throttled)
{
	*lost = *throttled = 0;
	for (size_t i = 0; i < s->nlost; i++) {
		if (s->lost[i].source != CAPTURE_LOST_CPU_SAMPLE)
			continue;
		if (s->lost[i].reason == CAPTURE_LOST_THROTTLED)
			*throttled += s->lost[i].count;
		else
			*lost += s->lost[i].count;
	}
}

/* --- one refresh --- */

struct view {
	const struct top_options *t;
	struct profile_live *live;
	struct symbolizer *sym;
	struct header_state h;
	unsigned refresh;
	uint64_t last_ns, resolve_ns;
};

static void show(struct view *v, uint64_t now)
{
	const struct top_options *t = v->t;
	FILE *out = cli_out;
	struct profile *q = profile_live_take(v->live, t->cumulative);
	uint64_t r0 = mono_ns();
	profile_resolve(q, v->sym);
	v->resolve_ns = mono_ns() - r0;
	/* The threads' CPU time as sampled in the interval (the report's
	 * CPU and rate columns). */
	for (size_t i = 0; i < q->nthreads; i++)
		q->threads[i].cpu_ns = q->threads[i].sampled_cpu_ns;
	v->refresh++;
	double secs = (double)(now - v->last_ns) / 1e9;
	v->last_ns = now;

	struct report_options ro = t->ro;
	ro.color = t->tty && report_use_color();
	ro.width = report_term_width();
	unsigned height = t->tty ? report_term_height() : 0;
	size_t header_lines = 5 + (t->co.mode == COLLECT_PIDS ? t->co.npids : t->procs);
	if (t->rows)
		ro.nodecount = t->rows;
	else if (height)
		ro.nodecount = height > header_lines + TOP_MIN_ROWS + 4 ? height - header_lines - 5
									 : TOP_MIN_ROWS;
	else
		ro.nodecount = TOP_DEFAULT_ROWS;

	if (t->tty)
		fputs("\033[H\033[2J", out);
	time_t wall = time(NULL);
	char clock[16];
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&wall));
	const struct profile *s = profile_live_stream(v->live);
	uint64_t lost, throttled;
	lost_counts(s, &lost, &throttled);
	char took[32];
	report_format_ns(took, sizeof(took), (double)v->resolve_ns);
	fprintf(out, "%s=== oneprof top %s  refresh %u  %s %.2fs  %" PRIu64 " samples ===%s\n",
		ro.color ? "\033[1m" : "", clock, v->refresh,
		t->cumulative ? "cumulative, last" : "interval", secs, q->total_count,
		ro.color ? "\033[0m" : "");
	fprintf(out, "collector: %s at %u Hz, lost %" PRIu64 " (+%" PRIu64 "), throttled %" PRIu64
		" (+%" PRIu64 "), symbolized in %s\n",
		t->co.mode == COLLECT_SYSTEM ? "every CPU" : "the processes' threads", t->co.hz,
		lost, lost - v->h.lost_last, throttled, throttled - v->h.throttled_last, took);
	v->h.lost_last = lost;
	v->h.throttled_last = throttled;
	print_processes(out, t, &v->h, q, now);
	report_top(q, out, &ro);
	if (t->threads) {
		fprintf(out, "\nThreads:\n");
		report_threads(q, out, ro.nodecount);
	}
	if (!t->tty)
		fputc('\n', out);
	fflush(out);
	profile_free(q);
}

/* --- the terminal --- */

static struct termios saved_tio;
static bool tio_saved;

static void tty_raw(void)
{
	if (tcgetattr(STDIN_FILENO, &saved_tio) != 0)
		return;
	struct termios raw = saved_tio;
	/* Keys one at a time, unechoed; Ctrl-C still signals. */
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		tio_saved = true;
	fputs("\033[?25l", cli_out); /* cursor hidden while drawing */
}

static void tty_restore(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	tio_saved = false;
	fputs("\033[?25h", cli_out);
	fflush(cli_out);
}

/* --- the loop --- */

/* Reads the capture until the next refresh is due (true), the stream
 * ended (false, *ended), or 'q' was pressed (false). */
static bool read_until(struct view *v, struct capture_reader *r, int fd, uint64_t due,
		       bool *ended)
{
	struct capture_record rec;
	for (;;) {
		if (capture_reader_pending(r)) {
			if (capture_reader_next(r, &rec) && !profile_live_add(v->live, &rec))
				capture_reader_fail(r, "malformed record");
			continue;
		}
		/* Past due (a slow refresh), what is in the pipe already is
		 * still read: it belongs to this interval. */
		uint64_t now = mono_ns();
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
					 { .fd = v->t->tty ? STDIN_FILENO : -1, .events = POLLIN } };
		int ms = now >= due ? 0 : (int)((due - now + 999999) / 1000000);
		int n = poll(pfd, 2, ms);
		if (n < 0 && errno != EINTR)
			return true;
		if (n <= 0 && mono_ns() >= due)
			return true;
		if (pfd[1].revents & POLLIN) {
			char key;
			if (read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q'))
				return false;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			/* A chunk is arriving: the read waits for the rest of it only. */
			if (!capture_reader_next(r, &rec)) {
				*ended = true;
				return false;
			}
			if (!profile_live_add(v->live, &rec))
				capture_reader_fail(r, "malformed record");
		}
	}
}

static int run(struct top_options *t)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		cli_error("top: cannot create a pipe: %s", strerror(errno));
		return 1;
	}
	struct collector *c = xcalloc(1, sizeof(*c));
	c->o = t->co;
	c->o.use_fd = true;
	c->o.fd = pfd[1];
	c->o.flush_ns = TOP_FLUSH_NS;
	c->wfd = pfd[1];
	atomic_init(&c->stop, false);
	pthread_t th;
	int e = pthread_create(&th, NULL, collector_main, c);
	if (e) {
		cli_error("top: cannot start the collector thread: %s", strerror(e));
		close(pfd[0]);
		close(pfd[1]);
		free(c);
		return 1;
	}
	/* Ctrl-C and SIGTERM go to the collector's thread: it stops, the
	 * pipe ends, and this thread finishes. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	FILE *f = fdopen(pfd[0], "rb");
	/* Unbuffered: the reader reads exactly a chunk, so poll() on the
	 * pipe tells whether the next one has begun. */
	setvbuf(f, NULL, _IONBF, 0);
	char err[512];
	struct capture_reader *r = capture_reader_open(f, "(live)", err, sizeof(err));
	int rc = 0;
	struct view v = { .t = t };
	if (r) {
		v.live = profile_live_new(capture_reader_header(r), "(live)");
		v.sym = sym_new_with(cli_symbol_options());
		if (t->tty)
			tty_raw();
		/* The first interval begins with the collector's first chunk:
		 * before it samples, the collector reads /proc and kallsyms. */
		struct pollfd first = { .fd = pfd[0], .events = POLLIN };
		while (poll(&first, 1, -1) < 0 && errno == EINTR)
			;
		uint64_t step = (uint64_t)(t->interval * 1e9), due = mono_ns() + step;
		v.last_ns = mono_ns();
		/* The targets' CPU time now, so the first refresh has a CPU %. */
		for (size_t i = 0; t->co.mode == COLLECT_PIDS && i < t->co.npids; i++) {
			struct procfs_process pp;
			procfs_read_process(t->pids[i], &pp, NULL, 0);
			cpu_pct(&v.h, (uint64_t)t->pids[i], &pp, v.last_ns);
		}
		bool ended = false;
		for (unsigned long i = 0; !t->iterations || i < t->iterations; i++) {
			if (!read_until(&v, r, pfd[0], due, &ended))
				break;
			show(&v, mono_ns());
			/* A refresh that overran its interval (a cold symbolizer)
			 * moves the next one: each shows a whole interval. */
			uint64_t now = mono_ns();
			due = due + step > now ? due + step : now + step;
		}
		if (t->tty)
			tty_restore();
		atomic_store(&c->stop, true);
		/* The collector writes its end into the pipe: read it all. */
		struct capture_record rec;
		while (capture_reader_next(r, &rec))
			;
		/* The stream also ends at Ctrl-C: say so only when it was the
		 * targets' end. */
		bool any = false;
		for (size_t i = 0; i < t->co.npids && !any; i++) {
			struct procfs_process pp;
			procfs_read_process(t->pids[i], &pp, NULL, 0);
			any = (pp.have & PROCFS_STAT) && pp.state != 'Z' && pp.state != 'X';
		}
		if (ended && c->rc == 0 && t->co.mode == COLLECT_PIDS && !any)
			fprintf(cli_err, "oneprof: top: every process watched has exited\n");
		capture_reader_free(r);
	}
	fclose(f);
	pthread_join(th, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (c->rc != 0) {
		cli_error("top: %s", c->err);
		rc = c->rc;
	} else if (!r) {
		cli_error("top: the collector's capture cannot be read: %s", err);
		rc = 1;
	} else {
		if (c->st.kernel_excluded)
			cli_warn("kernel frames left out: the kernel allows user frames only "
				 "(kernel.perf_event_paranoid is %ld); run as root or with "
				 "CAP_PERFMON for kernel frames",
				 perf_sysctl("/proc/sys/kernel/perf_event_paranoid", 0));
		if (c->st.lost)
			cli_warn("the kernel's perf ring overflowed: %" PRIu64 " records lost; raise "
				 "--ring-pages (now %u) or lower -F", c->st.lost, t->co.ring_pages);
		if (c->st.throttled)
			cli_warn("the kernel throttled sampling %" PRIu64 " time%s: samples are "
				 "missing there; lower -F", c->st.throttled,
				 c->st.throttled > 1 ? "s" : "");
	}
	if (v.live) {
		profile_live_free(v.live);
		sym_free(v.sym);
		free(v.h.seen);
	}
	free(c);
	return rc;
}

static bool parse_seconds(const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	if (*end || end == arg || !(v >= 0.1 && v <= 3600)) {
		cli_error("top: --interval '%s' is not a number of seconds from 0.1 to 3600 "
			  "(like 1 or 0.5)", arg);
		return false;
	}
	*out = v;
	return true;
}

enum {
	OPT_CUMULATIVE = 0x7401,
	OPT_THREADS,
	OPT_LINES,
	OPT_PROCS,
	OPT_RING_PAGES,
};

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "system", no_argument, NULL, 'a' },
		{ "freq", required_argument, NULL, 'F' },
		{ "hz", required_argument, NULL, 'F' },
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "rows", required_argument, NULL, 'N' },
		{ "cumulative", no_argument, NULL, OPT_CUMULATIVE },
		{ "threads", no_argument, NULL, OPT_THREADS },
		{ "lines", no_argument, NULL, OPT_LINES },
		{ "procs", required_argument, NULL, OPT_PROCS },
		{ "ring-pages", required_argument, NULL, OPT_RING_PAGES },
		{ "help", no_argument, NULL, 'h' },
		CLI_SYMBOL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct top_options *t = xcalloc(1, sizeof(*t));
	t->co.hz = 99;
	t->co.ring_pages = COLLECT_DEFAULT_RING_PAGES;
	t->interval = 1.0;
	t->procs = TOP_DEFAULT_PROCS;
	t->ro.kind = REPORT_TOP;
	t->ro.procs = true;
	const char *pids = NULL;
	bool system = false;
	unsigned long v;
	int c, rc = 2;
	while ((c = getopt_long(argc, argv, "p:aF:i:n:s:N:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pids = optarg;
			break;
		case 'a':
			system = true;
			break;
		case 'F':
			if (!cli_parse_uint(optarg, 1, 10000, &v)) {
				cli_error("top: -F '%s' is not a rate from 1 to 10000 samples per second",
					  optarg);
				goto out;
			}
			t->co.hz = (unsigned)v;
			break;
		case 'i':
			if (!parse_seconds(optarg, &t->interval))
				goto out;
			break;
		case 'n':
			if (!cli_parse_uint(optarg, 1, 1000000000, &t->iterations)) {
				cli_error("top: --iterations '%s' is not a number from 1 up", optarg);
				goto out;
			}
			break;
		case 's':
			if (!strcmp(optarg, "flat") || !strcmp(optarg, "cum")) {
				t->ro.sort_cum = !strcmp(optarg, "cum");
			} else {
				cli_error("top: --sort '%s' is not a sort order; give flat or cum", optarg);
				goto out;
			}
			break;
		case 'N':
			if (!cli_parse_uint(optarg, 1, 1000000, &t->rows)) {
				cli_error("top: --rows '%s' is not a number from 1 up", optarg);
				goto out;
			}
			break;
		case OPT_CUMULATIVE:
			t->cumulative = true;
			break;
		case OPT_THREADS:
			t->threads = true;
			break;
		case OPT_LINES:
			t->ro.lines = true;
			break;
		case OPT_PROCS:
			if (!cli_parse_uint(optarg, 1, TOP_MAX_PROCS, &t->procs)) {
				cli_error("top: --procs '%s' is not a number from 1 to %u", optarg,
					  TOP_MAX_PROCS);
				goto out;
			}
			break;
		case OPT_RING_PAGES:
			if (!cli_ring_pages("top", optarg, &t->co.ring_pages))
				goto out;
			break;
		case 'h':
			fputs(cmd_top_help, cli_out);
			fputs(cli_symbol_help, cli_out);
			rc = 0;
			goto out;
		default:
			if (!cli_symbol_option(c, optarg, cmd_top_help))
				goto out;
			break;
		}
	}
	if (optind < argc) {
		cli_error("top: unexpected argument '%s'; usage: oneprof top -p PID[,PID...] | "
			  "--system [options]", argv[optind]);
		goto out;
	}
	if (!!pids + system != 1) {
		cli_error("top: %s; usage: oneprof top -p PID[,PID...] | --system [options]",
			  pids ? "-p and --system exclude each other"
			       : "what to watch? give -p PID or --system");
		goto out;
	}
	if (pids) {
		if (!cli_pid_list("top", pids, t->pids, &t->co.npids))
			goto out;
		t->co.pids = t->pids;
		t->co.mode = COLLECT_PIDS;
	} else {
		t->co.mode = COLLECT_SYSTEM;
	}
	t->tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && cli_out == stdout;
	rc = run(t);
out:
	free(t);
	return rc;
}
