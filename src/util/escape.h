/* Text escaping shared by the reports and the JSON and XML exporters:
 * one UTF-8 decoder, one JSON string writer, one XML text writer, so
 * every output treats a hostile symbol name (quotes, '<', control
 * characters, invalid UTF-8 from a JIT map) the same way. */
#ifndef UTIL_ESCAPE_H
#define UTIL_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it
 * is not one (truncated, overlong, a surrogate, beyond U+10FFFF). */
size_t esc_utf8_len(const char *s, size_t n);

/* Characters (code points; an invalid byte counts as one) in s. */
size_t esc_utf8_chars(const char *s);

/* Writes s as a quoted JSON string: '"' and '\' escaped, control
 * characters as \n, \t or \u00XX, invalid UTF-8 bytes as U+FFFD, so
 * every JSON parser accepts the output. NULL writes "". */
void esc_json(FILE *out, const char *s);

/* Writes s as XML 1.0 character data, safe in text and in attribute
 * values: & < > " ' as entities; control characters (which XML 1.0
 * forbids even as references) and invalid UTF-8 bytes as U+FFFD. */
void esc_xml(FILE *out, const char *s);

#endif
