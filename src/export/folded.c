/* Folded ("collapsed") stacks, the input of flamegraph.pl, speedscope,
 * inferno and Pyroscope's /ingest: one line per distinct stack, frames
 * root first and separated by ';', then a space and the sample count.
 * The rules below are the ones flamegraph.pl applies when it parses. */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

struct line {
	char *text;
	uint64_t count;
};

/* The format has no escaping, so characters that would break a line or a
 * frame boundary are replaced. A name ending in whitespace and a number
 * would make the whole line read as a differential one ("stack a b"), so
 * that whitespace is replaced too. */
static char *sanitize(const char *name)
{
	if (!name || !*name)
		return xstrdup(EXPORT_UNKNOWN_FRAME);
	char *s = xstrdup(name);
	size_t len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ';' || c < 0x20 || c == 0x7f)
			s[i] = '_';
	}
	/* flamegraph.pl takes \s+?(\d+(?:\.\d*)?)$ as a count: find a
	 * trailing run of digits and dots that starts with a digit. */
	size_t end = len;
	while (end > 0 && ((s[end - 1] >= '0' && s[end - 1] <= '9') || s[end - 1] == '.'))
		end--;
	if (end < len && s[end] >= '0' && s[end] <= '9')
		while (end > 0 && s[end - 1] == ' ')
			s[--end] = '_';
	return s;
}

/* Growable text buffer for one line. */
struct text {
	char *d;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->len + n + 1)
			cap *= 2;
		t->d = xrealloc(t->d, cap);
		t->cap = cap;
	}
	memcpy(t->d + t->len, s, n);
	t->len += n;
	t->d[t->len] = '\0';
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

/* The sanitized name of a function, cached so each name is cleaned
 * once. */
static const char *frame_name(const struct profile *p, char **names, uint32_t fn)
{
	if (!names[fn])
		names[fn] = sanitize(p->functions[fn].name);
	return names[fn];
}

static int folded_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	(void)err, (void)errlen; /* it cannot fail but by writing: export_run() says so */
	/* Sum per stack first: many samples share a stack, and a stack's
	 * text is then built once. */
	uint64_t *per_stack = export_stack_counts(p);

	char **names = xcalloc(p->nfunctions ? p->nfunctions : 1, sizeof(char *));
	struct line *lines = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(struct line));
	size_t cap = profile_max_stack_functions(p);
	uint32_t *fns = xmalloc(cap * sizeof(uint32_t));
	size_t nlines = 0;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		if (!per_stack[i])
			continue;
		struct text t = { 0 };
		/* Inlined functions are frames of their own, innermost first. */
		size_t n = profile_stack_functions(p, s, fns, cap);
		if (n == 0) {
			text_add(&t, EXPORT_UNKNOWN_FRAME, strlen(EXPORT_UNKNOWN_FRAME));
		} else {
			/* The model gives the leaf first; folded wants the root first. */
			for (size_t f = n; f-- > 0;) {
				const char *name = frame_name(p, names, fns[f]);
				text_add(&t, name, strlen(name));
				if (f)
					text_add(&t, ";", 1);
			}
		}
		lines[nlines].text = t.d;
		lines[nlines].count = per_stack[i];
		nlines++;
	}
	free(per_stack);
	free(fns);
	for (size_t i = 0; i < p->nfunctions; i++)
		free(names[i]);
	free(names);

	/* Stacks that differ only by address (same functions) give the same
	 * text: merge them so each stack appears once. */
	qsort(lines, nlines, sizeof(struct line), cmp_line);
	size_t kept = 0;
	for (size_t i = 0; i < nlines; i++) {
		if (kept && strcmp(lines[kept - 1].text, lines[i].text) == 0) {
			lines[kept - 1].count += lines[i].count;
			free(lines[i].text);
			continue;
		}
		lines[kept++] = lines[i];
	}
	nlines = kept;

	/* Sorted by the whole line (as LC_ALL=C sort would), so the output
	 * is byte-for-byte reproducible. */
	for (size_t i = 0; i < nlines; i++) {
		char num[32];
		int n = snprintf(num, sizeof(num), " %" PRIu64, lines[i].count);
		struct text t = { lines[i].text, strlen(lines[i].text), strlen(lines[i].text) + 1 };
		text_add(&t, num, (size_t)n);
		lines[i].text = t.d;
	}
	qsort(lines, nlines, sizeof(struct line), cmp_line);
	for (size_t i = 0; i < nlines; i++) {
		fputs(lines[i].text, out);
		fputc('\n', out);
		free(lines[i].text);
	}
	free(lines);

	return 0;
}

const struct exporter export_folded = {
	.name = "folded",
	.extension = ".folded",
	.description = "folded stacks, one line per stack (flamegraph.pl, speedscope, Pyroscope)",
	.binary = false,
	.write = folded_write,
};
