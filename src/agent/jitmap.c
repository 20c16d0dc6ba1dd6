/* Reading a runtime's perf map into the capture. See jitmap.h.
 *
 * Hand-written on purpose: the agent links only libc and zstd, and the
 * parser must take any bytes without allocating. */
#include "jitmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../capture/format.h"
#include "../capture/writer.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 to 16 hex digits, with an optional 0x that some writers add. */
static bool parse_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t x = 0;
	int digits = 0, d;
	while (s < end && (d = hex_digit(*s)) >= 0) {
		if (++digits > 16)
			return false;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	if (!digits)
		return false;
	*v = x;
	*p = s;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool jitmap_parse_line(char *line, size_t len, struct jitmap_symbol *out)
{
	if (len > JITMAP_MAX_LINE || memchr(line, '\0', len))
		return false;
	const char *p = line, *end = line + len;
	while (end > p && (is_blank(end[-1]) || end[-1] == '\r'))
		end--;
	uint64_t start, size;
	if (!parse_hex(&p, end, &start) || p == end || !is_blank(*p))
		return false;
	while (p < end && is_blank(*p))
		p++;
	if (!parse_hex(&p, end, &size) || p == end || !is_blank(*p))
		return false;
	while (p < end && is_blank(*p))
		p++;
	if (p == end || size == 0 || start + size < start)
		return false;
	line[end - line] = '\0'; /* end < line + len + 1: inside the buffer or at its end */
	out->start = start;
	out->size = size;
	out->name = p;
	return true;
}

struct reader {
	void (*fn)(const struct jitmap_symbol *sym, void *arg);
	void *arg;
	struct jitmap_stats *st;
};

static void one_line(struct reader *r, char *line, size_t len)
{
	if (len == 0 || (len == 1 && line[0] == '\r'))
		return; /* blank lines are harmless */
	struct jitmap_symbol sym;
	if (!jitmap_parse_line(line, len, &sym)) {
		r->st->bad_lines++;
		return;
	}
	if (r->st->symbols >= JITMAP_MAX_SYMBOLS) {
		r->st->dropped++;
		return;
	}
	r->st->symbols++;
	r->fn(&sym, r->arg);
}

/* One extra byte so a line that fills the buffer can still get its NUL. */
static char buf[64 * 1024 + 1];

int jitmap_read(const char *path, void (*fn)(const struct jitmap_symbol *sym, void *arg),
		void *arg, struct jitmap_stats *st)
{
	memset(st, 0, sizeof(*st));
	/* O_NONBLOCK: a FIFO planted under the name must not hang the exit. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_uid != geteuid() && sb.st_uid != 0)) {
		close(fd);
		return -EPERM;
	}
	jitmap_read_fd(fd, fn, arg, st);
	close(fd);
	return 0;
}

void jitmap_read_fd(int fd, void (*fn)(const struct jitmap_symbol *sym, void *arg), void *arg,
		    struct jitmap_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct reader r = { fn, arg, st };
	const size_t cap = sizeof(buf) - 1;
	size_t have = 0;
	uint64_t total = 0;
	bool skipping = false; /* inside a line longer than the buffer */
	for (;;) {
		if (total >= JITMAP_MAX_BYTES) {
			st->dropped++; /* the rest of the file, counted once */
			have = 0;
			break;
		}
		ssize_t n = read(fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		total += (uint64_t)n;
		size_t begin = 0;
		char *nl;
		while ((nl = memchr(buf + begin, '\n', have - begin))) {
			size_t len = (size_t)(nl - (buf + begin));
			if (skipping) {
				st->bad_lines++;
				skipping = false;
			} else {
				one_line(&r, buf + begin, len);
			}
			begin += len + 1;
		}
		memmove(buf, buf + begin, have - begin);
		have -= begin;
		if (have == cap) { /* no newline in a full buffer */
			skipping = true;
			have = 0;
		}
	}
	if (skipping)
		st->bad_lines++;
	else if (have)
		one_line(&r, buf, have); /* a last line without its newline */
}

struct writing {
	struct capture_writer *cw;
	uint64_t (*string_id)(const char *s);
};

static void write_symbol(const struct jitmap_symbol *sym, void *arg)
{
	struct writing *w = arg;
	uint64_t f[3] = { sym->start, sym->size, w->string_id(sym->name) };
	capture_write_varints(w->cw, CAPTURE_REC_JIT_SYMBOL, f, 3);
}

void jitmap_write(struct capture_writer *cw, int pid, uint64_t (*string_id)(const char *s))
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", pid);
	struct writing w = { cw, string_id };
	struct jitmap_stats st;
	if (jitmap_read(path, write_symbol, &w, &st) != 0)
		return; /* no map: the usual case */
	uint64_t f[5] = { (uint64_t)pid, string_id(path), st.symbols, st.bad_lines, st.dropped };
	capture_write_varints(cw, CAPTURE_REC_JIT_MAP, f, 5);
}
