/* Symbolization options, shared by every command that loads a capture
 * (report, export): where to find the recorded modules and their debug
 * files, and how to show names. Parsed into one sym_options that
 * cli_load_profile() hands to the symbolizer. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../symbolize/symbolize.h"
#include "cli.h"

#define MAX_PATH_MAPS 16
/* /usr/lib/debug and the sysroot's come after these. */
#define MAX_DEBUG_DIRS 6

const char cli_symbol_help[] =
	"\n"
	"symbols (see doc/design/symbolize.md):\n"
	"  --sysroot DIR        look modules up under DIR (a container's or another\n"
	"                       machine's root), then at their recorded paths\n"
	"  --path-map FROM=TO   look a module recorded under FROM up under TO\n"
	"                       (repeatable; tried before --sysroot)\n"
	"  --debug-dir DIR      also find debug files under DIR, laid out like\n"
	"                       /usr/lib/debug (repeatable; searched first)\n"
	"  --no-demangle        keep C++ and Rust names mangled\n"
	"  --no-inlines         show inlined functions as part of their caller\n"
	"  --inlines            show each inlined function as its own frame (default)\n"
	"  --no-debuginfod      never ask a debuginfod server, even with\n"
	"                       DEBUGINFOD_URLS set\n"
	"\n"
	"pprof inputs (any FILE may be a pprof .pb.gz, told apart by content):\n"
	"  --sample-index NAME  the sample type to read (cpu, samples, alloc_space,\n"
	"                       ..., or its number); default: the profile's default\n"
	"                       type, else the last, like pprof\n";

static struct sym_path_map maps[MAX_PATH_MAPS];
static const char *dirs[MAX_DEBUG_DIRS];
static struct sym_options opts = { .path_map = maps, .debug_dirs = dirs };

const struct sym_options *cli_symbol_options(void)
{
	return &opts;
}

void cli_symbol_reset(void)
{
	opts = (struct sym_options){ .path_map = maps, .debug_dirs = dirs };
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int symbol_option(int c, const char *arg)
{
	switch (c) {
	case CLI_OPT_SYSROOT:
		if (!is_dir(arg)) {
			cli_error("--sysroot '%s' is not a directory; give the root the modules were "
				  "recorded under", arg);
			return -1;
		}
		opts.sysroot = arg;
		return 1;
	case CLI_OPT_PATH_MAP: {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg || !eq[1]) {
			cli_error("--path-map '%s' is not FROM=TO; e.g. --path-map "
				  "/build/app=/home/me/app", arg);
			return -1;
		}
		if (opts.npath_map == MAX_PATH_MAPS) {
			cli_error("--path-map '%s': at most %d path maps; map a common parent "
				  "directory instead", arg, MAX_PATH_MAPS);
			return -1;
		}
		/* arg lives in argv for the whole run: split it in place. */
		char *from = (char *)arg;
		from[eq - arg] = '\0';
		maps[opts.npath_map++] = (struct sym_path_map){ from, eq + 1 };
		return 1;
	}
	case CLI_OPT_DEBUG_DIR:
		if (!is_dir(arg)) {
			cli_error("--debug-dir '%s' is not a directory; give a directory laid out "
				  "like /usr/lib/debug", arg);
			return -1;
		}
		if (opts.ndebug_dirs == MAX_DEBUG_DIRS) {
			cli_error("--debug-dir '%s': at most %d debug directories", arg,
				  MAX_DEBUG_DIRS);
			return -1;
		}
		dirs[opts.ndebug_dirs++] = arg;
		return 1;
	case CLI_OPT_NO_DEMANGLE:
		opts.no_demangle = true;
		return 1;
	case CLI_OPT_NO_INLINES:
		opts.no_inlines = true;
		return 1;
	case CLI_OPT_INLINES:
		opts.no_inlines = false;
		return 1;
	case CLI_OPT_NO_DEBUGINFOD:
		opts.no_debuginfod = true;
		return 1;
	case CLI_OPT_SAMPLE_INDEX:
		cli_set_sample_index(arg);
		return 1;
	default:
		return 0;
	}
}

bool cli_symbol_option(int c, const char *arg, const char *help)
{
	int taken = symbol_option(c, arg);
	if (taken == 0) /* getopt said which option it did not know */
		fputs(help, cli_err);
	return taken > 0;
}
