/* The heap stream ring (src/agent/ring.h): events of every length from 1
 * to the most an event takes, written in place with stores past the
 * event (as the hooks' varints do) and past the ring's end, and read back
 * in the pieces the writer cuts, each of whole events and within its
 * bound, byte for byte, over many laps of a ring of four blocks. The ring
 * is a heap block of exactly its size, so a store or read past it is an
 * ASan report in the sanitizer build. */
#include <stdlib.h>
#include <string.h>

#include "../../src/agent/ring.h"
#include "unit.h"

#define MOST 40 /* an event's bytes at most (agent.h: HEAP_REC_MAX_BYTES) */
#define EVENTS 400000

static uint64_t rng = 0x9e3779b97f4a7c15;
static unsigned next_len(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return 1 + (unsigned)(rng % MOST);
}

/* Byte i of event k. */
static uint8_t byte_of(uint64_t k, unsigned i)
{
	return (uint8_t)(k * 131 + i * 7 + 1);
}

struct reader {
	uint64_t event;	   /* the next event to read */
	unsigned len, off; /* its length, and how much of it was read */
	uint64_t pieces, bad;
};

/* Reads one piece: it must hold whole events, each with its bytes. */
static void read_piece(struct reader *rd, const uint8_t *p, uint64_t n, const unsigned *lens)
{
	rd->pieces++;
	if (rd->off != 0)
		rd->bad++; /* the piece before ended inside an event */
	for (uint64_t i = 0; i < n; i++) {
		if (rd->off == 0)
			rd->len = lens[rd->event];
		if (p[i] != byte_of(rd->event, rd->off))
			rd->bad++;
		if (++rd->off == rd->len) {
			rd->off = 0;
			rd->event++;
		}
	}
}

TEST(stream_ring_pieces_hold_whole_events_over_many_laps)
{
	const uint64_t size = 4 * STREAM_BLOCK;
	struct stream_ring *r = calloc(1, stream_ring_bytes(size));
	r->size = size;
	unsigned *lens = malloc(EVENTS * sizeof(*lens));
	uint8_t *piece = malloc(STREAM_BLOCK + MOST);
	struct reader rd = { 0 };
	uint64_t written = 0, biggest = 0, wrapped = 0;
	for (uint64_t k = 0; k < EVENTS; k++) {
		lens[k] = next_len();
		uint8_t *at = stream_ring_reserve(r, MOST);
		if (!at || k % 1000 == 999) {
			/* Full, or now and then: the writer drains up to head. */
			uint64_t end = atomic_load(&r->head), tail = atomic_load(&r->tail);
			while (tail < end) {
				uint64_t cut = stream_ring_cut(r, tail, end);
				if (cut <= tail || cut - tail > STREAM_BLOCK + MOST) {
					CHECK(cut > tail && cut - tail <= STREAM_BLOCK + MOST);
					break;
				}
				if (cut - tail > biggest)
					biggest = cut - tail;
				stream_ring_copy(r, tail, cut - tail, piece);
				read_piece(&rd, piece, cut - tail, lens);
				tail = cut;
			}
			atomic_store(&r->tail, end);
			at = stream_ring_reserve(r, MOST);
		}
		CHECK(at != NULL);
		if (!at)
			break;
		/* The event, then junk to the most an event takes, as the
		 * hooks' stores may leave. */
		for (unsigned i = 0; i < MOST; i++)
			at[i] = i < lens[k] ? byte_of(k, i) : 0xee;
		wrapped += (atomic_load(&r->head) & (size - 1)) + lens[k] > size;
		stream_ring_commit(r, lens[k]);
		written += lens[k];
	}
	CHECK_EQ_INT(rd.bad, 0);
	/* Every event read but those still in the ring. */
	CHECK(rd.event + 2000 >= EVENTS);
	CHECK(written > 50 * size); /* many laps */
	CHECK(wrapped > 10);	    /* events running past the end */
	CHECK(rd.pieces > written / STREAM_BLOCK); /* cut at blocks, not only at drains */
	CHECK(biggest <= STREAM_BLOCK + MOST);
	free(piece);
	free(lens);
	free(r);
}
