/* HEAP_STREAM and HEAP_CLOCK records (doc/capture-format.md, "Heap event
 * streams"): each thread's events decoded from its own stream, merged
 * with the other threads' by time at each clock point, their ticks turned
 * into ns between the points, stacks named through the slots, and a
 * damaged stream keeping the events before the damage. */
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

static void begin(struct body *b, uint64_t tid, uint64_t flags)
{
	b->len = 0;
	put(b, tid);
	put(b, flags);
}

static void reset(struct body *b)
{
	put(b, CAPTURE_HEAP_ST_CONTROL);
	put(b, CAPTURE_HEAP_CTL_RESET);
}

static void slot(struct body *b, uint64_t slot, uint64_t stack)
{
	put(b, CAPTURE_HEAP_ST_CONTROL);
	put(b, CAPTURE_HEAP_CTL_SLOT);
	put(b, slot);
	put(b, stack);
}

static void alloc(struct body *b, uint64_t dt, int64_t delta, uint64_t size, uint64_t slot)
{
	put(b, dt << CAPTURE_HEAP_ST_SHIFT | CAPTURE_HEAP_ST_ALLOC);
	put(b, zigzag_encode(delta));
	put(b, size);
	put(b, slot);
}

static void release(struct body *b, uint64_t dt, int64_t delta)
{
	put(b, dt << CAPTURE_HEAP_ST_SHIFT | CAPTURE_HEAP_ST_FREE);
	put(b, zigzag_encode(delta));
}

static struct tb_capture *start(void)
{
	struct tb_capture *c = tb_capture_new();
	const uint64_t one[] = { 0x400100, 0x400200 }, two[] = { 0x400300 };
	tb_capture_stack(c, 1, one, 2);
	tb_capture_stack(c, 2, two, 1);
	TB_REC(c, CAPTURE_REC_HEAP_CLOCK, 0, 0); /* ticks 0 = ns 0 */
	return c;
}

static void stream(struct tb_capture *c, const struct body *b)
{
	tb_capture_body(c, CAPTURE_REC_HEAP_STREAM, b->b, b->len);
}

static struct profile *load(struct tb_capture *c, bool end)
{
	if (end)
		TB_REC(c, CAPTURE_REC_END, 1000, 0, 0, 0);
	char err[256];
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	return p;
}

/* Leaked bytes of the sites with stack id `stack` (1-based). */
static double leaked_by(const struct profile *p, uint32_t stack)
{
	double bytes = 0;
	for (size_t i = 0; i < p->heap->nsites; i++)
		if (p->heap->sites[i].stack == stack - 1)
			bytes += p->heap->sites[i].leak_bytes;
	return bytes;
}

/* Thread 7 allocates 100 bytes at 0x10000 (tick 100) and 50 at 0x10100
 * (tick 120) and frees the first (tick 170); thread 8 allocates 300 at
 * 0x90000 (tick 150) and frees it (tick 200); the clock's point at tick
 * 1000 is ns 2000. Merged, the peak is 450 bytes at tick 150 (ns 300);
 * read stream after stream it would be 350. */
static void two_threads(struct tb_capture *c)
{
	struct body b;
	begin(&b, 7, 0);
	reset(&b);
	slot(&b, 5, 1);
	alloc(&b, 100, 0x10000, 100, 5);
	alloc(&b, 20, 0x100, 50, 5);
	release(&b, 50, -0x100);
	stream(c, &b);
	begin(&b, 8, 0);
	reset(&b);
	slot(&b, 9, 2);
	alloc(&b, 150, 0x90000, 300, 9);
	release(&b, 50, 0);
	stream(c, &b);
}

TEST(heap_stream_merged_by_time)
{
	struct tb_capture *c = start();
	two_threads(c);
	TB_REC(c, CAPTURE_REC_HEAP_CLOCK, 1000, 2000);
	struct profile *p = load(c, true);
	if (!p)
		return;
	CHECK_EQ_INT(p->status, CAPTURE_READ_END);
	CHECK(p->heap != NULL);
	if (p->heap) {
		CHECK(p->heap->allocs == 3 && p->heap->frees == 2);
		CHECK(p->heap->peak_bytes == 450);
		CHECK_EQ_INT((long long)p->heap->peak_time_ns, 300);
		CHECK(p->heap->leaked_bytes == 50 && p->heap->leaked_blocks == 1);
		CHECK(leaked_by(p, 1) == 50 && leaked_by(p, 2) == 0);
		CHECK_EQ_INT((long long)p->heap->unknown_frees, 0);
	}
	profile_free(p);
}

TEST(heap_stream_after_the_last_point)
{
	/* Thread 7 goes on past the point (tick 1500, 1000 bytes): held until
	 * the capture ends, then placed on the last segment extended: ns
	 * 2000 + 500 * 2. A stream's state carries from record to record. */
	struct tb_capture *c = start();
	two_threads(c);
	TB_REC(c, CAPTURE_REC_HEAP_CLOCK, 1000, 2000);
	struct body b;
	begin(&b, 7, 0);
	alloc(&b, 1500 - 170, 0x20000 - 0x10000, 1000, 5);
	stream(c, &b);
	struct profile *p = load(c, true);
	if (!p)
		return;
	if (p->heap) {
		CHECK(p->heap->allocs == 4);
		CHECK(p->heap->peak_bytes == 1050);
		CHECK_EQ_INT((long long)p->heap->peak_time_ns, 3000);
		CHECK(leaked_by(p, 1) == 1050);
	}
	profile_free(p);
}

TEST(heap_stream_slots_reset_and_alone)
{
	/* Slot 5 names stack 1, then stack 2: each allocation goes to the
	 * stack its slot named when it was made. A reset starts the time,
	 * the address and the slots over: an allocation at slot 5 after it,
	 * with no definition, has no stack. A stream read alone (an exited
	 * thread's last events) changes nothing of tid 7's. */
	struct tb_capture *c = start();
	struct body b;
	begin(&b, 7, 0);
	reset(&b);
	slot(&b, 5, 1);
	alloc(&b, 10, 0x1000, 11, 5);
	slot(&b, 5, 2);
	alloc(&b, 10, 0x100, 22, 5);
	stream(c, &b);
	begin(&b, 7, CAPTURE_HEAP_STREAM_ALONE);
	slot(&b, 0, 1);
	alloc(&b, 15, 0x7000, 44, 0);
	stream(c, &b);
	begin(&b, 7, 0);
	reset(&b);
	alloc(&b, 30, 0x3000, 33, 5);
	stream(c, &b);
	TB_REC(c, CAPTURE_REC_HEAP_CLOCK, 100, 100);
	struct profile *p = load(c, true);
	if (!p)
		return;
	if (p->heap) {
		CHECK(p->heap->allocs == 4);
		CHECK(leaked_by(p, 1) == 11 + 44);
		CHECK(leaked_by(p, 2) == 22);
		CHECK(p->heap->leaked_bytes == 11 + 22 + 33 + 44);
		/* The peak comes with the last allocation, tick 30 after the
		 * reset: all four were live. */
		CHECK(p->heap->peak_bytes == 110);
	}
	profile_free(p);
}

TEST(heap_stream_damaged)
{
	/* A slot naming a stack the capture does not define: malformed there;
	 * the events before it still count. */
	struct tb_capture *c = start();
	struct body b;
	begin(&b, 7, 0);
	reset(&b);
	slot(&b, 5, 1);
	alloc(&b, 10, 0x1000, 11, 5);
	slot(&b, 6, 99);
	alloc(&b, 10, 0x100, 22, 6);
	stream(c, &b);
	struct profile *p = load(c, false);
	if (!p)
		return;
	CHECK(p->status != CAPTURE_READ_END);
	CHECK(p->heap && p->heap->allocs == 1 && p->heap->leaked_bytes == 11);
	profile_free(p);

	/* A control event of an unknown kind, and a body cut inside an
	 * event: malformed too. */
	const uint64_t bad[][6] = { { 7, 0, CAPTURE_HEAP_ST_CONTROL, 9 },
				    { 7, 0, 10 << CAPTURE_HEAP_ST_SHIFT | CAPTURE_HEAP_ST_ALLOC, 4 } };
	for (size_t i = 0; i < 2; i++) {
		c = start();
		begin(&b, 0, 0);
		b.len = 0;
		for (size_t k = 0; k < 4; k++)
			put(&b, bad[i][k]);
		stream(c, &b);
		p = load(c, false);
		if (p) {
			CHECK(p->status != CAPTURE_READ_END);
			CHECK(!p->heap || p->heap->allocs == 0);
			profile_free(p);
		}
	}
}
