/* The pprof reader (src/model/pprof_read.c) on profiles built byte by
 * byte here: what a valid one gives, and that every truncation, every
 * flipped byte, bad references and bad gzip fail cleanly (run under ASan
 * in unit-tests-asan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../../src/model/filter.h"
#include "../../src/model/profile.h"
#include "unit.h"

struct buf {
	uint8_t d[1024];
	size_t n;
};

static void put_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		b->d[b->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->d[b->n++] = (uint8_t)v;
}

static void put_int(struct buf *b, unsigned field, uint64_t v)
{
	put_varint(b, (uint64_t)field << 3);
	put_varint(b, v);
}

static void put_bytes(struct buf *b, unsigned field, const void *p, size_t n)
{
	put_varint(b, ((uint64_t)field << 3) | 2);
	put_varint(b, n);
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put_msg(struct buf *b, unsigned field, const struct buf *m)
{
	put_bytes(b, field, m->d, m->n);
}

/* strings: "", cpu, nanoseconds, f, g, samples, count. Functions f (1)
 * and g (2); location 1 has g inlined into f; location 2 is f alone.
 * Samples: [loc 1] 2 samples 30 ns, [loc 2] 1 sample 10 ns. The location
 * id of the first sample is 'bad_loc' (1 for a valid profile). */
static void valid_profile(struct buf *out, uint64_t bad_loc)
{
	struct buf m = { .n = 0 }, sub = { .n = 0 };
	out->n = 0;
	put_int(&m, 1, 5); /* samples/count */
	put_int(&m, 2, 6);
	put_msg(out, 1, &m);
	m.n = 0;
	put_int(&m, 1, 1); /* cpu/nanoseconds */
	put_int(&m, 2, 2);
	put_msg(out, 1, &m);
	for (uint64_t f = 1; f <= 2; f++) {
		m.n = 0;
		put_int(&m, 1, f);
		put_int(&m, 2, f + 2);
		put_msg(out, 5, &m);
	}
	m.n = 0;
	put_int(&m, 1, 1);
	put_int(&m, 3, 0x1000);
	sub.n = 0;
	put_int(&sub, 1, 2); /* g, inlined */
	put_int(&sub, 2, 7);
	put_msg(&m, 4, &sub);
	sub.n = 0;
	put_int(&sub, 1, 1); /* into f */
	put_int(&sub, 2, 3);
	put_msg(&m, 4, &sub);
	put_msg(out, 4, &m);
	m.n = 0;
	put_int(&m, 1, 2);
	put_int(&m, 3, 0x2000);
	sub.n = 0;
	put_int(&sub, 1, 1);
	put_msg(&m, 4, &sub);
	put_msg(out, 4, &m);
	/* Sample 1: packed location ids and values. */
	m.n = 0;
	uint8_t packed_loc[1] = { (uint8_t)bad_loc }, packed_val[2] = { 2, 30 };
	put_bytes(&m, 1, packed_loc, 1);
	put_bytes(&m, 2, packed_val, 2);
	put_msg(out, 2, &m);
	/* Sample 2: unpacked. */
	m.n = 0;
	put_int(&m, 1, 2);
	put_int(&m, 2, 1);
	put_int(&m, 2, 10);
	put_msg(out, 2, &m);
	const char *strs[] = { "", "cpu", "nanoseconds", "f", "g", "samples", "count" };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		put_bytes(out, 6, strs[i], strlen(strs[i]));
}

static struct profile *read_buf(const uint8_t *d, size_t n, const char *index, char *err,
				size_t errlen)
{
	return profile_read_pprof(d, n, "test.pb", index, err, errlen);
}

TEST(pprof_read_valid)
{
	struct buf b;
	valid_profile(&b, 1);
	CHECK(profile_is_pprof(b.d, b.n));
	char err[256] = "";
	struct profile *p = read_buf(b.d, b.n, NULL, err, sizeof(err));
	CHECK(p != NULL);
	if (!p) {
		printf("    %s\n", err);
		return;
	}
	CHECK_EQ_INT(p->total_cpu_ns, 40);
	CHECK_EQ_INT(p->total_count, 3);
	CHECK_EQ_INT(p->nsamples, 2);
	CHECK_EQ_INT(p->nlocations, 2);
	CHECK_STR(p->pprof_type, "cpu");
	/* Innermost first: g (inlined) then f. */
	uint32_t fn[8];
	size_t n = profile_stack_functions(p, &p->stacks[0], fn, 8);
	CHECK_EQ_INT(n, 2);
	CHECK_STR(p->functions[fn[0]].name, "g");
	CHECK_STR(p->functions[fn[1]].name, "f");
	CHECK_EQ_INT(p->locations[0].lines[0].line, 7);
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	struct profile_totals *t = profile_function_totals(p, &pf);
	CHECK_EQ_INT(t[fn[0]].self_ns, 30);
	CHECK_EQ_INT(t[fn[1]].self_ns, 10);
	CHECK_EQ_INT(t[fn[1]].total_ns, 40);
	free(t);
	profile_frames_free(&pf);
	profile_free(p);

	p = read_buf(b.d, b.n, "samples", err, sizeof(err));
	CHECK(p && p->total_cpu_ns == 3);
	profile_free(p);
	CHECK(read_buf(b.d, b.n, "nope", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "no sample type 'nope'") != NULL);

	/* A comment (field 13) as one varint, not packed: it becomes the
	 * header's command line. (Its empty packed cursor was once made
	 * from a null pointer, which clang's UBSan in the pprof fuzzer
	 * reported.) */
	put_int(&b, 13, 3);
	p = read_buf(b.d, b.n, NULL, err, sizeof(err));
	CHECK(p && p->hdr.cmdline.len == 1 && p->hdr.cmdline.s[0] == 'f');
	profile_free(p);
}

TEST(pprof_read_gzip)
{
	struct buf b;
	valid_profile(&b, 1);
	uint8_t gz[2048];
	z_stream z = { 0 };
	CHECK(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	z.next_in = b.d;
	z.avail_in = (uInt)b.n;
	z.next_out = gz;
	z.avail_out = sizeof(gz);
	CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
	size_t n = sizeof(gz) - z.avail_out;
	deflateEnd(&z);
	CHECK(profile_is_pprof(gz, n));
	char err[256];
	struct profile *p = read_buf(gz, n, NULL, err, sizeof(err));
	CHECK(p && p->total_cpu_ns == 40);
	profile_free(p);
	/* Every truncation of the gzip stream fails cleanly. */
	for (size_t cut = 0; cut < n; cut++) {
		p = read_buf(gz, cut, NULL, err, sizeof(err));
		CHECK(p == NULL);
		profile_free(p);
	}
}

TEST(pprof_read_malformed)
{
	struct buf b;
	char err[256];
	valid_profile(&b, 9); /* a location id nobody defined */
	CHECK(read_buf(b.d, b.n, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "location id that is not defined") != NULL);

	valid_profile(&b, 1);
	/* Every prefix and every single flipped byte: NULL or a profile,
	 * never a crash or a leak (ASan). */
	for (size_t cut = 0; cut <= b.n; cut++)
		profile_free(read_buf(b.d, cut, NULL, err, sizeof(err)));
	for (size_t i = 0; i < b.n; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			struct buf c = b;
			c.d[i] ^= (uint8_t)(1u << bit);
			profile_free(read_buf(c.d, c.n, NULL, err, sizeof(err)));
		}
	}
	/* A length that claims more than is there. */
	uint8_t huge[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x08 };
	CHECK(read_buf(huge, sizeof(huge), NULL, err, sizeof(err)) == NULL);
	/* No string table. */
	uint8_t nostr[] = { 0x0a, 0x02, 0x08, 0x01 };
	CHECK(read_buf(nostr, sizeof(nostr), NULL, err, sizeof(err)) == NULL);
	/* A group wire type. */
	uint8_t group[] = { 0x0b, 0x0c };
	CHECK(read_buf(group, sizeof(group), NULL, err, sizeof(err)) == NULL);
}
