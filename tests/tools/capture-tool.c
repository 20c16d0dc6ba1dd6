/* Test tool for the capture reader, built with ASan and UBSan.
 *   capture-tool truncate FILE      read every prefix of FILE
 *   capture-tool corrupt FILE N SEED  read N copies with random damage
 *   capture-tool stats FILE         print counts the tests compare
 *   capture-tool summary FILE       record's summary from the END record and
 *                                   from a full read, one line each
 *   capture-tool records FILE       print every record: kind, then its
 *                                   body as varints (STRING: id and text)
 * "truncate" checks that each prefix is either rejected with a message
 * (before the first chunk) or read exactly up to its last whole chunk. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/capture/encoding.h"
#include "../../src/capture/format.h"
#include "../../src/model/profile.h"
#include "../../src/report/report.h"
#include "../../src/symbolize/symbolize.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	uint8_t *buf = malloc(*len ? *len : 1);
	if (fread(buf, 1, *len, f) != *len) {
		perror(path);
		exit(2);
	}
	fclose(f);
	return buf;
}

static struct profile *load(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	/* fmemopen rejects size 0: an empty file is the same as /dev/null. */
	FILE *f = len ? fmemopen((void *)buf, len, "rb") : fopen("/dev/null", "rb");
	struct profile *p = profile_read(f, "mem", err, errlen);
	fclose(f);
	return p;
}

static int truncate_all(const uint8_t *buf, size_t len)
{
	/* Chunk boundaries, found independently of the reader. */
	size_t bounds[1 << 16], nb = 0;
	size_t off = CAPTURE_PREFIX_LEN + get_le32(buf + 12);
	bounds[nb++] = off;
	while (off + CAPTURE_CHUNK_PREFIX_LEN <= len && nb < sizeof(bounds) / sizeof(bounds[0])) {
		off += CAPTURE_CHUNK_PREFIX_LEN + get_le32(buf + off + 8);
		if (off > len)
			break;
		bounds[nb++] = off;
	}
	size_t rejected = 0, partial = 0, failures = 0;
	uint64_t prev_samples = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		char err[512];
		struct profile *p = load(buf, cut, err, sizeof(err));
		if (!p) {
			if (cut >= bounds[0] || !err[0]) {
				printf("FAIL: prefix of %zu bytes rejected: %s\n", cut, err);
				failures++;
			}
			rejected++;
			continue;
		}
		size_t expect = 0;
		for (size_t i = 0; i < nb && bounds[i] <= cut; i++)
			expect = bounds[i];
		bool clean = cut == expect;
		if (p->good_bytes != expect || (clean != (p->status == CAPTURE_READ_END)) ||
		    p->total_count < prev_samples) {
			printf("FAIL: prefix %zu: read %" PRIu64 " bytes (expected %zu), status %d, "
			       "samples %" PRIu64 " (before %" PRIu64 ")\n",
			       cut, p->good_bytes, expect, p->status, p->total_count, prev_samples);
			failures++;
		}
		if (!clean)
			partial++;
		prev_samples = p->total_count;
		profile_free(p);
	}
	printf("truncate: %zu prefixes, %zu chunks, %zu rejected with a message, %zu read "
	       "partly, %zu failures\n", len + 1, nb - 1, rejected, partial, failures);
	return failures ? 1 : 0;
}

static int corrupt(const uint8_t *buf, size_t len, long rounds, unsigned seed)
{
	uint8_t *copy = malloc(len);
	srand(seed);
	long loaded = 0;
	for (long r = 0; r < rounds; r++) {
		memcpy(copy, buf, len);
		int flips = 1 + rand() % 8;
		for (int i = 0; i < flips; i++)
			copy[(size_t)rand() % len] ^= (uint8_t)(1 + rand() % 255);
		char err[512];
		struct profile *p = load(copy, len, err, sizeof(err));
		if (p) {
			loaded++;
			profile_free(p);
		}
	}
	free(copy);
	printf("corrupt: %ld damaged copies read without a crash (%ld loaded)\n", rounds, loaded);
	return 0;
}

static int stats(const char *path)
{
	char err[512];
	struct profile *p = profile_load(path, err, sizeof(err));
	if (!p) {
		printf("error: %s\n", err);
		return 1;
	}
	printf("samples %" PRIu64 "\nthreads %zu\nstacks %zu\nmappings %zu\nchunks %" PRIu64
	       "\nend %d\nstatus %d\nprocess_cpu_ns %" PRIu64 "\nhz %" PRIu64 "\n",
	       p->total_count, p->nthreads, p->nstacks, p->nmappings, p->chunks, p->has_end,
	       p->status, p->process_cpu_ns, p->hdr.hz);
	struct symbolizer *sym = sym_new();
	profile_resolve(p, sym);
	sym_free(sym);
	for (size_t i = 0; i < p->nthreads; i++) {
		/* The leaf function with most samples in this thread. */
		uint64_t best = 0;
		const char *top = "-";
		uint64_t *by_fn = calloc(p->nfunctions + 1, sizeof(uint64_t));
		for (size_t k = 0; k < p->nsamples; k++) {
			const struct profile_sample *s = &p->samples[k];
			const struct profile_stack *st = &p->stacks[s->stack];
			if (s->thread != i || !st->n)
				continue;
			uint32_t f = p->locations[st->locations[0]].function;
			if ((by_fn[f] += s->count) > best) {
				best = by_fn[f];
				top = p->functions[f].name;
			}
		}
		free(by_fn);
		printf("thread %" PRIu64 " %s %" PRIu64 " %s\n", p->threads[i].tid, p->threads[i].name,
		       p->threads[i].samples, top);
	}
	profile_free(p);
	return 0;
}

static int summary(const char *path)
{
	for (int fast = 1; fast >= 0; fast--) {
		char err[512];
		struct record_summary s;
		if (record_summary_read(path, fast, &s, err, sizeof(err)) != 0) {
			printf("error: %s\n", err);
			return 1;
		}
		printf("%s: incomplete %d rate %d %" PRIu64 " %" PRIu64 " %" PRIu64 " heap %d %.0f %.0f "
		       "samples %" PRIu64 " threads %zu cpu_ns %" PRIu64 " wall %d lost %" PRIu64 "\n",
		       fast ? (s.from_end ? "end" : "full-fallback") : "full", s.incomplete,
		       s.rate_lowered, s.rate_lowered ? s.rate_from : 0, s.rate_lowered ? s.rate_to : 0,
		       s.rate_lowered ? s.rate_when : 0, s.heap, s.heap_allocs,
		       s.heap_frees, s.samples, s.threads, s.cpu_ns, s.wall, s.lost);
	}
	return 0;
}

/* One line per record: "kind field field ...". Bodies that are not all
 * varints (mappings, stacks) print as far as they decode. */
static int records(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 2;
	}
	char err[512];
	struct capture_reader *r = capture_reader_open(f, path, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "%s\n", err);
		fclose(f);
		return 1;
	}
	struct capture_record rec;
	while (capture_reader_next(r, &rec)) {
		struct cursor c = cursor_make(rec.body, rec.len);
		printf("%u", rec.kind);
		if (rec.kind == CAPTURE_REC_STRING) {
			uint64_t id = cursor_varint(&c);
			size_t left = cursor_left(&c);
			printf(" %" PRIu64 " %.*s\n", id, (int)left, (const char *)cursor_bytes(&c, left));
			continue;
		}
		while (cursor_left(&c) && !c.bad)
			printf(" %" PRIu64, cursor_varint(&c));
		printf("\n");
	}
	int rc = capture_reader_status(r) == CAPTURE_READ_END ? 0 : 1;
	if (rc)
		fprintf(stderr, "%s\n", capture_reader_stop_reason(r));
	capture_reader_free(r);
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: capture-tool truncate|corrupt|stats|summary|records FILE [N SEED]\n");
		return 2;
	}
	if (!strcmp(argv[1], "stats"))
		return stats(argv[2]);
	if (!strcmp(argv[1], "summary"))
		return summary(argv[2]);
	if (!strcmp(argv[1], "records"))
		return records(argv[2]);
	size_t len;
	uint8_t *buf = slurp(argv[2], &len);
	int rc = 2;
	if (!strcmp(argv[1], "truncate"))
		rc = truncate_all(buf, len);
	else if (!strcmp(argv[1], "corrupt") && argc == 5)
		rc = corrupt(buf, len, atol(argv[3]), (unsigned)atoi(argv[4]));
	free(buf);
	return rc;
}
