/* Reads folded ("collapsed") stacks, the format of FlameGraph's
 * stackcollapse scripts, inferno, async-profiler's collapsed output and
 * 'oneprof export -f folded': one line per stack, frames root first and
 * separated by ';', a space, then the sample count. Each line becomes
 * samples of one stack in one thread ("all"): the format has neither
 * threads nor addresses. Malformed lines are skipped and counted
 * (p->import), never fatal unless nothing was read. */
#include "profile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "text_build.h"

#define FOLDED_FIX                                                                     \
	"folded stacks are lines of 'root;caller;leaf COUNT' (frames separated by ';', " \
	"a space, a whole number)"

/* One line into the profile; false with why set when it is malformed. */
static bool folded_line(struct text_build *b, char *line, uint32_t **locs, size_t *cap,
			uint32_t thread, const char **why)
{
	/* The count: the digits after the last space. */
	char *sp = strrchr(line, ' ');
	if (!sp || sp == line || !sp[1]) {
		*why = "no ' COUNT' at the end of the line";
		return false;
	}
	char *num = sp + 1, *end;
	for (char *c = num; *c; c++)
		if (*c < '0' || *c > '9') {
			*why = strchr(num, '.') ? "the count is not a whole number"
						: "the count after the last space is not a number";
			return false;
		}
	errno = 0;
	unsigned long long count = strtoull(num, &end, 10);
	if (errno || *end) {
		*why = "the count is too large";
		return false;
	}
	/* A differential line ("stack A B") has two counts: not a profile. */
	char *stack_end = sp;
	while (stack_end > line && stack_end[-1] == ' ')
		stack_end--;
	char *prev = stack_end;
	while (prev > line && prev[-1] >= '0' && prev[-1] <= '9')
		prev--;
	if (prev < stack_end && prev > line && prev[-1] == ' ') {
		*why = "two counts (a differential folded file); import each side on its own";
		return false;
	}
	if (stack_end == line) {
		*why = "no stack before the count";
		return false;
	}
	if (count == 0) {
		b->p->import.zero++;
		return true;
	}
	/* Frames, root first: the model wants the leaf first. */
	size_t n = 0;
	for (char *f = line; f <= stack_end;) {
		char *semi = memchr(f, ';', (size_t)(stack_end - f));
		char *fe = semi ? semi : stack_end;
		GROW(*locs, *cap, n + 1);
		uint32_t fn = text_build_function(b, f, (size_t)(fe - f), "");
		(*locs)[n++] = text_build_location(b, fn, 0, -1);
		if (!semi)
			break;
		f = semi + 1;
	}
	for (size_t i = 0; i < n / 2; i++) {
		uint32_t t = (*locs)[i];
		(*locs)[i] = (*locs)[n - 1 - i];
		(*locs)[n - 1 - i] = t;
	}
	uint32_t stack = text_build_stack(b, *locs, n);
	text_build_sample(b, thread, stack, count, count, UINT64_MAX);
	return true;
}

struct profile *profile_read_folded(FILE *f, const char *name,
				    const struct profile_text_limits *lim, unsigned flags,
				    char *err, size_t errlen)
{
	struct text_build b;
	text_build_init(&b, name, "folded", lim, flags);
	uint32_t thread = text_build_thread(&b, 0, 0, "all", 3);
	uint32_t *locs = NULL;
	size_t cap = 0;
	const char *line;
	bool too_long;
	while ((line = text_build_line(&b, f, &too_long))) {
		if (too_long) {
			text_build_bad(&b, "the line is too long or holds a NUL byte");
			continue;
		}
		/* Blank lines and '#' notes carry nothing. */
		if (!line[strspn(line, " \t")] || line[0] == '#')
			continue;
		b.p->import.records++;
		const char *why = NULL;
		if (!folded_line(&b, b.buf, &locs, &cap, thread, &why))
			text_build_bad(&b, why);
	}
	free(locs);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read '%s': %s", name, strerror(errno));
		text_build_abort(&b);
		return NULL;
	}
	return text_build_finish(&b, "samples", "count", 0, FOLDED_FIX, err, errlen);
}
