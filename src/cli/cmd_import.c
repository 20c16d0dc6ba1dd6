/* oneprof import: another tool's profile (pprof, folded stacks, perf
 * script text) into a pprof file through the model, so that every
 * command reads it like a capture. Reading is src/model/load.c's (the
 * one place that tells formats apart) and the readers beside it; writing
 * is the pprof exporter's. This file parses options and says what was
 * read and what was left out. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../export/export.h"
#include "../model/profile.h"
#include "../report/report.h"
#include "../util/util.h"
#include "cli.h"

const char cmd_import_help[] =
	"usage: oneprof import [--format pprof|folded|perf-script] [-o OUT] INPUT|-\n"
	"\n"
	"Converts a profile written by another tool into pprof (gzipped protobuf),\n"
	"which every oneprof command reads like a capture: report, diff, merge and\n"
	"export it afterwards. The format is told by content:\n"
	"  pprof        gzipped or raw perftools.profiles.Profile (go tool pprof,\n"
	"               Pyroscope, pprof-format); --sample-index picks the type kept\n"
	"  folded       'root;caller;leaf COUNT' lines (FlameGraph's stackcollapse,\n"
	"               inferno, async-profiler collapsed, 'oneprof export -f\n"
	"               folded'): sample type samples/count\n"
	"  perf-script  the text of 'perf script' for a 'perf record -g' recording:\n"
	"               values are periods (cpu-clock and task-clock: CPU time in\n"
	"               ns, beside samples/count), threads named by comm with\n"
	"               pid/tid labels; [unknown] symbols become module+0xADDR\n"
	"Folded and perf script files are also read directly by every command;\n"
	"import makes a file that needs no detection and loads faster.\n"
	"Malformed lines are skipped and counted (the first one's line number and\n"
	"problem are printed); a file with no sample at all is an error.\n"
	"\n"
	"  -f, --format FORMAT  read INPUT as this format instead of detecting it\n"
	"  -o, --output OUT     the pprof file to write; default: INPUT with its\n"
	"                       extension replaced by .pb.gz (required when INPUT\n"
	"                       is '-', standard input); '-': standard output\n"
	"  --sample-index NAME  pprof: the sample type to keep (name or number;\n"
	"                       default: the profile's default); perf script: the\n"
	"                       event to import (default: the first one seen)\n"
	"  --max-frames N       keep at most N frames of a text stack, the leaf-most\n"
	"                       (default 4096; deeper stacks are counted)\n"
	"\n"
	"examples: perf script > app.perf && oneprof import app.perf && oneprof report app.pb.gz\n"
	"          oneprof import -o app.pb.gz app.folded\n";

/* INPUT with its extension replaced by .pb.gz (.pb.gz itself counts as
 * one extension); never INPUT itself. */
static void default_output(char *out, size_t len, const char *in)
{
	const char *base = path_basename(in);
	size_t n = strlen(in);
	const char *dot = strrchr(base, '.');
	if (dot && dot != base) {
		n = (size_t)(dot - in);
		/* "x.pb.gz": drop ".pb" too. */
		if (!strcmp(dot, ".gz") && n >= 3 && !strncmp(in + n - 3, ".pb", 3) &&
		    in + n - 3 > base)
			n -= 3;
	}
	snprintf(out, len, "%.*s.pb.gz", (int)n, in);
	if (!strcmp(out, in))
		snprintf(out, len, "%.*s.imported.pb.gz", (int)n, in);
}

void cli_import_warnings(const struct profile *p)
{
	const struct profile_import *im = &p->import;
	if (!im->format)
		return;
	if (im->bad)
		cli_warn("'%s' (%s): skipped %" PRIu64 " malformed line%s, the first at line %" PRIu64
			 ": %s; fix or remove %s, or check the format ('oneprof help import')",
			 p->name, im->format, im->bad, im->bad == 1 ? "" : "s", im->first_bad_line,
			 im->bad_why, im->bad == 1 ? "it" : "them");
	if (im->other_event)
		cli_warn("'%s': skipped %" PRIu64 " samples of event '%s' (one event per profile: "
			 "'%s' was imported); choose another with --sample-index EVENT",
			 p->name, im->other_event, im->other_event_name, p->pprof_type);
	if (im->truncated)
		cli_warn("'%s': %" PRIu64 " stacks were deeper than the frame limit; their "
			 "leaf-most frames were kept (raise it with --max-frames)",
			 p->name, im->truncated);
}

static void amount(const struct export_value_type *t, char *buf, size_t len)
{
	if (!strcmp(t->unit, "nanoseconds")) {
		char ns[32];
		report_format_ns(ns, sizeof(ns), (double)t->total);
		snprintf(buf, len, "%s (%" PRIu64 " ns)", ns, t->total);
	} else {
		snprintf(buf, len, "%" PRIu64, t->total);
	}
}

static void summary(FILE *out, const struct profile *p, const char *input, const char *output)
{
	const struct profile_import *im = &p->import;
	fprintf(out, "Imported '%s' (%s) into '%s'\n", input, im->format ? im->format : "capture",
		output);
	struct export_value_type t[EXPORT_PPROF_MAX_TYPES];
	size_t n = export_pprof_types(p, t);
	fputs("  sample types:  ", out);
	for (size_t i = 0; i < n; i++) {
		char a[64];
		amount(&t[i], a, sizeof(a));
		fprintf(out, "%s%s/%s total %s", i ? ", " : "", t[i].type, t[i].unit, a);
	}
	fputc('\n', out);
	if (im->input_types && strchr(im->input_types, ','))
		fprintf(out, "  input types:   %s (kept: %s/%s; choose another with "
			"--sample-index)\n", im->input_types, p->pprof_type, p->pprof_unit);
	size_t inline_frames = 0;
	for (size_t i = 0; i < p->nlocations; i++)
		if (p->locations[i].nlines > 1)
			inline_frames += p->locations[i].nlines - 1;
	fprintf(out, "  samples:       %" PRIu64 " %s read, %" PRIu64 " samples in %zu stacks, "
		"%zu threads\n", im->records,
		im->format && !strcmp(im->format, "folded") ? "lines" : "samples", p->total_count,
		p->nstacks, p->nthreads);
	fprintf(out, "  functions:     %zu, locations %zu, inline frames %zu, mappings %zu\n",
		p->nfunctions, p->nlocations, inline_frames, p->nmappings);
	bool skipped = false;
	if (im->bad) {
		fprintf(out, "  skipped:       %" PRIu64 " malformed line%s (the first at line %" PRIu64
			": %s)\n", im->bad, im->bad == 1 ? "" : "s", im->first_bad_line, im->bad_why);
		skipped = true;
	}
	if (im->other_event) {
		fprintf(out, "  skipped:       %" PRIu64 " samples of other events (first: '%s')\n",
			im->other_event, im->other_event_name);
		skipped = true;
	}
	if (im->zero) {
		fprintf(out, "  skipped:       %" PRIu64 " samples with value 0 (nothing to add)\n",
			im->zero);
		skipped = true;
	}
	if (im->truncated) {
		fprintf(out, "  truncated:     %" PRIu64 " stacks over the frame limit (leaf-most "
			"frames kept)\n", im->truncated);
		skipped = true;
	}
	if (im->stray_lines) {
		fprintf(out, "  ignored:       %" PRIu64 " indented lines that are not frames "
			"(such as perf script's srcline)\n", im->stray_lines);
		skipped = true;
	}
	if (im->unknown_fields) {
		fprintf(out, "  ignored:       %" PRIu64 " pprof fields unknown to profile.proto\n",
			im->unknown_fields);
		skipped = true;
	}
	if (!skipped)
		fputs("  skipped:       nothing\n", out);
}

int cmd_import(int argc, char **argv)
{
	enum { OPT_SAMPLE_INDEX = 256, OPT_MAX_FRAMES };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "sample-index", required_argument, NULL, OPT_SAMPLE_INDEX },
		{ "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *index = NULL;
	enum profile_format force = PROFILE_FORMAT_UNKNOWN;
	struct profile_text_limits lim = { 0, 0 };
	int c;
	while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = profile_format_parse(optarg);
			if (force == PROFILE_FORMAT_UNKNOWN || force == PROFILE_FORMAT_CAPTURE) {
				cli_error("import: --format '%s' is not an import format; use pprof, "
					  "folded or perf-script", optarg);
				return 2;
			}
			break;
		case 'o': output = optarg; break;
		case OPT_SAMPLE_INDEX: index = optarg; break;
		case OPT_MAX_FRAMES: {
			unsigned long v;
			if (!cli_parse_uint(optarg, 1, 1u << 20, &v)) {
				cli_error("import: --max-frames '%s' is not a number from 1 to %u",
					  optarg, 1u << 20);
				return 2;
			}
			lim.max_frames = v;
			break;
		}
		case 'h': fputs(cmd_import_help, cli_out); return 0;
		default: fputs(cmd_import_help, cli_err); return 2;
		}
	}
	if (optind + 1 != argc) {
		cli_error("import: %s; usage: oneprof import [-f FORMAT] [-o OUT] INPUT ('-' for "
			  "standard input)", optind == argc ? "no input given" : "give one input");
		return 2;
	}
	const char *input = argv[optind];
	bool from_stdin = !strcmp(input, "-");
	if (from_stdin && !output) {
		cli_error("import: reading standard input needs an output file; add -o OUT.pb.gz");
		return 2;
	}
	char path[4096];
	if (!output) {
		default_output(path, sizeof(path), input);
		output = path;
	}
	bool to_stdout = !strcmp(output, "-");
	if (to_stdout && isatty(fileno(cli_out))) {
		cli_error("import: the pprof output is binary; give a file with -o");
		return 2;
	}

	FILE *in = from_stdin ? stdin : fopen(input, "rb");
	if (!in) {
		cli_error("import: cannot open '%s': %s; check the path", input, strerror(errno));
		return 1;
	}
	char err[512] = "";
	const char *name = from_stdin ? "standard input" : input;
	struct profile *p =
		profile_load_stream(in, name, force, index, &lim, 0, err, sizeof(err));
	if (!from_stdin)
		fclose(in);
	if (!p) {
		cli_error("import: %s", err);
		return 1;
	}
	if (!p->import.format) {
		/* A capture needs symbols: that is export's work. */
		cli_error("import: '%s' is a oneprof capture, not another tool's profile; convert it "
			  "with 'oneprof export %s -f pprof'", input, input);
		profile_free(p);
		return 2;
	}
	cli_import_warnings(p);

	FILE *out = to_stdout ? cli_out : fopen(output, "wb");
	if (!out) {
		cli_error("import: cannot write '%s': %s; choose a writable path with -o", output,
			  strerror(errno));
		profile_free(p);
		return 1;
	}
	int wrc = export_run(&export_pprof, p, out, err, sizeof(err));
	if (!to_stdout && fclose(out) != 0 && wrc == 0) {
		snprintf(err, sizeof(err), "writing '%s' failed: %s", output, strerror(errno));
		wrc = -1;
	}
	if (wrc != 0) {
		cli_error("import: %s", err);
		profile_free(p);
		return 1;
	}
	summary(to_stdout ? cli_err : cli_out, p, name, to_stdout ? "standard output" : output);
	profile_free(p);
	return 0;
}
