/* Exporters: one file per output format behind one interface, so adding a
 * format is adding a file and a line in export.c. Every exporter reads the
 * resolved profile model (profile_resolve() has run). */
#ifndef EXPORT_H
#define EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../model/profile.h"

struct exporter {
	const char *name;        /* as given to 'oneprof export -f' */
	const char *extension;   /* default output suffix, e.g. ".pb.gz" */
	const char *description; /* one line for help */
	bool binary;             /* refuses a terminal as output */
	/* Writes the whole profile to out. Returns 0, or -1 with a one-line
	 * message in err. */
	int (*write)(const struct profile *p, FILE *out, char *err, size_t errlen);
};

extern const struct exporter export_folded;
extern const struct exporter export_pprof;
extern const struct exporter export_svg;

/* The name shown for a frame or stack with no function name. */
#define EXPORT_UNKNOWN_FRAME "[unknown]"

/* Sample counts summed per stack index; the caller frees the array. */
uint64_t *export_stack_counts(const struct profile *p);

/* NULL-terminated list of every exporter, in help order. */
extern const struct exporter *const exporters[];
const struct exporter *export_find(const char *name);

#endif
