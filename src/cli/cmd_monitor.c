/* oneprof monitor: a live view of any process's metrics from /proc, with
 * the agent's own metrics when the process runs it with an endpoint, and
 * --prometheus to serve a process's process_* metrics when it has no
 * agent. The numbers come from the agent's procfs reader and the
 * exposition from its expo module, so they match the agent's endpoint. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../agent/expo.h"
#include "../agent/httpd.h"
#include "../agent/procfs.h"
#include "cli.h"

const char cmd_monitor_help[] =
	"usage: oneprof monitor -p PID [--interval S] [--count N] [--prometheus ADDR]\n"
	"\n"
	"Shows a live view of process PID from /proc, refreshed every interval: CPU\n"
	"use, memory, page faults, context switches, threads, file descriptors and\n"
	"the system's load, CPU and memory. When the process runs the oneprof agent\n"
	"with a metrics endpoint (ONEPROF_METRICS_ADDR), its oneprof_* metrics are\n"
	"shown too.\n"
	"\n"
	"  -p, --pid PID          the process to watch\n"
	"  -i, --interval S       seconds between snapshots (0.1-3600, default 1)\n"
	"  -n, --count N          print N snapshots and exit (default: until Ctrl-C)\n"
	"      --prometheus ADDR  instead of the view, serve the process's process_*\n"
	"                         metrics for Prometheus on ADDR (PORT, HOST:PORT or\n"
	"                         [IPV6]:PORT; host default 127.0.0.1) until it exits\n";

/* The exposition of one process, and the agent's scraped metrics. */
#define MONITOR_BODY_MAX (1 << 20)
/* Agent metric lines shown in the view, at most. */
#define MONITOR_AGENT_LINES 40

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: sleeps and polls return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void say_gone(int pid, int err, const char *failed, bool was_running)
{
	if (was_running)
		cli_error("monitor: process %d exited (%s: %s)", pid, failed, strerror(-err));
	else if (err == -ENOENT || err == -ESRCH)
		cli_error("monitor: cannot read %s: no such process; is PID %d running? "
			  "(list processes with 'ps -e')", failed, pid);
	else
		cli_error("monitor: cannot read %s: %s; run as root or as the process's user",
			  failed, strerror(-err));
}

/* Reads the process; false (after saying why) when /proc/PID/stat is
 * unreadable: the process does not exist or is gone. */
static bool read_process(int pid, struct procfs_process *p, bool was_running)
{
	char failed[128] = "";
	int rc = procfs_read_process(pid, p, failed, sizeof(failed));
	if (!(p->have & PROCFS_STAT)) {
		if (!failed[0])
			snprintf(failed, sizeof(failed), "/proc/%d/stat", pid);
		say_gone(pid, rc ? rc : -ENOENT, failed, was_running);
		return false;
	}
	if (p->state == 'Z' || p->state == 'X') {
		/* Exited; its parent has not reaped it yet. */
		snprintf(failed, sizeof(failed), "/proc/%d/stat", pid);
		if (was_running)
			cli_error("monitor: process %d exited (%s says it is a zombie)", pid, failed);
		else
			cli_error("monitor: process %d has exited (%s says it is a zombie, not yet "
				  "reaped by its parent); nothing to monitor", pid, failed);
		return false;
	}
	return true;
}

/* The agent's endpoint from the process's environment; false when it
 * has none we can scrape (why in note). */
static bool agent_addr(int pid, struct httpd_addr *a, char *note, size_t cap)
{
	char path[64], env[65536];
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(note, cap, "%s unreadable (%s): run as root or as the process's user "
			 "to see its agent's metrics", path, strerror(errno));
		return false;
	}
	ssize_t len = read(fd, env, sizeof(env) - 1);
	close(fd);
	if (len < 0)
		len = 0;
	env[len] = '\0';
	const char *value = NULL;
	for (char *e = env; e < env + len; e += strlen(e) + 1)
		if (!strncmp(e, "ONEPROF_METRICS_ADDR=", 21))
			value = e + 21;
	if (!value || !*value) {
		snprintf(note, cap, "none (the process has no ONEPROF_METRICS_ADDR)");
		return false;
	}
	char why[256];
	if (httpd_parse_addr(value, a, why, sizeof(why)) != 0) {
		snprintf(note, cap, "ONEPROF_METRICS_ADDR=%s %s", value, why);
		return false;
	}
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
	if ((a->ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port) == 0) {
		snprintf(note, cap, "ONEPROF_METRICS_ADDR=%s: a port chosen at start, not known "
			 "here (the program printed it on stderr)", value);
		return false;
	}
	/* A wildcard bind is reached on loopback. */
	if (a->ss.ss_family == AF_INET && v4->sin_addr.s_addr == htonl(INADDR_ANY))
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr))
		v6->sin6_addr = in6addr_loopback;
	return true;
}

static void show_agent(int pid, char *buf)
{
	struct httpd_addr a;
	char note[512], text[96];
	if (!agent_addr(pid, &a, note, sizeof(note))) {
		printf("agent       %s\n", note);
		return;
	}
	httpd_addr_text(&a, text, sizeof(text));
	long n = httpd_get(&a, "text/plain", buf, MONITOR_BODY_MAX, 1000);
	if (n < 0) {
		printf("agent       http://%s/metrics: %s\n", text,
		       n == -EPROTO ? "not a metrics endpoint" : strerror((int)-n));
		return;
	}
	printf("agent       http://%s/metrics\n", text);
	int shown = 0, more = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "oneprof_", 8) || !strncmp(line, "oneprof_process_", 16) ||
		    strstr(line, "_bucket{"))
			continue;
		if (shown < MONITOR_AGENT_LINES) {
			printf("  %s\n", line);
			shown++;
		} else {
			more++;
		}
	}
	if (more)
		printf("  (%d more lines: curl http://%s/metrics)\n", more, text);
}

static double per_s(uint64_t a, uint64_t b, double secs)
{
	return b > a ? (double)(b - a) / secs : 0.0;
}

static void show(int pid, const struct procfs_process *a, const struct procfs_process *b,
		 double secs, char *buf, bool tty)
{
	struct procfs_system sys;
	char failed[128], comm[64] = "?", path[64];
	procfs_read_system(&sys, failed, sizeof(failed));
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		close(fd);
	}
	if (tty)
		fputs("\033[H\033[2J", stdout);
	time_t now = time(NULL);
	char clock[16];
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&now));
	printf("process     %d (%s)  %s  every %.1fs\n", pid, comm, clock, secs);
	printf("cpu         %.1f%% user  %.1f%% system  (100%% = one core)\n",
	       100.0 * per_s(a->user_ns, b->user_ns, secs) / 1e9,
	       100.0 * per_s(a->system_ns, b->system_ns, secs) / 1e9);
	printf("memory      rss %llu KiB  peak %llu KiB  virtual %llu KiB\n",
	       (unsigned long long)b->resident_bytes >> 10,
	       (unsigned long long)b->peak_resident_bytes >> 10,
	       (unsigned long long)b->virtual_bytes >> 10);
	printf("faults/s    minor %.1f  major %.1f\n", per_s(a->minor_faults, b->minor_faults, secs),
	       per_s(a->major_faults, b->major_faults, secs));
	if (b->have & PROCFS_STATUS)
		printf("switches/s  voluntary %.1f  involuntary %.1f\n",
		       per_s(a->voluntary_switches, b->voluntary_switches, secs),
		       per_s(a->involuntary_switches, b->involuntary_switches, secs));
	else
		printf("switches/s  ? (/proc/%d/status unreadable)\n", pid);
	printf("threads     %llu\n", (unsigned long long)b->threads);
	if (!(b->have & PROCFS_FDS))
		printf("fds         ? (/proc/%d/fd unreadable: run as root or as the process's user)\n", pid);
	else if (b->max_fds)
		printf("fds         %llu / %llu\n", (unsigned long long)b->open_fds,
		       (unsigned long long)b->max_fds);
	else
		printf("fds         %llu / unlimited\n", (unsigned long long)b->open_fds);
	/* The machine's CPU use since the previous snapshot. */
	static struct procfs_system prev;
	double busy = sys.cpu_total_ns > prev.cpu_total_ns
			      ? 100.0 * (double)(sys.cpu_busy_ns - prev.cpu_busy_ns) /
					(double)(sys.cpu_total_ns - prev.cpu_total_ns)
			      : 0.0;
	if (prev.cpu_total_ns && (sys.have & PROCFS_CPU))
		printf("system      %.1f%% CPU busy of %llu CPUs\n", busy, (unsigned long long)sys.cpus);
	prev = sys;
	if ((sys.have & (PROCFS_LOADAVG | PROCFS_MEMINFO)) == (PROCFS_LOADAVG | PROCFS_MEMINFO))
		printf("system      load %.2f %.2f %.2f  memory %llu MiB available of %llu MiB\n",
		       sys.load_milli[0] / 1000.0, sys.load_milli[1] / 1000.0, sys.load_milli[2] / 1000.0,
		       (unsigned long long)sys.mem_available_bytes >> 20,
		       (unsigned long long)sys.mem_total_bytes >> 20);
	show_agent(pid, buf);
	printf("\n");
	fflush(stdout);
}

/* Sleeps secs, or less when interrupted. */
static void nap(double secs)
{
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
}

static int view(int pid, double secs, unsigned long count)
{
	struct procfs_process a, b;
	if (!read_process(pid, &a, false))
		return 1;
	char *buf = malloc(MONITOR_BODY_MAX);
	if (!buf) {
		cli_error("monitor: out of memory");
		return 1;
	}
	bool tty = isatty(STDOUT_FILENO);
	int rc = 0;
	for (unsigned long i = 0; !count || i < count; i++) {
		nap(secs);
		if (interrupted)
			break;
		if (!read_process(pid, &b, true)) {
			rc = 1;
			break;
		}
		show(pid, &a, &b, secs, buf, tty);
		a = b;
	}
	free(buf);
	return rc;
}

struct serve_ctx {
	int pid;
	bool gone;
};

static size_t serve_body(void *arg, enum expo_format fmt, char *buf, size_t cap)
{
	struct serve_ctx *ctx = arg;
	struct procfs_process p;
	char failed[128];
	struct expo e;
	expo_init(&e, buf, cap, fmt);
	procfs_read_process(ctx->pid, &p, failed, sizeof(failed));
	if (!(p.have & PROCFS_STAT) || p.state == 'Z' || p.state == 'X')
		ctx->gone = true;
	expo_process(&e, &p);
	return expo_finish(&e);
}

static int serve(int pid, const char *addr)
{
	struct httpd_addr a, bound;
	char why[256], text[96];
	if (httpd_parse_addr(addr, &a, why, sizeof(why)) != 0) {
		cli_error("monitor: --prometheus '%s' %s", addr, why);
		return 2;
	}
	struct procfs_process p;
	if (!read_process(pid, &p, false))
		return 1;
	httpd_addr_text(&a, text, sizeof(text));
	int fd = httpd_listen(&a, &bound);
	if (fd < 0) {
		cli_error("monitor: cannot serve metrics on %s: %s (choose a free port, or 0 for any)",
			  text, strerror(-fd));
		return 1;
	}
	char *buf = malloc(MONITOR_BODY_MAX);
	if (!buf) {
		cli_error("monitor: out of memory");
		close(fd);
		return 1;
	}
	httpd_addr_text(&bound, text, sizeof(text));
	fprintf(stderr, "oneprof: metrics of process %d on http://%s/metrics\n", pid, text);
	struct serve_ctx ctx = { pid, false };
	int rc = 0;
	while (!interrupted && !ctx.gone) {
		int r = httpd_serve_once(fd, -1, 250, serve_body, &ctx, buf, MONITOR_BODY_MAX);
		if (r < 0) {
			cli_error("monitor: metrics endpoint %s failed: %s", text, strerror(-r));
			rc = 1;
			break;
		}
		struct procfs_process now;
		char failed[128];
		procfs_read_process(pid, &now, failed, sizeof(failed));
		if (!(now.have & PROCFS_STAT) || now.state == 'Z' || now.state == 'X')
			ctx.gone = true;
	}
	if (ctx.gone)
		fprintf(stderr, "oneprof: process %d exited (/proc/%d/stat); metrics endpoint "
			"stopped\n", pid, pid);
	free(buf);
	close(fd);
	return rc;
}

int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "prometheus", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long pid = 0, count = 0;
	double secs = 1.0;
	const char *prometheus = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "p:i:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!cli_parse_uint(optarg, 1, 0x7fffffff, &pid)) {
				cli_error("monitor: -p '%s' is not a process id", optarg);
				return 2;
			}
			break;
		case 'i': {
			char *end;
			secs = strtod(optarg, &end);
			if (*end || end == optarg || !(secs >= 0.1 && secs <= 3600)) {
				cli_error("monitor: --interval '%s' is not a number of seconds from 0.1 "
					  "to 3600", optarg);
				return 2;
			}
			break;
		}
		case 'n':
			if (!cli_parse_uint(optarg, 1, 1000000000, &count)) {
				cli_error("monitor: --count '%s' is not a number from 1 up", optarg);
				return 2;
			}
			break;
		case 'P':
			prometheus = optarg;
			break;
		case 'h':
			fputs(cmd_monitor_help, stdout);
			return 0;
		default:
			fputs(cmd_monitor_help, stderr);
			return 2;
		}
	}
	if (!pid || optind < argc) {
		cli_error("monitor: %s; usage: oneprof monitor -p PID [--interval S] [--count N] "
			  "[--prometheus ADDR]", pid ? "unexpected argument" : "which process? (-p PID)");
		return 2;
	}
	catch_signals();
	return prometheus ? serve((int)pid, prometheus) : view((int)pid, secs, count);
}
