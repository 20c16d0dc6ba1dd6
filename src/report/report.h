/* Text reports over the resolved profile model. */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../model/profile.h"

struct report_options {
	size_t nodecount; /* rows to print; 0: all */
	bool sort_cum;    /* by cumulative rather than flat time */
};

/* The header: command, duration, samples, effective rate, threads, lost
 * samples and how stack walks ended. */
void report_summary(const struct profile *p, FILE *out);

/* The busiest `max` threads (0: all): samples, CPU time, effective rate. */
void report_threads(const struct profile *p, FILE *out, size_t max);

/* Functions by flat (self) and cumulative time, like pprof's top. */
void report_top(const struct profile *p, FILE *out, const struct report_options *o);

/* "1.25s", "340ms", "12.5ms", "900us": the units pprof prints. */
void report_format_ns(char *buf, size_t len, double ns);

#endif
