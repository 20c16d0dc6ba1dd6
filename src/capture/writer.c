/* Capture writer. See writer.h and doc/capture-format.md. */
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <zstd.h>
#define XXH_INLINE_ALL /* the agent links only libc and zstd */
#include <xxhash.h>

#include "encoding.h"
#include "format.h"

#define DEFAULT_CHUNK_BYTES (256u << 10)

struct capture_writer {
	int fd;
	int error;       /* first -errno, sticky */
	uint32_t seq;
	size_t chunk_bytes;
	uint64_t written;
	struct capture_buf payload;
	struct capture_buf scratch; /* one record body at a time */
	struct capture_buf stored;  /* compressed chunk */
	ZSTD_CCtx *zctx;
	bool store_raw; /* capture_writer_set_compress(w, false) */
	struct capture_tally *tally;
	/* Tids the reader has seen: tid + 1, bit 63 set once it ended. */
	uint64_t *tids;
	size_t tids_cap, ntids;
};

static int buf_reserve(struct capture_buf *b, size_t extra)
{
	if (b->oom)
		return -1;
	if (b->len + extra <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void capture_buf_varint(struct capture_buf *b, uint64_t v)
{
	if (buf_reserve(b, VARINT_MAX_LEN) == 0)
		b->len += varint_put(b->data + b->len, v);
}

void capture_buf_bytes(struct capture_buf *b, const void *p, size_t len)
{
	if (len && buf_reserve(b, len) == 0) {
		memcpy(b->data + b->len, p, len);
		b->len += len;
	}
}

void capture_buf_free(struct capture_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void capture_header_u64(struct capture_buf *h, unsigned key, uint64_t v)
{
	capture_buf_varint(h, key);
	capture_buf_varint(h, varint_len(v));
	capture_buf_varint(h, v);
}

void capture_header_bytes(struct capture_buf *h, unsigned key, const void *p, size_t len)
{
	capture_buf_varint(h, key);
	capture_buf_varint(h, len);
	capture_buf_bytes(h, p, len);
}

void capture_header_host(struct capture_buf *h)
{
	char buf[512];
	if (gethostname(buf, sizeof(buf)) == 0) {
		buf[sizeof(buf) - 1] = '\0';
		capture_header_str(h, CAPTURE_HDR_HOSTNAME, buf);
	}
	struct utsname u;
	if (uname(&u) == 0) {
		snprintf(buf, sizeof(buf), "%s %s %s", u.sysname, u.release, u.version);
		capture_header_str(h, CAPTURE_HDR_KERNEL, buf);
		capture_header_str(h, CAPTURE_HDR_ARCH, u.machine);
	}
}

void capture_header_str(struct capture_buf *h, unsigned key, const char *s)
{
	capture_header_bytes(h, key, s, s ? strlen(s) : 0);
}

struct capture_writer *capture_writer_new(int fd, size_t chunk_bytes, int compression_level)
{
	struct capture_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fd = fd;
	w->chunk_bytes = chunk_bytes ? chunk_bytes : DEFAULT_CHUNK_BYTES;
	if (w->chunk_bytes > CAPTURE_MAX_CHUNK / 2)
		w->chunk_bytes = CAPTURE_MAX_CHUNK / 2;
	if (compression_level != 0 &&
	    (!(w->zctx = ZSTD_createCCtx()) ||
	     ZSTD_isError(ZSTD_CCtx_setParameter(w->zctx, ZSTD_c_compressionLevel,
						 compression_level)))) {
		ZSTD_freeCCtx(w->zctx);
		free(w);
		return NULL;
	}
	return w;
}

void capture_writer_compress_events(struct capture_writer *w)
{
	/* The fast level -1, with a 4,096-entry hash table and a 128 KiB
	 * window where zstd would take 64K entries and the whole 256 KiB
	 * chunk: the writer shares a core with the program's threads, and on
	 * the churn benchmark the smaller tables cost the program less cache
	 * (7% less wall time over eight runs each) for a capture no larger.
	 * A parameter zstd refuses keeps its default. */
	if (!w->zctx)
		return;
	ZSTD_CCtx_setParameter(w->zctx, ZSTD_c_compressionLevel, -1);
	ZSTD_CCtx_setParameter(w->zctx, ZSTD_c_hashLog, 12);
	ZSTD_CCtx_setParameter(w->zctx, ZSTD_c_windowLog, 17);
}

void capture_writer_set_compress(struct capture_writer *w, bool on)
{
	w->store_raw = !on;
}

/* write() until done; EINTR is retried, anything else is the error. */
static int write_all(struct capture_writer *w, const void *p, size_t len)
{
	const uint8_t *b = p;
	while (len) {
		ssize_t n = write(w->fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!w->error)
				w->error = n < 0 ? -errno : -EIO;
			return w->error;
		}
		b += n;
		len -= (size_t)n;
		w->written += (uint64_t)n;
	}
	return 0;
}

int capture_writer_begin(struct capture_writer *w, const struct capture_buf *header)
{
	uint8_t prefix[CAPTURE_PREFIX_LEN];
	if (header->oom || header->len > CAPTURE_MAX_HEADER)
		return -ENOMEM;
	memcpy(prefix, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN);
	put_le16(prefix + 8, CAPTURE_VERSION);
	put_le16(prefix + 10, CAPTURE_MIN_VERSION);
	put_le32(prefix + 12, (uint32_t)header->len);
	put_le32(prefix + 16, XXH32(header->data, header->len, 0));
	int rc = write_all(w, prefix, sizeof(prefix));
	return rc ? rc : write_all(w, header->data, header->len);
}

static void put_record(struct capture_writer *w, unsigned kind, const void *body, size_t len)
{
	capture_buf_varint(&w->payload, kind);
	capture_buf_varint(&w->payload, len);
	capture_buf_bytes(&w->payload, body, len);
	if (w->payload.len >= w->chunk_bytes)
		capture_writer_flush(w);
}

static void append_record(struct capture_writer *w, unsigned kind)
{
	put_record(w, kind, w->scratch.data, w->scratch.len);
	w->scratch.len = 0;
}

void capture_write_body(struct capture_writer *w, unsigned kind, const void *body, size_t len)
{
	if (w->tally && kind < 128)
		w->tally->records[kind]++;
	put_record(w, kind, body, len);
}

void capture_write_string(struct capture_writer *w, uint64_t id, const char *s, size_t len)
{
	capture_buf_varint(&w->scratch, id);
	capture_buf_bytes(&w->scratch, s, len);
	append_record(w, CAPTURE_REC_STRING);
}

void capture_write_mapping(struct capture_writer *w, uint64_t id, uint64_t start, uint64_t end,
			   uint64_t offset, uint64_t path_id, const uint8_t *build_id,
			   size_t build_id_len, uint64_t prot)
{
	capture_write_mapping_pid(w, id, start, end, offset, path_id, build_id, build_id_len, prot,
				  0);
}

void capture_write_mapping_pid(struct capture_writer *w, uint64_t id, uint64_t start,
			       uint64_t end, uint64_t offset, uint64_t path_id,
			       const uint8_t *build_id, size_t build_id_len, uint64_t prot,
			       uint64_t pid)
{
	struct capture_buf *s = &w->scratch;
	capture_buf_varint(s, id);
	capture_buf_varint(s, start);
	capture_buf_varint(s, end);
	capture_buf_varint(s, offset);
	capture_buf_varint(s, path_id);
	capture_buf_varint(s, build_id_len);
	capture_buf_bytes(s, build_id, build_id_len);
	capture_buf_varint(s, prot);
	if (pid)
		capture_buf_varint(s, pid);
	append_record(w, CAPTURE_REC_MAPPING);
}

void capture_write_stack(struct capture_writer *w, uint64_t id, unsigned end_reason,
			 const uint64_t *pcs, size_t n)
{
	capture_write_stack_pid(w, id, end_reason, pcs, n, 0);
}

void capture_write_stack_pid(struct capture_writer *w, uint64_t id, unsigned end_reason,
			     const uint64_t *pcs, size_t n, uint64_t pid)
{
	struct capture_buf *s = &w->scratch;
	capture_buf_varint(s, id);
	capture_buf_varint(s, end_reason);
	capture_buf_varint(s, n);
	uint64_t prev = 0;
	for (size_t i = 0; i < n; i++) {
		/* Neighbouring frames are usually close: deltas keep them short. */
		capture_buf_varint(s, zigzag_encode((int64_t)(pcs[i] - prev)));
		prev = pcs[i];
	}
	if (pid)
		capture_buf_varint(s, pid);
	append_record(w, CAPTURE_REC_STACK);
}

void capture_writer_tally_on(struct capture_writer *w)
{
	if (!w->tally)
		w->tally = calloc(1, sizeof(*w->tally)); /* NULL: the END stays short */
}

const struct capture_tally *capture_writer_tally(const struct capture_writer *w)
{
	return w->tally;
}

#define TID_ENDED (1ull << 63)

/* The slot of tid in the table, or the empty slot where it goes. */
static size_t tid_slot(const struct capture_writer *w, uint64_t tid)
{
	size_t i = (size_t)(tid * 0x9e3779b97f4a7c15ull >> 20) & (w->tids_cap - 1);
	while (w->tids[i] && (w->tids[i] & ~TID_ENDED) != tid + 1)
		i = (i + 1) & (w->tids_cap - 1);
	return i;
}

/* A reader's threads (src/model/profile.c): a THREAD record starts one
 * unless its tid has one still running (a rename); any other record
 * naming an unknown tid starts one; THREAD_END ends the tid's latest. */
static void tally_thread(struct capture_writer *w, unsigned kind, uint64_t tid)
{
	if ((w->ntids + 1) * 2 > w->tids_cap) {
		size_t cap = w->tids_cap ? 2 * w->tids_cap : 256;
		uint64_t *old = w->tids;
		size_t old_cap = w->tids_cap;
		if (!(w->tids = calloc(cap, sizeof(*w->tids)))) {
			w->tids = old;
			w->tally->bad = 1;
			return;
		}
		w->tids_cap = cap;
		for (size_t k = 0; k < old_cap; k++)
			if (old[k])
				w->tids[tid_slot(w, (old[k] & ~TID_ENDED) - 1)] = old[k];
		free(old);
	}
	size_t i = tid_slot(w, tid);
	uint64_t v = w->tids[i];
	if (kind == CAPTURE_REC_THREAD_END) {
		if (v)
			w->tids[i] = v | TID_ENDED;
		return;
	}
	if (!v || (kind == CAPTURE_REC_THREAD && (v & TID_ENDED))) {
		if (!v)
			w->ntids++;
		w->tids[i] = tid + 1;
		w->tally->threads++;
	}
}

static void tally(struct capture_writer *w, unsigned kind, const uint64_t *f, size_t n)
{
	struct capture_tally *t = w->tally;
	t->records[kind]++;
	switch (kind) {
	case CAPTURE_REC_CPU_SAMPLE:
		if (n > 4)
			t->sample_cpu_ns += f[4];
		break;
	case CAPTURE_REC_WALL_SAMPLE:
		if (n > 3)
			t->wall_count += f[3];
		break;
	case CAPTURE_REC_LOST:
		if (n > 2 && f[0] == CAPTURE_LOST_CPU_SAMPLE)
			t->lost_samples += f[2];
		break;
	default:
		break;
	}
	/* Where the record names its thread. */
	switch (kind) {
	case CAPTURE_REC_THREAD:
	case CAPTURE_REC_THREAD_END:
	case CAPTURE_REC_SPAN_ATTR:
		if (n > 0)
			tally_thread(w, kind, f[0]);
		break;
	case CAPTURE_REC_CPU_SAMPLE:
	case CAPTURE_REC_WALL_SAMPLE:
	case CAPTURE_REC_OFF_CPU:
	case CAPTURE_REC_SPAN_BEGIN:
	case CAPTURE_REC_SPAN_END:
	case CAPTURE_REC_OPS:
	case CAPTURE_REC_GC_BEGIN:
	case CAPTURE_REC_GC_END:
		if (n > 1)
			tally_thread(w, kind, f[1]);
		break;
	default:
		break;
	}
}

void capture_write_varints(struct capture_writer *w, unsigned kind, const uint64_t *fields,
			   size_t n)
{
	if (w->tally && kind < 128)
		tally(w, kind, fields, n);
	/* The hot record shape (a heap event per allocation): encoded in
	 * place, one capacity check, no scratch copy. */
	if (n <= 8 && kind < 128) {
		uint8_t body[8 * VARINT_MAX_LEN];
		size_t len = 0;
		for (size_t i = 0; i < n; i++)
			len += varint_put(body + len, fields[i]);
		if (buf_reserve(&w->payload, 2 + len) != 0)
			return;
		uint8_t *out = w->payload.data + w->payload.len;
		out[0] = (uint8_t)kind;
		out[1] = (uint8_t)len; /* < 128: one varint byte */
		memcpy(out + 2, body, len);
		w->payload.len += 2 + len;
		if (w->payload.len >= w->chunk_bytes)
			capture_writer_flush(w);
		return;
	}
	for (size_t i = 0; i < n; i++)
		capture_buf_varint(&w->scratch, fields[i]);
	append_record(w, kind);
}

int capture_writer_flush(struct capture_writer *w)
{
	if (w->payload.oom || w->scratch.oom) {
		if (!w->error)
			w->error = -ENOMEM;
		w->payload.oom = w->scratch.oom = 0;
		w->payload.len = w->scratch.len = 0;
		return w->error;
	}
	if (w->payload.len == 0)
		return w->error;

	const uint8_t *body = w->payload.data;
	size_t body_len = w->payload.len;
	uint8_t compression = CAPTURE_COMPRESS_NONE;
	if (w->zctx && !w->store_raw) {
		size_t bound = ZSTD_compressBound(w->payload.len);
		w->stored.len = 0;
		if (buf_reserve(&w->stored, bound) == 0) {
			size_t n = ZSTD_compress2(w->zctx, w->stored.data, bound, w->payload.data,
						  w->payload.len);
			if (!ZSTD_isError(n) && n < w->payload.len) {
				body = w->stored.data;
				body_len = n;
				compression = CAPTURE_COMPRESS_ZSTD;
			}
		}
	}

	uint8_t prefix[CAPTURE_CHUNK_PREFIX_LEN] = { 0 };
	put_le32(prefix, CAPTURE_CHUNK_MAGIC);
	put_le32(prefix + 4, w->seq++);
	put_le32(prefix + 8, (uint32_t)body_len);
	put_le32(prefix + 12, (uint32_t)w->payload.len);
	prefix[16] = compression;
	uint32_t seed = XXH32(prefix, 20, 0);
	put_le32(prefix + 20, XXH32(body, body_len, seed));

	w->payload.len = 0;
	if (w->error)
		return w->error; /* keep the file a clean prefix: no chunk after a failed one */
	int rc = write_all(w, prefix, sizeof(prefix));
	return rc ? rc : write_all(w, body, body_len);
}

uint64_t capture_writer_bytes_written(const struct capture_writer *w)
{
	return w->written;
}

int capture_writer_free(struct capture_writer *w)
{
	if (!w)
		return 0;
	int rc = capture_writer_flush(w);
	capture_buf_free(&w->payload);
	capture_buf_free(&w->scratch);
	capture_buf_free(&w->stored);
	ZSTD_freeCCtx(w->zctx);
	free(w->tally);
	free(w->tids);
	free(w);
	return rc;
}
