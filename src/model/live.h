/* The live model of oneprof top: a capture read while it is being
 * written, one record at a time, and cut into intervals. Definitions
 * (strings, mappings, stacks, threads, processes, JIT and kernel symbols)
 * are kept for the whole session, since later samples refer to them;
 * samples are coalesced by thread and stack until they are taken.
 *
 * profile_live_take() turns the samples taken since the last take (or,
 * cumulative, since the start) into a profile of their own holding only
 * the stacks those samples use and the mappings of their processes, ready
 * for profile_resolve() and every report: a refresh costs what the
 * interval holds, not what the session has seen.
 *
 * Ownership: a profile_live owns its stream profile. A taken profile owns
 * its arrays and borrows its strings from the live model, which must
 * outlive it; free it with profile_free(). */
#ifndef MODEL_LIVE_H
#define MODEL_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct profile_live;

struct profile_live *profile_live_new(const struct capture_header *h, const char *name);
/* One record of the capture; false when it is malformed. */
bool profile_live_add(struct profile_live *l, const struct capture_record *rec);
/* The samples since the last take, or since the start when cumulative
 * (nothing is then forgotten), as an unresolved profile. */
struct profile *profile_live_take(struct profile_live *l, bool cumulative);
/* The stream profile: processes, threads and lost counts so far. */
const struct profile *profile_live_stream(const struct profile_live *l);
void profile_live_free(struct profile_live *l);

#endif
