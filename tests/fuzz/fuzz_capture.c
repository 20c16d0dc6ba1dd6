/* libFuzzer target for the capture reader and the model's record decoder.
 *
 * Each input is used three ways:
 *   1. as a whole capture file (fmemopen + profile_read), which mostly
 *      exercises the prefix, header and chunk framing;
 *   2. data+1 as a raw chunk payload through capture_parse_payload();
 *   3. data+1 as the payload of a chunk appended to a valid capture built
 *      once with the real writer, with a correct checksum (and, when
 *      data[0] asks for it, zstd-compressed), so the model's record decoder
 *      sees arbitrary record bytes behind a valid chunk.
 * data[0] picks the variant of 3: bit 0 puts a chunk of definitions
 * (strings, a mapping, threads, stacks) before the fuzzed chunk so samples
 * can reference them; bit 1 compresses the fuzzed chunk.
 *
 * Build: make fuzz; run: build/fuzz/fuzz-capture -max_total_time=60 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "../../src/capture/encoding.h"
#include "../../src/capture/format.h"
#include "../../src/capture/reader.h"
#include "../../src/capture/writer.h"
#include "../../src/model/profile.h"

/* The valid start of a capture: prefix and header (base_len bytes), then
 * optionally one chunk of definitions (up to defs_len bytes). */
static uint8_t *base;
static size_t base_len, defs_len;

static uint8_t *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	uint8_t *buf = malloc(cap);
	if (!buf)
		abort();
	rewind(f);
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap && !(buf = realloc(buf, cap *= 2)))
			abort();
	}
	*len = n;
	return buf;
}

static void build_base(void)
{
	FILE *f = tmpfile();
	if (!f)
		abort();
	struct capture_buf h = { 0 };
	capture_header_u64(&h, CAPTURE_HDR_PID, 1234);
	capture_header_bytes(&h, CAPTURE_HDR_CMDLINE, "prog\0arg", 8);
	capture_header_str(&h, CAPTURE_HDR_HOSTNAME, "fuzzhost");
	capture_header_u64(&h, CAPTURE_HDR_HZ, 99);
	capture_header_str(&h, CAPTURE_HDR_PRODUCER, "fuzz");
	/* Huge chunk size: everything below lands in one chunk. */
	struct capture_writer *w = capture_writer_new(fileno(f), 1u << 20, 0);
	if (!w || capture_writer_begin(w, &h) != 0)
		abort();
	capture_buf_free(&h);
	capture_writer_flush(w);
	size_t header_end = (size_t)capture_writer_bytes_written(w);

	capture_write_string(w, 1, "/usr/lib/libfuzz.so", 19);
	capture_write_string(w, 2, "main", 4);
	capture_write_string(w, 3, "", 0);
	static const uint8_t bid[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
	capture_write_mapping(w, 1, 0x400000, 0x500000, 0, 1, bid, sizeof(bid), 5);
	capture_write_mapping(w, 2, 0x7f0000000000, 0x7f0000100000, 0x1000, 3, NULL, 0, 5);
	const uint64_t t1[] = { 100, 2, 0 };
	capture_write_varints(w, CAPTURE_REC_THREAD, t1, 3);
	const uint64_t s1[] = { 0x401000, 0x402000, 0x7f0000000100 };
	capture_write_stack(w, 1, CAPTURE_STACK_COMPLETE, s1, 3);
	const uint64_t s2[] = { 0x10, UINT64_MAX };
	capture_write_stack(w, 2, CAPTURE_STACK_BAD_FRAME, s2, 2);
	capture_write_stack(w, 3, CAPTURE_STACK_TRUNCATED, NULL, 0);
	if (capture_writer_free(w) != 0)
		abort();

	base = read_all(f, &base_len);
	fclose(f);
	defs_len = base_len - header_end;
	base_len = header_end;
}

static bool touch_record(const struct capture_record *rec, void *arg)
{
	uint64_t *sum = arg;
	*sum += rec->kind;
	for (size_t i = 0; i < rec->len; i++) /* every byte is readable */
		*sum += rec->body[i];
	return true;
}

static void load(const uint8_t *data, size_t size)
{
	if (size == 0)
		return; /* fmemopen refuses an empty buffer on some libcs */
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return;
	char err[512];
	struct profile *p = profile_read(f, "fuzz", err, sizeof(err));
	fclose(f);
	if (!p)
		return;
	char buf[512];
	profile_incomplete_reason(p, buf, sizeof(buf));
	profile_resolve(p, NULL); /* locations and fallback names, no files */
	profile_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base)
		build_base();

	/* 1: the input as a whole file. */
	load(data, size);
	if (size < 1)
		return 0;

	/* 2: the rest as a raw payload. */
	const uint8_t *payload = data + 1;
	size_t plen = size - 1;
	uint8_t *copy = malloc(plen ? plen : 1); /* exact size: overreads show */
	if (!copy)
		return 0;
	memcpy(copy, payload, plen);
	uint64_t sum = 0;
	capture_parse_payload(copy, plen, touch_record, &sum);

	/* 3: the same bytes as a valid chunk of a valid capture. */
	bool defs = data[0] & 1, zstd = data[0] & 2;
	const uint8_t *body = copy;
	size_t body_len = plen;
	uint8_t *packed = NULL;
	uint8_t compression = CAPTURE_COMPRESS_NONE;
	if (zstd) {
		size_t bound = ZSTD_compressBound(plen);
		packed = malloc(bound ? bound : 1);
		if (packed) {
			size_t n = ZSTD_compress(packed, bound, copy, plen, 1);
			if (!ZSTD_isError(n)) {
				body = packed;
				body_len = n;
				compression = CAPTURE_COMPRESS_ZSTD;
			}
		}
	}
	size_t head = base_len + (defs ? defs_len : 0);
	size_t total = head + CAPTURE_CHUNK_PREFIX_LEN + body_len;
	uint8_t *file = malloc(total);
	if (file) {
		memcpy(file, base, head);
		uint8_t *prefix = file + head;
		memset(prefix, 0, CAPTURE_CHUNK_PREFIX_LEN);
		put_le32(prefix, CAPTURE_CHUNK_MAGIC);
		put_le32(prefix + 4, defs ? 1 : 0);
		put_le32(prefix + 8, (uint32_t)body_len);
		put_le32(prefix + 12, (uint32_t)plen);
		prefix[16] = compression;
		uint32_t seed = XXH32(prefix, 20, 0);
		put_le32(prefix + 20, XXH32(body, body_len, seed));
		if (body_len)
			memcpy(prefix + CAPTURE_CHUNK_PREFIX_LEN, body, body_len);
		load(file, total);
		free(file);
	}
	free(packed);
	free(copy);
	return 0;
}
