/* A ZIP archive of one deflated entry (src/export/zip.c), for outputs
 * that tools read zipped: PerfView opens .perfView.xml.zip. Written by
 * hand from the format's facts (PKWARE's APPNOTE.TXT: local file header,
 * data, central directory, end record); zlib does the deflate and the
 * CRC-32. */
#ifndef EXPORT_ZIP_H
#define EXPORT_ZIP_H

#include <stddef.h>
#include <stdio.h>

/* Without ZIP64 records, sizes and offsets are 32-bit: an entry at or
 * over this is refused with a message rather than written wrong. */
#define ZIP_MAX_BYTES 0xffffffffu

/* Writes an archive holding `data` as the entry `name` to out. Returns 0,
 * or -1 with a one-line message in err. */
int export_zip_one(FILE *out, const char *name, const void *data, size_t len, char *err,
		   size_t errlen);

#endif
