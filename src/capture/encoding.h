/* Byte-level encoding shared by the capture writer and reader and by the
 * unwinder's .eh_frame parser (src/unwind/eh_frame.c): LEB128 varints
 * (unsigned, zigzag and DWARF's signed form), little-endian fixed words,
 * and a bounds-checked cursor. Header-only so the agent and the CLI inline
 * the same code; no allocation, stdio or system call, so the agent may use
 * it anywhere. */
#ifndef CAPTURE_ENCODING_H
#define CAPTURE_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VARINT_MAX_LEN 10

static inline size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint64_t zigzag_encode(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t zigzag_decode(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

/* A read cursor over untrusted bytes. Any overrun sets `bad` and returns
 * zeros from then on, so decoders check once at the end. */
struct cursor {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
};

static inline struct cursor cursor_make(const void *p, size_t len)
{
	struct cursor c = { p, (const uint8_t *)p + len, false };
	return c;
}

static inline size_t cursor_left(const struct cursor *c)
{
	return c->bad ? 0 : (size_t)(c->end - c->p);
}

static inline uint64_t cursor_varint(struct cursor *c)
{
	if (c->bad)
		return 0;
	/* Locals, and the 64-bit check only on the last byte: this loop
	 * decodes every number of a capture. */
	const uint8_t *p = c->p;
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64 && p < c->end; shift += 7) {
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (shift == 63 && b > 1)
				break; /* more than 64 bits */
			c->p = p;
			return v;
		}
	}
	c->bad = true;
	return 0;
}

/* Returns a pointer to `len` bytes inside the buffer, or NULL (and `bad`). */
static inline const uint8_t *cursor_bytes(struct cursor *c, uint64_t len)
{
	if (c->bad || len > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += len;
	return p;
}

/* Moves past `len` bytes; false (and `bad`) when fewer are left. */
static inline bool cursor_skip(struct cursor *c, uint64_t len)
{
	cursor_bytes(c, len);
	return !c->bad;
}

/* A cursor over the next `len` bytes; c moves past them. When fewer are
 * left both are bad. */
static inline struct cursor cursor_sub(struct cursor *c, uint64_t len)
{
	const uint8_t *p = cursor_bytes(c, len);
	struct cursor s = { p ? p : c->p, p ? p + len : c->p, p == NULL };
	return s;
}

/* True when every byte was read and nothing overran. */
static inline bool cursor_done(const struct cursor *c)
{
	return !c->bad && c->p == c->end;
}

static inline uint8_t cursor_u8(struct cursor *c)
{
	const uint8_t *p = cursor_bytes(c, 1);
	return p ? p[0] : 0;
}

static inline uint16_t cursor_le16(struct cursor *c)
{
	const uint8_t *p = cursor_bytes(c, 2);
	return p ? get_le16(p) : 0;
}

static inline uint32_t cursor_le32(struct cursor *c)
{
	const uint8_t *p = cursor_bytes(c, 4);
	return p ? get_le32(p) : 0;
}

static inline uint64_t cursor_le64(struct cursor *c)
{
	const uint8_t *p = cursor_bytes(c, 8);
	return p ? get_le64(p) : 0;
}

/* DWARF's signed LEB128 (two's complement, sign-extended from the last
 * byte's bit 6; not zigzag). Like cursor_varint, a value that does not fit
 * 64 bits is `bad`: the tenth byte may only carry the sign (0x00 or 0x7f). */
static inline int64_t cursor_svarint(struct cursor *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (c->bad || c->p >= c->end) {
			c->bad = true;
			return 0;
		}
		uint8_t b = *c->p++;
		if (shift == 63 && b != 0x00 && b != 0x7f) {
			c->bad = true;
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (shift + 7 < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << (shift + 7);
			return (int64_t)v;
		}
	}
	c->bad = true;
	return 0;
}

#endif
