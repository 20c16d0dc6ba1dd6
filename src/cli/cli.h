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
#include <stdio.h>

struct profile;

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);

extern const char cmd_record_help[];
extern const char cmd_report_help[];
extern const char cmd_export_help[];
/* The exporters' names and descriptions, for 'help export'. */
void cmd_export_list_formats(FILE *out);

/* "oneprof: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads and symbolizes a capture, printing warnings (damaged tail,
 * unreadable modules) on stderr. NULL after printing the error. */
struct profile *cli_load_profile(const char *path);

/* Parses a whole number in [min, max]; false on anything else. */
bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
