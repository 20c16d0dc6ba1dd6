/* oneprof report: summary of a capture, then one text report (top, tree,
 * peek or traces), optionally filtered and split per thread. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../model/profile.h"
#include "../report/report.h"
#include "cli.h"

const char cmd_report_help[] =
	"usage: oneprof report [--top | --tree | --peek REGEX | --traces | --heap | --spans\n"
	"                     | --metrics] [options] FILE\n"
	"\n"
	"Prints what the capture holds (command, duration, samples, effective rate,\n"
	"threads, lost samples, how stack walks ended), then one report:\n"
	"\n"
	"  --top              functions by flat time (in the function itself) and cum\n"
	"                     time (with its callees), like pprof -top (the default)\n"
	"  --tree             every function with its callers above it and its\n"
	"                     callees below, and the time through each call\n"
	"  --peek REGEX       --tree for the functions matching REGEX only\n"
	"  --traces           the hottest whole stacks, leaf first (15 by default)\n"
	"\n"
	"Filters (POSIX extended regexes, matched anywhere in a function's name; an\n"
	"option given twice matches either):\n"
	"  --focus REGEX      keep only samples with a frame matching REGEX\n"
	"  --ignore REGEX     drop samples with a frame matching REGEX\n"
	"  --hide REGEX       remove frames matching REGEX from the stacks\n"
	"  --tag-focus KEY=VALUE  keep only samples carrying the label (KEY alone:\n"
	"                     with any value); given twice, samples carrying either\n"
	"  --tag-ignore KEY=VALUE  drop samples carrying the label (KEY: any value)\n"
	"  --pid PID[,PID...]  keep only samples of these processes (captures of\n"
	"                     several processes: 'record -p', --system)\n"
	"  --comm REGEX       keep only samples of processes whose command name\n"
	"                     matches REGEX\n"
	"Percentages stay of all samples, like pprof's; the header says what the\n"
	"filters kept.\n"
	"\n"
	"  --threads          one report per thread, busiest first; percentages of\n"
	"                     the thread's own time; in a capture of several\n"
	"                     processes each thread is named with its process\n"
	"  -n, --nodecount N  rows to show: functions (default 20) or stacks for\n"
	"                     --traces (default 15); 0 shows all\n"
	"  -s, --sort KEY     flat (default) or cum\n"
	"  --lines            --top by source line: each row is one line of one\n"
	"                     function (\"mix inline.c:15\"); an inlined function's\n"
	"                     row is its own line, not the line of its caller\n"
	"\n"
	"Heap (captures recorded with --heap or --heap-sample):\n"
	"  --heap             the heap report: allocations, the peak, leaks and\n"
	"                     temporaries, the call sites behind each (-n each,\n"
	"                     default 10), sizes and memory over time\n"
	"  --heap=METRIC      any report above over one heap metric per call site:\n"
	"                     alloc-bytes, alloc-count, peak-bytes, peak-count,\n"
	"                     leak-bytes, leak-count, temp-count, temp-bytes (pprof's\n"
	"                     alloc_space, inuse_space ... also work)\n"
	"  --temporary-within N  a temporary allocation is freed by its thread with at\n"
	"                     most N other allocations in between (default 0)\n"
	"\n"
	"Spans (captures of programs instrumented with oneprof.h):\n"
	"  --spans            the span report: spans, drops and notes, span sites by\n"
	"                     total time, GC, operation counts, counters' final\n"
	"                     values and the span call tree (-n rows and nodes,\n"
	"                     default 20)\n"
	"\n"
	"Metrics (captures recorded with --monitor, --heap or --max-overhead):\n"
	"  --metrics          every time series: the monitor's process and system\n"
	"                     metrics, the program's counters and the heap's live\n"
	"                     bytes, with unit, samples, min, mean, max, last and a\n"
	"                     sparkline; the profiler's own overhead, and whether the\n"
	"                     overhead budget lowered the sampling rate\n"
	"\n"
	"Names are fitted to the terminal width ($COLUMNS, else the terminal's),\n"
	"elided in the middle; colour only on a terminal and never with NO_COLOR.\n";

/* Long-only options. */
enum {
	OPT_TOP = 256,
	OPT_TREE,
	OPT_PEEK,
	OPT_TRACES,
	OPT_FOCUS,
	OPT_IGNORE,
	OPT_HIDE,
	OPT_THREADS,
	OPT_LINES,
	OPT_HEAP,
	OPT_TEMPORARY,
	OPT_TAG_FOCUS,
	OPT_TAG_IGNORE,
	OPT_SPANS,
	OPT_METRICS,
	OPT_PID,
	OPT_COMM,
};

/* --metrics: the metrics report alone. */
static int report_metrics_command(struct profile *p, const char *path,
				  const struct report_options *o, bool other)
{
	if (other) {
		cli_error("report: --metrics shows the metrics report; it takes no other report, "
			  "filter, --heap, --spans, --lines or --threads");
		return 2;
	}
	if (!p->spans || !p->spans->nseries) {
		cli_error("report: capture '%s' holds no time series; record it with 'oneprof "
			  "record --monitor' (or counters from oneprof.h) and try again", path);
		return 1;
	}
	report_summary(p, stdout);
	report_metrics(p, stdout, o);
	return 0;
}

/* --spans: the span report alone. other: another report, a filter or
 * --threads was asked for too. */
static int report_spans_command(struct profile *p, const char *path,
				const struct report_options *o, bool other)
{
	if (other) {
		cli_error("report: --spans shows the span report; it takes no other report, "
			  "filter, --heap, --lines or --threads (use 'oneprof export --spans' for "
			  "flame graphs by span time)");
		return 2;
	}
	const struct profile_spans *s = p->spans;
	size_t counters = 0; /* the monitor's series are --metrics' */
	for (size_t i = 0; s && i < s->nseries; i++)
		counters += s->series[i].source == SERIES_COUNTER;
	if (!s || !(s->nspans || s->ngcs || counters || s->nops)) {
		cli_error("report: capture '%s' holds no spans; instrument the program with the "
			  "span API of oneprof.h (oneprof_span_begin/oneprof_span_end or "
			  "ONEPROF_SPAN, see doc/instrumentation.md) and record it again", path);
		return 1;
	}
	report_summary(p, cli_out);
	report_spans(p, cli_out, o);
	return 0;
}

static const char *kind_option(enum report_kind k)
{
	switch (k) {
	case REPORT_TREE: return "--tree";
	case REPORT_PEEK: return "--peek";
	case REPORT_TRACES: return "--traces";
	case REPORT_TOP:
	default: return "--top";
	}
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "top", no_argument, NULL, OPT_TOP },
		{ "tree", no_argument, NULL, OPT_TREE },
		{ "peek", required_argument, NULL, OPT_PEEK },
		{ "traces", no_argument, NULL, OPT_TRACES },
		{ "focus", required_argument, NULL, OPT_FOCUS },
		{ "ignore", required_argument, NULL, OPT_IGNORE },
		{ "hide", required_argument, NULL, OPT_HIDE },
		{ "tag-focus", required_argument, NULL, OPT_TAG_FOCUS },
		{ "tag-ignore", required_argument, NULL, OPT_TAG_IGNORE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "threads", no_argument, NULL, OPT_THREADS },
		{ "lines", no_argument, NULL, OPT_LINES },
		{ "heap", optional_argument, NULL, OPT_HEAP },
		{ "temporary-within", required_argument, NULL, OPT_TEMPORARY },
		{ "spans", no_argument, NULL, OPT_SPANS },
		{ "metrics", no_argument, NULL, OPT_METRICS },
		{ "nodecount", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		CLI_SYMBOL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct report_options o = { .kind = REPORT_TOP };
	struct profile_filter filter;
	profile_filter_init(&filter);
	bool kind_given = false, count_given = false, heap = false, heap_metric_given = false;
	bool spans = false, metrics = false;
	enum heap_metric metric = HEAP_ALLOC_BYTES;
	int rc = 2;
	unsigned long n;
	int c;
	while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		enum report_kind kind = REPORT_TOP;
		switch (c) {
		case OPT_TOP:
		case OPT_TREE:
		case OPT_PEEK:
		case OPT_TRACES:
			kind = c == OPT_TREE     ? REPORT_TREE
			       : c == OPT_PEEK   ? REPORT_PEEK
			       : c == OPT_TRACES ? REPORT_TRACES
						 : REPORT_TOP;
			if (kind_given && kind != o.kind) {
				cli_error("report: %s and %s both given; choose one report",
					  kind_option(o.kind), kind_option(kind));
				goto out;
			}
			kind_given = true;
			o.kind = kind;
			if (c == OPT_PEEK)
				o.peek = optarg;
			break;
		case OPT_FOCUS: profile_filter_add(&filter.focus, optarg); break;
		case OPT_IGNORE: profile_filter_add(&filter.ignore, optarg); break;
		case OPT_HIDE: profile_filter_add(&filter.hide, optarg); break;
		case OPT_TAG_FOCUS:
		case OPT_TAG_IGNORE:
			if (!cli_tag_option("report", &filter, c == OPT_TAG_IGNORE, optarg))
				goto out;
			break;
		case OPT_PID:
			if (!cli_pid_option("report", &filter, optarg))
				goto out;
			break;
		case OPT_COMM: profile_filter_add(&filter.comm, optarg); break;
		case OPT_THREADS: o.per_thread = true; break;
		case OPT_LINES: o.lines = true; break;
		case OPT_HEAP:
			heap = true;
			if (optarg && !cli_heap_metric("report", optarg, &metric))
				goto out;
			heap_metric_given = optarg != NULL;
			break;
		case OPT_SPANS: spans = true; break;
		case OPT_METRICS: metrics = true; break;
		case OPT_TEMPORARY:
			if (!cli_parse_uint(optarg, 0, 1000000000, &n)) {
				cli_error("report: --temporary-within '%s' is not a count of "
					  "allocations", optarg);
				goto out;
			}
			profile_heap_options((unsigned)n, true);
			break;
		case 'n':
			if (!cli_parse_uint(optarg, 0, 1000000, &n)) {
				cli_error("report: -n '%s' is not a count of rows (0 for all)", optarg);
				goto out;
			}
			o.nodecount = n;
			count_given = true;
			break;
		case 's':
			if (strcmp(optarg, "flat") && strcmp(optarg, "cum")) {
				cli_error("report: --sort '%s': use flat or cum", optarg);
				goto out;
			}
			o.sort_cum = !strcmp(optarg, "cum");
			break;
		case 'h':
			fputs(cmd_report_help, cli_out);
			fputs(cli_symbol_help, cli_out);
			rc = 0;
			goto out;
		default: /* --sysroot, --sample-index, ... */
			if (cli_symbol_option(c, optarg, cmd_report_help))
				break;
			goto out;
		}
	}
	if (optind != argc - 1) {
		cli_error("report: %s; usage: oneprof report [options] FILE",
			  optind >= argc ? "no capture file given" : "give exactly one capture file");
		goto out;
	}
	if (o.lines && o.kind != REPORT_TOP) {
		cli_error("report: --lines and %s both given; --lines works with --top only",
			  kind_option(o.kind));
		goto out;
	}
	if (!count_given)
		o.nodecount = heap && !heap_metric_given ? 10 : o.kind == REPORT_TRACES ? 15 : 20;
	o.width = report_term_width();
	o.color = report_use_color();

	struct profile *p = cli_load_profile(argv[optind], 0);
	if (!p) {
		rc = 1;
		goto out;
	}
	char err[512];
	if (metrics) {
		rc = report_metrics_command(p, argv[optind], &o, spans || heap || kind_given ||
								 o.per_thread || o.lines ||
								 profile_filter_active(&filter));
		profile_free(p);
		goto out;
	}
	if (spans) {
		rc = report_spans_command(p, argv[optind], &o, heap || kind_given || o.per_thread ||
							       o.lines || profile_filter_active(&filter));
		profile_free(p);
		goto out;
	}
	if (heap && !p->heap) {
		cli_error("report: capture '%s' holds no heap events; record with 'oneprof record "
			  "--heap' (or --heap-sample)", argv[optind]);
		profile_free(p);
		rc = 1;
		goto out;
	}
	if (heap && !heap_metric_given) {
		if (profile_filter_active(&filter) || kind_given || o.per_thread) {
			cli_error("report: --heap shows the heap report; for --top, --tree, --traces, "
				  "filters or --threads name a metric: --heap=leak-bytes, ...");
			profile_free(p);
			goto out;
		}
		report_summary(p, cli_out);
		report_heap(p, cli_out, &o);
		profile_free(p);
		rc = 0;
		goto out;
	}
	if (heap_metric_given)
		profile_heap_view(p, metric);
	struct profile *view = p;
	if (profile_filter_active(&filter)) {
		view = profile_filter(p, &filter, err, sizeof(err));
		if (!view) {
			cli_error("report: %s", err);
			profile_free(p);
			goto out;
		}
	}
	report_summary(p, cli_out);
	if (view != p) {
		char desc[1024];
		profile_filter_describe(&filter, desc, sizeof(desc));
		report_filtered(view, p, desc, cli_out);
	}
	rc = 0;
	if (report_run(view, p, cli_out, &o, err, sizeof(err)) != 0) {
		cli_error("report: %s", err);
		rc = 1;
	}
	if (view != p)
		profile_view_free(view);
	profile_free(p);
out:
	profile_filter_release(&filter);
	return rc;
}
