/* Building small profiles by hand for the unit tests, the way
 * profile_free() expects: every string interned, every array grown with
 * GROW(), stacks' arrays from xcalloc(). Indices are assigned in call
 * order, starting at 0. */
#ifndef TESTS_UNIT_BUILDER_H
#define TESTS_UNIT_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "../../src/model/profile.h"

/* A profile named "test.opf" with nothing in it: no threads, mappings,
 * functions, locations, stacks or samples. Free with profile_free(). */
struct profile *tb_empty_profile(void);

/* A mapping of [start, end) from path, with bidlen bytes of build ID
 * (bid may be NULL when bidlen is 0). */
void tb_add_mapping(struct profile *p, uint64_t start, uint64_t end, const char *path,
		    const uint8_t *bid, size_t bidlen);

/* A function called name, with no module. */
void tb_add_function(struct profile *p, const char *name);

/* A location at addr in function; mapping is an index into the
 * mappings, or -1 for none. */
void tb_add_location(struct profile *p, uint64_t addr, int32_t mapping, uint32_t function);

/* A stack of n location indices, leaf first, as the model stores them;
 * its pcs are those locations' addresses. locs may be NULL when n is 0. */
void tb_add_stack(struct profile *p, const uint32_t *locs, uint32_t n);

/* A thread with its tid and name. */
void tb_add_thread(struct profile *p, uint64_t tid, const char *name);

/* A sample of count on the thread and stack indices given (neither is
 * checked), at time_ns since the capture start, standing for 10 ms of
 * CPU time per count (100 Hz); adds to the profile's totals. */
void tb_add_sample(struct profile *p, uint32_t thread, uint32_t stack, uint64_t count,
		   uint64_t time_ns);

/* A capture written record by record with the real writer (into an
 * unlinked temporary file, uncompressed), then read back with
 * profile_read(): for tests of the record decoders. The header says
 * pid 1 and 100 Hz. */
struct tb_capture;
struct tb_capture *tb_capture_new(void);
/* The same, with the header's "key=value" config lines. */
struct tb_capture *tb_capture_new_config(const char *config);
/* A STRING record; ids count from 1, in order. */
void tb_capture_string(struct tb_capture *c, uint64_t id, const char *s);
/* A STACK record of n pcs, leaf first. */
void tb_capture_stack(struct tb_capture *c, uint64_t id, const uint64_t *pcs, size_t n);
/* A STACK record of n pcs with the collector's trailing pid. */
void tb_capture_stack_pid(struct tb_capture *c, uint64_t id, const uint64_t *pcs, size_t n,
			  uint64_t pid);
/* A MAPPING record without build-id, with the collector's trailing pid. */
void tb_capture_mapping_pid(struct tb_capture *c, uint64_t id, uint64_t start, uint64_t end,
			    uint64_t offset, uint64_t path_id, uint64_t pid);
/* A record whose body the test encoded. */
void tb_capture_body(struct tb_capture *c, unsigned kind, const void *body, size_t len);
/* Any record whose body is only varints. */
void tb_capture_rec(struct tb_capture *c, unsigned kind, const uint64_t *fields, size_t n);
#define TB_REC(c, kind, ...)                                                        \
	tb_capture_rec((c), (kind), (const uint64_t[]){ __VA_ARGS__ },              \
		       sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))
/* Reads the capture back (NULL and a message when it cannot) and frees c:
 * every sample kept, or with flags as profile_read_with() takes them. */
struct profile *tb_capture_load(struct tb_capture *c, char *err, size_t errlen);
struct profile *tb_capture_load_with(struct tb_capture *c, unsigned flags, char *err,
				     size_t errlen);

/* The executable mapping of the test binary holding `inside`, from
 * /proc/self/maps: 0, or -1 when there is none. */
int tb_self_exec_mapping(uint64_t inside, uint64_t *start, uint64_t *end, uint64_t *offset,
			 char *path, size_t len);

/* The GNU build-id of the test binary itself, read from its file: its
 * length, 0 when it has none. */
size_t tb_self_build_id(uint8_t out[64]);

#endif
