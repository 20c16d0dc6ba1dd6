/* Reads the text of 'perf script' for samples recorded with call chains
 * (perf record -g): each sample is a header line
 *     comm  pid/tid [cpu] time: period event: ...
 * (which fields appear depends on perf script's -F and perf's version:
 * they are found by their shape, not their position), then its frames
 * leaf first, one per indented line
 *     addr symbol+0xoff (dso)
 * and a blank line. Without call chains the header line ends with the
 * sample's own "addr symbol (dso)".
 *
 * Values: the period when the header has one (cpu-clock and task-clock
 * count nanoseconds: the profile is CPU time then), else one per sample.
 * One event per profile: the first seen, or the one asked for; samples
 * of others are skipped and counted. Malformed lines are skipped and
 * counted (p->import), never fatal unless nothing was read. */
#include "profile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "text_build.h"

#define PERF_FIX                                                                       \
	"give the output of 'perf script' for a 'perf record -g' recording (a header "    \
	"line 'comm pid/tid time: period event:' per sample, then its frames 'addr "      \
	"symbol (dso)' one per indented line)"

/* A whitespace-separated token of a line. */
struct tok {
	const char *s;
	size_t n;
};

#define MAX_HEADER_TOKENS 64

struct header {
	const char *comm;
	size_t comm_len;
	uint64_t pid, tid;
	bool has_period, has_time;
	uint64_t period, time_ns;
	const char *event; /* without its trailing ':' */
	size_t event_len;
	const char *rest; /* after the event: "addr sym (dso)" without -g */
};

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "123.456789:" : seconds and fraction into ns. */
static bool time_token(struct tok t, uint64_t *ns)
{
	if (t.n < 4 || t.s[t.n - 1] != ':')
		return false;
	const char *dot = memchr(t.s, '.', t.n);
	if (!dot || !all_digits(t.s, (size_t)(dot - t.s)) ||
	    !all_digits(dot + 1, (size_t)(t.s + t.n - 1 - dot - 1)))
		return false;
	uint64_t sec = strtoull(t.s, NULL, 10), frac = 0;
	size_t digits = 0;
	for (const char *c = dot + 1; *c != ':' && digits < 9; c++, digits++)
		frac = frac * 10 + (uint64_t)(*c - '0');
	for (; digits < 9; digits++)
		frac *= 10;
	*ns = sec * 1000000000ull + frac;
	return true;
}

/* "pid/tid" or "tid". */
static bool ids_token(struct tok t, uint64_t *pid, uint64_t *tid)
{
	const char *slash = memchr(t.s, '/', t.n);
	if (slash) {
		size_t a = (size_t)(slash - t.s);
		if (!all_digits(t.s, a) || !all_digits(slash + 1, t.n - a - 1))
			return false;
		*pid = strtoull(t.s, NULL, 10);
		*tid = strtoull(slash + 1, NULL, 10);
		return true;
	}
	if (!all_digits(t.s, t.n))
		return false;
	/* perf script's default: the thread id alone. */
	*pid = 0;
	*tid = strtoull(t.s, NULL, 10);
	return true;
}

static bool parse_header(const char *line, struct header *h)
{
	struct tok t[MAX_HEADER_TOKENS];
	size_t n = 0;
	for (const char *c = line; *c && n < MAX_HEADER_TOKENS;) {
		while (*c == ' ' || *c == '\t')
			c++;
		if (!*c)
			break;
		t[n].s = c;
		while (*c && *c != ' ' && *c != '\t')
			c++;
		t[n].n = (size_t)(c - t[n].s);
		n++;
	}
	memset(h, 0, sizeof(*h));
	/* The event: the first token ending in ':' after a number (a time,
	 * a period, or the ids when -F has neither). */
	size_t ev = n;
	for (size_t i = 1; i < n && ev == n; i++)
		if (t[i].n > 1 && t[i].s[t[i].n - 1] == ':' && !(t[i].s[0] >= '0' && t[i].s[0] <= '9'))
			for (size_t k = 0; k < i; k++)
				if (t[k].s[0] >= '0' && t[k].s[0] <= '9')
					ev = i;
	if (ev == n)
		return false;
	h->event = t[ev].s;
	h->event_len = t[ev].n - 1;
	h->rest = t[ev].s + t[ev].n;
	size_t i = ev;
	/* Before it: a period (digits), a time ("s.frac:"), a cpu ("[001]"),
	 * the ids; the command name is whatever comes first. */
	if (i > 0 && all_digits(t[i - 1].s, t[i - 1].n) && i >= 2) {
		uint64_t ns;
		struct tok before = t[i - 2];
		/* digits right after the ids would be a period only when a
		 * time or another number separates them from the comm. */
		if (time_token(before, &ns) || all_digits(before.s, before.n) ||
		    memchr(before.s, '/', before.n) || before.s[0] == '[') {
			h->has_period = true;
			h->period = strtoull(t[i - 1].s, NULL, 10);
			i--;
		}
	}
	if (i > 0 && time_token(t[i - 1], &h->time_ns)) {
		h->has_time = true;
		i--;
	}
	if (i > 0 && t[i - 1].s[0] == '[' && t[i - 1].s[t[i - 1].n - 1] == ']')
		i--;
	if (i == 0 || !ids_token(t[i - 1], &h->pid, &h->tid))
		return false;
	i--;
	h->comm = t[0].s;
	h->comm_len = i ? (size_t)(t[i - 1].s + t[i - 1].n - t[0].s) : 0;
	return true;
}

struct frame {
	uint64_t addr;
	const char *sym, *dso; /* dso NULL: none given */
	size_t sym_len, dso_len;
};

/* "addr symbol+0xoff (dso)", leading whitespace allowed. */
static bool parse_frame(const char *line, struct frame *f)
{
	const char *c = line;
	while (*c == ' ' || *c == '\t')
		c++;
	const char *h = c;
	while ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))
		c++;
	if (c == h || c - h > 16 || (*c != ' ' && *c != '\t' && *c))
		return false;
	f->addr = strtoull(h, NULL, 16);
	while (*c == ' ' || *c == '\t')
		c++;
	const char *end = c + strlen(c);
	while (end > c && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	f->dso = NULL;
	f->dso_len = 0;
	if (end > c && end[-1] == ')') {
		/* The dso is the last parenthesised group: symbols (C++)
		 * may hold parentheses of their own. */
		const char *open = NULL;
		for (const char *p = c; p + 1 < end; p++)
			if (p[0] == '(' && (p == c || p[-1] == ' '))
				open = p;
		if (open) {
			f->dso = open + 1;
			f->dso_len = (size_t)(end - 1 - f->dso);
			end = open;
			while (end > c && end[-1] == ' ')
				end--;
		}
	}
	/* "+0x1f": the offset in the symbol, not part of its name. */
	const char *plus = NULL;
	for (const char *p = c; p + 2 < end; p++)
		if (p[0] == '+' && p[1] == '0' && p[2] == 'x')
			plus = p;
	if (plus) {
		const char *q = plus + 3;
		while (q < end && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')))
			q++;
		if (q == end)
			end = plus;
	}
	f->sym = c;
	f->sym_len = (size_t)(end - c);
	return true;
}

struct reader {
	struct text_build b;
	const char *want; /* the event asked for, or NULL */
	char *event;      /* the event being imported (the first seen) */
	bool in_sample, skip;
	struct header h;
	char *rest; /* the header's text after its event */
	uint32_t *locs;
	size_t nlocs, cap_locs;
	uint64_t first_period;
};

static uint32_t frame_location(struct reader *r, const struct frame *f)
{
	struct text_build *b = &r->b;
	bool dso = f->dso && f->dso_len && !(f->dso_len == 9 && !memcmp(f->dso, "[unknown]", 9));
	char *path = dso ? xstrndup(f->dso, f->dso_len) : xstrdup("");
	const char *module = path_basename(path);
	int32_t mapping = dso ? text_build_mapping(b, f->dso, f->dso_len, f->addr) : -1;
	uint32_t fn;
	if (!f->sym_len || (f->sym_len == 9 && !memcmp(f->sym, "[unknown]", 9))) {
		/* No symbol: the address, in its module when known. */
		char name[512];
		snprintf(name, sizeof(name), "%s%s0x%" PRIx64, module, *module ? "+" : "", f->addr);
		fn = text_build_function(b, name, strlen(name), module);
	} else {
		fn = text_build_function(b, f->sym, f->sym_len, module);
	}
	free(path);
	return text_build_location(b, fn, f->addr, mapping);
}

static bool is_cpu_clock(const char *ev)
{
	size_t n = strcspn(ev, ":");
	return (n == 9 && !strncmp(ev, "cpu-clock", 9)) || (n == 10 && !strncmp(ev, "task-clock", 10));
}

/* The sample read so far into the profile. */
static void flush(struct reader *r)
{
	if (!r->in_sample)
		return;
	r->in_sample = false;
	if (r->skip)
		return;
	struct frame f;
	if (!r->nlocs && r->rest && parse_frame(r->rest, &f)) {
		GROW(r->locs, r->cap_locs, 1);
		r->locs[r->nlocs++] = frame_location(r, &f);
	}
	const struct header *h = &r->h;
	uint64_t value = h->has_period ? h->period : 1;
	if (!value) {
		r->b.p->import.zero++;
		return;
	}
	uint32_t thread = text_build_thread(&r->b, h->pid, h->tid, h->comm, h->comm_len);
	uint32_t stack = text_build_stack(&r->b, r->locs, r->nlocs);
	text_build_sample(&r->b, thread, stack, 1, value, h->has_time ? h->time_ns : UINT64_MAX);
}

static bool event_is(const char *ev, size_t n, const char *name)
{
	size_t base = strcspn(ev, ":");
	if (base > n)
		base = n;
	return (strlen(name) == n && !strncmp(ev, name, n)) ||
	       (strlen(name) == base && !strncmp(ev, name, base));
}

static void header(struct reader *r, const char *line)
{
	struct profile_import *im = &r->b.p->import;
	flush(r);
	if (!parse_header(line, &r->h)) {
		text_build_bad(&r->b, "not a sample header ('comm pid/tid time: period event:') "
				      "nor a frame ('addr symbol (dso)')");
		return;
	}
	im->records++;
	r->in_sample = true;
	r->nlocs = 0;
	/* The header's text is in the line buffer, which the next line
	 * overwrites: keep what is needed. */
	char *comm = xstrndup(r->h.comm, r->h.comm_len);
	r->h.comm = profile_intern(r->b.p, comm, r->h.comm_len);
	free(comm);
	free(r->rest);
	r->rest = xstrdup(r->h.rest);
	char *ev = xstrndup(r->h.event, r->h.event_len);
	r->h.event = ev;
	r->skip = false;
	if (!r->event && (!r->want || event_is(ev, r->h.event_len, r->want))) {
		r->event = ev;
		r->first_period = r->h.has_period ? r->h.period : 0;
		ev = NULL;
	} else if (!r->event || strcmp(r->event, ev)) {
		r->skip = true;
		if (!im->other_event++)
			im->other_event_name = profile_intern(r->b.p, ev, strlen(ev));
	}
	r->h.event = r->event;
	free(ev);
}

struct profile *profile_read_perf_script(FILE *f, const char *name, const char *event,
					 const struct profile_text_limits *lim, unsigned flags,
					 char *err, size_t errlen)
{
	struct reader r = { .want = event && *event ? event : NULL };
	text_build_init(&r.b, name, "perf script", lim, flags);
	struct profile_import *im = &r.b.p->import;
	const char *line;
	bool too_long;
	while ((line = text_build_line(&r.b, f, &too_long))) {
		struct frame fr;
		if (too_long) {
			text_build_bad(&r.b, "the line is too long or holds a NUL byte");
		} else if (!line[strspn(line, " \t")]) {
			flush(&r);
		} else if (line[0] == '#' && !r.in_sample) {
			continue; /* perf script --header */
		} else if (line[0] != ' ' && line[0] != '\t') {
			header(&r, line);
		} else if (r.in_sample && parse_frame(line, &fr)) {
			if (!r.skip) {
				GROW(r.locs, r.cap_locs, r.nlocs + 1);
				r.locs[r.nlocs++] = frame_location(&r, &fr);
			}
		} else if (parse_header(line, &(struct header){ 0 })) {
			header(&r, line); /* perf pads the command name on the left */
		} else if (r.in_sample) {
			im->stray_lines++; /* -F +srcline and such: not a frame */
		} else {
			text_build_bad(&r.b, "an indented line outside any sample (frames follow "
					     "a sample header)");
		}
	}
	flush(&r);
	free(r.locs);
	free(r.rest);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read '%s': %s", name, strerror(errno));
		free(r.event);
		text_build_abort(&r.b);
		return NULL;
	}
	if (r.want && !r.event && im->other_event) {
		snprintf(err, errlen,
			 "cannot import '%s': no samples of event '%s'; it has '%s' (choose it "
			 "with --sample-index)", name, r.want, im->other_event_name);
		text_build_abort(&r.b);
		return NULL;
	}
	/* cpu-clock and task-clock periods are nanoseconds of CPU time. */
	bool cpu = r.event && is_cpu_clock(r.event) && r.first_period;
	const char *type = "samples", *unit = "count";
	char evname[128];
	if (cpu) {
		type = "cpu";
		unit = "nanoseconds";
	} else if (r.event && r.first_period) {
		/* Another event: its period is a count of that event. */
		snprintf(evname, sizeof(evname), "%.*s", (int)strcspn(r.event, ":"), r.event);
		type = evname;
	}
	uint64_t hz = cpu ? (1000000000ull + r.first_period / 2) / r.first_period : 0;
	free(r.event);
	return text_build_finish(&r.b, type, unit, hz, PERF_FIX, err, errlen);
}
