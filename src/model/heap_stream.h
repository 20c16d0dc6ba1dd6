/* Heap event streams (src/model/heap_stream.c): the HEAP_STREAM and
 * HEAP_CLOCK records of doc/capture-format.md ("Heap event streams").
 *
 * Each thread encodes its own events, as differences from its previous
 * event, and the writer copies them out per thread; a HEAP_CLOCK point
 * ends each drain. This decodes each stream as it comes, keeps its events
 * until the next clock point, then hands over those stamped before it,
 * all threads merged in time order and their times in ns: the order the
 * analyses in heap.c need. */
#ifndef MODEL_HEAP_STREAM_H
#define MODEL_HEAP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct heap_stream_event {
	uint64_t time; /* ns since the capture start */
	uint64_t tid, addr, size; /* size: allocations only */
	uint32_t stack;		  /* the capture's stack id; 0 unknown */
	uint32_t labels;	  /* label set id; 0 none */
	bool alloc;		  /* else a free */
};

typedef void (*heap_stream_apply)(void *ctx, const struct heap_stream_event *ev);

struct heap_streams;

struct heap_streams *heap_streams_new(void);
void heap_streams_free(struct heap_streams *s);

/* A HEAP_STREAM body: its events are decoded and kept. Stack and label
 * set ids must be below the limits given (the capture's definitions so
 * far). False when the body is malformed: the events before the damage
 * are kept, and the thread's stream is not read further until it starts
 * over. */
bool heap_streams_add(struct heap_streams *s, const uint8_t *body, size_t len,
		      uint64_t stacks, uint64_t label_sets);

/* A HEAP_CLOCK point: hands fn the kept events stamped before it, in time
 * order (an event that comes later than others already handed over goes
 * at their time). */
void heap_streams_clock(struct heap_streams *s, uint64_t ticks, uint64_t ns, heap_stream_apply fn,
			void *ctx);

/* The capture ended (or was cut short): hands fn every event kept. */
void heap_streams_finish(struct heap_streams *s, heap_stream_apply fn, void *ctx);

/* The allocations and frees of a HEAP_STREAM body, counted without
 * keeping or merging them; false when it is malformed. */
bool heap_streams_count(const uint8_t *body, size_t len, uint64_t *allocs, uint64_t *frees);

#endif
