/* Capture writer: builds records into chunks, compresses them with zstd and
 * appends them to a file descriptor. Used by the agent's writer thread and
 * by tests; never called from a signal handler (it allocates).
 *
 * Ownership: a capture_writer owns its buffers and the zstd context, not
 * the file descriptor, which the caller opens and closes. */
#ifndef CAPTURE_WRITER_H
#define CAPTURE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. */
struct capture_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int oom; /* set once an allocation failed; later appends are dropped */
};

void capture_buf_varint(struct capture_buf *b, uint64_t v);
void capture_buf_bytes(struct capture_buf *b, const void *p, size_t len);
void capture_buf_free(struct capture_buf *b);

/* Header builder: fields appended in any order, each at most once. */
void capture_header_u64(struct capture_buf *h, unsigned key, uint64_t v);
void capture_header_bytes(struct capture_buf *h, unsigned key, const void *p, size_t len);
void capture_header_str(struct capture_buf *h, unsigned key, const char *s);
/* The machine's fields, as every writer records them: hostname, kernel
 * (uname sysname, release, version) and architecture. */
void capture_header_host(struct capture_buf *h);

struct capture_writer;

/* Chunks are cut when their raw payload reaches chunk_bytes (0: default
 * 256 KiB). compression_level 0 stores chunks uncompressed; zstd levels
 * below 0 are its fast ones. */
struct capture_writer *capture_writer_new(int fd, size_t chunk_bytes, int compression_level);
/* For a capture that is mostly a stream of small, poorly compressible
 * events (full heap tracking): zstd with a small hash table and window,
 * whose memory the program's cores then keep. */
void capture_writer_compress_events(struct capture_writer *w);
/* Whether chunks cut from now on are compressed: on from the start when
 * the writer has a compression level; off stores them raw, for a writer
 * that must not take a CPU the program needs. */
void capture_writer_set_compress(struct capture_writer *w, bool on);
/* Writes the file prefix and header; call once, first. Returns 0 or -errno. */
int capture_writer_begin(struct capture_writer *w, const struct capture_buf *header);

/* Record builders. Each appends one whole record to the open chunk and
 * cuts the chunk when it is full. */
void capture_write_string(struct capture_writer *w, uint64_t id, const char *s, size_t len);
void capture_write_mapping(struct capture_writer *w, uint64_t id, uint64_t start, uint64_t end,
			   uint64_t offset, uint64_t path_id, const uint8_t *build_id,
			   size_t build_id_len, uint64_t prot);
void capture_write_stack(struct capture_writer *w, uint64_t id, unsigned end_reason,
			 const uint64_t *pcs, size_t n);
/* The same with the trailing pid of a multi-process capture (the
 * out-of-process collector); pid 0 leaves the field out. */
void capture_write_mapping_pid(struct capture_writer *w, uint64_t id, uint64_t start,
			       uint64_t end, uint64_t offset, uint64_t path_id,
			       const uint8_t *build_id, size_t build_id_len, uint64_t prot,
			       uint64_t pid);
void capture_write_stack_pid(struct capture_writer *w, uint64_t id, unsigned end_reason,
			     const uint64_t *pcs, size_t n, uint64_t pid);
/* A record whose body the caller encoded. */
void capture_write_body(struct capture_writer *w, unsigned kind, const void *body, size_t len);
/* Any record whose body is only varints. */
void capture_write_varints(struct capture_writer *w, unsigned kind, const uint64_t *fields,
			   size_t n);

/* What a reader will make of the records written so far, for the END
 * record's summary fields (doc/capture-format.md), so that a summary
 * needs only the last chunk. Off until capture_writer_tally_on(). */
struct capture_tally {
	uint64_t records[128];   /* records of each kind below 128 (varint records) */
	uint64_t threads;        /* threads a reader counts (see tally_thread()) */
	uint64_t sample_cpu_ns;  /* CPU_SAMPLE cpu_ns, summed */
	uint64_t wall_count;     /* WALL_SAMPLE counts, summed */
	uint64_t lost_samples;   /* LOST counts of source 1 (CPU samples) */
	int bad;                 /* out of memory: the figures are incomplete */
};
void capture_writer_tally_on(struct capture_writer *w);
/* NULL when off. */
const struct capture_tally *capture_writer_tally(const struct capture_writer *w);

/* Cuts the open chunk (if any) and writes it. Returns 0 or -errno of the
 * first write error, which is sticky. */
int capture_writer_flush(struct capture_writer *w);
uint64_t capture_writer_bytes_written(const struct capture_writer *w);
/* Flushes and frees; does not close the fd. Returns the flush result. */
int capture_writer_free(struct capture_writer *w);

#endif
