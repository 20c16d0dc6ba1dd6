/* oneprof diff: what changed between two profiles (captures or pprof
 * files), function by function. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../export/export.h"
#include "../model/profile.h"
#include "../report/report.h"
#include "cli.h"

const char cmd_diff_help[] =
	"usage: oneprof diff [options] BASE NEW\n"
	"\n"
	"Compares two profiles (oneprof captures or pprof files, in any mix):\n"
	"for every function with time in either, its flat share (time in the\n"
	"function itself) and cum share (with its callees) of each profile's own\n"
	"total, the change in percentage points (pp) and the change in flat time;\n"
	"biggest change first, growth and shrinkage alike (like pprof\n"
	"-diff_base). Functions are matched by name.\n"
	"\n"
	"  -n, --nodecount N  rows to show (default 20); 0 shows all\n"
	"  -s, --sort KEY     by the change in flat (default) or cum share\n"
	"  --svg OUT.svg      also write a differential flame graph: NEW's flame\n"
	"                     graph, each frame red where it grew against BASE,\n"
	"                     blue where it shrank, grey where it did not change\n"
	"  --html OUT.html    the same flame graph with this table, as one page\n"
	"  --no-normalize     colour the flame graph by the change in time, not in\n"
	"                     share of each profile's total (for runs of one length)\n"
	"\n"
	"example: oneprof diff before.opf after.opf\n";

/* Writes one differential flame graph file; false after saying why. */
static bool write_graph(const char *path, bool html, const struct profile *base,
			const struct profile *cur, bool absolute, const struct report_options *o)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		cli_error("diff: cannot write '%s': %s; choose a writable path", path,
			  strerror(errno));
		return false;
	}
	errno = 0;
	if (html)
		export_html_diff(base, cur, f, absolute, o);
	else
		export_svg_diff(base, cur, f, false, absolute);
	bool ok = fflush(f) == 0 && !ferror(f);
	if (fclose(f) != 0 || !ok) {
		cli_error("diff: writing '%s' failed: %s", path, errno ? strerror(errno) : "write error");
		return false;
	}
	fprintf(cli_err, "oneprof: wrote differential flame graph to '%s'\n", path);
	return true;
}

int cmd_diff(int argc, char **argv)
{
	enum { OPT_SVG = 256, OPT_HTML, OPT_NO_NORMALIZE };
	static const struct option opts[] = {
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "no-normalize", no_argument, NULL, OPT_NO_NORMALIZE },
		{ "nodecount", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		CLI_SYMBOL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct report_options o = { .kind = REPORT_TOP, .nodecount = 20 };
	unsigned long n;
	const char *svg = NULL, *html = NULL;
	bool absolute = false;
	int c;
	while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!cli_parse_uint(optarg, 0, 1000000, &n)) {
				cli_error("diff: -n '%s' is not a count of rows (0 for all)", optarg);
				return 2;
			}
			o.nodecount = n;
			break;
		case 's':
			if (strcmp(optarg, "flat") && strcmp(optarg, "cum")) {
				cli_error("diff: --sort '%s': use flat or cum", optarg);
				return 2;
			}
			o.sort_cum = !strcmp(optarg, "cum");
			break;
		case OPT_SVG: svg = optarg; break;
		case OPT_HTML: html = optarg; break;
		case OPT_NO_NORMALIZE: absolute = true; break;
		case 'h':
			fputs(cmd_diff_help, cli_out);
			fputs(cli_symbol_help, cli_out);
			return 0;
		default: /* --sysroot, --sample-index, ... */
			if (cli_symbol_option(c, optarg, cmd_diff_help))
				break;
			return 2;
		}
	}
	if (argc - optind != 2) {
		cli_error("diff: %s; usage: oneprof diff [options] BASE NEW",
			  argc - optind < 2 ? "give two profiles, the base then the new one"
					    : "give exactly two profiles");
		return 2;
	}
	o.width = report_term_width();
	o.color = report_use_color();
	struct profile *base = cli_load_profile(argv[optind], 0);
	if (!base)
		return 1;
	struct profile *cur = cli_load_profile(argv[optind + 1], 0);
	if (!cur) {
		profile_free(base);
		return 1;
	}
	int rc = 0;
	if (!base->total_cpu_ns || !cur->total_cpu_ns) {
		cli_error("diff: '%s' has no samples; there is nothing to compare it with; "
			  "record a longer run", base->total_cpu_ns ? cur->name : base->name);
		rc = 1;
	} else {
		report_diff(base, cur, cli_out, &o);
		if ((svg && !write_graph(svg, false, base, cur, absolute, &o)) ||
		    (html && !write_graph(html, true, base, cur, absolute, &o)))
			rc = 1;
	}
	profile_free(cur);
	profile_free(base);
	return rc;
}
