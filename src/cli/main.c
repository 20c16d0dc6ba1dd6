/* oneprof: entry point and the subcommand dispatch table. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../collect/collect.h"
#include "../model/profile.h"
#include "../symbolize/symbolize.h"
#include "cli.h"
#include "oneprof.h"

/* Where the commands write: the process's stdout and stderr for the
 * oneprof program, the caller's descriptors in oneprof_tool_run(). */
FILE *cli_out, *cli_err;

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
	const char *summary;
};

static const struct command commands[] = {
	{ "record", cmd_record, cmd_record_help, "run a program and sample its CPU use into a capture" },
	{ "report", cmd_report, cmd_report_help, "print the top functions of a capture" },
	{ "export", cmd_export, cmd_export_help, "convert a capture to pprof, folded stacks or an SVG flame graph" },
	{ "diff", cmd_diff, cmd_diff_help, "compare two profiles (captures or pprof): functions by change in share" },
	{ "merge", cmd_merge, cmd_merge_help, "merge profiles (captures or pprof) of one kind into one pprof file" },
	{ "monitor", cmd_monitor, cmd_monitor_help, "live view of a process's metrics from /proc; --prometheus serves them" },
	{ "top", cmd_top, cmd_top_help, "live view of the hottest functions of running processes or the whole machine" },
	{ "import", cmd_import, cmd_import_help, "convert another tool's profile (pprof, folded, perf script) to pprof" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("oneprof: ", cli_err);
	va_start(ap, fmt);
	vfprintf(cli_err, fmt, ap);
	va_end(ap);
	fputc('\n', cli_err);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	fputs("oneprof: warning: ", cli_err);
	va_start(ap, fmt);
	vfprintf(cli_err, fmt, ap);
	va_end(ap);
	fputc('\n', cli_err);
}

bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_heap_metric(const char *cmd, const char *arg, enum heap_metric *out)
{
	if (heap_metric_parse(arg, out))
		return true;
	cli_error("%s: --heap=%s: no such metric; use alloc-bytes, alloc-count, peak-bytes, "
		  "peak-count, leak-bytes, leak-count, temp-count or temp-bytes", cmd, arg);
	return false;
}

bool cli_tag_option(const char *cmd, struct profile_filter *f, bool ignore, const char *arg)
{
	char why[256];
	if (profile_filter_add_tag(f, ignore, arg, why, sizeof(why)))
		return true;
	cli_error("%s: %s", cmd, why);
	return false;
}

bool cli_pid_option(const char *cmd, struct profile_filter *f, const char *arg)
{
	char why[256];
	if (profile_filter_add_pids(f, arg, why, sizeof(why)))
		return true;
	cli_error("%s: %s", cmd, why);
	return false;
}

bool cli_pid_list(const char *cmd, const char *list, pid_t *pids, size_t *n)
{
	const char *s = list;
	*n = 0;
	while (*s) {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (end == s || errno || v <= 0 || v > 0x7fffffff || (*end && *end != ',') ||
		    *n == COLLECT_MAX_PIDS) {
			cli_error("%s: -p '%s' is not a list of process ids (like 123 or 123,456; "
				  "at most %u)", cmd, list, COLLECT_MAX_PIDS);
			return false;
		}
		pids[(*n)++] = (pid_t)v;
		s = *end ? end + 1 : end;
	}
	if (!*n) {
		cli_error("%s: -p needs a process id (like -p 123)", cmd);
		return false;
	}
	return true;
}

bool cli_ring_pages(const char *cmd, const char *arg, unsigned *pages)
{
	unsigned long v;
	if (!cli_parse_uint(arg, 1, COLLECT_MAX_RING_PAGES, &v) || (v & (v - 1))) {
		cli_error("%s: --ring-pages '%s' is not a power of two from 1 to %u (default %u)",
			  cmd, arg, COLLECT_MAX_RING_PAGES, COLLECT_DEFAULT_RING_PAGES);
		return false;
	}
	*pages = (unsigned)v;
	return true;
}

static const char *sample_index;

void cli_set_sample_index(const char *name)
{
	sample_index = name;
}

struct profile *cli_load_profile_with(const char *path, const struct sym_options *opts,
				      unsigned flags)
{
	char err[512], buf[512];
	struct profile *p = profile_load_with(path, sample_index, flags, err, sizeof(err));
	if (!p) {
		cli_error("%s", err);
		return NULL;
	}
	const char *why = profile_incomplete_reason(p, buf, sizeof(buf));
	if (why)
		cli_warn("%s", why);
	cli_import_warnings(p);
	for (size_t i = 0; i < p->njit_maps; i++) {
		const struct profile_jit_map *m = &p->jit_maps[i];
		if (m->bad_lines)
			cli_warn("perf map '%s' had %" PRIu64 " malformed lines (not 'START SIZE "
				 "name'); they were skipped", m->path, m->bad_lines);
		if (m->dropped)
			cli_warn("perf map '%s' had %" PRIu64 " symbols over the recording's limit; "
				 "JIT frames they named show as addresses", m->path, m->dropped);
	}
	struct symbolizer *sym = sym_new_with(opts);
	profile_resolve(p, sym);
	const char *const *lines;
	size_t n = sym_warnings(sym, &lines);
	for (size_t i = 0; i < n; i++)
		cli_warn("%s", lines[i]);
	sym_free(sym);
	return p;
}

struct profile *cli_load_profile(const char *path, unsigned flags)
{
	return cli_load_profile_with(path, cli_symbol_options(), flags);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: oneprof <command> [options] [args]\n"
		"\n"
		"oneprof %s: where the CPU time of a program goes.\n"
		"\n"
		"commands:\n",
		ONEPROF_VERSION_STRING);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"  help     show help for a command: oneprof help <command>\n"
		"\n"
		"options: --help, --version\n"
		"example: oneprof record -o app.opf -- ./app && oneprof report app.opf\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int help(const char *name)
{
	if (!name) {
		usage(cli_out);
		return 0;
	}
	const struct command *c = find(name);
	if (!c) {
		cli_error("no command '%s'; 'oneprof --help' lists them", name);
		return 2;
	}
	fputs(c->help, cli_out);
	if (c->run == cmd_report || c->run == cmd_export || c->run == cmd_diff ||
	    c->run == cmd_merge || c->run == cmd_top)
		fputs(cli_symbol_help, cli_out);
	if (c->run == cmd_export)
		cmd_export_list_formats(cli_out);
	return 0;
}

/* Runs one command line (argv[0] is the program's name) to cli_out and
 * cli_err. Returns the exit status. */
static int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(cli_err);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		return help(NULL);
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		fprintf(cli_out, "oneprof %s (capture format %d)\n", ONEPROF_VERSION_STRING,
			CAPTURE_VERSION);
		return 0;
	}
	if (!strcmp(name, "help"))
		return help(argc > 2 ? argv[2] : NULL);
	const struct command *c = find(name);
	if (!c) {
		cli_error("'%s' is not a oneprof command; 'oneprof --help' lists them", name);
		return 2;
	}
	int rc = c->run(argc - 1, argv + 1);
	if (fflush(cli_out) != 0 || ferror(cli_out)) {
		cli_error("writing to standard output failed: %s", strerror(errno));
		return rc ? rc : 1;
	}
	return rc;
}

#ifndef ONEPROF_TOOL_LIBRARY
int main(int argc, char **argv)
{
	cli_out = stdout;
	cli_err = stderr;
	return cli_main(argc, argv);
}
#else
/* liboneprof-tools.so: the same commands for a program that loads the
 * library (the Python binding's reports). Each call starts from a clean
 * slate: getopt, the symbol options and the sample index are reset, and
 * the output goes to the descriptors given (duplicated, so the caller's
 * stay open). */
__attribute__((visibility("default"))) int oneprof_tool_run(int argc, const char **argv,
							     int out_fd, int err_fd)
{
	if (argc < 1 || !argv)
		return 2;
	int ofd = dup(out_fd), efd = dup(err_fd);
	FILE *out = ofd >= 0 ? fdopen(ofd, "w") : NULL;
	FILE *err = efd >= 0 ? fdopen(efd, "w") : NULL;
	if (!out || !err) {
		if (out)
			fclose(out);
		else if (ofd >= 0)
			close(ofd);
		if (err)
			fclose(err);
		else if (efd >= 0)
			close(efd);
		return 70;
	}
	/* argv is the caller's and const: getopt permutes it, the symbol
	 * options split --path-map in place. A copy lives for the call. */
	char **copy = calloc((size_t)argc + 1, sizeof(*copy));
	int rc = 70;
	if (copy) {
		int i = 0;
		for (; i < argc && (copy[i] = strdup(argv[i] ? argv[i] : "")); i++)
			;
		if (i == argc) {
			cli_out = out;
			cli_err = err;
			/* getopt's messages go to stderr itself. */
			FILE *saved_stderr = stderr;
			stderr = err;
			optind = 0; /* glibc: reinitialise getopt completely */
			opterr = 1;
			cli_symbol_reset();
			cli_set_sample_index(NULL);
			rc = cli_main(argc, copy);
			fflush(err);
			stderr = saved_stderr;
		}
		for (int j = 0; j < argc; j++)
			free(copy[j]);
		free(copy);
	}
	fclose(out);
	fclose(err);
	cli_out = stdout;
	cli_err = stderr;
	return rc;
}
#endif
