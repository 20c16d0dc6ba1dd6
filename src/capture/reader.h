/* Streaming capture reader: validates the prefix and header, then hands
 * out one record at a time from one decompressed chunk held in memory
 * (at most CAPTURE_MAX_CHUNK bytes), so memory stays bounded whatever the
 * file size. A truncated or corrupt tail ends the stream cleanly; the
 * reader says where and why.
 *
 * Ownership: a capture_reader owns its header strings and chunk buffers;
 * record bodies point into the current chunk and are valid until the next
 * call to capture_reader_next(). It does not own or close the FILE. */
#ifndef CAPTURE_READER_H
#define CAPTURE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct capture_text {
	char *s; /* NUL-terminated copy; may contain NULs inside (cmdline) */
	size_t len;
};

struct capture_header {
	unsigned version;
	unsigned min_version;
	uint64_t pid;
	struct capture_text cmdline;
	uint64_t start_realtime_ns;
	uint64_t start_clock_ns;
	uint64_t clock_id;
	struct capture_text config;
	struct capture_text hostname;
	struct capture_text kernel;
	struct capture_text exe;
	struct capture_text arch;
	struct capture_text sampler;
	uint64_t hz;
	struct capture_text producer;
};

/* The value of key in a header's config text ("key=value" lines), or
 * NULL; the value runs to the end of its line. */
const char *capture_header_config(const struct capture_header *h, const char *key);

/* Deep copy of a header (dst owns its texts) and its release. */
void capture_header_copy(struct capture_header *dst, const struct capture_header *src);
void capture_header_release(struct capture_header *h);

enum capture_read_status {
	CAPTURE_READ_MORE = 0,   /* still reading */
	CAPTURE_READ_END,        /* end of file at a chunk boundary */
	CAPTURE_READ_TRUNCATED,  /* file ends inside a chunk */
	CAPTURE_READ_CORRUPT,    /* bad chunk prefix, checksum, compression or record framing */
	CAPTURE_READ_IO_ERROR,
};

struct capture_record {
	unsigned kind;
	const uint8_t *body;
	size_t len;
};

struct capture_reader;

/* Returns NULL and a one-line message in err when the file is not a
 * readable capture (empty, bad magic, too new, header damaged). */
struct capture_reader *capture_reader_open(FILE *f, const char *name, char *err, size_t errlen);
/* 1: a record in *rec; 0: no more (see capture_reader_status). */
int capture_reader_next(struct capture_reader *r, struct capture_record *rec);
/* true when records of the chunk already read are left: the next
 * capture_reader_next() needs no read. A live reader over a pipe
 * (oneprof top) polls the pipe only when this is false. */
bool capture_reader_pending(const struct capture_reader *r);
/* Call right after open: moves to the file's last chunk, passing every
 * chunk before it by its prefix alone (magic and lengths; no checksum,
 * no decompression), so that capture_reader_next() returns only the last
 * chunk's records (where the END record is). false, with nothing
 * decided about the file, when it is not a regular seekable file, a
 * prefix is damaged, the chunks do not end exactly at the end of the
 * file or the last chunk does not read: read it all instead (reopen). */
bool capture_reader_seek_last(struct capture_reader *r);
/* Marks the stream corrupt at the current record (a decoder above found a
 * record it cannot use) and ends it. */
void capture_reader_fail(struct capture_reader *r, const char *why);

const struct capture_header *capture_reader_header(const struct capture_reader *r);
enum capture_read_status capture_reader_status(const struct capture_reader *r);
/* Human description of where reading stopped: "" while reading or after a
 * clean end, else e.g. "chunk 4 at byte 81234: checksum mismatch". */
const char *capture_reader_stop_reason(const struct capture_reader *r);
uint64_t capture_reader_chunks(const struct capture_reader *r);
/* Bytes of whole, valid chunks and prefix consumed so far. */
uint64_t capture_reader_good_bytes(const struct capture_reader *r);
uint64_t capture_reader_skipped_records(const struct capture_reader *r);
void capture_reader_free(struct capture_reader *r);

/* Parses a raw (decompressed) chunk payload; exposed for the fuzzer.
 * Calls fn for each record; returns false at the first framing error. */
bool capture_parse_payload(const uint8_t *p, size_t len,
			   bool (*fn)(const struct capture_record *rec, void *arg), void *arg);

#endif
