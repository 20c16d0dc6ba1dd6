/* Streaming capture reader. See reader.h and doc/capture-format.md. */
#include "reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "encoding.h"
#include "format.h"

struct capture_reader {
	FILE *f;
	struct capture_header hdr;
	enum capture_read_status status;
	char stop[256];
	uint64_t offset; /* file offset of the next unread byte */
	uint64_t good_bytes;
	uint64_t chunks;
	uint64_t skipped;
	uint64_t chunk_offset; /* file offset of the current chunk */
	uint64_t chunk_no;     /* 1-based number of the current chunk */
	uint8_t *stored; /* grown on demand, never past CAPTURE_MAX_CHUNK */
	size_t stored_cap;
	uint8_t *raw;
	size_t raw_cap;
	struct cursor cur; /* records left in the current chunk */
	ZSTD_DCtx *dctx;
};

const char *capture_stack_end_name(unsigned reason)
{
	static const char *const names[] = {
		[CAPTURE_STACK_COMPLETE] = "complete",
		[CAPTURE_STACK_TRUNCATED] = "depth limit",
		[CAPTURE_STACK_BAD_FRAME] = "bad frame",
		[CAPTURE_STACK_NO_STACK_INFO] = "unknown stack bounds",
		[CAPTURE_STACK_NO_UNWIND_INFO] = "no unwind info",
	};
	return reason < CAPTURE_STACK_END_COUNT ? names[reason] : "unknown reason";
}

const char *capture_state_name(unsigned state)
{
	static const char *const names[] = {
		[CAPTURE_STATE_RUNNING] = "running",
		[CAPTURE_STATE_SLEEPING] = "sleeping",
		[CAPTURE_STATE_DISK] = "waiting (uninterruptible, disk I/O)",
		[CAPTURE_STATE_OTHER] = "other (stopped, traced)",
	};
	return state < CAPTURE_STATE_COUNT ? names[state] : "unknown state";
}

const char *capture_lost_reason_name(unsigned reason)
{
	switch (reason) {
	case CAPTURE_LOST_RING_FULL: return "ring full";
	case CAPTURE_LOST_NO_RING: return "thread not registered";
	case CAPTURE_LOST_WRITE_FAILED: return "write failed";
	case CAPTURE_LOST_SAMPLE_TABLE: return "sampled-block table full";
	case CAPTURE_LOST_AFTER_END: return "after tracking stopped";
	case CAPTURE_LOST_TABLE_FULL: return "table full";
	case CAPTURE_LOST_KERNEL_RING: return "kernel ring overflow";
	case CAPTURE_LOST_THROTTLED: return "kernel throttled sampling";
	default: return "unknown reason";
	}
}

const char *capture_lost_source_name(unsigned source)
{
	switch (source) {
	case CAPTURE_LOST_CPU_SAMPLE: return "CPU samples";
	case CAPTURE_LOST_HEAP_EVENT: return "heap events";
	case CAPTURE_LOST_SPAN_EVENT: return "span events";
	case CAPTURE_LOST_LABEL_SET: return "label pushes";
	case CAPTURE_LOST_COUNTER: return "counter updates";
	case CAPTURE_LOST_METRIC: return "monitor snapshots";
	default: return "events of an unknown source";
	}
}

const char *capture_span_note_name(unsigned reason)
{
	switch (reason) {
	case CAPTURE_SPAN_END_WITHOUT_BEGIN: return "end without begin";
	case CAPTURE_SPAN_UNCLOSED: return "unclosed";
	case CAPTURE_SPAN_NULL_NAME: return "null name";
	case CAPTURE_SPAN_LONG_NAME: return "name cut to 1024 bytes";
	case CAPTURE_SPAN_TOO_DEEP: return "deeper than the maximum depth";
	case CAPTURE_SPAN_TOO_SHORT: return "shorter than the minimum duration";
	case CAPTURE_SPAN_BEFORE_WINDOW: return "before the flight-recorder window";
	default: return "unknown note";
	}
}

static void stop_at(struct capture_reader *r, enum capture_read_status st, const char *fmt, ...)
{
	va_list ap;
	r->status = st;
	int n = snprintf(r->stop, sizeof(r->stop), "chunk %llu at byte %llu: ",
			 (unsigned long long)r->chunk_no, (unsigned long long)r->chunk_offset);
	if (n < 0 || (size_t)n >= sizeof(r->stop))
		return;
	va_start(ap, fmt);
	vsnprintf(r->stop + n, sizeof(r->stop) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Reads exactly len bytes; returns the number read (short at EOF). */
static size_t read_full(struct capture_reader *r, void *p, size_t len)
{
	size_t n = fread(p, 1, len, r->f);
	r->offset += n;
	return n;
}

static void text_set(struct capture_text *t, const uint8_t *p, size_t len)
{
	free(t->s);
	t->s = malloc(len + 1);
	if (!t->s) {
		t->len = 0;
		return;
	}
	memcpy(t->s, p, len);
	t->s[len] = '\0';
	t->len = len;
}

static bool parse_header(struct capture_header *h, const uint8_t *p, size_t len)
{
	struct cursor c = cursor_make(p, len);
	while (cursor_left(&c)) {
		uint64_t key = cursor_varint(&c);
		uint64_t vlen = cursor_varint(&c);
		const uint8_t *v = cursor_bytes(&c, vlen);
		if (c.bad)
			return false;
		struct cursor vc = cursor_make(v, vlen);
		struct capture_text *t = NULL;
		uint64_t *num = NULL;
		switch (key) {
		case CAPTURE_HDR_PID: num = &h->pid; break;
		case CAPTURE_HDR_CMDLINE: t = &h->cmdline; break;
		case CAPTURE_HDR_START_REALTIME: num = &h->start_realtime_ns; break;
		case CAPTURE_HDR_START_CLOCK: num = &h->start_clock_ns; break;
		case CAPTURE_HDR_CLOCK_ID: num = &h->clock_id; break;
		case CAPTURE_HDR_CONFIG: t = &h->config; break;
		case CAPTURE_HDR_HOSTNAME: t = &h->hostname; break;
		case CAPTURE_HDR_KERNEL: t = &h->kernel; break;
		case CAPTURE_HDR_EXE: t = &h->exe; break;
		case CAPTURE_HDR_ARCH: t = &h->arch; break;
		case CAPTURE_HDR_SAMPLER: t = &h->sampler; break;
		case CAPTURE_HDR_HZ: num = &h->hz; break;
		case CAPTURE_HDR_PRODUCER: t = &h->producer; break;
		default: break; /* a newer writer's field */
		}
		if (num) {
			*num = cursor_varint(&vc);
			if (vc.bad)
				return false;
		} else if (t) {
			text_set(t, v, vlen);
		}
	}
	return true;
}

struct capture_reader *capture_reader_open(FILE *f, const char *name, char *err, size_t errlen)
{
	uint8_t prefix[CAPTURE_PREFIX_LEN];
	struct capture_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "cannot read capture '%s': out of memory", name);
		return NULL;
	}
	r->f = f;
	size_t n = read_full(r, prefix, sizeof(prefix));
	if (n == 0) {
		snprintf(err, errlen,
			 "cannot read capture '%s': the file is empty; was the recording "
			 "interrupted before it started?", name);
		goto fail;
	}
	if (n < CAPTURE_MAGIC_LEN || memcmp(prefix, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN) != 0) {
		snprintf(err, errlen,
			 "cannot read capture '%s': not a oneprof capture (bad magic); was it "
			 "written by 'oneprof record'?", name);
		goto fail;
	}
	if (n < sizeof(prefix)) {
		snprintf(err, errlen,
			 "cannot read capture '%s': the file ends inside its %d-byte prefix "
			 "(%zu bytes); the recording was cut off before any data", name,
			 CAPTURE_PREFIX_LEN, n);
		goto fail;
	}
	r->hdr.version = get_le16(prefix + 8);
	r->hdr.min_version = get_le16(prefix + 10);
	if (r->hdr.min_version > CAPTURE_VERSION) {
		snprintf(err, errlen,
			 "cannot read capture '%s': written in format version %u, which needs a "
			 "reader of version %u or newer; this oneprof reads version %d: upgrade "
			 "oneprof", name, r->hdr.version, r->hdr.min_version, CAPTURE_VERSION);
		goto fail;
	}
	uint32_t hlen = get_le32(prefix + 12);
	if (hlen > CAPTURE_MAX_HEADER) {
		snprintf(err, errlen,
			 "cannot read capture '%s': header length %u exceeds the %u-byte limit; "
			 "the file is damaged", name, hlen, CAPTURE_MAX_HEADER);
		goto fail;
	}
	uint8_t *h = malloc(hlen ? hlen : 1);
	if (!h) {
		snprintf(err, errlen, "cannot read capture '%s': out of memory", name);
		goto fail;
	}
	n = read_full(r, h, hlen);
	bool ok = n == hlen && XXH32(h, hlen, 0) == get_le32(prefix + 16) &&
		  parse_header(&r->hdr, h, hlen);
	free(h);
	if (!ok) {
		snprintf(err, errlen,
			 "cannot read capture '%s': its header is %s; the file is damaged", name,
			 n < hlen ? "cut short" : "corrupt (checksum or field mismatch)");
		goto fail;
	}
	r->good_bytes = r->offset;
	return r;
fail:
	capture_reader_free(r);
	return NULL;
}

static bool fit(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap && *buf)
		return true;
	free(*buf);
	*cap = 0;
	/* Never NULL, even for an empty chunk: cursors do arithmetic on it. */
	if (!(*buf = malloc(need ? need : 1)))
		return false;
	*cap = need ? need : 1;
	return true;
}

/* Loads the next chunk into r->cur. false at the end or on error. */
static bool load_chunk(struct capture_reader *r)
{
	uint8_t prefix[CAPTURE_CHUNK_PREFIX_LEN];
	r->chunk_offset = r->offset;
	r->chunk_no = r->chunks + 1;
	size_t n = read_full(r, prefix, sizeof(prefix));
	if (n == 0) {
		if (ferror(r->f))
			stop_at(r, CAPTURE_READ_IO_ERROR, "read error: %s", strerror(errno));
		else
			r->status = CAPTURE_READ_END;
		return false;
	}
	if (n < sizeof(prefix)) {
		stop_at(r, CAPTURE_READ_TRUNCATED, "file ends inside the chunk prefix");
		return false;
	}
	if (get_le32(prefix) != CAPTURE_CHUNK_MAGIC) {
		stop_at(r, CAPTURE_READ_CORRUPT, "bad chunk magic");
		return false;
	}
	uint32_t stored_len = get_le32(prefix + 8);
	uint32_t raw_len = get_le32(prefix + 12);
	uint8_t compression = prefix[16];
	if (stored_len > CAPTURE_MAX_CHUNK || raw_len > CAPTURE_MAX_CHUNK) {
		stop_at(r, CAPTURE_READ_CORRUPT, "chunk length %u/%u over the %u-byte limit",
			stored_len, raw_len, CAPTURE_MAX_CHUNK);
		return false;
	}
	if (compression > CAPTURE_COMPRESS_ZSTD) {
		stop_at(r, CAPTURE_READ_CORRUPT, "unknown compression %u", compression);
		return false;
	}
	if (!fit(&r->stored, &r->stored_cap, stored_len)) {
		stop_at(r, CAPTURE_READ_IO_ERROR, "out of memory for a %u-byte chunk", stored_len);
		return false;
	}
	n = read_full(r, r->stored, stored_len);
	if (n < stored_len) {
		stop_at(r, CAPTURE_READ_TRUNCATED, "file ends inside the chunk (%zu of %u bytes)",
			n, stored_len);
		return false;
	}
	uint32_t seed = XXH32(prefix, 20, 0);
	if (XXH32(r->stored, stored_len, seed) != get_le32(prefix + 20)) {
		stop_at(r, CAPTURE_READ_CORRUPT, "checksum mismatch");
		return false;
	}
	const uint8_t *payload = r->stored;
	if (compression == CAPTURE_COMPRESS_ZSTD) {
		if (!fit(&r->raw, &r->raw_cap, raw_len)) {
			stop_at(r, CAPTURE_READ_IO_ERROR, "out of memory for a %u-byte chunk", raw_len);
			return false;
		}
		if (!r->dctx && !(r->dctx = ZSTD_createDCtx())) {
			stop_at(r, CAPTURE_READ_IO_ERROR, "out of memory");
			return false;
		}
		size_t got = ZSTD_decompressDCtx(r->dctx, r->raw, raw_len, r->stored,
						 stored_len);
		if (ZSTD_isError(got) || got != raw_len) {
			stop_at(r, CAPTURE_READ_CORRUPT, "chunk does not decompress");
			return false;
		}
		payload = r->raw;
	} else if (raw_len != stored_len) {
		stop_at(r, CAPTURE_READ_CORRUPT, "stored chunk length mismatch");
		return false;
	}
	r->cur = cursor_make(payload, raw_len);
	r->chunks++;
	r->good_bytes = r->offset;
	return true;
}

bool capture_reader_seek_last(struct capture_reader *r)
{
	struct stat st;
	int fd = fileno(r->f);
	if (r->chunks || cursor_left(&r->cur) || fd < 0 || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return false;
	uint64_t size = (uint64_t)st.st_size, pos = r->offset, last = 0, n = 0;
	while (pos < size) {
		uint8_t prefix[CAPTURE_CHUNK_PREFIX_LEN];
		if (size - pos < sizeof(prefix) ||
		    pread(fd, prefix, sizeof(prefix), (off_t)pos) != (ssize_t)sizeof(prefix))
			return false;
		uint32_t stored_len = get_le32(prefix + 8);
		if (get_le32(prefix) != CAPTURE_CHUNK_MAGIC || stored_len > CAPTURE_MAX_CHUNK ||
		    get_le32(prefix + 12) > CAPTURE_MAX_CHUNK ||
		    prefix[16] > CAPTURE_COMPRESS_ZSTD ||
		    size - pos - sizeof(prefix) < stored_len)
			return false;
		last = pos;
		n++;
		pos += sizeof(prefix) + stored_len;
	}
	if (n == 0 || fseeko(r->f, (off_t)last, SEEK_SET) != 0)
		return false;
	r->offset = last;
	r->chunks = n - 1;
	return load_chunk(r);
}

static bool next_in(struct cursor *c, struct capture_record *rec)
{
	uint64_t kind = cursor_varint(c);
	uint64_t len = cursor_varint(c);
	const uint8_t *body = cursor_bytes(c, len);
	if (c->bad || kind > UINT32_MAX)
		return false;
	rec->kind = (unsigned)kind;
	rec->body = body;
	rec->len = len;
	return true;
}

/* The definition-to-metric range, the collector's and the JIT records. */
static bool kind_known(unsigned kind)
{
	return (kind >= 1 && kind <= CAPTURE_REC_MAX_KNOWN) ||
	       (kind >= CAPTURE_REC_PROCESS && kind <= CAPTURE_REC_COLLECTOR_LAST_KNOWN) ||
	       (kind >= CAPTURE_REC_JIT_SYMBOL && kind <= CAPTURE_REC_JIT_LAST_KNOWN);
}

int capture_reader_next(struct capture_reader *r, struct capture_record *rec)
{
	while (r->status == CAPTURE_READ_MORE) {
		if (cursor_left(&r->cur) == 0) {
			if (!load_chunk(r))
				return 0;
			continue;
		}
		if (!next_in(&r->cur, rec)) {
			stop_at(r, CAPTURE_READ_CORRUPT, "bad record framing");
			return 0;
		}
		if (!kind_known(rec->kind)) {
			r->skipped++;
			continue;
		}
		return 1;
	}
	return 0;
}

bool capture_reader_pending(const struct capture_reader *r)
{
	return r->status == CAPTURE_READ_MORE && cursor_left(&r->cur) > 0;
}

void capture_reader_fail(struct capture_reader *r, const char *why)
{
	stop_at(r, CAPTURE_READ_CORRUPT, "%s", why);
	r->cur.bad = true;
}

bool capture_parse_payload(const uint8_t *p, size_t len,
			   bool (*fn)(const struct capture_record *rec, void *arg), void *arg)
{
	struct cursor c = cursor_make(p, len);
	struct capture_record rec;
	while (cursor_left(&c)) {
		if (!next_in(&c, &rec) || !fn(&rec, arg))
			return false;
	}
	return true;
}

const struct capture_header *capture_reader_header(const struct capture_reader *r)
{
	return &r->hdr;
}

enum capture_read_status capture_reader_status(const struct capture_reader *r)
{
	return r->status;
}

const char *capture_reader_stop_reason(const struct capture_reader *r)
{
	return r->stop;
}

uint64_t capture_reader_chunks(const struct capture_reader *r)
{
	return r->chunks;
}

uint64_t capture_reader_good_bytes(const struct capture_reader *r)
{
	return r->good_bytes;
}

uint64_t capture_reader_skipped_records(const struct capture_reader *r)
{
	return r->skipped;
}

/* Every text field of a header, for copying and freeing. */
#define HEADER_TEXTS(h)                                                            \
	{ &(h)->cmdline, &(h)->config, &(h)->hostname, &(h)->kernel, &(h)->exe,    \
	  &(h)->arch, &(h)->sampler, &(h)->producer }

const char *capture_header_config(const struct capture_header *h, const char *key)
{
	size_t klen = strlen(key);
	for (const char *line = h->config.s; line && *line;) {
		if (!strncmp(line, key, klen) && line[klen] == '=')
			return line + klen + 1;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

void capture_header_copy(struct capture_header *dst, const struct capture_header *src)
{
	*dst = *src;
	struct capture_text *texts[] = HEADER_TEXTS(dst);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		/* Absent fields become "" so readers never see NULL. */
		const char *s = texts[i]->s ? texts[i]->s : "";
		size_t len = texts[i]->s ? texts[i]->len : 0;
		texts[i]->s = NULL;
		text_set(texts[i], (const uint8_t *)s, len);
	}
}

void capture_header_release(struct capture_header *h)
{
	struct capture_text *texts[] = HEADER_TEXTS(h);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		free(texts[i]->s);
		texts[i]->s = NULL;
		texts[i]->len = 0;
	}
}

void capture_reader_free(struct capture_reader *r)
{
	if (!r)
		return;
	capture_header_release(&r->hdr);
	free(r->stored);
	free(r->raw);
	ZSTD_freeDCtx(r->dctx);
	free(r);
}
