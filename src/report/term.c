/* Text layout for the reports: terminal width, colour, fitting names. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../util/escape.h"
#include "internal.h"

/* Names never get narrower than this, however narrow the terminal: a
 * wrapped line is easier to read than a name cut to nothing. */
#define MIN_NAME_CHARS 16

/* A terminal dimension: the environment variable when it holds a
 * positive number, else the tty's size, else 0 (unknown). */
static unsigned term_size(const char *env_name, bool rows)
{
	const char *env = getenv(env_name);
	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);
		if (!*end && v > 0 && v < 100000)
			return (unsigned)v;
	}
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		return rows ? ws.ws_row : ws.ws_col;
	return 0;
}

unsigned report_term_width(void)
{
	return term_size("COLUMNS", false);
}

unsigned report_term_height(void)
{
	return term_size("LINES", true);
}

bool report_use_color(void)
{
	/* https://no-color.org: present and not empty disables colour. */
	const char *no = getenv("NO_COLOR");
	if (no && *no)
		return false;
	return isatty(STDOUT_FILENO);
}

const char *report_c(const struct report_options *o, const char *code)
{
	return o->color ? code : "";
}

size_t report_name_room(const struct report_options *o, size_t used)
{
	if (!o->width)
		return 0;
	return o->width > used + MIN_NAME_CHARS ? o->width - used : MIN_NAME_CHARS;
}

/* Byte offset of character `chars` in s (s has at least that many). */
static size_t char_offset(const char *s, size_t chars)
{
	size_t n = strlen(s), i = 0;
	for (size_t c = 0; c < chars && i < n; c++) {
		size_t k = esc_utf8_len(s + i, n - i);
		i += k ? k : 1;
	}
	return i;
}

const char *report_fit(char *buf, size_t len, const char *name, size_t chars)
{
	if (!name)
		name = "";
	size_t have = esc_utf8_chars(name);
	if (!chars || have <= chars || chars < 5)
		return name;
	/* Head and tail around "...", cut at character boundaries so the
	 * result stays valid UTF-8. The head gets the odd character. */
	size_t keep = chars - 3, head = (keep + 1) / 2, tail = keep - head;
	size_t head_bytes = char_offset(name, head);
	size_t tail_at = char_offset(name, have - tail);
	snprintf(buf, len, "%.*s...%s", (int)head_bytes, name, name + tail_at);
	return buf;
}
