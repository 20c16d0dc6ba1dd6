/* One-entry ZIP archives; see zip.h. All fields little-endian. The
 * entry's time is fixed (1980-01-01 00:00, the DOS epoch) so the same
 * input gives the same bytes. */
#include "zip.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../util/util.h"

#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_END_SIG 0x06054b50u
#define ZIP_VERSION_NEEDED 20   /* 2.0: deflate */
#define ZIP_VERSION_MADE 0x031e /* made on Unix (3), spec 3.0 */
#define ZIP_METHOD_DEFLATE 8
#define ZIP_FLAG_UTF8 0x0800    /* the name is UTF-8 */
#define ZIP_DOS_TIME 0
#define ZIP_DOS_DATE 0x0021     /* 1980-01-01 */
#define ZIP_ATTR_FILE (0100644u << 16) /* a regular file, rw-r--r-- */

struct zbuf {
	uint8_t *d;
	size_t len, cap;
};

static void put16(struct zbuf *b, uint32_t v)
{
	GROW(b->d, b->cap, b->len + 2);
	b->d[b->len++] = (uint8_t)v;
	b->d[b->len++] = (uint8_t)(v >> 8);
}

static void put32(struct zbuf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

static void put_bytes(struct zbuf *b, const void *p, size_t n)
{
	GROW(b->d, b->cap, b->len + n);
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

/* Raw deflate (no zlib or gzip wrapper: ZIP frames the data itself). */
static int deflate_raw(const void *data, size_t len, struct zbuf *out, char *err, size_t errlen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(err, errlen, "cannot start zlib compression for the zip archive");
		return -1;
	}
	size_t bound = deflateBound(&z, (uLong)len);
	GROW(out->d, out->cap, bound);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = out->d;
	z.avail_out = (uInt)bound;
	int rc = deflate(&z, Z_FINISH);
	out->len = bound - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		snprintf(err, errlen, "cannot compress the zip entry: zlib error %d", rc);
		return -1;
	}
	return 0;
}

/* The fields a local header and a central directory entry share. */
static void put_common(struct zbuf *b, uint32_t crc, size_t csize, size_t usize, size_t nlen)
{
	put16(b, ZIP_VERSION_NEEDED);
	put16(b, ZIP_FLAG_UTF8);
	put16(b, ZIP_METHOD_DEFLATE);
	put16(b, ZIP_DOS_TIME);
	put16(b, ZIP_DOS_DATE);
	put32(b, crc);
	put32(b, (uint32_t)csize);
	put32(b, (uint32_t)usize);
	put16(b, (uint32_t)nlen);
	put16(b, 0); /* extra field length */
}

int export_zip_one(FILE *out, const char *name, const void *data, size_t len, char *err,
		   size_t errlen)
{
	size_t nlen = strlen(name);
	/* deflate's worst case stays under the input plus 1%; the headers
	 * are small: keep every size and offset in 32 bits. */
	if (len >= ZIP_MAX_BYTES - len / 64 - 65536 || nlen > 0xffff) {
		snprintf(err, errlen, "the zip entry '%s' is over 4 GiB, which needs ZIP64; write "
			 "the plain file instead (an output name without .zip)", name);
		return -1;
	}
	struct zbuf comp = { 0 }, head = { 0 }, tail = { 0 };
	int rc = -1;
	if (deflate_raw(data, len, &comp, err, errlen) < 0)
		goto out;
	uint32_t crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), data, len);

	put32(&head, ZIP_LOCAL_SIG);
	put_common(&head, crc, comp.len, len, nlen);
	put_bytes(&head, name, nlen);

	size_t cd_offset = head.len + comp.len;
	put32(&tail, ZIP_CENTRAL_SIG);
	put16(&tail, ZIP_VERSION_MADE);
	put_common(&tail, crc, comp.len, len, nlen);
	put16(&tail, 0); /* comment length */
	put16(&tail, 0); /* disk number start */
	put16(&tail, 0); /* internal attributes */
	put32(&tail, ZIP_ATTR_FILE);
	put32(&tail, 0); /* the local header's offset */
	put_bytes(&tail, name, nlen);
	size_t cd_size = tail.len;

	put32(&tail, ZIP_END_SIG);
	put16(&tail, 0); /* this disk */
	put16(&tail, 0); /* the disk with the central directory */
	put16(&tail, 1); /* entries on this disk */
	put16(&tail, 1); /* entries */
	put32(&tail, (uint32_t)cd_size);
	put32(&tail, (uint32_t)cd_offset);
	put16(&tail, 0); /* comment length */

	errno = 0;
	if (fwrite(head.d, 1, head.len, out) != head.len ||
	    fwrite(comp.d, 1, comp.len, out) != comp.len ||
	    fwrite(tail.d, 1, tail.len, out) != tail.len) {
		snprintf(err, errlen, "cannot write the zip archive: %s",
			 errno ? strerror(errno) : "write error");
		goto out;
	}
	rc = 0;
out:
	free(comp.d);
	free(head.d);
	free(tail.d);
	return rc;
}
