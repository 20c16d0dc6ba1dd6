/* Views of the profile model: pprof's focus, ignore and hide filters and
 * a per-thread cut, as a profile every report and exporter reads
 * unchanged; and the stack walk they all share.
 *
 * Ownership: a view borrows everything it did not change from the
 * profile it was made from, which must outlive it; free a view with
 * profile_view_free(), never profile_free(). */
#ifndef MODEL_FILTER_H
#define MODEL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

/* A label a sample must (or must not) carry: key=value, or key with any
 * value (value NULL). */
struct profile_tag {
	char *key, *value;
};

/* What a view keeps. Regexes are POSIX extended, matched anywhere in a
 * function's name (like pprof's, which are unanchored too). */
struct profile_filter {
	char *focus;  /* keep only samples with a frame matching; NULL: all */
	char *ignore; /* drop samples with a frame matching; NULL: none */
	char *hide;   /* remove matching frames from every stack; NULL: none */
	long thread;  /* index into threads to keep; -1: every thread */
	/* Labels: keep samples carrying any of tag_focus (none given: all),
	 * then drop those carrying any of tag_ignore. */
	struct profile_tag *tag_focus, *tag_ignore;
	size_t ntag_focus, ntag_ignore;
	/* Processes: keep samples of threads in one of pids (none given:
	 * all) whose process name matches comm (NULL: any). */
	uint64_t *pids;
	size_t npids;
	char *comm;
};

/* No filter: every sample, every frame, every thread. */
void profile_filter_init(struct profile_filter *f);
/* Adds a regex to a slot (&f->focus, ...): given twice, a slot matches
 * either ("(a)|(b)"), so repeated options add up. */
void profile_filter_add(char **slot, const char *regex);
/* Adds a --tag-focus (ignore false) or --tag-ignore spec, "KEY=VALUE" or
 * "KEY" (any value). false and a one-line message when it has no key. */
bool profile_filter_add_tag(struct profile_filter *f, bool ignore, const char *spec, char *err,
			    size_t errlen);
/* Adds a --pid list, "PID[,PID...]". false and a one-line message when
 * it is not a list of process ids. */
bool profile_filter_add_pids(struct profile_filter *f, const char *list, char *err,
			     size_t errlen);
/* true when the filter would change anything. */
bool profile_filter_active(const struct profile_filter *f);
void profile_filter_release(struct profile_filter *f);
/* "focus 'x' ignore 'y'": the filter as a user gave it, for headers. */
void profile_filter_describe(const struct profile_filter *f, char *buf, size_t len);

/* A view of p through f: samples, totals, thread counts and walk-end
 * counts are those of the samples kept; hidden frames are gone from the
 * stacks. NULL and a message naming the bad regex when one does not
 * compile. */
struct profile *profile_filter(const struct profile *p, const struct profile_filter *f,
			       char *err, size_t errlen);
void profile_view_free(struct profile *view);

/* Marks the functions whose name matches regex: an array of nfunctions
 * flags (free it), or NULL and a message naming `what` (the option) when
 * the regex does not compile. */
bool *profile_match_functions(const struct profile *p, const char *regex, const char *what,
			      char *err, size_t errlen);

/* Every stack's functions, leaf first, as profile_stack_functions() gives
 * them (inline frames expanded), computed once: stack s has
 * fn[start[s]] .. fn[start[s + 1] - 1]. Stacks no sample uses are left
 * empty. */
struct profile_frames {
	uint32_t *fn;
	size_t *start; /* nstacks + 1 entries */
};
void profile_frames_build(const struct profile *p, struct profile_frames *pf);
void profile_frames_free(struct profile_frames *pf);

static inline size_t profile_frames_count(const struct profile_frames *pf, size_t stack)
{
	return pf->start[stack + 1] - pf->start[stack];
}

static inline const uint32_t *profile_frames_of(const struct profile_frames *pf, size_t stack)
{
	return pf->fn + pf->start[stack];
}

/* Samples and time per stack: arrays of nstacks the caller frees. */
void profile_stack_weights(const struct profile *p, uint64_t **count, uint64_t **ns);

/* Per function: self (at the top of the stack) and total (anywhere on
 * it, once per sample however deep the recursion) samples and time. */
struct profile_totals {
	uint64_t self_count, total_count;
	uint64_t self_ns, total_ns;
};
/* An array of nfunctions totals (free it), from p's stacks as pf has them. */
struct profile_totals *profile_function_totals(const struct profile *p,
					       const struct profile_frames *pf);

#endif
