/* HEAP_EVENTS batches (doc/capture-format.md, "Heap event batches"): the
 * model reads the delta-coded events exactly as the separate HEAP_ALLOC
 * and HEAP_FREE records they stand for, and stops at a damaged event with
 * the events before it kept. */
#include <math.h>
#include <string.h>

#include "../../src/capture/encoding.h"
#include "../../src/capture/format.h"
#include "../../src/model/heap.h"
#include "../../src/model/profile.h"
#include "builder.h"
#include "unit.h"

struct body {
	uint8_t b[512];
	size_t len;
};

static void put(struct body *b, uint64_t v)
{
	b->len += varint_put(b->b + b->len, v);
}

static uint64_t head(uint64_t dt, bool alloc, bool thread)
{
	return dt << CAPTURE_HEAP_EV_SHIFT | (alloc ? CAPTURE_HEAP_EV_ALLOC : 0) |
	       (thread ? CAPTURE_HEAP_EV_THREAD : 0);
}

/* Thread 7 allocates 100 bytes at 0x10000 (t=100) and 50 at 0x10100
 * (t=120); thread 8 allocates 300 at 0x90000 (t=150); thread 7 frees
 * 0x10000 (t=170); thread 8 frees 0x90000 (t=200). The peak is 450
 * bytes at t=150, and 50 bytes of thread 7 leak. */
static void two_threads(struct body *b)
{
	put(b, head(100, true, true));
	put(b, 0); /* slot 0, new: */
	put(b, 7);
	put(b, zigzag_encode(0x10000));
	put(b, 100);
	put(b, 1);
	put(b, head(20, true, false)); /* thread 7 again */
	put(b, zigzag_encode(0x100));
	put(b, 50);
	put(b, 1);
	put(b, head(30, true, true));
	put(b, 1); /* slot 1, new: */
	put(b, 8);
	put(b, zigzag_encode(0x90000));
	put(b, 300);
	put(b, 1);
	put(b, head(20, false, true));
	put(b, 0); /* back to thread 7: its previous address was 0x10100 */
	put(b, zigzag_encode(-0x100));
	put(b, head(30, false, true));
	put(b, 1);
	put(b, zigzag_encode(0));
}

static struct profile *load_config(struct body *b, bool damaged, const char *config)
{
	struct tb_capture *c = tb_capture_new_config(config);
	const uint64_t pcs[] = { 0x400100, 0x400200 };
	tb_capture_stack(c, 1, pcs, 2);
	tb_capture_body(c, CAPTURE_REC_HEAP_EVENTS, b->b, b->len);
	if (!damaged)
		TB_REC(c, CAPTURE_REC_END, 1000, 0, 0, 0);
	char err[256];
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	return p;
}

static struct profile *load(struct body *b, bool damaged)
{
	return load_config(b, damaged, NULL);
}

TEST(heap_events_batch)
{
	struct body b = { .len = 0 };
	two_threads(&b);
	struct profile *p = load(&b, false);
	if (!p)
		return;
	CHECK_EQ_INT(p->status, CAPTURE_READ_END);
	CHECK(p->heap != NULL);
	if (p->heap) {
		CHECK(p->heap->allocs == 3 && p->heap->frees == 2);
		CHECK(p->heap->peak_bytes == 450);
		CHECK_EQ_INT((long long)p->heap->peak_time_ns, 150);
		CHECK(p->heap->leaked_bytes == 50 && p->heap->leaked_blocks == 1);
		CHECK_EQ_INT((long long)p->heap->unknown_frees, 0);
		CHECK_EQ_INT((long long)p->heap->double_frees, 0);
	}
	profile_free(p);
}

TEST(heap_events_damaged)
{
	/* The same events, then one naming slot 5 of a record with two: the
	 * capture is malformed there, the five events before it stand. */
	struct body b = { .len = 0 };
	two_threads(&b);
	put(&b, head(10, false, true));
	put(&b, 5);
	put(&b, zigzag_encode(0));
	struct profile *p = load(&b, true);
	if (!p)
		return;
	CHECK(p->status != CAPTURE_READ_END);
	CHECK(p->heap && p->heap->allocs == 3 && p->heap->frees == 2);
	profile_free(p);

	/* An event before any thread slot was named: malformed at once. */
	struct body first = { .len = 0 };
	put(&first, head(10, false, false));
	put(&first, zigzag_encode(0x1000));
	p = load(&first, true);
	if (p) {
		CHECK(p->status != CAPTURE_READ_END);
		CHECK(!p->heap || p->heap->frees == 0);
		profile_free(p);
	}
}

/* Sampled (a mean of 100 bytes): blocks of 1 and 3 bytes, both freed.
 * Their weighted sizes, added and taken away again in that order, leave
 * -1.4e-14 bytes, which a report printed as a leak of "-0" bytes: with
 * nothing live the leak is 0, to the block and the byte. */
TEST(heap_events_sampled_all_freed)
{
	struct body b = { .len = 0 };
	put(&b, head(100, true, true));
	put(&b, 0); /* slot 0, new: */
	put(&b, 7);
	put(&b, zigzag_encode(0x10000));
	put(&b, 1);
	put(&b, 1);
	put(&b, head(10, true, false));
	put(&b, zigzag_encode(0x100));
	put(&b, 3);
	put(&b, 1);
	put(&b, head(10, false, false));
	put(&b, zigzag_encode(-0x100));
	put(&b, head(10, false, false));
	put(&b, zigzag_encode(0x100));
	struct profile *p = load_config(&b, false, "heap_sample=100");
	if (!p)
		return;
	CHECK(p->heap != NULL && p->heap->sampled);
	if (p->heap) {
		CHECK(p->heap->allocs > 2 && p->heap->frees > 2);
		CHECK(p->heap->leaked_bytes == 0 && !signbit(p->heap->leaked_bytes));
		CHECK(p->heap->leaked_blocks == 0 && !signbit(p->heap->leaked_blocks));
	}
	profile_free(p);
}
