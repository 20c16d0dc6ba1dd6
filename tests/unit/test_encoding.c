/* The byte-level encoding: varints, zigzag, and the bounds-checked cursor.
 * Buffers handed to the cursor are heap copies of exactly the bytes under
 * test, so an overrun is an ASan report in the sanitizer build. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/capture/encoding.h"
#include "unit.h"

/* A heap copy of exactly len bytes (at least one allocated byte). */
static uint8_t *exact_copy(const uint8_t *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);
	if (len)
		memcpy(d, p, len);
	return d;
}

TEST(varint_round_trips)
{
	const uint64_t values[] = {
		0,
		1,
		127,
		128,
		255,
		16383,
		16384,
		(UINT64_C(1) << 32) - 1,
		UINT64_C(1) << 32,
		(UINT64_C(1) << 63) - 1,
		UINT64_C(1) << 63,
		UINT64_MAX,
	};
	const size_t lens[] = { 1, 1, 1, 2, 2, 2, 3, 5, 5, 9, 10, 10 };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint8_t buf[VARINT_MAX_LEN + 4];
		memset(buf, 0xee, sizeof(buf));
		size_t n = varint_put(buf, values[i]);
		CHECK_EQ_INT(n, lens[i]);
		CHECK_EQ_INT(varint_len(values[i]), n);
		CHECK(n <= VARINT_MAX_LEN);
		CHECK(buf[n] == 0xee); /* wrote nothing past its length */
		/* Continuation bits on all bytes but the last. */
		for (size_t k = 0; k + 1 < n; k++)
			CHECK(buf[k] & 0x80);
		CHECK(!(buf[n - 1] & 0x80));

		uint8_t *p = exact_copy(buf, n);
		struct cursor c = cursor_make(p, n);
		uint64_t v = cursor_varint(&c);
		CHECK(!c.bad);
		CHECK(v == values[i]);
		CHECK_EQ_INT(cursor_left(&c), 0);
		free(p);
	}
}

TEST(varint_known_encodings)
{
	uint8_t buf[VARINT_MAX_LEN];
	CHECK_EQ_INT(varint_put(buf, 0), 1);
	CHECK_EQ_INT(buf[0], 0x00);
	CHECK_EQ_INT(varint_put(buf, 127), 1);
	CHECK_EQ_INT(buf[0], 0x7f);
	CHECK_EQ_INT(varint_put(buf, 128), 2);
	CHECK_EQ_INT(buf[0], 0x80);
	CHECK_EQ_INT(buf[1], 0x01);
	CHECK_EQ_INT(varint_put(buf, 300), 2);
	CHECK_EQ_INT(buf[0], 0xac);
	CHECK_EQ_INT(buf[1], 0x02);
	CHECK_EQ_INT(varint_put(buf, UINT64_MAX), 10);
	for (int i = 0; i < 9; i++)
		CHECK_EQ_INT(buf[i], 0xff);
	CHECK_EQ_INT(buf[9], 0x01);
}

TEST(varint_len_matches_put_everywhere)
{
	/* Around every 7-bit boundary. */
	for (unsigned bits = 0; bits <= 64; bits++) {
		uint64_t base = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits);
		const uint64_t vs[] = { base - 1, base, base + 1 };
		for (size_t k = 0; k < 3; k++) {
			uint8_t buf[VARINT_MAX_LEN];
			size_t n = varint_put(buf, vs[k]);
			CHECK_EQ_INT(varint_len(vs[k]), n);
			struct cursor c = cursor_make(buf, n);
			CHECK(cursor_varint(&c) == vs[k]);
			CHECK(!c.bad);
		}
	}
}

TEST(varint_sequence)
{
	const uint64_t values[] = { 5, UINT64_MAX, 0, 128, UINT64_C(1) << 32, 127 };
	const size_t nv = sizeof(values) / sizeof(values[0]);
	uint8_t buf[6 * VARINT_MAX_LEN];
	size_t len = 0;
	for (size_t i = 0; i < nv; i++)
		len += varint_put(buf + len, values[i]);
	uint8_t *p = exact_copy(buf, len);
	struct cursor c = cursor_make(p, len);
	for (size_t i = 0; i < nv; i++)
		CHECK(cursor_varint(&c) == values[i]);
	CHECK(!c.bad);
	CHECK_EQ_INT(cursor_left(&c), 0);
	/* One more read overruns: bad, zero, and stays bad. */
	CHECK(cursor_varint(&c) == 0);
	CHECK(c.bad);
	CHECK_EQ_INT(cursor_left(&c), 0);
	free(p);
}

TEST(zigzag_round_trips)
{
	const int64_t values[] = { INT64_MIN, INT64_MIN + 1, -129, -64, -2, -1, 0,
				   1, 2, 63, 64, INT64_MAX - 1, INT64_MAX };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t z = zigzag_encode(values[i]);
		CHECK(zigzag_decode(z) == values[i]);
		/* And through a varint. */
		uint8_t buf[VARINT_MAX_LEN];
		size_t n = varint_put(buf, z);
		struct cursor c = cursor_make(buf, n);
		CHECK(zigzag_decode(cursor_varint(&c)) == values[i]);
		CHECK(!c.bad);
	}
	/* The defining mapping: small magnitudes stay small. */
	CHECK(zigzag_encode(0) == 0);
	CHECK(zigzag_encode(-1) == 1);
	CHECK(zigzag_encode(1) == 2);
	CHECK(zigzag_encode(-2) == 3);
	CHECK(zigzag_encode(INT64_MAX) == UINT64_MAX - 1);
	CHECK(zigzag_encode(INT64_MIN) == UINT64_MAX);
	CHECK(zigzag_decode(UINT64_MAX) == INT64_MIN);
	CHECK(zigzag_decode(UINT64_MAX - 1) == INT64_MAX);
}

TEST(le_words)
{
	uint8_t b[4];
	put_le16(b, 0xbeef);
	CHECK_EQ_INT(b[0], 0xef);
	CHECK_EQ_INT(b[1], 0xbe);
	CHECK_EQ_INT(get_le16(b), 0xbeef);
	put_le32(b, 0xdeadbeefu);
	CHECK_EQ_INT(b[0], 0xef);
	CHECK_EQ_INT(b[3], 0xde);
	CHECK(get_le32(b) == 0xdeadbeefu);
	put_le32(b, 0xffffffffu);
	CHECK(get_le32(b) == 0xffffffffu);
}

TEST(cursor_truncated_varint)
{
	/* Every strict prefix of a multi-byte varint is an overrun. */
	uint8_t full[VARINT_MAX_LEN];
	size_t n = varint_put(full, UINT64_MAX);
	for (size_t len = 0; len < n; len++) {
		uint8_t *p = exact_copy(full, len);
		struct cursor c = cursor_make(p, len);
		CHECK(cursor_varint(&c) == 0);
		CHECK(c.bad);
		CHECK_EQ_INT(cursor_left(&c), 0);
		/* Stays bad: later reads return zero without touching memory. */
		CHECK(cursor_varint(&c) == 0);
		CHECK(cursor_bytes(&c, 0) == NULL);
		CHECK(c.bad);
		free(p);
	}
	/* A single continuation byte. */
	uint8_t *p = exact_copy((const uint8_t[]){ 0x80 }, 1);
	struct cursor c = cursor_make(p, 1);
	CHECK(cursor_varint(&c) == 0);
	CHECK(c.bad);
	free(p);
}

TEST(cursor_overlong_varint)
{
	/* 11 bytes: ten continuation bytes, then a terminator. */
	uint8_t b11[11];
	memset(b11, 0x80, 10);
	b11[10] = 0x00;
	uint8_t *p = exact_copy(b11, sizeof(b11));
	struct cursor c = cursor_make(p, sizeof(b11));
	CHECK(cursor_varint(&c) == 0);
	CHECK(c.bad);
	CHECK_EQ_INT(cursor_left(&c), 0);
	free(p);

	/* 11 bytes of 0xff. */
	memset(b11, 0xff, sizeof(b11));
	p = exact_copy(b11, sizeof(b11));
	c = cursor_make(p, sizeof(b11));
	CHECK(cursor_varint(&c) == 0);
	CHECK(c.bad);
	free(p);

	/* 10 bytes whose last carries more than the 64th bit. */
	uint8_t b10[10];
	memset(b10, 0xff, 9);
	b10[9] = 0x02;
	p = exact_copy(b10, sizeof(b10));
	c = cursor_make(p, sizeof(b10));
	CHECK(cursor_varint(&c) == 0);
	CHECK(c.bad);
	free(p);

	/* 10 bytes with the continuation bit still set on the last. */
	b10[9] = 0x81;
	p = exact_copy(b10, sizeof(b10));
	c = cursor_make(p, sizeof(b10));
	CHECK(cursor_varint(&c) == 0);
	CHECK(c.bad);
	free(p);

	/* The largest legal 10-byte form still reads. */
	b10[9] = 0x01;
	p = exact_copy(b10, sizeof(b10));
	c = cursor_make(p, sizeof(b10));
	CHECK(cursor_varint(&c) == UINT64_MAX);
	CHECK(!c.bad);
	free(p);
}

TEST(cursor_bytes_bounds)
{
	const uint8_t src[] = { 1, 2, 3, 4, 5 };
	uint8_t *p = exact_copy(src, sizeof(src));

	struct cursor c = cursor_make(p, sizeof(src));
	const uint8_t *b = cursor_bytes(&c, 2);
	CHECK(b == p);
	CHECK_EQ_INT(cursor_left(&c), 3);
	b = cursor_bytes(&c, 3);
	CHECK(b == p + 2);
	CHECK(!c.bad);
	CHECK_EQ_INT(cursor_left(&c), 0);
	/* Zero bytes at the very end is fine. */
	b = cursor_bytes(&c, 0);
	CHECK(b == p + 5);
	CHECK(!c.bad);
	/* One past the end is not. */
	CHECK(cursor_bytes(&c, 1) == NULL);
	CHECK(c.bad);
	CHECK_EQ_INT(cursor_left(&c), 0);
	CHECK(cursor_varint(&c) == 0);

	/* Past the end from the start, and lengths that would wrap a pointer. */
	const uint64_t huge[] = { 6, 1000, (uint64_t)SIZE_MAX, UINT64_MAX, UINT64_MAX - 2,
				  UINT64_C(1) << 63 };
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		c = cursor_make(p, sizeof(src));
		CHECK(cursor_bytes(&c, huge[i]) == NULL);
		CHECK(c.bad);
		CHECK_EQ_INT(cursor_left(&c), 0);
	}

	/* A length varint followed by too few bytes, as decoders use it. */
	const uint8_t framed[] = { 0x04, 'a', 'b', 'c' };
	uint8_t *q = exact_copy(framed, sizeof(framed));
	c = cursor_make(q, sizeof(framed));
	uint64_t len = cursor_varint(&c);
	CHECK_EQ_INT(len, 4);
	CHECK(cursor_bytes(&c, len) == NULL);
	CHECK(c.bad);
	free(q);

	/* An empty buffer. */
	c = cursor_make(p, 0);
	CHECK_EQ_INT(cursor_left(&c), 0);
	CHECK(cursor_bytes(&c, 0) == p);
	CHECK(!c.bad);
	CHECK(cursor_varint(&c) == 0);
	CHECK(c.bad);
	free(p);
}

TEST(cursor_svarint_dwarf_examples)
{
	/* The DWARF standard's examples, and the ends of the range. */
	static const struct {
		uint8_t bytes[10];
		size_t len;
		int64_t value;
	} cases[] = {
		{ { 0x02 }, 1, 2 },
		{ { 0x7e }, 1, -2 },
		{ { 0xff, 0x00 }, 2, 127 },
		{ { 0x81, 0x7f }, 2, -127 },
		{ { 0x80, 0x01 }, 2, 128 },
		{ { 0x80, 0x7f }, 2, -128 },
		{ { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f }, 10, INT64_MIN },
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 }, 10, INT64_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *p = exact_copy(cases[i].bytes, cases[i].len);
		struct cursor c = cursor_make(p, cases[i].len);
		CHECK(cursor_svarint(&c) == cases[i].value);
		CHECK(!c.bad);
		CHECK_EQ_INT(cursor_left(&c), 0);
		/* Every strict prefix is an overrun. */
		for (size_t len = 0; len < cases[i].len; len++) {
			struct cursor t = cursor_make(p, len);
			CHECK(cursor_svarint(&t) == 0);
			CHECK(t.bad);
		}
		free(p);
	}
	/* A tenth byte carrying more than the sign does not fit 64 bits. */
	uint8_t *p = exact_copy((const uint8_t[]){ 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
						   0x80, 0x80, 0x01 }, 10);
	struct cursor c = cursor_make(p, 10);
	CHECK(cursor_svarint(&c) == 0);
	CHECK(c.bad);
	free(p);
}
