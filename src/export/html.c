/* Self-contained HTML report: the capture's summary (command, duration,
 * samples, threads, lost samples, how stack walks ended), a sortable
 * table of the top functions, and the interactive flame graph of svg.c
 * inline. One file, no network: the style and scripts are in the page,
 * so it works from a file:// URL and offline.
 *
 * Output is a function of the profile alone, like the SVG's. */
#include "export.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../report/report.h"
#include "../util/escape.h"
#include "../util/util.h"

/* Rows of the functions table: enough to find anything that matters,
 * few enough that a huge profile stays a page one can open. */
#define HTML_TOP_ROWS 200

static const char style[] =
	"body { font-family: sans-serif; margin: 1em 2em; color: #222; }\n"
	"h1 { font-size: 1.4em; }\n"
	"h2 { font-size: 1.15em; margin-top: 1.5em; }\n"
	"table.summary td:first-child { font-weight: bold; padding-right: 1em; }\n"
	"table.summary td { font-family: monospace; }\n"
	"table.top { border-collapse: collapse; font-family: monospace; }\n"
	"table.top th, table.top td { padding: 2px 8px; border-bottom: 1px solid #ddd; }\n"
	"table.top th { cursor: pointer; background: #f0f0f0; text-align: right; user-select: none; }\n"
	"table.top td.num { text-align: right; }\n"
	"table.top th.name, table.top td.name { text-align: left; }\n"
	"table.top th.sorted::after { content: ' \\25BC'; }\n"
	"table.top th.sorted.asc::after { content: ' \\25B2'; }\n"
	"#oneprof-flame { max-width: 100%; height: auto; }\n"
	"div.metrics { display: flex; flex-wrap: wrap; gap: 8px 24px; }\n"
	"div.metric { font-family: monospace; font-size: 12px; }\n"
	"div.metric svg { display: block; background: #fafafa; border: 1px solid #ddd; }\n";

/* Sorting by a column: numbers by the cell's data-v (exact time), names
 * by text; a second click on the same column reverses the order. Then
 * the flame graph's own init() (svg.c's script). */
static const char script[] =
	"(function () {\n"
	"  var table = document.getElementById('top-table');\n"
	"  var heads = table.tHead.rows[0].cells, body = table.tBodies[0];\n"
	"  function key(row, col) {\n"
	"    var c = row.cells[col], v = c.getAttribute('data-v');\n"
	"    return v === null ? c.textContent : +v;\n"
	"  }\n"
	"  function sortBy(col) {\n"
	"    var h = heads[col], asc = h.classList.contains('sorted') && !h.classList.contains('asc');\n"
	"    if (!h.classList.contains('sorted')) asc = h.classList.contains('name');\n"
	"    var rows = Array.prototype.slice.call(body.rows);\n"
	"    rows.sort(function (a, b) {\n"
	"      var x = key(a, col), y = key(b, col);\n"
	"      var c = x < y ? -1 : x > y ? 1 : 0;\n"
	"      return asc ? c : -c;\n"
	"    });\n"
	"    for (var i = 0; i < heads.length; i++) heads[i].classList.remove('sorted', 'asc');\n"
	"    h.classList.add('sorted');\n"
	"    if (asc) h.classList.add('asc');\n"
	"    for (var j = 0; j < rows.length; j++) body.appendChild(rows[j]);\n"
	"  }\n"
	"  for (var i = 0; i < heads.length; i++)\n"
	"    heads[i].addEventListener('click', sortBy.bind(null, i));\n"
	"  if (document.getElementById('oneprof-flame').getElementsByTagName('script').length)\n"
	"    init();\n"
	"})();\n";

static void put_ms(FILE *out, uint64_t ns)
{
	fprintf(out, "%.2f ms", (double)ns / 1e6);
}

static void put_pct(FILE *out, uint64_t part, uint64_t total)
{
	fprintf(out, "%.2f%%", total ? 100.0 * (double)part / (double)total : 0.0);
}

static void write_summary(const struct profile *p, FILE *out)
{
	char cmd[4096];
	export_command(p, cmd, sizeof(cmd));
	uint64_t duration = p->duration_ns;
	if (!duration)
		duration = p->samples_end_ns;
	uint64_t lost = 0;
	for (size_t i = 0; i < p->nlost; i++)
		lost += p->lost[i].count;

	fputs("<h2>Summary</h2>\n<table class=\"summary\">\n<tr><td>Command</td><td>", out);
	esc_xml(out, cmd);
	fprintf(out, " (pid %" PRIu64 ")</td></tr>\n<tr><td>Duration</td><td>", p->hdr.pid);
	put_ms(out, duration);
	fprintf(out, "</td></tr>\n<tr><td>Samples</td><td>%" PRIu64 " at %" PRIu64 " Hz (",
		p->total_count, p->hdr.hz);
	esc_xml(out, p->hdr.sampler.s && *p->hdr.sampler.s ? p->hdr.sampler.s : "unknown timer");
	fprintf(out, "), %s time ", p->wall ? "wall-clock" : "CPU");
	put_ms(out, p->total_cpu_ns);
	fprintf(out, "</td></tr>\n<tr><td>Threads</td><td>%zu</td></tr>\n", p->nthreads);
	fprintf(out, "<tr><td>Lost samples</td><td>%" PRIu64, lost);
	for (size_t i = 0; i < p->nlost; i++) {
		fprintf(out, "%s%" PRIu64 " ", i ? ", " : " (", p->lost[i].count);
		esc_xml(out, capture_lost_reason_name(p->lost[i].reason));
	}
	fputs(p->nlost ? ")" : "", out);
	fputs("</td></tr>\n<tr><td>Stack walks</td><td>", out);
	for (unsigned r = 0; r < CAPTURE_STACK_END_COUNT; r++) {
		fprintf(out, "%s%" PRIu64 " ", r ? ", " : "", p->stack_ends[r]);
		esc_xml(out, capture_stack_end_name(r));
	}
	fputs("</td></tr>\n</table>\n", out);
}

static int by_self(const void *a, const void *b, void *arg)
{
	const struct profile_totals *t = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (t[x].self_ns != t[y].self_ns)
		return t[x].self_ns < t[y].self_ns ? 1 : -1;
	if (t[x].total_ns != t[y].total_ns)
		return t[x].total_ns < t[y].total_ns ? 1 : -1;
	return x < y ? -1 : x > y;
}

/* The functions table, by flat time; data-v holds the exact value each
 * column sorts by. */
static void write_top(const struct profile *p, FILE *out)
{
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	struct profile_totals *t = profile_function_totals(p, &pf);
	profile_frames_free(&pf);
	uint32_t *order = xmalloc((p->nfunctions ? p->nfunctions : 1) * sizeof(uint32_t));
	size_t n = 0;
	for (size_t f = 0; f < p->nfunctions; f++)
		if (t[f].total_ns || t[f].total_count)
			order[n++] = (uint32_t)f;
	qsort_r(order, n, sizeof(uint32_t), by_self, t);
	size_t shown = n < HTML_TOP_ROWS ? n : HTML_TOP_ROWS;

	fprintf(out, "<h2>Top functions</h2>\n<p>%zu of %zu functions, by flat time; click a "
		     "column to sort by it.</p>\n",
		shown, n);
	fputs("<table class=\"top\" id=\"top-table\">\n<thead><tr><th>flat</th><th>flat%</th>"
	      "<th>cum</th><th>cum%</th><th>samples</th><th class=\"name\">function</th>"
	      "<th class=\"name\">module</th></tr></thead>\n<tbody>\n",
	      out);
	uint64_t total = p->total_cpu_ns;
	for (size_t i = 0; i < shown; i++) {
		const struct profile_totals *r = &t[order[i]];
		const struct profile_function *fn = &p->functions[order[i]];
		fprintf(out, "<tr><td class=\"num\" data-v=\"%" PRIu64 "\">", r->self_ns);
		put_ms(out, r->self_ns);
		fprintf(out, "</td><td class=\"num\" data-v=\"%" PRIu64 "\">", r->self_ns);
		put_pct(out, r->self_ns, total);
		fprintf(out, "</td><td class=\"num\" data-v=\"%" PRIu64 "\">", r->total_ns);
		put_ms(out, r->total_ns);
		fprintf(out, "</td><td class=\"num\" data-v=\"%" PRIu64 "\">", r->total_ns);
		put_pct(out, r->total_ns, total);
		fprintf(out, "</td><td class=\"num\" data-v=\"%" PRIu64 "\">%" PRIu64 "</td>",
			r->self_count, r->self_count);
		fputs("<td class=\"name\">", out);
		esc_xml(out, fn->name && *fn->name ? fn->name : EXPORT_UNKNOWN_FRAME);
		fputs("</td><td class=\"name\">", out);
		esc_xml(out, fn->module ? fn->module : "");
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody>\n</table>\n", out);
	free(order);
	free(t);
}

/* Numbers on the charts: 4 significant digits, big ones with a suffix. */
static void put_num(FILE *out, double v)
{
	static const char *const sfx[] = { "", "k", "M", "G", "T", "P" };
	int k = 0;
	while (fabs(v) >= 1000 && k < 5) {
		v /= 1000;
		k++;
	}
	fprintf(out, "%.4g%s", v, sfx[k]);
}

#define CHART_W 360
#define CHART_H 80

/* Every time series (monitor metrics, counters, heap live bytes) as a
 * small inline SVG line chart over the capture's time: no script. */
static void write_metrics(const struct profile *p, FILE *out)
{
	const struct profile_spans *s = p->spans;
	if (!s || !s->nseries)
		return;
	uint64_t span = p->duration_ns;
	for (size_t i = 0; i < s->nseries; i++)
		for (size_t k = 0; k < s->series[i].n; k++)
			if (s->series[i].points[k].time_ns > span)
				span = s->series[i].points[k].time_ns;
	if (!span)
		span = 1;
	fputs("<h2>Metrics</h2>\n<p>Each series over the recording (a running total, "
	      "<code>_total</code>, as its rate per second; %core: percent of one CPU).", out);
	uint64_t from, to, when;
	if (metric_rate_lowered(p, &from, &to, &when))
		fprintf(out, " <b>The overhead budget lowered the sampling rate from %" PRIu64
			     " Hz to %" PRIu64 " Hz.</b>", from, to);
	fputs("</p>\n<div class=\"metrics\">\n", out);
	for (size_t i = 0; i < s->nseries; i++) {
		const struct profile_series *sr = &s->series[i];
		struct metric_desc d;
		struct metric_stats st;
		metric_describe(sr, &d);
		if (!metric_stats(sr, &st))
			continue;
		double *v = xmalloc(sr->n * sizeof(double));
		uint64_t *t = xmalloc(sr->n * sizeof(uint64_t));
		size_t n = metric_values(sr, &d, v, t);
		fputs("<div class=\"metric\">", out);
		esc_xml(out, sr->name ? sr->name : "");
		fprintf(out, " (%s): min ", d.unit);
		put_num(out, st.min);
		fputs(", max ", out);
		put_num(out, st.max);
		fputs(", last ", out);
		put_num(out, st.last);
		fprintf(out, "\n<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
			     "xmlns=\"http://www.w3.org/2000/svg\"><title>",
			CHART_W, CHART_H, CHART_W, CHART_H);
		esc_xml(out, sr->name ? sr->name : "");
		fputs("</title><polyline fill=\"none\" stroke=\"#1f6fb4\" stroke-width=\"1.5\" "
		      "points=\"", out);
		double range = st.max - st.min;
		for (size_t k = 0; k < n; k++) {
			double x = (double)t[k] / (double)span * (CHART_W - 4) + 2;
			double y = range > 0 ? (CHART_H - 4) - (v[k] - st.min) / range * (CHART_H - 8)
					     : CHART_H / 2.0;
			/* A level holds until the next point: steps, not slopes. */
			if (k && !d.rate)
				fprintf(out, "%.1f,%.1f ", x,
					range > 0 ? (CHART_H - 4) - (v[k - 1] - st.min) / range * (CHART_H - 8)
						  : CHART_H / 2.0);
			fprintf(out, "%.1f,%.1f ", x, y);
		}
		fputs("\"/></svg></div>\n", out);
		free(v);
		free(t);
	}
	fputs("</div>\n", out);
}

static int html_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	(void)err, (void)errlen; /* it cannot fail but by writing: export_run() says so */
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>oneprof: ",
	      out);
	esc_xml(out, export_program(p));
	if (p->nprocesses > 1)
		fprintf(out, " (%zu processes)", p->nprocesses);
	fputs("</title>\n<style>\n", out);
	fputs(style, out);
	fputs("</style>\n</head>\n<body>\n<h1>oneprof profile: ", out);
	esc_xml(out, export_program(p));
	if (p->nprocesses > 1)
		fprintf(out, " (%zu processes)", p->nprocesses);
	fputs("</h1>\n", out);
	write_summary(p, out);
	write_top(p, out);
	fputs("<h2>Flame graph</h2>\n<p>Click a frame to zoom, \"Reset zoom\" to undo; \"Search\" "
	      "highlights functions matching a regular expression.</p>\n<div id=\"flame\">\n",
	      out);
	export_svg_flame(p, out, true);
	fputs("</div>\n", out);
	write_metrics(p, out);
	fputs("<script>\n", out);
	fputs(script, out);
	fputs("</script>\n</body>\n</html>\n", out);
	return 0;
}

const struct exporter export_html = {
	.name = "html",
	.extension = ".html",
	.description = "self-contained HTML report: summary, sortable top functions, flame graph, "
		       "metrics charts",
	.binary = false,
	.write = html_write,
};

/* The differential report: the text diff (report_diff's table, as the
 * terminal shows it without colour) above the differential flame graph.
 * Self-contained like the report above. */
void export_html_diff(const struct profile *base, const struct profile *cur, FILE *out,
		      bool absolute, const struct report_options *opts)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<title>oneprof diff: ", out);
	esc_xml(out, export_program(cur));
	fputs("</title>\n<style>\n", out);
	fputs(style, out);
	fputs("pre.diff { font-size: 12px; }\n</style>\n</head>\n<body>\n<h1>oneprof diff: ", out);
	esc_xml(out, export_program(cur));
	fputs("</h1>\n<h2>Functions by change</h2>\n<pre class=\"diff\">", out);
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (mem) {
		struct report_options o = *opts;
		o.color = false;
		o.width = 0;
		report_diff(base, cur, mem, &o);
		fclose(mem);
		esc_xml(out, text ? text : "");
	}
	free(text);
	fputs("</pre>\n<h2>Differential flame graph</h2>\n<p>Widths are the new profile's; "
	      "red frames grew against the base, blue ones shrank, grey ones did not change. "
	      "Click a frame to zoom, \"Reset zoom\" to undo; \"Search\" highlights functions "
	      "matching a regular expression.</p>\n<div id=\"flame\">\n",
	      out);
	export_svg_diff(base, cur, out, true, absolute);
	fputs("</div>\n<script>\ninit();\n</script>\n</body>\n</html>\n", out);
}
