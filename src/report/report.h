/* Text reports over the resolved profile model. Every report reads a
 * profile, or a filtered view of one (model/filter.h), and writes plain
 * text sized to a terminal width, with ANSI colour only when asked. */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../model/profile.h"

enum report_kind {
	REPORT_TOP,    /* functions by flat and cumulative time (pprof -top) */
	REPORT_TREE,   /* each function between its callers and callees (pprof -tree) */
	REPORT_PEEK,   /* the tree entries of the functions matching a regex (pprof -peek) */
	REPORT_TRACES, /* the hottest whole stacks (pprof -traces, merged) */
};

struct report_options {
	enum report_kind kind;
	const char *peek;  /* REPORT_PEEK: POSIX extended regex on function names */
	size_t nodecount;  /* rows: functions, or stacks for traces; 0: all */
	bool sort_cum;     /* by cumulative rather than flat time */
	bool lines;        /* REPORT_TOP: rows are source lines, not functions */
	bool per_thread;   /* one report per thread, busiest first */
	unsigned width;    /* terminal columns names are fitted to; 0: no limit */
	bool color;        /* ANSI colour (stdout is a terminal, NO_COLOR unset) */
	uint64_t total_ns; /* what percentages are of; 0: the profile's own total */
	const char *unit;  /* of the values: the profile's (set by report_run) */
	/* REPORT_TOP by function: a samples column (samples with the
	 * function at the top) and a process column (the process holding
	 * most of its cum samples, or "N procs"), as oneprof top shows. */
	bool procs;
};

/* The report o asks for, on `view` (a profile or a filtered view of
 * `all`). Percentages are of all's sampled time, as pprof shows them
 * (of the whole profile, not of what the filters kept); per thread, of
 * that thread's. Returns 0, or -1 and a message (a bad --peek regex, or
 * one that matches no function with samples). */
int report_run(const struct profile *view, const struct profile *all, FILE *out,
	       const struct report_options *o, char *err, size_t errlen);

/* The header: command, duration, samples, effective rate, threads, lost
 * samples and how stack walks ended. */
void report_summary(const struct profile *p, FILE *out);

/* What the filters kept of `all`: samples and time, described as
 * `desc` ("focus 'x'"). */
void report_filtered(const struct profile *view, const struct profile *all, const char *desc,
		     FILE *out);

/* The busiest `max` processes (0: all): pid, name, samples, time and
 * command line. */
void report_processes(const struct profile *p, FILE *out, size_t max);

/* The busiest `max` threads (0: all): samples, CPU time, effective rate;
 * with several processes, each thread's. */
void report_threads(const struct profile *p, FILE *out, size_t max);

/* The heap report (oneprof report --heap): totals, problems, the call
 * sites behind leaks, the peak, allocations and temporaries (o->nodecount
 * each), sizes and memory over time. p->heap must be set. */
void report_heap(const struct profile *p, FILE *out, const struct report_options *o);

/* The span report (oneprof report --spans): what the capture holds and
 * lost, span sites by total time (o->nodecount rows), GC, operation
 * counts, counters' final values and the call tree (o->nodecount nodes).
 * p->spans must be set. */
void report_spans(const struct profile *p, FILE *out, const struct report_options *o);

/* The metrics report (oneprof report --metrics): every series of the
 * capture (monitor, counters, heap live bytes) with unit, samples, min,
 * mean, max, last and a sparkline; the profiler's own overhead; whether
 * the overhead budget lowered the sampling rate. */
void report_metrics(const struct profile *p, FILE *out, const struct report_options *o);

/* How a series is shown, from its name's suffix (doc/capture-format.md):
 * values times scale, in unit; a running total as its rate per second. */
struct metric_desc {
	const char *unit;
	double scale;
	bool rate;
};
struct metric_stats {
	size_t n;                     /* values shown (a rate: points - 1) */
	double min, mean, max, last;  /* in the unit of metric_describe() */
};
void metric_describe(const struct profile_series *sr, struct metric_desc *d);
/* The values shown (rates for a total) into out (and their times, if
 * times is not NULL), each room for sr->n; returns how many. */
size_t metric_values(const struct profile_series *sr, const struct metric_desc *d,
		     double *out, uint64_t *times);
bool metric_stats(const struct profile_series *sr, struct metric_stats *st);
const struct profile_series *metric_find(const struct profile *p, const char *name);
/* Whether the overhead budget lowered the sampling rate: from and to
 * (Hz), and when it first did (ns since the capture start). */
bool metric_rate_lowered(const struct profile *p, uint64_t *from, uint64_t *to, uint64_t *when);

/* What 'oneprof record' says of the capture it wrote (record_summary.c). */
struct record_summary {
	bool from_end;   /* told by the END record and the last chunk alone */
	bool incomplete; /* why says how */
	char why[768];
	bool rate_lowered; /* the overhead budget lowered the sampling rate */
	uint64_t rate_from, rate_to, rate_when;
	bool heap; /* heap records: the counts of HEAP_ALLOC and HEAP_FREE */
	double heap_allocs, heap_frees;
	uint64_t samples, cpu_ns, lost; /* lost: CPU samples */
	size_t threads;
	bool wall;
};
/* fast: from the END record where the capture has its summary fields
 * (and no budget could have lowered the rate), else by a full read.
 * Returns 0, or -1 with the message in err. */
int record_summary_read(const char *path, bool fast, struct record_summary *s, char *err,
			size_t errlen);

/* The single reports; report_run() picks one. report_peek() returns the
 * number of functions shown, or -1 and a message for a bad regex. */
void report_top(const struct profile *p, FILE *out, const struct report_options *o);
void report_tree(const struct profile *p, FILE *out, const struct report_options *o);
int report_peek(const struct profile *p, FILE *out, const struct report_options *o,
		char *err, size_t errlen);
void report_traces(const struct profile *p, FILE *out, const struct report_options *o);

/* Functions of base and cur matched by name: flat and cum shares of each
 * profile's own total, the change in percentage points and in flat time,
 * largest |change| first (by cum with o->sort_cum); o->nodecount rows
 * (0: all). */
void report_diff(const struct profile *base, const struct profile *cur, FILE *out,
		 const struct report_options *o);

/* "1.25s", "340ms", "12.5ms", "900us": the units pprof prints. */
void report_format_ns(char *buf, size_t len, double ns);
/* A sample value in its unit (struct profile's unit): time as above,
 * "bytes" as "1.5MiB", "count" as a number ("12.3k" from 10,000). */
void report_format_value(const char *unit, char *buf, size_t len, double v);
/* "1.50 MiB", "999 B": bytes for summaries. */
void report_format_bytes(char *buf, size_t len, double bytes);

/* The terminal width for stdout: $COLUMNS when it is a number, else the
 * terminal's (TIOCGWINSZ), else 0 (not a terminal: no limit). */
unsigned report_term_width(void);
/* The terminal's rows the same way: $LINES, else TIOCGWINSZ, else 0. */
unsigned report_term_height(void);
/* Colour on stdout: a terminal and NO_COLOR unset or empty. */
bool report_use_color(void);

#endif
