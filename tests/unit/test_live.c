/* The live model of oneprof top (src/model/live.c): records fed one at a
 * time, samples taken per interval (or cumulative) as profiles of their
 * own holding only the stacks and mappings those samples use. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/capture/encoding.h"
#include "../../src/capture/writer.h"
#include "../../src/model/live.h"
#include "unit.h"

/* One record of varints (and a trailing string for STRING). */
static bool feed(struct profile_live *l, unsigned kind, const uint64_t *v, size_t n,
		 const char *str)
{
	struct capture_buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		capture_buf_varint(&b, v[i]);
	if (str)
		capture_buf_bytes(&b, str, strlen(str));
	struct capture_record rec = { kind, b.data, b.len };
	bool ok = profile_live_add(l, &rec);
	capture_buf_free(&b);
	return ok;
}

#define FEED(l, kind, str, ...)                                                          \
	feed(l, kind, (const uint64_t[]){ __VA_ARGS__ },                                  \
	     sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t), str)

/* A stack of two frames or one, with the collector's trailing pid. */
static void stack2(struct profile_live *l, uint64_t id, uint64_t a, uint64_t b, uint64_t pid)
{
	CHECK(FEED(l, CAPTURE_REC_STACK, NULL, id, 0, 2, zigzag_encode((int64_t)a),
		   zigzag_encode((int64_t)(b - a)), pid));
}

static void sample(struct profile_live *l, uint64_t time, uint64_t tid, uint64_t stack)
{
	CHECK(FEED(l, CAPTURE_REC_CPU_SAMPLE, NULL, time, tid, stack, 1, 10000000));
}

static struct profile_live *live_two_processes(void)
{
	struct capture_header h = { 0 };
	struct profile_live *l = profile_live_new(&h, "live");
	CHECK(FEED(l, CAPTURE_REC_STRING, "srv", 1));
	CHECK(FEED(l, CAPTURE_REC_STRING, "worker", 2));
	CHECK(FEED(l, CAPTURE_REC_STRING, "db", 3));
	CHECK(FEED(l, CAPTURE_REC_STRING, "/bin/srv", 4));
	CHECK(FEED(l, CAPTURE_REC_STRING, "/bin/db", 5));
	CHECK(FEED(l, CAPTURE_REC_PROCESS, NULL, 100, 1, 0, 1, 0));
	CHECK(FEED(l, CAPTURE_REC_PROCESS, NULL, 200, 3, 0, 1, 0));
	/* id, start, end, offset, path, build-id length, prot, pid */
	CHECK(FEED(l, CAPTURE_REC_MAPPING, NULL, 1, 0x1000, 0x9000, 0, 4, 0, 5, 100));
	CHECK(FEED(l, CAPTURE_REC_MAPPING, NULL, 2, 0x1000, 0x9000, 0, 5, 0, 5, 200));
	CHECK(FEED(l, CAPTURE_REC_THREAD, NULL, 101, 2, 0, 100));
	CHECK(FEED(l, CAPTURE_REC_THREAD, NULL, 200, 3, 0, 200));
	stack2(l, 1, 0x1100, 0x1200, 100);
	stack2(l, 2, 0x1300, 0x1200, 100);
	stack2(l, 3, 0x1100, 0x1200, 200);
	return l;
}

TEST(live_take_interval_only)
{
	struct profile_live *l = live_two_processes();
	sample(l, 10, 101, 1);
	sample(l, 20, 101, 1);
	sample(l, 30, 101, 1);
	sample(l, 40, 101, 2);
	struct profile *q = profile_live_take(l, false);
	/* Coalesced by thread and stack; only the stacks used; only the
	 * mappings of process 100. */
	CHECK_EQ_INT(q->nsamples, 2);
	CHECK_EQ_INT(q->total_count, 4);
	CHECK_EQ_INT(q->total_cpu_ns, 40000000);
	CHECK_EQ_INT(q->nstacks, 2);
	CHECK_EQ_INT(q->nthreads, 1);
	CHECK_EQ_INT(q->threads[0].samples, 4);
	CHECK_EQ_INT(q->nmappings, 1);
	CHECK_EQ_INT(q->mappings[0].pid, 100);
	CHECK_EQ_INT(q->nprocesses, 2);
	CHECK(q->threads[0].process < q->nprocesses);
	CHECK_EQ_INT(q->processes[q->threads[0].process].pid, 100);
	CHECK(!strcmp(q->processes[q->threads[0].process].name, "srv"));
	profile_resolve(q, NULL);
	CHECK(q->nlocations == 3); /* 0x1100, 0x1300 and the caller 0x1200 */
	profile_free(q);

	/* Nothing new: an empty interval. */
	q = profile_live_take(l, false);
	CHECK_EQ_INT(q->nsamples, 0);
	CHECK_EQ_INT(q->total_count, 0);
	CHECK_EQ_INT(q->nstacks, 0);
	CHECK_EQ_INT(q->nmappings, 0);
	profile_free(q);

	/* The other process only: its stack (renumbered from 0) and mapping. */
	sample(l, 50, 200, 3);
	q = profile_live_take(l, false);
	CHECK_EQ_INT(q->nsamples, 1);
	CHECK_EQ_INT(q->samples[0].stack, 0);
	CHECK_EQ_INT(q->nstacks, 1);
	CHECK_EQ_INT(q->stacks[0].pcs[0], 0x1100);
	CHECK_EQ_INT(q->stacks[0].pid, 200);
	CHECK_EQ_INT(q->nmappings, 1);
	CHECK_EQ_INT(q->mappings[0].pid, 200);
	CHECK(!strcmp(q->threads[0].name, "db"));
	profile_free(q);
	profile_live_free(l);
}

TEST(live_take_cumulative)
{
	struct profile_live *l = live_two_processes();
	sample(l, 10, 101, 1);
	struct profile *q = profile_live_take(l, true);
	CHECK_EQ_INT(q->total_count, 1);
	profile_free(q);
	sample(l, 20, 101, 1);
	sample(l, 30, 200, 3);
	q = profile_live_take(l, true);
	CHECK_EQ_INT(q->total_count, 3);
	CHECK_EQ_INT(q->nsamples, 2);
	CHECK_EQ_INT(q->nmappings, 2);
	profile_free(q);
	profile_live_free(l);
}

TEST(live_malformed_record)
{
	struct profile_live *l = live_two_processes();
	/* A sample naming a stack that was never defined. */
	CHECK(!FEED(l, CAPTURE_REC_CPU_SAMPLE, NULL, 10, 101, 99, 1, 10));
	/* A stack id out of order. */
	CHECK(!FEED(l, CAPTURE_REC_STACK, NULL, 9, 0, 1, 2, 100));
	struct profile *q = profile_live_take(l, false);
	CHECK_EQ_INT(q->total_count, 0);
	profile_free(q);
	profile_live_free(l);
}
