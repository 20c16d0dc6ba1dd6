/* Prometheus exposition: metric families written into a bounded buffer,
 * in the text format 0.0.4 or OpenMetrics 1.0.0, and the process_*
 * families from procfs. Shared by the agent's metrics endpoint and by
 * 'oneprof monitor --prometheus', so both expose the same names.
 *
 * Nothing here allocates: the caller owns the buffer. A family that does
 * not fit is taken back whole (the output stays well-formed) and counted
 * in `dropped`; expo_finish() keeps room to say so. */
#ifndef AGENT_EXPO_H
#define AGENT_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procfs.h"

enum expo_format {
	EXPO_TEXT = 0,        /* text/plain; version=0.0.4 */
	EXPO_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
};

enum expo_type { EXPO_COUNTER, EXPO_GAUGE, EXPO_HISTOGRAM };

/* Bytes expo_finish() keeps for its own lines. */
#define EXPO_RESERVE 256

struct expo {
	char *buf;
	size_t cap, len;
	enum expo_format fmt;
	enum expo_type type;
	char name[128];      /* the current family, without a counter's _total */
	size_t family_start; /* where it began in buf */
	bool skipping;       /* it did not fit: its samples are left out */
	uint64_t dropped;    /* families left out for want of room */
};

/* cap must be larger than EXPO_RESERVE. */
void expo_init(struct expo *e, char *buf, size_t cap, enum expo_format fmt);
/* Starts a family: HELP, TYPE and (OpenMetrics, when given) UNIT lines.
 * A counter's name is given without _total: the samples get it. */
void expo_family(struct expo *e, const char *name, enum expo_type type, const char *unit,
		 const char *help);
/* One sample of the current counter or gauge. labels: key, value, key,
 * value..., NULL (or labels NULL); values are escaped. */
void expo_sample(struct expo *e, const char *const *labels, double value);
/* One labelled histogram of the current family: `counts` holds nbounds+1
 * per-bucket counts (the last: above every bound), not cumulative. */
void expo_histogram(struct expo *e, const char *const *labels, const double *bounds,
		    const uint64_t *counts, size_t nbounds, double sum);
/* Ends the exposition (the dropped-families gauge when any was dropped,
 * `# EOF` in OpenMetrics); returns its length. */
size_t expo_finish(struct expo *e);

/* The format an Accept header asks for, and its Content-Type. */
enum expo_format expo_negotiate(const char *accept);
const char *expo_content_type(enum expo_format fmt);

/* A label value escaped for the exposition (\\, \" and \n; bytes that
 * are not UTF-8 become '?'), NUL-terminated; false when cut short. */
bool expo_escape_label(char *out, size_t cap, const char *s);

/* The standard process_* families (and oneprof's process_* extras: page
 * faults, context switches) of one process; fields not read are left out. */
void expo_process(struct expo *e, const struct procfs_process *p);

#endif
