/* Building a resolved profile from another tool's text (folded stacks,
 * perf script): the text readers hand over names, addresses and counts;
 * this turns them into the model's tables, each function, location,
 * stack and (thread, stack) sample kept once, so memory grows with the
 * distinct stacks, not with the length of the input. Internal to
 * src/model/. */
#ifndef MODEL_TEXT_BUILD_H
#define MODEL_TEXT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"

struct text_build {
	struct profile *p;
	struct profile_text_limits lim;
	bool keep_times; /* PROFILE_SAMPLE_TIMES: no coalescing */
	struct profile_function_index fns;
	uint32_t *map_slots, *loc_slots, *stack_slots, *sample_slots, *thread_slots;
	size_t map_cap, loc_cap, stack_cap, sample_cap, thread_cap;
	uint64_t first_time_ns; /* of the first sample with a time */
	bool have_time;
	/* The line being read, for messages. */
	uint64_t line;
	char *buf;
	size_t buf_cap;
};

void text_build_init(struct text_build *b, const char *name, const char *format,
		     const struct profile_text_limits *lim, unsigned flags);
/* The next line of f without its newline (a '\r' before it dropped too),
 * NULL at the end. A line over lim.max_line comes back as "" with *long_
 * set (it is malformed: the caller counts it). */
const char *text_build_line(struct text_build *b, FILE *f, bool *long_);
/* A malformed line: counted, the first one's number and problem kept. */
void text_build_bad(struct text_build *b, const char *why);

/* The mapping of a module path (its range grown to hold addr). */
int32_t text_build_mapping(struct text_build *b, const char *path, size_t len, uint64_t addr);
/* The function of this name (and module, "" for none). */
uint32_t text_build_function(struct text_build *b, const char *name, size_t len,
			     const char *module);
/* The location of a function at an address in a mapping (-1: none). */
uint32_t text_build_location(struct text_build *b, uint32_t fn, uint64_t addr, int32_t mapping);
/* The stack of these locations, leaf first; more than lim.max_frames
 * keeps the leaf-most ones and counts a truncation. */
uint32_t text_build_stack(struct text_build *b, const uint32_t *locs, size_t n);
/* The thread (pid, tid, name), with its process when pid is known. */
uint32_t text_build_thread(struct text_build *b, uint64_t pid, uint64_t tid, const char *name,
			   size_t len);
/* A sample: count samples standing for value (ns when the type is a
 * time); time_ns absolute, or ~0 for none. */
void text_build_sample(struct text_build *b, uint32_t thread, uint32_t stack, uint64_t count,
		       uint64_t value, uint64_t time_ns);
/* Finishes the profile: sample type and unit, rate, duration. NULL and
 * a message (in err) when it holds no sample. */
struct profile *text_build_finish(struct text_build *b, const char *type, const char *unit,
				  uint64_t hz, const char *fix, char *err, size_t errlen);
/* Frees what a failed read built. */
void text_build_abort(struct text_build *b);

#endif
