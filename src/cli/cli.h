/* The oneprof command line: one cmd_<name>.c per subcommand and one
 * dispatch table in main.c.
 *
 * Adding a subcommand: write src/cli/cmd_<name>.c with
 * `int cmd_<name>(int argc, char **argv)` (argv[0] is the subcommand name)
 * and a help text, declare both here, add a row to the table in main.c,
 * and write doc/oneprof-<name>.md. A command returns the process exit
 * status; only the CLI prints, the library returns errors. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <sys/types.h>
#include <stdio.h>

#include "../model/filter.h"
#include "../model/heap.h"

struct profile;

/* Where commands print: stdout and stderr in the oneprof program, the
 * caller's descriptors in liboneprof-tools.so's oneprof_tool_run(). Every
 * command and helper writes through these, never to stdout directly. */
extern FILE *cli_out, *cli_err;

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_import(int argc, char **argv);

extern const char cmd_record_help[];
extern const char cmd_report_help[];
extern const char cmd_export_help[];
extern const char cmd_diff_help[];
extern const char cmd_merge_help[];
extern const char cmd_monitor_help[];
extern const char cmd_top_help[];
extern const char cmd_import_help[];
/* The exporters' names and descriptions, for 'help export'. */
void cmd_export_list_formats(FILE *out);

/* "oneprof: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads and symbolizes a capture, printing warnings (damaged tail,
 * unreadable modules) on stderr. NULL after printing the error. The
 * first uses the symbolization options given on the command line. */
struct sym_options;
/* flags: PROFILE_SAMPLE_TIMES (profile.h) for timelines; 0 coalesces. */
struct profile *cli_load_profile(const char *path, unsigned flags);
struct profile *cli_load_profile_with(const char *path, const struct sym_options *opts,
				      unsigned flags);
/* The pprof sample type (--sample-index) the loaders read from pprof
 * inputs; NULL: the profile's default. Captures ignore it. */
void cli_set_sample_index(const char *name);

/* Warnings for what an import from another tool's format skipped
 * (malformed lines, other events, deep stacks): nothing for a capture. */
void cli_import_warnings(const struct profile *p);

/* Symbolization options (src/cli/symbol_options.c), shared by every
 * command that loads a capture: add CLI_SYMBOL_LONGOPTS to its long
 * options, pass what getopt_long returns to cli_symbol_option() from the
 * default case with the command's help (true: taken; false: a bad value
 * or an unknown option, said on cli_err, the command's help after an
 * unknown one), and print cli_symbol_help with the command's help. */
enum {
	CLI_OPT_SYSROOT = 0x5301,
	CLI_OPT_PATH_MAP,
	CLI_OPT_DEBUG_DIR,
	CLI_OPT_NO_DEMANGLE,
	CLI_OPT_NO_INLINES,
	CLI_OPT_INLINES,
	CLI_OPT_NO_DEBUGINFOD,
	CLI_OPT_SAMPLE_INDEX,
};
#define CLI_SYMBOL_LONGOPTS                                                   \
	{ "sysroot", required_argument, NULL, CLI_OPT_SYSROOT },              \
	{ "path-map", required_argument, NULL, CLI_OPT_PATH_MAP },            \
	{ "debug-dir", required_argument, NULL, CLI_OPT_DEBUG_DIR },          \
	{ "no-demangle", no_argument, NULL, CLI_OPT_NO_DEMANGLE },            \
	{ "no-inlines", no_argument, NULL, CLI_OPT_NO_INLINES },              \
	{ "inlines", no_argument, NULL, CLI_OPT_INLINES },                    \
	{ "no-debuginfod", no_argument, NULL, CLI_OPT_NO_DEBUGINFOD },        \
	{ "sample-index", required_argument, NULL, CLI_OPT_SAMPLE_INDEX }
bool cli_symbol_option(int c, const char *arg, const char *help);
/* Back to no symbol options, before a command runs again in-process. */
void cli_symbol_reset(void);
const struct sym_options *cli_symbol_options(void);
extern const char cli_symbol_help[];

/* Parses a whole number in [min, max]; false on anything else. */
bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* --heap=METRIC of `cmd`: false, with the message given, for an unknown
 * metric. */
bool cli_heap_metric(const char *cmd, const char *arg, enum heap_metric *out);

/* --tag-focus or (ignore) --tag-ignore KEY[=VALUE] of `cmd` into f: false,
 * with the message given, for a malformed one. */
bool cli_tag_option(const char *cmd, struct profile_filter *f, bool ignore, const char *arg);

/* --pid PID[,PID...] of `cmd` into f: false, with the message given, for
 * a malformed list. (--comm REGEX goes to profile_filter_add(&f->comm).) */
bool cli_pid_option(const char *cmd, struct profile_filter *f, const char *arg);

/* The collector's -p PID[,PID...] of `cmd` into pids (room for
 * COLLECT_MAX_PIDS) and *n, and its --ring-pages N (a power of two):
 * false, with the message given, for a malformed one. */
bool cli_pid_list(const char *cmd, const char *list, pid_t *pids, size_t *n);
bool cli_ring_pages(const char *cmd, const char *arg, unsigned *pages);

#endif
