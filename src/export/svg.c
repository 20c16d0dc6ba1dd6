/* SVG flame graph, laid out like Brendan Gregg's flamegraph.pl: root at
 * the bottom, one 16 px row per stack depth, frames merged by function
 * name along the call path, children in name order, width proportional
 * to samples. Self-contained SVG 1.1: an inline script adds click to
 * zoom, "Reset zoom" and a regex "Search"; without the script (an <img>
 * tag, a converter) the picture is the same, only static.
 *
 * Output is a function of the profile alone (no time, no locale, no
 * pointer order), so the same profile gives the same bytes. */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../report/report.h"
#include "../util/escape.h"
#include "../util/util.h"

/* Geometry, in px: flamegraph.pl's defaults. */
#define IMAGE_W 1200
#define XPAD 10
#define FRAME_H 16   /* one row: a 15 px rect and a 1 px gap */
#define FONT_SIZE 12
/* Labels are monospace so that fitting them needs no measuring: the
 * common monospace fonts (DejaVu Sans Mono, Menlo, Courier, Consolas)
 * advance at most 0.602 em, 7.22 px at 12 px. A proportional font would
 * let names like "WWW.." run over the frame's edge. */
#define CHAR_W 7.25
#define LABEL_PAD 3 /* px left and right of a label */
#define YPAD1 (FONT_SIZE * 3)      /* title row */
#define YPAD2 (FONT_SIZE * 2 + 10) /* details row */
#define MIN_WIDTH 0.1              /* narrower frames are left out */
#define TITLE_CHARS 100            /* command name beyond this is cut */
#define DIFF_LEGEND_H 16           /* a differential graph's legend row */
/* Changes below this fraction of the largest one are shown grey. */
#define DIFF_NEUTRAL 0.05

/* --- names --- */

/* A name as XML can carry it: valid UTF-8 without control characters
 * (XML 1.0 forbids most of them even as references); any other byte
 * becomes '?'. */
struct clean {
	char *s;
	size_t chars; /* length in characters, for label fitting */
};

static struct clean clean_name(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	struct clean c = { xmalloc(len + 1), 0 };
	size_t o = 0;
	for (size_t i = 0; i < len; c.chars++) {
		size_t k = esc_utf8_len(name + i, len - i);
		if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			c.s[o++] = '?';
			i++;
		} else {
			memcpy(c.s + o, s + i, k);
			o += k;
			i += k;
		}
	}
	c.s[o] = '\0';
	return c;
}

/* Writes the first n bytes of s escaped for XML text and attribute
 * values, through the escaper every XML output shares. */
static void put_xml(FILE *out, const char *s, size_t n)
{
	char *cut = xmalloc(n + 1);
	memcpy(cut, s, n);
	cut[n] = '\0';
	esc_xml(out, cut);
	free(cut);
}

/* Writes c cut to at most max characters, ".." marking a cut. */
static void put_fitted(FILE *out, const struct clean *c, size_t max)
{
	if (c->chars <= max) {
		put_xml(out, c->s, strlen(c->s));
		return;
	}
	size_t keep = max >= 2 ? max - 2 : 0, bytes = 0;
	for (size_t chars = 0; c->s[bytes] && chars < keep; chars++)
		do
			bytes++;
		while ((c->s[bytes] & 0xc0) == 0x80);
	put_xml(out, c->s, bytes);
	fputs("..", out);
}

/* Warm colour from the name alone (FNV-1a), flamegraph.pl's "hot"
 * palette: red 205-255, green 0-230, blue 0-55. */
static void name_colour(const char *s, unsigned rgb[3])
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	rgb[0] = 205 + 50 * ((h >> 16) & 0xff) / 255;
	rgb[1] = 230 * (h & 0xff) / 255;
	rgb[2] = 55 * ((h >> 8) & 0xff) / 255;
}

struct name_ref {
	const char *s;
	uint32_t fn;
};

static int cmp_name_ref(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->s, y->s);
	return c ? c : (x->fn > y->fn) - (x->fn < y->fn);
}

/* Distinct names get ids in strcmp order, so comparing ids sorts by
 * name. fn_id has one more entry than functions: the unknown frame. */
struct names {
	uint32_t *fn_id;
	const char **by_id;
	size_t n;
};

static void names_build(const struct profile *p, struct names *nm)
{
	size_t n = p->nfunctions + 1;
	struct name_ref *refs = xcalloc(n, sizeof(*refs));
	for (size_t i = 0; i < n; i++) {
		const char *s = i < p->nfunctions ? p->functions[i].name : NULL;
		refs[i].s = s && *s ? s : EXPORT_UNKNOWN_FRAME;
		refs[i].fn = (uint32_t)i;
	}
	qsort(refs, n, sizeof(*refs), cmp_name_ref);
	nm->fn_id = xcalloc(n, sizeof(uint32_t));
	nm->by_id = xcalloc(n, sizeof(char *));
	nm->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(refs[i - 1].s, refs[i].s) != 0)
			nm->by_id[nm->n++] = refs[i].s;
		nm->fn_id[refs[i].fn] = (uint32_t)(nm->n - 1);
	}
	free(refs);
}

/* --- the call tree --- */

#define NO_PARENT UINT32_MAX

struct node {
	uint32_t parent, name, depth;
	uint64_t count; /* samples in this frame and above */
	uint64_t start; /* samples left of it, set during layout */
};

struct tree {
	struct node *nodes;
	size_t n, cap;
	uint32_t *slots; /* (parent, name) -> node index + 1; 0 is empty */
	size_t nslots;
};

static size_t slot_of(uint32_t parent, uint32_t name, size_t mask)
{
	uint64_t k = ((uint64_t)parent << 32 | name) * 0x9e3779b97f4a7c15ull;
	return (size_t)(k >> 29) & mask;
}

static void tree_rehash(struct tree *t)
{
	size_t nslots = t->nslots ? t->nslots * 2 : 1024;
	uint32_t *slots = xcalloc(nslots, sizeof(uint32_t));
	for (size_t i = 1; i < t->n; i++) { /* node 0, the root, is not hashed */
		size_t j = slot_of(t->nodes[i].parent, t->nodes[i].name, nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = (uint32_t)(i + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
}

static uint32_t tree_add(struct tree *t, uint32_t parent, uint32_t name, uint32_t depth)
{
	GROW(t->nodes, t->cap, t->n + 1);
	t->nodes[t->n] = (struct node){ parent, name, depth, 0, 0 };
	return (uint32_t)t->n++;
}

/* The child of parent named name, created when new. */
static uint32_t tree_child(struct tree *t, uint32_t parent, uint32_t name)
{
	if ((t->n + 1) * 2 > t->nslots)
		tree_rehash(t);
	size_t mask = t->nslots - 1;
	for (size_t j = slot_of(parent, name, mask);; j = (j + 1) & mask) {
		uint32_t s = t->slots[j];
		if (!s) {
			uint32_t i = tree_add(t, parent, name, t->nodes[parent].depth + 1);
			t->slots[j] = i + 1;
			return i;
		}
		if (t->nodes[s - 1].parent == parent && t->nodes[s - 1].name == name)
			return s - 1;
	}
}

/* The time (or heap view's bytes) of each stack: what a differential
 * graph compares, since two runs' sample counts need not be at one rate. */
static uint64_t *stack_values(const struct profile *p)
{
	uint64_t *v = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(uint64_t));
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].stack < p->nstacks)
			v[p->samples[i].stack] += p->samples[i].cpu_ns;
	return v;
}

static void tree_build(const struct profile *p, const struct names *nm, struct tree *t,
		       bool values)
{
	uint32_t unknown = nm->fn_id[p->nfunctions];
	/* Sum per stack first: many samples share a stack. */
	uint64_t *per_stack = values ? stack_values(p) : export_stack_counts(p);

	size_t cap = profile_max_stack_functions(p);
	uint32_t *fns = xmalloc(cap * sizeof(uint32_t));
	tree_add(t, NO_PARENT, 0, 0); /* "all" */
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		uint64_t c = per_stack[i];
		if (!c)
			continue;
		t->nodes[0].count += c;
		/* Inlined functions are frames of their own, innermost first. */
		size_t n = profile_stack_functions(p, s, fns, cap);
		if (n == 0) {
			t->nodes[tree_child(t, 0, unknown)].count += c;
			continue;
		}
		uint32_t cur = 0;
		/* The model gives the leaf first; the tree grows from the root. */
		for (size_t f = n; f-- > 0;) {
			cur = tree_child(t, cur, nm->fn_id[fns[f]]);
			t->nodes[cur].count += c;
		}
	}
	free(fns);
	free(per_stack);
}

/* The child of parent named name, or NONE. */
#define NONE UINT32_MAX
static uint32_t tree_find(const struct tree *t, uint32_t parent, uint32_t name)
{
	if (!t->nslots || parent == NONE || name == NONE)
		return NONE;
	size_t mask = t->nslots - 1;
	for (size_t j = slot_of(parent, name, mask); t->slots[j]; j = (j + 1) & mask)
		if (t->nodes[t->slots[j] - 1].parent == parent && t->nodes[t->slots[j] - 1].name == name)
			return t->slots[j] - 1;
	return NONE;
}

/* The id of name in another profile's names (sorted by strcmp), or NONE. */
static uint32_t name_in(const struct names *other, const char *name)
{
	size_t lo = 0, hi = other->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(other->by_id[mid], name);
		if (!c)
			return (uint32_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE;
}

/* For each node of t, the node of the same path of names in o (NONE:
 * none there); nodes come after their parents, so one pass does it. */
static uint32_t *tree_match(const struct tree *t, const struct names *nm, const struct tree *o,
			    const struct names *onm)
{
	uint32_t *m = xmalloc((t->n ? t->n : 1) * sizeof(uint32_t));
	uint32_t *name_map = xmalloc((nm->n ? nm->n : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < nm->n; i++)
		name_map[i] = name_in(onm, nm->by_id[i]);
	m[0] = 0;
	for (size_t i = 1; i < t->n; i++)
		m[i] = tree_find(o, m[t->nodes[i].parent], name_map[t->nodes[i].name]);
	free(name_map);
	return m;
}

/* The differential graph's state: the base's tree matched to the new
 * profile's, and how the colours are scaled. */
struct diff {
	const struct profile *base;
	bool absolute;     /* colour by the change in value, not in share */
	struct names nm;   /* the base's names */
	struct tree t;     /* the base's tree */
	uint32_t *match;   /* per new node: its base node, or NONE */
	uint64_t gone;     /* base value on paths the new profile lacks */
	double max_change; /* the largest |change| of a drawn frame */
};

struct child_ref {
	uint32_t parent, name, node;
};

static int cmp_child_ref(const void *a, const void *b)
{
	const struct child_ref *x = a, *y = b;
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return (x->name > y->name) - (x->name < y->name);
}

/* --- output --- */

static const char script[] =
	"var svg, frames = [], total = 0, details, matched, EPS = 0.05;\n"
	"function init() {\n"
	"  svg = document.getElementById('oneprof-flame');\n"
	"  details = document.getElementById('details');\n"
	"  matched = document.getElementById('matched');\n"
	"  var gs = svg.getElementsByTagName('g');\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i];\n"
	"    if (g.getAttribute('class') !== 'f') continue;\n"
	"    var r = g.getElementsByTagName('rect')[0];\n"
	"    var s = g.getElementsByTagName('title')[0].textContent, k = s.lastIndexOf(' (');\n"
	"    var f = { g: g, r: r, t: g.getElementsByTagName('text')[0], title: s,\n"
	"      name: s.substring(0, k),\n"
	"      n: g.hasAttribute('data-n') ? +g.getAttribute('data-n') : parseInt(s.substring(k + 2), 10),\n"
	"      x: +r.getAttribute('x'), y: +r.getAttribute('y'),\n"
	"      w: +r.getAttribute('width'), fill: r.getAttribute('fill') };\n"
	"    g.frame = f;\n"
	"    frames.push(f);\n"
	"    if (f.n > total) total = f.n;\n"
	"  }\n"
	"  svg.addEventListener('click', function (e) { var f = find(e.target); if (f) zoom(f); });\n"
	"  svg.addEventListener('mouseover', function (e) {\n"
	"    var f = find(e.target); if (f) details.textContent = f.title; });\n"
	"  svg.addEventListener('mouseout', function (e) {\n"
	"    if (find(e.target)) details.textContent = ' '; });\n"
	"  document.getElementById('unzoom').addEventListener('click', function () { zoom(null); });\n"
	"  document.getElementById('search').addEventListener('click', search);\n"
	"}\n"
	"function find(e) {\n"
	"  for (; e && e !== svg; e = e.parentNode) if (e.frame) return e.frame;\n"
	"  return null;\n"
	"}\n"
	"function label(name, w) {\n"
	"  var c = Math.floor((w - 2 * LPAD) / CW);\n"
	"  if (c < 3) return '';\n"
	"  return name.length > c ? name.substring(0, c - 2) + '..' : name;\n"
	"}\n"
	"function place(f, x, w, grey) {\n"
	"  f.g.removeAttribute('display');\n"
	"  if (grey) f.g.setAttribute('opacity', '0.5'); else f.g.removeAttribute('opacity');\n"
	"  f.r.setAttribute('x', x.toFixed(2));\n"
	"  f.r.setAttribute('width', w.toFixed(2));\n"
	"  f.t.setAttribute('x', (x + LPAD).toFixed(2));\n"
	"  f.t.textContent = label(f.name, w);\n"
	"}\n"
	"// Zoom to frame z (null: reset): its subtree fills the width, its\n"
	"// ancestors span it greyed, everything else is hidden.\n"
	"function zoom(z) {\n"
	"  var full = W - 2 * PAD;\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    var f = frames[i];\n"
	"    if (!z) place(f, f.x, f.w, false);\n"
	"    else if (f.y <= z.y && f.x >= z.x - EPS && f.x + f.w <= z.x + z.w + EPS)\n"
	"      place(f, PAD + (f.x - z.x) * full / z.w, f.w * full / z.w, false);\n"
	"    else if (f.y > z.y && f.x <= z.x + EPS && f.x + f.w >= z.x + z.w - EPS)\n"
	"      place(f, PAD, full, true);\n"
	"    else f.g.setAttribute('display', 'none');\n"
	"  }\n"
	"}\n"
	"function search() {\n"
	"  var term = prompt('Search (regular expression, empty to clear):', '');\n"
	"  if (term === null) return;\n"
	"  var re = null;\n"
	"  if (term) try { re = new RegExp(term); } catch (err) { alert(err.message); return; }\n"
	"  var hits = [];\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    var f = frames[i], m = re !== null && re.test(f.name);\n"
	"    f.r.setAttribute('fill', m ? 'rgb(230,0,230)' : f.fill);\n"
	"    if (m) hits.push(f);\n"
	"  }\n"
	"  // Samples under a match, a match inside a match counted once.\n"
	"  hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });\n"
	"  var n = 0, end = -1;\n"
	"  for (var j = 0; j < hits.length; j++)\n"
	"    if (hits[j].x + hits[j].w > end + EPS) { n += hits[j].n; end = hits[j].x + hits[j].w; }\n"
	"  matched.textContent = re ? 'Matched: ' + (total ? 100 * n / total : 0).toFixed(2) + '%' : '';\n"
	"}\n";

/* The program's name: basename of argv[0], else of the executable. */
static struct clean command_name(const struct profile *p)
{
	const struct capture_text *c = &p->hdr.cmdline;
	const char *s = NULL;
	if (c->s && c->len && c->s[0])
		s = c->s; /* NUL-terminated at argv[0]'s end */
	else if (p->hdr.exe.s && p->hdr.exe.s[0])
		s = p->hdr.exe.s;
	s = s ? path_basename(s) : "";
	if (!*s)
		s = "?";
	return clean_name(s, strlen(s));
}

static void write_header(FILE *out, const struct profile *p, uint64_t total, int height,
			 bool embedded, const struct diff *d)
{
	/* Inline in HTML there is no XML declaration, and the page calls
	 * init() itself: an inline <svg>'s onload is not reliable there. */
	if (!embedded)
		fputs("<?xml version=\"1.0\" standalone=\"no\"?>\n", out);
	fprintf(out,
		"<svg id=\"oneprof-flame\" version=\"1.1\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\"%s "
		"font-family=\"monospace\" font-size=\"%d\">\n",
		IMAGE_W, height, IMAGE_W, height, embedded ? "" : " onload=\"init()\"", FONT_SIZE);
	fputs("<defs>\n"
	      "<linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">\n"
	      "<stop stop-color=\"#eeeeee\" offset=\"5%\"/>\n"
	      "<stop stop-color=\"#eeeeb0\" offset=\"95%\"/>\n"
	      "</linearGradient>\n"
	      "</defs>\n"
	      "<style type=\"text/css\"><![CDATA[\n"
	      ".f, #unzoom, #search { cursor: pointer; }\n"
	      ".f:hover rect { stroke: rgb(0,0,0); stroke-width: 0.5; }\n"
	      "]]></style>\n"
	      "<script type=\"text/ecmascript\"><![CDATA[\n",
	      out);
	/* The geometry the labels were fitted with, for refitting on zoom. */
	fprintf(out, "var W = %d, PAD = %d, CW = %g, LPAD = %d;\n", IMAGE_W, XPAD, CHAR_W,
		LABEL_PAD);
	fputs(script, out);
	fputs("]]></script>\n", out);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#background)\"/>\n",
		IMAGE_W, height);

	struct clean cmd = command_name(p);
	fprintf(out, "<text id=\"title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"%d\" "
		     "font-family=\"Verdana, sans-serif\">"
		     "%s: ",
		IMAGE_W / 2, FONT_SIZE * 2, FONT_SIZE + 5,
		d ? "Differential Flame Graph" : "Flame Graph");
	put_fitted(out, &cmd, TITLE_CHARS);
	char amount[64];
	if (d) {
		/* What the widths are, and what the base had that is gone. */
		char base[32], gone[32];
		report_format_value(p->unit, amount, sizeof(amount), (double)total);
		report_format_value(p->unit, base, sizeof(base), (double)d->t.nodes[0].count);
		report_format_value(p->unit, gone, sizeof(gone), (double)d->gone);
		fprintf(out, " (new %s, base %s)</text>\n", amount, base);
		fprintf(out, "<text id=\"legend\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
			     "widths: the new profile; colour: change against the base in %s: "
			     "red grew, blue shrank, grey unchanged; shrunk away (only in the "
			     "base): %s</text>\n",
			IMAGE_W / 2, FONT_SIZE * 2 + DIFF_LEGEND_H,
			d->absolute ? "value" : "share of the total", gone);
	} else {
		export_amount(p, total, amount, sizeof(amount));
		if (p->nprocesses > 1)
			fprintf(out, " (%s, %zu processes)</text>\n", amount, p->nprocesses);
		else
			fprintf(out, " (%s)</text>\n", amount);
	}
	free(cmd.s);
	fprintf(out, "<text id=\"unzoom\" x=\"%d\" y=\"%d\">Reset zoom</text>\n", XPAD,
		FONT_SIZE * 2);
	fprintf(out, "<text id=\"search\" x=\"%d\" y=\"%d\" text-anchor=\"end\">Search</text>\n",
		IMAGE_W - XPAD, FONT_SIZE * 2);
	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", XPAD,
		height - YPAD2 / 2);
	fprintf(out, "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"></text>\n",
		IMAGE_W - XPAD, height - YPAD2 / 2);
}

/* A frame's change against the base: in share of each side's total
 * (a fraction), or in value. */
static double diff_change(const struct diff *d, const struct node *nd, uint32_t i,
			  uint64_t total)
{
	uint64_t base = d->match[i] != NONE ? d->t.nodes[d->match[i]].count : 0;
	uint64_t btotal = d->t.nodes[0].count;
	if (d->absolute)
		return (double)nd->count - (double)base;
	return (total ? (double)nd->count / (double)total : 0) -
	       (btotal ? (double)base / (double)btotal : 0);
}

/* Red for growth, blue for shrinkage, deeper as the change nears the
 * largest one; grey for no change to speak of. */
static void diff_colour(const struct diff *d, double change, unsigned rgb[3])
{
	double f = d->max_change > 0 ? (change < 0 ? -change : change) / d->max_change : 0;
	if (f < DIFF_NEUTRAL) {
		rgb[0] = rgb[1] = rgb[2] = 215;
		return;
	}
	unsigned pale = (unsigned)(235 - 205 * (f > 1 ? 1 : f) + 0.5);
	rgb[0] = change > 0 ? 255 : pale;
	rgb[1] = pale;
	rgb[2] = change > 0 ? pale : 255;
}

/* A differential frame's tooltip after its name: new, base, change. */
static void diff_title(FILE *out, const struct profile *p, const struct diff *d,
		       const struct node *nd, uint32_t i, uint64_t total)
{
	uint64_t base = d->match[i] != NONE ? d->t.nodes[d->match[i]].count : 0;
	uint64_t btotal = d->t.nodes[0].count;
	double nshare = total ? 100.0 * (double)nd->count / (double)total : 0;
	double bshare = btotal ? 100.0 * (double)base / (double)btotal : 0;
	double dv = (double)nd->count - (double)base;
	char nv[32], bv[32], dvs[32];
	report_format_value(p->unit, nv, sizeof(nv), (double)nd->count);
	report_format_value(p->unit, bv, sizeof(bv), (double)base);
	report_format_value(p->unit, dvs, sizeof(dvs), dv < 0 ? -dv : dv);
	fprintf(out, " (new %s, %.2f%%; base %s, %.2f%%; change %s%s, %+.2fpp)", nv, nshare, bv,
		bshare, dv < 0 ? "-" : "+", dvs, nshare - bshare);
}

static void write_frame(FILE *out, const struct profile *p, const struct node *nd, uint32_t i,
			const struct clean *name, const char *raw, double x, double w,
			uint64_t total, int height, const struct diff *d)
{
	int y = height - YPAD2 - (int)(nd->depth + 1) * FRAME_H + 1;
	unsigned rgb[3];
	if (d) {
		diff_colour(d, diff_change(d, nd, i, total), rgb);
		fprintf(out, "<g class=\"f\" data-n=\"%" PRIu64 "\"><title>", nd->count);
		put_xml(out, name->s, strlen(name->s));
		diff_title(out, p, d, nd, i, total);
	} else {
		name_colour(raw, rgb);
		fputs("<g class=\"f\"><title>", out);
		put_xml(out, name->s, strlen(name->s));
		char amount[64];
		export_amount(p, nd->count, amount, sizeof(amount));
		fprintf(out, " (%s, %.2f%%)", amount, 100.0 * (double)nd->count / (double)total);
	}
	fprintf(out,
		"</title>"
		"<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%u,%u,%u)\" "
		"rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%d\">",
		x, y, w, FRAME_H - 1, rgb[0], rgb[1], rgb[2], x + LABEL_PAD, y + FRAME_H / 2 + 3);
	/* The label: as many characters as fit, none below three. */
	double room = (w - 2 * LABEL_PAD) / CHAR_W;
	if (room >= 3)
		put_fitted(out, name, (size_t)room);
	fputs("</text></g>\n", out);
}

/* The flame graph of p; with d, differential against d->base. */
static void flame(const struct profile *p, FILE *out, bool embedded, struct diff *d)
{
	struct names nm;
	names_build(p, &nm);
	struct tree t = { 0 };
	tree_build(p, &nm, &t, d != NULL);
	uint64_t total = t.nodes[0].count;
	double per_sample = total ? (IMAGE_W - 2 * XPAD) / (double)total : 0;
	if (d) {
		names_build(d->base, &d->nm);
		tree_build(d->base, &d->nm, &d->t, true);
		d->match = tree_match(&t, &nm, &d->t, &d->nm);
		/* Gone: the base's topmost frames on paths the new lacks. */
		uint32_t *back = tree_match(&d->t, &d->nm, &t, &nm);
		for (size_t i = 1; i < d->t.n; i++)
			if (back[i] == NONE && back[d->t.nodes[i].parent] != NONE)
				d->gone += d->t.nodes[i].count;
		free(back);
		for (size_t i = 0; i < t.n; i++) {
			if ((double)t.nodes[i].count * per_sample < MIN_WIDTH)
				continue;
			double c = diff_change(d, &t.nodes[i], (uint32_t)i, total);
			if ((c < 0 ? -c : c) > d->max_change)
				d->max_change = c < 0 ? -c : c;
		}
	}

	/* Children of each node, contiguous and in name order. */
	struct child_ref *kids = xcalloc(t.n, sizeof(*kids));
	for (size_t i = 1; i < t.n; i++)
		kids[i - 1] = (struct child_ref){ t.nodes[i].parent, t.nodes[i].name, (uint32_t)i };
	size_t nkids = t.n - 1;
	qsort(kids, nkids, sizeof(*kids), cmp_child_ref);
	size_t *first = xcalloc(t.n + 1, sizeof(size_t)); /* kids[first[i]..first[i+1]) */
	for (size_t i = 0, k = 0; i <= t.n; i++) {
		while (k < nkids && kids[k].parent < i)
			k++;
		first[i] = k;
	}

	/* Rows: the deepest frame wide enough to draw. */
	uint32_t depth_max = 0;
	for (size_t i = 0; i < t.n; i++)
		if ((double)t.nodes[i].count * per_sample >= MIN_WIDTH && t.nodes[i].depth > depth_max)
			depth_max = t.nodes[i].depth;
	int height = (int)(depth_max + 1) * FRAME_H + YPAD1 + YPAD2 + (d ? DIFF_LEGEND_H : 0);

	write_header(out, p, total, height, embedded, d);

	struct clean *clean = xcalloc(nm.n, sizeof(*clean)), root = { 0 };
	if (!total) {
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">No samples</text>\n",
			IMAGE_W / 2, YPAD1 + FRAME_H / 2);
	} else {
		/* Depth first, parents before children, children left to right:
		 * each child starts where its elder siblings end. */
		uint32_t *todo = xcalloc(t.n, sizeof(uint32_t));
		size_t ntodo = 0;
		todo[ntodo++] = 0;
		while (ntodo) {
			uint32_t i = todo[--ntodo];
			struct node *nd = &t.nodes[i];
			const char *raw = i ? nm.by_id[nd->name] : "all";
			struct clean *name = i ? &clean[nd->name] : &root;
			if (!name->s) /* each name cleaned once */
				*name = clean_name(raw, strlen(raw));
			write_frame(out, p, nd, i, name, raw, XPAD + (double)nd->start * per_sample,
				    (double)nd->count * per_sample, total, height, d);
			uint64_t start = nd->start;
			for (size_t k = first[i]; k < first[i + 1]; k++) {
				t.nodes[kids[k].node].start = start;
				start += t.nodes[kids[k].node].count;
			}
			/* Pushed in reverse, so the leftmost comes out first. */
			for (size_t k = first[i + 1]; k-- > first[i];)
				if ((double)t.nodes[kids[k].node].count * per_sample >= MIN_WIDTH)
					todo[ntodo++] = kids[k].node;
		}
		free(todo);
	}
	fputs("</svg>\n", out);

	for (size_t i = 0; i < nm.n; i++)
		free(clean[i].s);
	free(clean);
	free(root.s);
	free(first);
	free(kids);
	free(t.nodes);
	free(t.slots);
	free(nm.fn_id);
	free(nm.by_id);
	if (d) {
		free(d->match);
		free(d->t.nodes);
		free(d->t.slots);
		free(d->nm.fn_id);
		free(d->nm.by_id);
	}
}

void export_svg_flame(const struct profile *p, FILE *out, bool embedded)
{
	flame(p, out, embedded, NULL);
}

void export_svg_diff(const struct profile *base, const struct profile *cur, FILE *out,
		     bool embedded, bool absolute)
{
	struct diff d = { .base = base, .absolute = absolute };
	flame(cur, out, embedded, &d);
}

static int svg_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	(void)err, (void)errlen; /* it cannot fail but by writing: export_run() says so */
	export_svg_flame(p, out, false);
	return 0;
}

const struct exporter export_svg = {
	.name = "svg",
	.extension = ".svg",
	.description = "interactive flame graph, self-contained SVG (flamegraph.pl layout)",
	.binary = false,
	.write = svg_write,
};
