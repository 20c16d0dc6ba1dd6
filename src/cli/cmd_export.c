/* oneprof export: write a capture in another tool's format. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../export/export.h"
#include "../export/zip.h"
#include "../model/filter.h"
#include "../model/profile.h"
#include "cli.h"

const char cmd_export_help[] =
	"usage: oneprof export FILE -f FORMAT [-o OUT] [--focus|--ignore|--hide REGEX]\n"
	"                      [--heap=METRIC | --spans]\n"
	"\n"
	"Converts a capture to another tool's format (list below).\n"
	"\n"
	"  -f, --format FORMAT  output format (required)\n"
	"  -o, --output OUT     file to write; '-' for standard output (text formats);\n"
	"                       default: FILE with the format's extension; perfview\n"
	"                       to a name ending in .zip (app.perfView.xml.zip)\n"
	"                       writes a zip archive of the XML, which PerfView opens\n"
	"  --focus REGEX        export only samples with a frame matching REGEX\n"
	"  --ignore REGEX       leave out samples with a frame matching REGEX\n"
	"  --hide REGEX         remove frames matching REGEX from the stacks\n"
	"                       (POSIX extended regexes on function names, as in\n"
	"                       'oneprof report'; an option given twice matches either)\n"
	"  --tag-focus KEY=VALUE  export only samples carrying the label (KEY alone:\n"
	"                       with any value); given twice, samples carrying either\n"
	"  --tag-ignore KEY=VALUE  leave out samples carrying the label\n"
	"  --pid PID[,PID...]   export only samples of these processes (a capture\n"
	"                       of several processes, from 'record -p' or --system)\n"
	"  --comm REGEX         export only samples of processes whose command name\n"
	"                       matches REGEX\n"
	"  --heap=METRIC        export a heap metric per call site instead of CPU time:\n"
	"                       alloc-bytes, alloc-count, peak-bytes, peak-count,\n"
	"                       leak-bytes, leak-count, temp-count, temp-bytes (pprof\n"
	"                       output always holds alloc_objects, alloc_space,\n"
	"                       inuse_objects and inuse_space; METRIC is its default)\n"
	"  --spans              export time by span instead of samples: the span call\n"
	"                       tree's self time under stacks of span names (svg,\n"
	"                       html, folded, pprof, ...); for the span call graph\n"
	"                       itself use -f spans, for a timeline -f chrome\n";

void cmd_export_list_formats(FILE *out)
{
	fputs("\nformats:\n", out);
	for (size_t i = 0; exporters[i]; i++)
		fprintf(out, "  %-11s %s\n", exporters[i]->name, exporters[i]->description);
}

static void format_names(char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; exporters[i]; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "",
			 exporters[i]->name);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* PerfView's zipped XML: the export in memory, then one archive entry
 * named after the output, less its ".zip". */
static int write_zipped(const struct exporter *ex, const struct profile *p, const char *output,
			char *err, size_t errlen)
{
	char *xml = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&xml, &len);
	if (!mem) {
		snprintf(err, errlen, "cannot buffer the %s output: %s", ex->name, strerror(errno));
		return -1;
	}
	int rc = export_run(ex, p, mem, err, errlen);
	if (fclose(mem) != 0 && rc == 0) {
		snprintf(err, errlen, "cannot buffer the %s output: %s", ex->name, strerror(errno));
		rc = -1;
	}
	FILE *out = rc == 0 ? fopen(output, "wb") : NULL;
	if (rc == 0 && !out) {
		snprintf(err, errlen, "cannot write '%s': %s; choose a writable path with -o", output,
			 strerror(errno));
		rc = -1;
	}
	if (out) {
		char entry[PATH_MAX];
		const char *base = strrchr(output, '/') ? strrchr(output, '/') + 1 : output;
		/* PerfView knows the entry by its extension: keep or add it. */
		snprintf(entry, sizeof(entry), "%.*s%s", (int)(strlen(base) - 4), base,
			 ends_with(base, ".perfView.xml.zip") ? "" : ex->extension);
		rc = export_zip_one(out, entry, xml ? xml : "", len, err, errlen);
		if (fclose(out) != 0 && rc == 0) {
			snprintf(err, errlen, "writing '%s' failed: %s", output, strerror(errno));
			rc = -1;
		}
	}
	free(xml);
	return rc;
}

static void default_output(char *out, size_t len, const char *in, const char *ext)
{
	size_t n = strlen(in);
	if (n > 4 && strcmp(in + n - 4, ".opf") == 0)
		n -= 4;
	snprintf(out, len, "%.*s%s", (int)n, in, ext);
}

int cmd_export(int argc, char **argv)
{
	enum { OPT_FOCUS = 256, OPT_IGNORE, OPT_HIDE, OPT_HEAP, OPT_SPANS, OPT_TAG_FOCUS,
	       OPT_TAG_IGNORE, OPT_PID, OPT_COMM };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "focus", required_argument, NULL, OPT_FOCUS },
		{ "ignore", required_argument, NULL, OPT_IGNORE },
		{ "hide", required_argument, NULL, OPT_HIDE },
		{ "tag-focus", required_argument, NULL, OPT_TAG_FOCUS },
		{ "tag-ignore", required_argument, NULL, OPT_TAG_IGNORE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "heap", required_argument, NULL, OPT_HEAP },
		{ "spans", no_argument, NULL, OPT_SPANS },
		{ "help", no_argument, NULL, 'h' },
		CLI_SYMBOL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL, *output = NULL, *heap = NULL;
	bool spans = false;
	enum heap_metric metric = HEAP_LEAK_BYTES;
	struct profile_filter filter;
	profile_filter_init(&filter);
	struct profile *p = NULL, *view = NULL; /* view: p, or a filtered view of it */
	int rc = 2;
	int c;
	while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case OPT_FOCUS: profile_filter_add(&filter.focus, optarg); break;
		case OPT_IGNORE: profile_filter_add(&filter.ignore, optarg); break;
		case OPT_HIDE: profile_filter_add(&filter.hide, optarg); break;
		case OPT_TAG_FOCUS:
		case OPT_TAG_IGNORE:
			if (!cli_tag_option("export", &filter, c == OPT_TAG_IGNORE, optarg))
				goto out;
			break;
		case OPT_PID:
			if (!cli_pid_option("export", &filter, optarg))
				goto out;
			break;
		case OPT_COMM: profile_filter_add(&filter.comm, optarg); break;
		case OPT_SPANS: spans = true; break;
		case OPT_HEAP:
			heap = optarg;
			if (!cli_heap_metric("export", optarg, &metric))
				goto out;
			break;
		case 'h':
			fputs(cmd_export_help, cli_out);
			fputs(cli_symbol_help, cli_out);
			cmd_export_list_formats(cli_out);
			rc = 0;
			goto out;
		default: /* --sysroot, --sample-index, ... */
			if (cli_symbol_option(c, optarg, cmd_export_help))
				break;
			goto out;
		}
	}
	if (optind != argc - 1) {
		cli_error("export: %s; usage: oneprof export FILE -f FORMAT [-o OUT]",
			  optind >= argc ? "no capture file given" : "give exactly one capture file");
		goto out;
	}
	char known[256];
	format_names(known, sizeof(known));
	if (!format) {
		cli_error("export: no format given; use -f with one of: %s", known);
		goto out;
	}
	const struct exporter *ex = export_find(format);
	if (!ex) {
		cli_error("export: unknown format '%s'; known formats: %s", format, known);
		goto out;
	}
	if (spans && heap) {
		cli_error("export: --spans and --heap both given; choose one view");
		goto out;
	}
	const char *input = argv[optind];
	char path[PATH_MAX];
	if (!output) {
		default_output(path, sizeof(path), input, ex->extension);
		output = path;
	}
	bool to_stdout = strcmp(output, "-") == 0;
	if (to_stdout && ex->binary && isatty(fileno(cli_out))) {
		cli_error("export: %s output is binary; give a file with -o", ex->name);
		goto out;
	}

	rc = 1;
	char err[512] = "";
	p = cli_load_profile(input, ex->timeline ? PROFILE_SAMPLE_TIMES : 0);
	if (!p)
		goto out;
	if (ex == &export_spans && !p->spans) {
		cli_error("export: capture '%s' holds no spans, counters or GC events; "
			  "instrument the program with the span API of oneprof.h (see "
			  "doc/instrumentation.md) and record it again", input);
		goto out;
	}
	if (spans && !profile_span_view(p)) {
		cli_error("export: capture '%s' holds no spans; instrument the program with the "
			  "span API of oneprof.h (see doc/instrumentation.md) and record it again",
			  input);
		goto out;
	}
	if (heap && !profile_heap_view(p, metric)) {
		cli_error("export: capture '%s' holds no heap events; record with 'oneprof record "
			  "--heap' (or --heap-sample)", input);
		goto out;
	}
	/* Filters give a view of the profile; every exporter reads it as
	 * it reads a whole profile. */
	view = p;
	if (profile_filter_active(&filter) && !(view = profile_filter(p, &filter, err, sizeof(err)))) {
		cli_error("export: %s", err);
		rc = 2;
		goto out;
	}
	if (ex == &export_perfview && !to_stdout && ends_with(output, ".zip")) {
		rc = write_zipped(ex, view, output, err, sizeof(err));
		if (rc != 0) {
			cli_error("export: %s", err);
			rc = 1;
		} else {
			fprintf(cli_err, "oneprof: wrote %s (zipped) to '%s'\n", ex->name, output);
		}
		goto out;
	}
	FILE *out = to_stdout ? cli_out : fopen(output, ex->binary ? "wb" : "w");
	if (!out) {
		cli_error("export: cannot write '%s': %s; choose a writable path with -o", output,
			  strerror(errno));
		goto out;
	}
	rc = export_run(ex, view, out, err, sizeof(err));
	if (!to_stdout && fclose(out) != 0 && rc == 0) {
		snprintf(err, sizeof(err), "writing '%s' failed: %s", output, strerror(errno));
		rc = -1;
	}
	if (rc != 0) {
		cli_error("export: %s", err);
		rc = 1;
		goto out;
	}
	if (!to_stdout)
		fprintf(cli_err, "oneprof: wrote %s to '%s'\n", ex->name, output);
out:
	if (view != p)
		profile_view_free(view);
	profile_free(p);
	profile_filter_release(&filter);
	return rc;
}
