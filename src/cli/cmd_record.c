/* oneprof record: run a command with the agent preloaded and report what
 * was captured. The program's stdin, stdout, stderr, environment (plus the
 * ONEPROF_* settings and LD_PRELOAD) and exit status are passed through. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../collect/collect.h"
#include "../model/profile.h"
#include "../agent/httpd.h"
#include "../agent/interval.h"
#include "../report/report.h"
#include "../util/util.h"
#include "cli.h"

const char cmd_record_help[] =
	"usage: oneprof record [options] -- COMMAND [ARGS...]\n"
	"       oneprof record -p PID[,PID...] [--duration S] [options]\n"
	"       oneprof record --system [--duration S] [options]\n"
	"       oneprof record --perf [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Runs COMMAND with the oneprof agent preloaded, sampling the CPU time of\n"
	"every thread, and writes a capture. COMMAND's exit status is passed through.\n"
	"With -p, --system or --perf, oneprof samples from outside with perf_event\n"
	"instead (no agent: running processes, static binaries, the whole machine).\n"
	"\n"
	"  -F, --freq, --hz HZ    samples per second per thread (1-10000, default 99)\n"
	"  -o, --output FILE      capture to write (default oneprof.opf)\n"
	"      --max-depth N      most frames kept per stack (1-1024, default 128)\n"
	"      --wall             sample wall-clock time: blocked threads too, with\n"
	"                         their state (running, sleeping, waiting for I/O)\n"
	"      --no-follow-fork   forked children that do not exec run unprofiled\n"
	"      --no-inherit       programs COMMAND execs run without the agent\n"
	"      --paused           start with sampling paused (see --toggle-signal)\n"
	"      --toggle-signal S  signal that pauses and resumes sampling (e.g. USR2)\n"
	"      --heap             track every allocation and free of the malloc family\n"
	"                         with its stack (see 'oneprof report --heap')\n"
	"      --heap-sample[=B]  track a Poisson sample of allocations, one per B bytes\n"
	"                         on average (default 512K; K, M, G suffixes): scaled\n"
	"                         estimates at a fraction of the cost\n"
	"      --spans=MODE       spans the program makes (include/oneprof.h): drop\n"
	"                         (default; a full buffer drops, counted), flight (keep\n"
	"                         the last --span-window seconds, written on a dump and\n"
	"                         at exit) or off\n"
	"      --span-window=S    flight recorder: seconds a dump writes (default 10)\n"
	"      --span-min=TIME    leave out spans shorter than TIME (ns, us, ms, s)\n"
	"      --span-depth=N     deepest span nesting recorded (default 256)\n"
	"      --dump-signal=SIG  signal that makes the flight recorder dump (e.g. USR1)\n"
	"      --metrics-addr=A   serve Prometheus metrics of the program on A: PORT,\n"
	"                         HOST:PORT or [IPV6]:PORT (host default 127.0.0.1;\n"
	"                         port 0 picks a free port, printed on stderr)\n"
	"      --monitor[=INT]    record the process's CPU, memory, faults, context\n"
	"                         switches, threads and fds and the machine's load, CPU\n"
	"                         and memory every INT (default 1s; like 100ms, 2s; see\n"
	"                         'oneprof report --metrics')\n"
	"      --max-overhead=PCT halve the sampling rate whenever the profiler's own CPU\n"
	"                         time passes PCT percent of one core (like 1 or 0.5;\n"
	"                         turns --monitor on)\n"
	"\n"
	"Out-of-process collection (perf_event, software cpu-clock):\n"
	"  -p, --pid PID[,PID...] attach to running processes and their threads (and\n"
	"                         the threads and processes they start)\n"
	"  -a, --system           every CPU of the machine\n"
	"      --perf             run COMMAND without the agent, following its forked\n"
	"                         children and the programs they exec\n"
	"      --duration S       stop after S seconds (like 2 or 0.5); else at Ctrl-C,\n"
	"                         SIGTERM, or when every target exited\n"
	"      --ring-pages N     kernel ring per event, in pages (a power of two,\n"
	"                         default 64); lost records are counted and shown\n"
	"      --off-cpu          also record each stretch a thread spends off its CPU\n"
	"                         (blocked or preempted) with the stack it blocked in,\n"
	"                         from the sched:sched_switch tracepoint (root; tracefs)\n"
	"      --call-graph fp    stacks from frame pointers, walked by the kernel\n"
	"                         (the default)\n"
	"      --call-graph dwarf[,SIZE]  copy SIZE bytes of user stack per sample\n"
	"                         (default 8192, a multiple of 8 up to 65528) and\n"
	"                         unwind them with .eh_frame: whole stacks without\n"
	"                         frame pointers (x86-64)\n"
	"\n"
	"The agent also reads ONEPROF_RING_SIZE (per-thread buffer, default 256K) and\n"
	"ONEPROF_FLUSH_MS (most time samples wait before reaching the file, default 1000)\n"
	"and ONEPROF_HEAP_RING_SIZE (per-thread heap event buffer, default 4M).\n"
	"Other process images (exec'd or forked) write FILE.PID. Statically linked\n"
	"programs cannot be preloaded.\n";

/* The agent: $ONEPROF_AGENT, next to this binary (build tree), or in
 * ../lib next to it (installed). */
static bool find_agent(char *out, size_t len)
{
	const char *env = getenv("ONEPROF_AGENT");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK) == 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, len, "%s/liboneprof.so", self);
	if (access(out, R_OK) == 0)
		return true;
	snprintf(out, len, "%s/../lib/liboneprof.so", self);
	return access(out, R_OK) == 0;
}

/* Resolves COMMAND like execvp would, so a typo is reported before any
 * process starts. */
static int find_command(const char *cmd, char *out, size_t len)
{
	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		struct stat st;
		if (stat(out, &st) != 0)
			return -errno;
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int found_err = -ENOENT;
	while (*path) {
		size_t dlen = strcspn(path, ":");
		snprintf(out, len, "%.*s%s%s", (int)dlen, path, dlen ? "/" : "", cmd);
		struct stat st;
		if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			found_err = -EACCES;
		}
		path += dlen;
		if (*path == ':')
			path++;
	}
	return found_err;
}

/* find_command, saying why it failed: false when COMMAND cannot run. */
static bool command_path(const char *cmd, char *out, size_t len)
{
	int rc = find_command(cmd, out, len);
	if (rc == -ENOENT)
		cli_error("record: command '%s' not found%s; check its name or give its path", cmd,
			  strchr(cmd, '/') ? "" : " in PATH");
	else if (rc != 0)
		cli_error("record: cannot run '%s': %s", cmd, strerror(-rc));
	return rc == 0;
}

/* "250us", "5ms", "1s", "100" (ns): at most 2^40 ns, the agent's bound. */
static bool parse_duration_ns(const char *s, unsigned long long *out)
{
	static const struct { const char *unit; unsigned long long ns; } units[] = {
		{ "", 1 }, { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
	};
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v > (1ull << 40) / units[i].ns)
			return false;
		*out = v * units[i].ns;
		return true;
	}
	return false;
}

/* The agent's ONEPROF_MONITOR syntax (src/agent/config.c): 0, 1, or a
 * number with ms or s, from 10 ms to an hour. */
struct record_options {
	const char *output;
	unsigned long hz, depth;
	bool wall, no_follow_fork, no_inherit, paused, heap;
	const char *toggle_signal;
	const char *heap_sample; /* bytes, as given */
	const char *spans, *span_window, *dump_signal; /* as given */
	const char *metrics_addr;
	const char *monitor, *max_overhead;            /* as given */
	char span_min[32], span_depth[16];
};

static void setup_child_env(const char *agent_path, const struct record_options *o)
{
	char buf[PATH_MAX + 4096], num[32];
	const char *old = getenv("LD_PRELOAD");
	snprintf(buf, sizeof(buf), "%s%s%s", agent_path, old && *old ? " " : "",
		 old ? old : "");
	setenv("LD_PRELOAD", buf, 1);
	setenv("ONEPROF_OUTPUT", o->output, 1);
	snprintf(num, sizeof(num), "%lu", o->hz);
	setenv("ONEPROF_HZ", num, 1);
	if (o->depth) {
		snprintf(num, sizeof(num), "%lu", o->depth);
		setenv("ONEPROF_MAX_DEPTH", num, 1);
	}
	if (o->wall)
		setenv("ONEPROF_WALL", "1", 1);
	if (o->no_follow_fork)
		setenv("ONEPROF_FOLLOW_FORK", "0", 1);
	if (o->no_inherit)
		setenv("ONEPROF_INHERIT", "0", 1);
	if (o->paused)
		setenv("ONEPROF_PAUSED", "1", 1);
	if (o->toggle_signal)
		setenv("ONEPROF_TOGGLE_SIGNAL", o->toggle_signal, 1);
	if (o->heap)
		setenv("ONEPROF_HEAP", "1", 1);
	if (o->heap_sample)
		setenv("ONEPROF_HEAP_SAMPLE", o->heap_sample, 1);
	if (o->monitor)
		setenv("ONEPROF_MONITOR", o->monitor, 1);
	if (o->max_overhead)
		setenv("ONEPROF_MAX_OVERHEAD", o->max_overhead, 1);
	if (o->spans && !strcmp(o->spans, "off"))
		setenv("ONEPROF_SPANS", "0", 1);
	else if (o->spans)
		setenv("ONEPROF_SPAN_MODE", o->spans, 1);
	if (o->span_window)
		setenv("ONEPROF_SPAN_WINDOW", o->span_window, 1);
	if (o->span_min[0])
		setenv("ONEPROF_SPAN_MIN_NS", o->span_min, 1);
	if (o->span_depth[0])
		setenv("ONEPROF_SPAN_MAX_DEPTH", o->span_depth, 1);
	if (o->dump_signal)
		setenv("ONEPROF_DUMP_SIGNAL", o->dump_signal, 1);
	if (o->metrics_addr)
		setenv("ONEPROF_METRICS_ADDR", o->metrics_addr, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("ONEPROF_ROOT_PID", num, 1);
}

/* Other process images write OUTPUT.PID or OUTPUT.PID.N (see
 * doc/oneprof-record.md): name the ones this run wrote. */
static void print_other_captures(const char *output, time_t since)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", output);
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : output;
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	size_t blen = strlen(base);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	size_t n = 0;
	char names[512] = "";
	while ((e = readdir(d))) {
		const char *rest = e->d_name + blen;
		if (strncmp(e->d_name, base, blen) || rest[0] != '.' || rest[1] < '0' ||
		    rest[1] > '9' || strspn(rest + 1, "0123456789.") != strlen(rest + 1))
			continue;
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || st.st_mtime < since)
			continue;
		if (n++ < 4)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 n > 1 ? ", " : "", path);
	}
	closedir(d);
	if (n)
		fprintf(cli_err, "oneprof: %zu more capture%s of other process images: %s%s\n", n,
			n > 1 ? "s" : "", names, n > 4 ? ", ..." : "");
}

static void print_summary(const char *output)
{
	struct stat st;
	if (stat(output, &st) != 0 || st.st_size == 0) {
		cli_warn("no capture was written to '%s': the agent did not start (statically "
			 "linked program, or the program replaced LD_PRELOAD?)", output);
		return;
	}
	char err[512];
	struct record_summary s;
	if (record_summary_read(output, true, &s, err, sizeof(err)) != 0) {
		cli_warn("%s", err);
		return;
	}
	if (s.incomplete)
		cli_warn("%s", s.why);
	if (s.rate_lowered)
		fprintf(stderr, "oneprof: the overhead budget lowered the sampling rate from %" PRIu64
			" Hz to %" PRIu64 " Hz; see 'oneprof report --metrics %s'\n", s.rate_from,
			s.rate_to, output);
	if (s.heap)
		fprintf(cli_err, "oneprof: heap: %.0f allocations and %.0f frees recorded; see "
			"'oneprof report --heap %s'\n", s.heap_allocs, s.heap_frees, output);
	fprintf(cli_err,
		"oneprof: wrote '%s': %" PRIu64 " samples, %zu threads, %.3f s %s, %" PRIu64
		" lost; see 'oneprof report %s'\n",
		output, s.samples, s.threads, (double)s.cpu_ns / 1e9, s.wall ? "wall-clock" : "CPU",
		s.lost, output);
}

/* -p, --system and --perf: the out-of-process collector (src/collect/). */
struct collector_options {
	const char *pids;      /* as given */
	bool system, perf;
	unsigned modes;        /* how many of the three were given */
	uint64_t duration_ns;
	unsigned ring_pages;
	bool off_cpu;
	unsigned dwarf_stack;   /* --call-graph dwarf[,SIZE]; 0: fp */
	const char *agent_only; /* an agent option given, for the error */
};

/* --call-graph fp | dwarf[,SIZE]: *dwarf_stack 0 for fp, else SIZE. */
static int parse_call_graph(const char *arg, unsigned *dwarf_stack)
{
	if (!strcmp(arg, "fp")) {
		*dwarf_stack = 0;
		return 0;
	}
	if (strncmp(arg, "dwarf", 5) || (arg[5] && arg[5] != ',')) {
		cli_error("record: --call-graph %s is not a call-graph mode; use fp (frame "
			  "pointers) or dwarf[,SIZE] (copied stacks, like dwarf or dwarf,16384)",
			  arg);
		return -1;
	}
	unsigned long v = PERF_DWARF_DEFAULT_STACK;
	if (arg[5] && (!cli_parse_uint(arg + 6, PERF_DWARF_MIN_STACK, PERF_DWARF_MAX_STACK, &v) ||
		       v % 8)) {
		cli_error("record: --call-graph %s: the stack size '%s' is not a multiple of 8 "
			  "from %u to %u bytes; give one like dwarf,16384 (default %u)", arg,
			  arg + 6, PERF_DWARF_MIN_STACK, PERF_DWARF_MAX_STACK,
			  PERF_DWARF_DEFAULT_STACK);
		return -1;
	}
	*dwarf_stack = (unsigned)v;
	return 0;
}

static void print_summary(const char *output);

static int record_collector(const struct collector_options *co, const char *output,
			    unsigned long hz, int ncmd, char **cmd)
{
	if (co->off_cpu && co->modes == 0) {
		cli_error("record: --off-cpu needs the perf_event collector (-p PID, --system or "
			  "--perf -- COMMAND); with the agent, --wall samples blocked threads");
		return 2;
	}
	if (co->modes != 1) {
		cli_error("record: %s; choose one of -p PID, --system or --perf -- COMMAND",
			  co->modes ? "-p, --system and --perf exclude each other"
				    : "--duration needs -p PID or --system");
		return 2;
	}
	if (co->agent_only) {
		cli_error("record: %s needs the in-process agent; drop it, or record with "
			  "'oneprof record -- COMMAND' instead of -p/--system/--perf",
			  co->agent_only);
		return 2;
	}
	if (co->perf && ncmd == 0) {
		cli_error("record: --perf needs a command; usage: oneprof record --perf -- COMMAND "
			  "[ARGS...]");
		return 2;
	}
	if (!co->perf && ncmd > 0) {
		cli_error("record: %s takes no command ('%s' given); to profile a new command use "
			  "--perf -- COMMAND", co->system ? "--system" : "-p", cmd[0]);
		return 2;
	}
	pid_t pids[COLLECT_MAX_PIDS];
	struct collect_options o = {
		.hz = (unsigned)hz,
		.ring_pages = co->ring_pages,
		.duration_ns = co->duration_ns,
		.output = output,
		.off_cpu = co->off_cpu,
		.dwarf_stack = co->dwarf_stack,
	};
	char cmd_path[PATH_MAX];
	if (co->pids) {
		if (!cli_pid_list("record", co->pids, pids, &o.npids))
			return 2;
		o.mode = COLLECT_PIDS;
		o.pids = pids;
	} else if (co->system) {
		o.mode = COLLECT_SYSTEM;
	} else {
		if (!command_path(cmd[0], cmd_path, sizeof(cmd_path)))
			return 127;
		o.mode = COLLECT_COMMAND;
		o.argv = cmd;
		o.path = cmd_path;
	}
	struct collect_stats st;
	char err[1024];
	int rc = collect_run(&o, &st, err, sizeof(err));
	if (rc != 0) {
		cli_error("record: %s", err);
		if (rc == 127)
			unlink(output);
		return rc;
	}
	if (st.kernel_excluded)
		cli_warn("kernel frames left out: the kernel allows user frames only "
			 "(kernel.perf_event_paranoid is %ld); run as root or with CAP_PERFMON for "
			 "kernel frames", perf_sysctl("/proc/sys/kernel/perf_event_paranoid", 0));
	if (st.kernel_hidden)
		cli_warn("kernel addresses are hidden in /proc/kallsyms (kernel.kptr_restrict is "
			 "%ld): kernel frames stay unnamed; run as root or set 'sysctl "
			 "kernel.kptr_restrict=0'", perf_sysctl("/proc/sys/kernel/kptr_restrict", 0));
	if (st.lost)
		cli_warn("the kernel's perf ring overflowed: %" PRIu64 " records lost; raise "
			 "--ring-pages (now %u) or lower -F", st.lost, o.ring_pages);
	if (st.throttled)
		cli_warn("the kernel throttled sampling %" PRIu64 " time%s (an interrupt took too "
			 "long; kernel.perf_event_max_sample_rate is now %ld): samples are missing "
			 "there; lower -F", st.throttled, st.throttled > 1 ? "s" : "",
			 perf_sysctl("/proc/sys/kernel/perf_event_max_sample_rate", 0));
	if (st.off_cpu_unpaired)
		cli_warn("%" PRIu64 " off-CPU intervals without their end: the thread's return to a "
			 "CPU was not seen (a full ring: raise --ring-pages, now %u; or a switch the "
			 "kernel did not report); each ends at the last switch seen on its CPU, or "
			 "is left out", st.off_cpu_unpaired, o.ring_pages);
	if (st.bad_records)
		cli_warn("%" PRIu64 " malformed perf records were skipped", st.bad_records);
	fprintf(cli_err, "oneprof: perf_event collector: %" PRIu64 " event%s, %" PRIu64
		" process%s sampled, %" PRIu64 " kernel symbols\n", st.events,
		st.events == 1 ? "" : "s", st.processes, st.processes == 1 ? "" : "es",
		st.kernel_symbols);
	if (o.off_cpu)
		fprintf(cli_err, "oneprof: off-CPU: %" PRIu64 " intervals (%" PRIu64 " still open at "
			"the end, closed there)\n", st.off_cpu, st.off_cpu_open);
	if (o.dwarf_stack) {
		fprintf(cli_err, "oneprof: DWARF unwinding: %u module file%s read, %u unreadable "
			"(frame-pointer steps there), %" PRIu64 " of %" PRIu64 " stacks longer than "
			"the %u-byte copy (truncated)\n", st.dwarf_files,
			st.dwarf_files == 1 ? "" : "s", st.dwarf_files_failed, st.dwarf_truncated,
			st.samples, o.dwarf_stack);
		if (st.samples && st.dwarf_truncated * 10 > st.samples)
			cli_warn("%.0f%% of the stacks were cut at the end of their %u-byte copy; "
				 "raise it with --call-graph dwarf,SIZE (up to %u)",
				 100.0 * (double)st.dwarf_truncated / (double)st.samples,
				 o.dwarf_stack, PERF_DWARF_MAX_STACK);
	}
	print_summary(output);
	if (o.mode != COLLECT_COMMAND || !st.command_exited)
		return 0;
	if (WIFSIGNALED(st.command_status)) {
		int sig = WTERMSIG(st.command_status);
		cli_warn("the program was killed by signal %d (%s)", sig, strsignal(sig));
		return 128 + sig;
	}
	return WEXITSTATUS(st.command_status);
}

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "freq", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "max-depth", required_argument, NULL, 'd' },
		{ "wall", no_argument, NULL, 'w' },
		{ "no-follow-fork", no_argument, NULL, 'f' },
		{ "no-inherit", no_argument, NULL, 'i' },
		{ "paused", no_argument, NULL, 1010 },
		{ "toggle-signal", required_argument, NULL, 't' },
		{ "heap", no_argument, NULL, 'H' },
		{ "heap-sample", optional_argument, NULL, 'S' },
		{ "spans", required_argument, NULL, 1000 },
		{ "span-window", required_argument, NULL, 1001 },
		{ "span-min", required_argument, NULL, 1002 },
		{ "span-depth", required_argument, NULL, 1003 },
		{ "dump-signal", required_argument, NULL, 1004 },
		{ "metrics-addr", required_argument, NULL, 1005 },
		{ "monitor", optional_argument, NULL, 1006 },
		{ "max-overhead", required_argument, NULL, 1007 },
		{ "hz", required_argument, NULL, 'F' },
		{ "pid", required_argument, NULL, 'p' },
		{ "system", no_argument, NULL, 'a' },
		{ "perf", no_argument, NULL, 1011 },
		{ "duration", required_argument, NULL, 1012 },
		{ "ring-pages", required_argument, NULL, 1013 },
		{ "call-graph", required_argument, NULL, 1014 },
		{ "off-cpu", no_argument, NULL, 1015 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct record_options o = { .output = "oneprof.opf", .hz = 99 };
	struct collector_options co = { .ring_pages = COLLECT_DEFAULT_RING_PAGES };
	const char *output;
	int c;
	/* '+': stop at the first non-option, the command. */
	while ((c = getopt_long(argc, argv, "+F:o:hp:a", opts, NULL)) != -1) {
		if (c == 'w' || c == 'f' || c == 'i' || c == 1010 || c == 't' || c == 'H' ||
		    c == 'S' || (c >= 1000 && c <= 1007) || c == 'd')
			co.agent_only = argv[optind - 1];
		switch (c) {
		case 'p':
			co.pids = optarg;
			co.modes++;
			break;
		case 'a':
			co.system = true;
			co.modes++;
			break;
		case 1011:
			co.perf = true;
			co.modes++;
			break;
		case 1012: {
			char *end;
			double sec = strtod(optarg, &end);
			if (end == optarg || *end || !(sec > 0) || sec > 1e7) {
				cli_error("record: --duration %s is not a number of seconds (like 2 or "
					  "0.5)", optarg);
				return 2;
			}
			co.duration_ns = (uint64_t)(sec * 1e9);
			break;
		}
		case 1013:
			if (!cli_ring_pages("record", optarg, &co.ring_pages))
				return 2;
			break;
		case 1015:
			co.off_cpu = true;
			break;
		case 1014:
			if (parse_call_graph(optarg, &co.dwarf_stack) != 0)
				return 2;
			break;
		case 'F':
			if (!cli_parse_uint(optarg, 1, 10000, &o.hz)) {
				cli_error("record: -F '%s' is not a rate from 1 to 10000 Hz", optarg);
				return 2;
			}
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'w':
			o.wall = true;
			break;
		case 'f':
			o.no_follow_fork = true;
			break;
		case 'i':
			o.no_inherit = true;
			break;
		case 1010:
			o.paused = true;
			break;
		case 't':
			o.toggle_signal = optarg;
			break;
		case 'H':
			o.heap = true;
			break;
		case 'S': {
			o.heap = true;
			o.heap_sample = optarg ? optarg : "512K";
			char *end;
			unsigned long long v = strtoull(o.heap_sample, &end, 10);
			if (end == o.heap_sample || v == 0 ||
			    (*end && (strchr("kKmMgG", *end) == NULL || end[1]))) {
				cli_error("record: --heap-sample=%s is not a number of bytes (like "
					  "524288 or 512K)", o.heap_sample);
				return 2;
			}
			break;
		}
		case 1006:
			o.monitor = optarg ? optarg : "1";
			unsigned ms;
			if (monitor_parse_interval_ms(o.monitor, &ms) != 0) {
				cli_error("record: --monitor=%s is not an interval from 10ms to 3600s "
					  "(like 100ms or 2s)", o.monitor);
				return 2;
			}
			break;
		case 1007: {
			char *end;
			double pct = strtod(optarg, &end);
			if (end == optarg || *end || pct < 0.0001 || pct > 100) {
				cli_error("record: --max-overhead=%s is not a percentage of one core "
					  "from 0.0001 to 100 (like 1 or 0.5)", optarg);
				return 2;
			}
			o.max_overhead = optarg;
			break;
		}
		case 1000:
			if (strcmp(optarg, "drop") && strcmp(optarg, "flight") && strcmp(optarg, "off")) {
				cli_error("record: --spans=%s is not a span mode; use drop, flight or off",
					  optarg);
				return 2;
			}
			o.spans = optarg;
			break;
		case 1001: {
			unsigned long v;
			if (!cli_parse_uint(optarg, 1, 86400, &v)) {
				cli_error("record: --span-window=%s is not a number of seconds from 1 to "
					  "86400", optarg);
				return 2;
			}
			o.span_window = optarg;
			break;
		}
		case 1002: {
			unsigned long long ns;
			if (!parse_duration_ns(optarg, &ns)) {
				cli_error("record: --span-min=%s is not a duration; give a number with "
					  "ns, us, ms or s (like 50us)", optarg);
				return 2;
			}
			snprintf(o.span_min, sizeof(o.span_min), "%llu", ns);
			break;
		}
		case 1003: {
			unsigned long v;
			if (!cli_parse_uint(optarg, 1, 65535, &v)) {
				cli_error("record: --span-depth=%s is not a number from 1 to 65535", optarg);
				return 2;
			}
			snprintf(o.span_depth, sizeof(o.span_depth), "%lu", v);
			break;
		}
		case 1004:
			o.dump_signal = optarg;
			break;
		case 1005: {
			struct httpd_addr a;
			char why[256];
			if (httpd_parse_addr(optarg, &a, why, sizeof(why)) != 0) {
				cli_error("record: --metrics-addr '%s' %s", optarg, why);
				return 2;
			}
			o.metrics_addr = optarg;
			break;
		}
		case 'd':
			if (!cli_parse_uint(optarg, 1, 1024, &o.depth)) {
				cli_error("record: --max-depth '%s' is not a number from 1 to 1024",
					  optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(cmd_record_help, cli_out);
			return 0;
		default:
			fprintf(cli_err, "%s", cmd_record_help);
			return 2;
		}
	}
	if (co.modes || co.duration_ns || co.off_cpu)
		return record_collector(&co, o.output, o.hz, argc - optind, argv + optind);
	if (optind >= argc) {
		cli_error("record: no command given; usage: oneprof record [-F HZ] [-o FILE] -- "
			  "COMMAND [ARGS...]");
		return 2;
	}
	char **cmd = argv + optind;
	output = o.output;
	if (o.paused && !o.toggle_signal)
		cli_warn("record: --paused without --toggle-signal: only the program's own "
			 "oneprof_start() call can begin sampling");

	char agent_path[PATH_MAX], cmd_path[PATH_MAX];
	if (!find_agent(agent_path, sizeof(agent_path))) {
		cli_error("record: cannot find the agent liboneprof.so next to oneprof or in "
			  "../lib; set ONEPROF_AGENT to its path or reinstall");
		return 2;
	}
	if (!command_path(cmd[0], cmd_path, sizeof(cmd_path)))
		return 127;
	/* Create the output now: a bad path is reported before the program runs. */
	int fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli_error("record: cannot write capture '%s': %s; choose a writable path with -o",
			  output, strerror(errno));
		return 2;
	}
	close(fd);

	time_t started = time(NULL);
	/* A close-on-exec pipe tells the parent whether exec failed. */
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		cli_error("record: pipe: %s", strerror(errno));
		return 2;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		cli_error("record: fork: %s", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		close(pipefd[0]);
		setup_child_env(agent_path, &o);
		execv(cmd_path, cmd);
		int e = errno;
		ssize_t ignored = write(pipefd[1], &e, sizeof(e));
		(void)ignored;
		_exit(127);
	}
	close(pipefd[1]);
	/* Like time(1): the terminal's ^C and ^\ go to the program; oneprof
	 * stays to finish the report. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	int exec_errno = 0;
	ssize_t n;
	while ((n = read(pipefd[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (n == sizeof(exec_errno)) {
		cli_error("record: cannot run '%s': %s", cmd_path, strerror(exec_errno));
		unlink(output);
		return 127;
	}

	print_summary(output);
	print_other_captures(output, started);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		cli_warn("the program was killed by signal %d (%s)", sig, strsignal(sig));
		return 128 + sig;
	}
	return WEXITSTATUS(status);
}
