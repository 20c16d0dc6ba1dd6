/* Merging profiles (src/model/merge.c): several loaded, resolved
 * profiles of one kind into one new profile of the same model, as if one
 * long recording had produced them all. Every report and exporter reads
 * the result like any profile; `oneprof merge` writes it as pprof.
 *
 * Ownership: the merged profile owns copies of everything it holds; the
 * inputs can be freed right after profile_merge() returns. */
#ifndef MODEL_MERGE_H
#define MODEL_MERGE_H

#include <stddef.h>

#include "profile.h"

/* What a profile's values measure: only profiles of one kind add up. */
enum profile_kind {
	PROFILE_KIND_CPU,   /* CPU time (captures, pprof in a time unit) */
	PROFILE_KIND_WALL,  /* wall-clock time (record --wall) */
	PROFILE_KIND_HEAP,  /* heap events (record --heap) */
	PROFILE_KIND_OTHER, /* a pprof sample type that is not a time */
};

enum profile_kind profile_kind(const struct profile *p);
/* "CPU time", "wall-clock time", "heap", ... for messages. */
const char *profile_kind_name(enum profile_kind k);

/* The label key each input's samples carry in a merged profile, so
 * `--tag-focus input=NAME` picks one input back out. */
#define MERGE_INPUT_LABEL "input"

/* Merges n >= 1 resolved profiles of one kind (the caller checks it)
 * into a new resolved profile: functions with the same name, module,
 * file and start line become one function; threads stay one per input
 * thread; mappings, locations and stacks are kept per input. When labels
 * is not NULL, labels[i] becomes the "input" label of every sample of
 * input i, and merged_from lists them. Heap inputs merge their call
 * sites (figures summed; the peak is the sum of each input's own peak). */
struct profile *profile_merge(struct profile *const *in, const char *const *labels, size_t n);

#endif
