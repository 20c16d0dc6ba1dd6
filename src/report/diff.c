/* The diff report: functions of two profiles matched by name, their flat
 * and cum shares in each, and the change in percentage points, biggest
 * change first (pprof -top -diff_base, with both sides shown).
 *
 * Shares rather than times are compared by default: two runs rarely last
 * equally long, and "work_a went from 50% to 67% of the time" is what
 * answers "what got slower relative to the rest". The absolute time
 * change is shown beside it. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One function on one side. */
struct diff_entry {
	const char *name;
	int side; /* 0 base, 1 new */
	uint64_t self_ns, total_ns;
};

/* One function on both sides. */
struct diff_row {
	const char *name;
	uint64_t self_ns[2], total_ns[2];
	double flat[2], cum[2]; /* percent of each side's total */
	double dflat, dcum;     /* new - base, percentage points */
};

static int cmp_entry(const void *a, const void *b)
{
	const struct diff_entry *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static double absd(double x)
{
	return x < 0 ? -x : x;
}

/* qsort has no context argument: the key the rows are sorted by. */
static bool sort_cum;

static int cmp_row(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	double dx = absd(sort_cum ? x->dcum : x->dflat), dy = absd(sort_cum ? y->dcum : y->dflat);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	double ox = absd(sort_cum ? x->dflat : x->dcum), oy = absd(sort_cum ? y->dflat : y->dcum);
	if (ox != oy)
		return ox > oy ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Appends p's functions with time to *e. */
static void collect(const struct profile *p, int side, struct diff_entry **e, size_t *n,
		    size_t *cap)
{
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	struct profile_totals *t = profile_function_totals(p, &pf);
	for (size_t f = 0; f < p->nfunctions; f++) {
		if (!t[f].total_ns)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*e = realloc(*e, *cap * sizeof(**e));
			if (!*e)
				abort();
		}
		(*e)[(*n)++] = (struct diff_entry){ p->functions[f].name, side, t[f].self_ns,
						    t[f].total_ns };
	}
	free(t);
	profile_frames_free(&pf);
}

static void format_delta(const char *unit, char *buf, size_t len, int64_t ns)
{
	char mag[32];
	report_format_value(unit, mag, sizeof(mag), (double)(ns < 0 ? -ns : ns));
	snprintf(buf, len, "%s%s", ns < 0 ? "-" : "+", mag);
}

void report_diff(const struct profile *base, const struct profile *cur, FILE *out,
		 const struct report_options *o)
{
	struct diff_entry *e = NULL;
	size_t n = 0, cap = 0;
	collect(base, 0, &e, &n, &cap);
	collect(cur, 1, &e, &n, &cap);
	/* Matched by name: function indexes differ between profiles, and a
	 * function that moved (a new build, another module) is the same
	 * function to the reader. */
	qsort(e, n, sizeof(*e), cmp_entry);
	struct diff_row *rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		abort();
	size_t nrows = 0;
	uint64_t totals[2] = { base->total_cpu_ns, cur->total_cpu_ns };
	for (size_t i = 0; i < n; i++) {
		if (!nrows || strcmp(rows[nrows - 1].name, e[i].name))
			rows[nrows++].name = e[i].name;
		struct diff_row *r = &rows[nrows - 1];
		r->self_ns[e[i].side] += e[i].self_ns;
		r->total_ns[e[i].side] += e[i].total_ns;
	}
	for (size_t i = 0; i < nrows; i++) {
		struct diff_row *r = &rows[i];
		for (int s = 0; s < 2; s++) {
			r->flat[s] = report_pct(r->self_ns[s], totals[s]);
			r->cum[s] = report_pct(r->total_ns[s], totals[s]);
		}
		r->dflat = r->flat[1] - r->flat[0];
		r->dcum = r->cum[1] - r->cum[0];
	}
	sort_cum = o->sort_cum;
	qsort(rows, nrows, sizeof(*rows), cmp_row);

	char bt[32], nt[32], dt[32];
	report_format_value(base->unit, bt, sizeof(bt), (double)totals[0]);
	report_format_value(cur->unit, nt, sizeof(nt), (double)totals[1]);
	format_delta(cur->unit, dt, sizeof(dt), (int64_t)(totals[1] - totals[0]));
	fprintf(out, "Base:     %s: %s in %" PRIu64 " samples\n", base->name, bt, base->total_count);
	fprintf(out, "New:      %s: %s in %" PRIu64 " samples (%s)\n", cur->name, nt,
		cur->total_count, dt);
	size_t shown = o->nodecount && o->nodecount < nrows ? o->nodecount : nrows;
	fprintf(out,
		"\nShowing %zu of %zu functions, sorted by the change in %s share; shares are\n"
		"of each profile's own total, changes in percentage points (pp)\n",
		shown, nrows, o->sort_cum ? "cum" : "flat");
	fprintf(out, "%s%8s %7s %8s  %7s %7s %8s  %10s  %s%s\n", report_c(o, RC_BOLD),
		"flat%", "flat%", "flat", "cum%", "cum%", "cum", "flat time", "function",
		report_c(o, RC_OFF));
	fprintf(out, "%s%8s %7s %8s  %7s %7s %8s  %10s%s\n", report_c(o, RC_BOLD), "base",
		"new", "change", "base", "new", "change", "change", report_c(o, RC_OFF));
	size_t room = report_name_room(o, 66);
	for (size_t i = 0; i < shown; i++) {
		const struct diff_row *r = &rows[i];
		char name[1024], dflat[32], dcum[32], dtime[32];
		snprintf(dflat, sizeof(dflat), "%+.1fpp", r->dflat);
		snprintf(dcum, sizeof(dcum), "%+.1fpp", r->dcum);
		format_delta(cur->unit, dtime, sizeof(dtime), (int64_t)(r->self_ns[1] - r->self_ns[0]));
		double d = o->sort_cum ? r->dcum : r->dflat;
		const char *colour = d >= 1.0 ? report_c(o, RC_HOT) : d <= -1.0 ? report_c(o, RC_DIM) : "";
		fprintf(out, "%s%7.1f%% %6.1f%% %8s  %6.1f%% %6.1f%% %8s  %10s  %s%s\n", colour,
			r->flat[0], r->flat[1], dflat, r->cum[0], r->cum[1], dcum, dtime,
			report_fit(name, sizeof(name), r->name, room), *colour ? report_c(o, RC_OFF) : "");
	}
	free(rows);
	free(e);
}
