/* oneprof report: summary and top functions of a capture. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../model/profile.h"
#include "../report/report.h"
#include "cli.h"

const char cmd_report_help[] =
	"usage: oneprof report [-n COUNT] [--sort flat|cum] FILE\n"
	"\n"
	"Prints what the capture holds (command, duration, samples, effective rate,\n"
	"threads, lost samples, how stack walks ended), then the functions with the\n"
	"most CPU time: flat (in the function itself), cum (with its callees),\n"
	"their percentages of all sampled time, and the running sum of flat%%.\n"
	"\n"
	"  -n, --nodecount N  functions to show (default 20, 0 for all)\n"
	"  -s, --sort KEY     flat (default) or cum\n";

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nodecount", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report_options o = { .nodecount = 20 };
	unsigned long n;
	int c;
	while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!cli_parse_uint(optarg, 0, 1000000, &n)) {
				cli_error("report: -n '%s' is not a count of functions", optarg);
				return 2;
			}
			o.nodecount = n;
			break;
		case 's':
			if (strcmp(optarg, "flat") && strcmp(optarg, "cum")) {
				cli_error("report: --sort '%s': use flat or cum", optarg);
				return 2;
			}
			o.sort_cum = !strcmp(optarg, "cum");
			break;
		case 'h':
			fputs(cmd_report_help, stdout);
			return 0;
		default:
			fputs(cmd_report_help, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		cli_error("report: %s; usage: oneprof report [options] FILE",
			  optind >= argc ? "no capture file given" : "give exactly one capture file");
		return 2;
	}
	struct profile *p = cli_load_profile(argv[optind]);
	if (!p)
		return 1;
	report_summary(p, stdout);
	report_top(p, stdout, &o);
	profile_free(p);
	return 0;
}
