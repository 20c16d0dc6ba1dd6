/* Per-thread sample ring: single producer (the thread's signal handler),
 * single consumer (the writer thread). Lock-free and wait-free for the
 * producer; a full ring drops the record and counts it.
 *
 * Records are whole 8-byte words, contiguous in the ring: when one would
 * straddle the end, the producer writes a padding record and wraps. The
 * first word of a record is its length in words; RING_PAD marks padding. */
#ifndef AGENT_RING_H
#define AGENT_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RING_PAD (1ull << 63)

/* The producer's and the consumer's words lie on cache lines of their
 * own, and each side keeps the other's position as it last read it: it
 * reads the other's line again only when its copy says the ring is full
 * (producer) or empty (consumer). A heap event per allocation would
 * otherwise move both lines between the cores at every event. */
struct ring {
	uint64_t words;		/* capacity, a power of two; read-only */
	_Atomic uint64_t dropped;
	_Alignas(64) _Atomic uint64_t head; /* words written, producer-owned */
	uint64_t tail_seen;	/* producer: tail as it last read it */
	_Alignas(64) _Atomic uint64_t tail; /* words consumed, consumer-owned */
	uint64_t head_seen;	/* consumer: head as it last read it */
	_Alignas(64) uint64_t data[];
};

/* Reserves n words (n >= 1) for one record, or returns NULL when full.
 * Async-signal-safe. Finish with ring_commit(). */
static inline uint64_t *ring_reserve(struct ring *r, uint64_t n)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t pos = head & (r->words - 1);
	uint64_t pad = pos + n > r->words ? r->words - pos : 0;
	if (head + pad + n - r->tail_seen > r->words) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (n > r->words || head + pad + n - r->tail_seen > r->words) {
			atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
			return NULL;
		}
	}
	if (pad) {
		r->data[pos] = RING_PAD | pad;
		atomic_store_explicit(&r->head, head + pad, memory_order_release);
		pos = 0;
	}
	r->data[pos] = n;
	return &r->data[pos];
}

static inline void ring_commit(struct ring *r, uint64_t n)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	atomic_store_explicit(&r->head, head + n, memory_order_release);
}

/* Consumer: the next record (first word is its length) or NULL when empty.
 * Call ring_release() with that length when done with it. */
static inline const uint64_t *ring_peek(struct ring *r)
{
	for (;;) {
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		if (tail == r->head_seen) {
			r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
			if (tail == r->head_seen)
				return NULL;
		}
		const uint64_t *rec = &r->data[tail & (r->words - 1)];
		if (!(*rec & RING_PAD))
			return rec;
		atomic_store_explicit(&r->tail, tail + (*rec & ~RING_PAD), memory_order_release);
	}
}

static inline void ring_release(struct ring *r, uint64_t n)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	atomic_store_explicit(&r->tail, tail + n, memory_order_release);
}

/* Empty, as new (no producer or consumer running). */
static inline void ring_reset(struct ring *r)
{
	atomic_store(&r->head, 0);
	atomic_store(&r->tail, 0);
	atomic_store(&r->dropped, 0);
	r->tail_seen = r->head_seen = 0;
}

/* A thread's heap stream (heap.c), the bytes of its HEAP_STREAM records
 * as the thread encodes them, which the writer copies out in spans
 * without reading them. One producer and one consumer, as above, with
 * positions in bytes. A struct ring of whole-word records took four times
 * the bytes an event's stream bytes take, each written by the thread and
 * read by the writer on another core.
 *
 * The producer writes an event in place at head, past the end into
 * STREAM_RING_SLACK bytes of slack if it must, and copies what went past
 * the end to the start. It counts the allocations and frees it writes
 * after moving head: the writer reads the counts before head, so that
 * what it counts is in what it copies. A HEAP_STREAM record holds whole
 * events, so the writer cuts its records where events start: starts[b]
 * is where the first event starting in block b (STREAM_BLOCK bytes, in
 * ring positions) starts, written once the event before it is in. */
#define STREAM_RING_SLACK 64
#define STREAM_BLOCK 16384u
struct stream_ring {
	uint64_t size; /* bytes, a power of two, at least STREAM_BLOCK; read-only */
	_Alignas(64) _Atomic uint64_t head; /* bytes written, producer-owned */
	uint64_t tail_seen; /* producer: tail as it last read it */
	_Atomic uint64_t allocs, frees; /* events written, producer-owned */
	_Alignas(64) _Atomic uint64_t tail; /* bytes consumed, consumer-owned */
	uint64_t allocs_taken, frees_taken; /* consumer: events counted */
	_Alignas(64) uint8_t data[]; /* size + STREAM_RING_SLACK, then starts */
};

/* starts[] entry of the block that holds position pos. */
static inline uint64_t *stream_ring_start(struct stream_ring *r, uint64_t pos)
{
	uint64_t *starts = (uint64_t *)(r->data + r->size + STREAM_RING_SLACK);
	return &starts[pos / STREAM_BLOCK & (r->size / STREAM_BLOCK - 1)];
}

/* The bytes to map for a stream ring of size bytes. */
static inline size_t stream_ring_bytes(uint64_t size)
{
	return sizeof(struct stream_ring) + size + STREAM_RING_SLACK +
	       size / STREAM_BLOCK * sizeof(uint64_t);
}

/* Producer: where an event of at most max bytes goes (max <=
 * STREAM_RING_SLACK), or NULL when the ring lacks the room. */
static inline uint8_t *stream_ring_reserve(struct stream_ring *r, unsigned max)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (head + max - r->tail_seen > r->size) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + max - r->tail_seen > r->size)
			return NULL;
	}
	return &r->data[head & (r->size - 1)];
}

/* Producer: the n bytes written at the reserved place are in. */
static inline void stream_ring_commit(struct stream_ring *r, unsigned n)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t pos = head & (r->size - 1);
	if (pos + n > r->size)
		memcpy(r->data, r->data + r->size, pos + n - r->size);
	if ((head ^ (head + n)) >= STREAM_BLOCK) /* the next event starts a block */
		*stream_ring_start(r, head + n) = head + n;
	atomic_store_explicit(&r->head, head + n, memory_order_release);
}

/* Consumer: where the piece of the stream from tail (an event's start)
 * toward end (another, at most head) ends, so that it holds whole events
 * and at most STREAM_BLOCK bytes and an event: the first event start in
 * the block after tail's, when that is before end; else end. */
static inline uint64_t stream_ring_cut(struct stream_ring *r, uint64_t tail, uint64_t end)
{
	uint64_t boundary = (tail | (STREAM_BLOCK - 1)) + 1;
	if (boundary >= end)
		return end;
	uint64_t start = *stream_ring_start(r, boundary);
	/* Written before head passed it, so of this lap; a stale entry (not
	 * possible while the producer keeps the rule) would cut at the block,
	 * keeping the piece's bound. */
	if (start >= boundary && start <= end && start - boundary < STREAM_RING_SLACK)
		return start;
	return boundary;
}

/* Consumer: copies the n bytes from position from to dst. */
static inline void stream_ring_copy(const struct stream_ring *r, uint64_t from, uint64_t n,
				    uint8_t *dst)
{
	uint64_t pos = from & (r->size - 1);
	uint64_t first = n < r->size - pos ? n : r->size - pos;
	memcpy(dst, r->data + pos, first);
	memcpy(dst + first, r->data, n - first);
}

/* Empty, as new (no producer or consumer running). */
static inline void stream_ring_reset(struct stream_ring *r)
{
	atomic_store(&r->head, 0);
	atomic_store(&r->tail, 0);
	atomic_store(&r->allocs, 0);
	atomic_store(&r->frees, 0);
	r->tail_seen = r->allocs_taken = r->frees_taken = 0;
}

#endif
