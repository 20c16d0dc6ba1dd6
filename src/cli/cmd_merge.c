/* oneprof merge: several profiles (captures or pprof files) into one
 * pprof file, through the model: each input is loaded and symbolized as
 * every command loads it, profile_merge() joins them, and the pprof
 * exporter writes the result (doc/oneprof-merge.md says why pprof). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../export/export.h"
#include "../model/merge.h"
#include "../model/profile.h"
#include "../util/util.h"
#include "cli.h"

const char cmd_merge_help[] =
	"usage: oneprof merge [options] PROFILE PROFILE... -o OUT\n"
	"\n"
	"Merges profiles (oneprof captures or pprof files, in any mix) into one\n"
	"pprof file that every oneprof command reads like a capture (and so do\n"
	"go tool pprof, Pyroscope and Parca). Profiles must measure the same\n"
	"thing: CPU time with CPU time, wall-clock with wall-clock, heap captures\n"
	"with heap captures. A function of the same name, module, file and line\n"
	"is one function of the result, its time the sum of the inputs'; threads\n"
	"stay one per input thread, and every sample carries the label\n"
	"input=NAME (NAME: the input's file name), so 'oneprof report OUT\n"
	"--tag-focus input=NAME' shows one input again.\n"
	"\n"
	"  -o, --output OUT   the pprof file to write (required; '-' for standard\n"
	"                     output when it is not a terminal)\n"
	"\n"
	"example: oneprof merge -o all.pb.gz run1.opf run2.opf\n";

/* Each input's label: its file name, or the path as given where two
 * inputs share a file name; a number after a path given twice. */
static char **input_labels(char **paths, size_t n)
{
	char **labels = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *base = path_basename(paths[i]);
		bool clash = false;
		for (size_t k = 0; k < n && !clash; k++)
			clash = strcmp(paths[k], paths[i]) && !strcmp(path_basename(paths[k]), base);
		const char *name = clash ? paths[i] : base;
		size_t same = 0;
		for (size_t k = 0; k < i; k++)
			same += !strcmp(paths[k], paths[i]);
		size_t len = strlen(name) + 24;
		labels[i] = xmalloc(len);
		if (same)
			snprintf(labels[i], len, "%s#%zu", name, same + 1);
		else
			snprintf(labels[i], len, "%s", name);
	}
	return labels;
}

int cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		CLI_SYMBOL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'h':
			fputs(cmd_merge_help, cli_out);
			fputs(cli_symbol_help, cli_out);
			return 0;
		default: /* --sysroot, --sample-index, ... */
			if (cli_symbol_option(c, optarg, cmd_merge_help))
				break;
			return 2;
		}
	}
	size_t n = optind < argc ? (size_t)(argc - optind) : 0;
	if (n < 2) {
		cli_error("merge: %s; usage: oneprof merge PROFILE PROFILE... -o OUT (to convert "
			  "one profile, use 'oneprof export PROFILE -f pprof -o OUT')",
			  n ? "give at least two profiles to merge, one was given"
			    : "no profiles given");
		return 2;
	}
	if (!output) {
		cli_error("merge: no output file given; add -o OUT.pb.gz");
		return 2;
	}
	bool to_stdout = !strcmp(output, "-");
	if (to_stdout && isatty(fileno(cli_out))) {
		cli_error("merge: the merged pprof is binary; give a file with -o");
		return 2;
	}

	char **paths = argv + optind;
	struct profile **in = xcalloc(n, sizeof(*in));
	enum profile_kind *kind = xcalloc(n, sizeof(*kind));
	int rc = 1;
	for (size_t i = 0; i < n; i++) {
		if (!(in[i] = cli_load_profile(paths[i], 0)))
			goto out;
		kind[i] = profile_kind(in[i]);
		if (kind[i] == PROFILE_KIND_OTHER) {
			cli_error("merge: '%s' holds pprof sample type '%s' (%s), not a time; merge "
				  "reads pprof profiles of CPU or wall-clock time: choose a time "
				  "type with --sample-index, or merge the heap captures themselves",
				  paths[i], in[i]->pprof_type, in[i]->pprof_unit);
			goto out;
		}
		if (kind[i] != kind[0]) {
			cli_error("merge: '%s' holds %s samples but '%s' holds %s; profiles of "
				  "different kinds do not add up: merge CPU profiles with CPU "
				  "profiles, wall-clock with wall-clock, heap captures with heap "
				  "captures (record them alike)",
				  paths[0], profile_kind_name(kind[0]), paths[i],
				  profile_kind_name(kind[i]));
			goto out;
		}
	}

	char **labels = input_labels(paths, n);
	struct profile *m = profile_merge(in, (const char *const *)labels, n);
	for (size_t i = 0; i < n; i++) {
		free(labels[i]);
		profile_free(in[i]);
		in[i] = NULL;
	}
	free(labels);

	FILE *out = to_stdout ? cli_out : fopen(output, "wb");
	if (!out) {
		cli_error("merge: cannot write '%s': %s; choose a writable path with -o", output,
			  strerror(errno));
		profile_free(m);
		goto out;
	}
	char err[512] = "";
	int wrc = export_run(&export_pprof, m, out, err, sizeof(err));
	if (!to_stdout && fclose(out) != 0 && wrc == 0) {
		snprintf(err, sizeof(err), "writing '%s' failed: %s", output, strerror(errno));
		wrc = -1;
	}
	if (wrc != 0) {
		cli_error("merge: %s", err);
	} else {
		rc = 0;
		if (!to_stdout)
			fprintf(cli_err, "oneprof: merged %zu profiles (%s) into '%s'\n", n,
				profile_kind_name(kind[0]), output);
	}
	profile_free(m);
out:
	for (size_t i = 0; i < n; i++)
		profile_free(in[i]);
	free(in);
	free(kind);
	return rc;
}
