/* See escape.h. */
#include "escape.h"

#include <stdint.h>
#include <string.h>

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD, in UTF-8 */

size_t esc_utf8_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t k;
	uint32_t cp, min;
	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		k = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		k = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		k = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

size_t esc_utf8_chars(const char *s)
{
	size_t n = strlen(s), chars = 0;
	for (size_t i = 0; i < n; chars++) {
		size_t k = esc_utf8_len(s + i, n - i);
		i += k ? k : 1;
	}
	return chars;
}

void esc_json(FILE *out, const char *s)
{
	fputc('"', out);
	size_t n = s ? strlen(s) : 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = esc_utf8_len(s + i, n - i);
		if (k == 0) {
			fputs(REPLACEMENT, out);
			i++;
			continue;
		}
		if (k > 1) {
			fwrite(s + i, 1, k, out);
			i += k;
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(out, "\\u%04x", c);
			else
				fputc(c, out);
		}
		i++;
	}
	fputc('"', out);
}

void esc_xml(FILE *out, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = esc_utf8_len(s + i, n - i);
		/* U+FFFE and U+FFFF are not XML characters either. */
		if (k == 0 || (k == 1 && c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ||
		    (k == 3 && (unsigned char)s[i] == 0xef && (unsigned char)s[i + 1] == 0xbf &&
		     (unsigned char)s[i + 2] >= 0xbe)) {
			fputs(REPLACEMENT, out);
			i += k ? k : 1;
			continue;
		}
		if (k > 1) {
			fwrite(s + i, 1, k, out);
			i += k;
			continue;
		}
		switch (c) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		/* A literal newline or tab in an attribute value is normalised
		 * to a space by XML parsers: keep them as references. */
		case '\n': fputs("&#10;", out); break;
		case '\t': fputs("&#9;", out); break;
		default: fputc(c, out);
		}
		i++;
	}
}
