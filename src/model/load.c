/* Which format a profile file is in, and loading it by that: the one
 * place every command (report, export, diff, merge, import) decides what
 * kind of file it was given. Captures, pprof (gzipped or raw), folded
 * stacks and perf script text are told apart by their first bytes, so
 * none of them needs a seekable file: standard input works too. */
#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

static const char *const format_names[] = {
	[PROFILE_FORMAT_UNKNOWN] = NULL,
	[PROFILE_FORMAT_CAPTURE] = "capture",
	[PROFILE_FORMAT_PPROF] = "pprof",
	[PROFILE_FORMAT_FOLDED] = "folded",
	[PROFILE_FORMAT_PERF_SCRIPT] = "perf-script",
};

const char *profile_format_name(enum profile_format f)
{
	return (size_t)f < sizeof(format_names) / sizeof(format_names[0]) ? format_names[f] : NULL;
}

enum profile_format profile_format_parse(const char *name)
{
	for (size_t i = 1; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (name && !strcmp(name, format_names[i]))
			return (enum profile_format)i;
	return PROFILE_FORMAT_UNKNOWN;
}

/* One line of the head: [s, e), without its newline. */
struct span {
	const char *s, *e;
};

static bool next_line(const char **at, const char *end, struct span *l)
{
	if (*at >= end)
		return false;
	const char *nl = memchr(*at, '\n', (size_t)(end - *at));
	l->s = *at;
	l->e = nl ? nl : end;
	*at = nl ? nl + 1 : end;
	return true;
}

static bool blank(struct span l)
{
	for (const char *c = l.s; c < l.e; c++)
		if (*c != ' ' && *c != '\t' && *c != '\r')
			return false;
	return true;
}

/* A perf script frame: indentation, a hex address, then a space. */
static bool frame_line(struct span l)
{
	const char *c = l.s;
	if (c == l.e || (*c != ' ' && *c != '\t'))
		return false;
	while (c < l.e && (*c == ' ' || *c == '\t'))
		c++;
	const char *h = c;
	while (c < l.e && ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
		c++;
	return c > h && c < l.e && *c == ' ';
}

/* A perf script sample header: some token ends with ':' (the event)
 * after a number (the time or the period). */
static bool header_line(struct span l)
{
	bool number = false;
	for (const char *c = l.s; c < l.e;) {
		while (c < l.e && (*c == ' ' || *c == '\t'))
			c++;
		const char *t = c;
		while (c < l.e && *c != ' ' && *c != '\t')
			c++;
		if (c == t)
			break;
		if (number && c[-1] == ':' && c - t > 1 && !(t[0] >= '0' && t[0] <= '9'))
			return true;
		bool digits = true;
		for (const char *d = t; d < c; d++)
			digits &= (*d >= '0' && *d <= '9') || *d == '.' || *d == ':';
		number = digits || number;
	}
	return false;
}

/* A folded line: no indentation, then a stack, a space, a count. */
static bool folded_line(struct span l)
{
	const char *e = l.e;
	if (e > l.s && e[-1] == '\r')
		e--;
	if (l.s == e || *l.s == ' ' || *l.s == '\t')
		return false;
	const char *d = e;
	while (d > l.s && d[-1] >= '0' && d[-1] <= '9')
		d--;
	return d < e && d > l.s + 1 && d[-1] == ' ';
}

enum profile_format profile_detect(const uint8_t *head, size_t len)
{
	if (profile_is_pprof(head, len))
		return PROFILE_FORMAT_PPROF;
	if (len >= CAPTURE_MAGIC_LEN && !memcmp(head, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN))
		return PROFILE_FORMAT_CAPTURE;
	/* Text: no NUL byte in the head. */
	if (!len || memchr(head, '\0', len))
		return PROFILE_FORMAT_UNKNOWN;
	const char *at = (const char *)head, *end = at + len;
	struct span l, next;
	/* The first line that says something ('#' starts perf's header
	 * comments and flamegraph tools' notes). */
	do {
		if (!next_line(&at, end, &l))
			return PROFILE_FORMAT_UNKNOWN;
	} while (blank(l) || *l.s == '#');
	if (header_line(l)) {
		/* Its call chain follows; or, recorded without one, the
		 * sample's own symbol ends the line: "(dso)". */
		if (next_line(&at, end, &next) && frame_line(next))
			return PROFILE_FORMAT_PERF_SCRIPT;
		if (l.e > l.s && l.e[-1] == ')')
			return PROFILE_FORMAT_PERF_SCRIPT;
	}
	if (folded_line(l))
		return PROFILE_FORMAT_FOLDED;
	return PROFILE_FORMAT_UNKNOWN;
}

/* A stream that gives back the head already read, then the rest of the
 * underlying one: detection without seeking (pipes). */
struct replay {
	FILE *under;
	const uint8_t *head;
	size_t len, at;
};

static ssize_t replay_read(void *cookie, char *buf, size_t size)
{
	struct replay *r = cookie;
	if (r->at < r->len) {
		size_t n = r->len - r->at < size ? r->len - r->at : size;
		memcpy(buf, r->head + r->at, n);
		r->at += n;
		return (ssize_t)n;
	}
	size_t n = fread(buf, 1, size, r->under);
	return n == 0 && ferror(r->under) ? -1 : (ssize_t)n;
}

/* The whole stream into memory, for the pprof reader; NULL and a message
 * when it is over the bound or cannot be read. */
static uint8_t *slurp(FILE *f, const char *path, size_t *out_len, char *err, size_t errlen)
{
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			/* Compressed pprof files are a few MiB; 1 GiB is broken. */
			if (cap >= (1u << 30)) {
				snprintf(err, errlen, "cannot read pprof profile '%s': over 1 GiB; "
					 "is it really a profile?", path);
				free(data);
				return NULL;
			}
			cap = cap ? cap * 2 : 1 << 16;
			data = xrealloc(data, cap);
		}
		size_t n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read pprof profile '%s': %s", path, strerror(errno));
		free(data);
		return NULL;
	}
	*out_len = len;
	return data;
}

struct profile *profile_load_stream(FILE *f, const char *name, enum profile_format force,
				    const char *sample_index, const struct profile_text_limits *lim,
				    unsigned flags, char *err, size_t errlen)
{
	uint8_t head[PROFILE_DETECT_BYTES];
	size_t n = fread(head, 1, sizeof(head), f);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read '%s': %s", name, strerror(errno));
		return NULL;
	}
	enum profile_format fmt = force != PROFILE_FORMAT_UNKNOWN ? force : profile_detect(head, n);
	struct replay r = { f, head, n, 0 };
	FILE *s = fopencookie(&r, "r", (cookie_io_functions_t){ .read = replay_read });
	if (!s) {
		snprintf(err, errlen, "cannot read '%s': %s", name, strerror(errno));
		return NULL;
	}
	struct profile *p = NULL;
	switch (fmt) {
	case PROFILE_FORMAT_PPROF: {
		size_t len;
		uint8_t *data = slurp(s, name, &len, err, errlen);
		if (data)
			p = profile_read_pprof(data, len, name, sample_index, err, errlen);
		free(data);
		break;
	}
	case PROFILE_FORMAT_FOLDED:
		p = profile_read_folded(s, name, lim, flags, err, errlen);
		break;
	case PROFILE_FORMAT_PERF_SCRIPT:
		p = profile_read_perf_script(s, name, sample_index, lim, flags, err, errlen);
		break;
	default:
		/* A capture, or nothing known: the capture reader names what
		 * it expected (its magic). */
		p = profile_read_with(s, name, flags, err, errlen);
		break;
	}
	fclose(s);
	return p;
}
