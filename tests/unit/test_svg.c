/* The SVG flame graph exporter on small hand-built profiles: the frames
 * it draws (titles, counts, percentages, widths, order), escaping,
 * label fitting, omitted frames and reproducibility. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/export/export.h"
#include "../../src/model/profile.h"
#include "../../src/util/util.h"
#include "builder.h"
#include "unit.h"

/* An empty profile with one thread (tid 1, "t"), index 0, for the
 * samples to be on. */
static struct profile *svg_empty_profile(void)
{
	struct profile *p = tb_empty_profile();
	tb_add_thread(p, 1, "t");
	return p;
}

/* One root frame per name, count[i] samples each. */
static struct profile *svg_flat_profile(const char *const *names, const uint64_t *counts,
					uint32_t n)
{
	struct profile *p = svg_empty_profile();
	for (uint32_t i = 0; i < n; i++) {
		tb_add_function(p, names[i]);
		tb_add_location(p, 0x100 + i, -1, i);
		tb_add_stack(p, (const uint32_t[]){ i }, 1);
		tb_add_sample(p, 0, i, counts[i], 0);
	}
	return p;
}

#define SVG_TOTAL 12

/*
 * main;work;leaf 6 (two call sites of work, merged), main;work 2,
 * main;tmpl<int>&x 3, q"' 1. Frames: all 12, main 11, work 8, leaf 6,
 * tmpl<int>&x 3, q"' 1.
 */
static struct profile *svg_test_profile(void)
{
	struct profile *p = svg_empty_profile();
	static const char cmdline[] = "/usr/bin/prog\0--fast\0";
	p->hdr.cmdline.s = xstrndup(cmdline, sizeof(cmdline) - 1);
	p->hdr.cmdline.len = sizeof(cmdline) - 1;

	tb_add_function(p, "main");        /* 0 */
	tb_add_function(p, "work");        /* 1 */
	tb_add_function(p, "tmpl<int>&x"); /* 2 */
	tb_add_function(p, "leaf");        /* 3 */
	tb_add_function(p, "q\"'");        /* 4 */

	tb_add_location(p, 0x1100, -1, 0); /* 0 main */
	tb_add_location(p, 0x1200, -1, 1); /* 1 work */
	tb_add_location(p, 0x1210, -1, 1); /* 2 work, another call site */
	tb_add_location(p, 0x1300, -1, 2); /* 3 tmpl */
	tb_add_location(p, 0x1400, -1, 3); /* 4 leaf */
	tb_add_location(p, 0x1500, -1, 4); /* 5 q */

	tb_add_stack(p, (const uint32_t[]){ 4, 1, 0 }, 3); /* 0 main;work;leaf */
	tb_add_stack(p, (const uint32_t[]){ 4, 2, 0 }, 3); /* 1 same names */
	tb_add_stack(p, (const uint32_t[]){ 1, 0 }, 2);    /* 2 main;work */
	tb_add_stack(p, (const uint32_t[]){ 3, 0 }, 2);    /* 3 main;tmpl */
	tb_add_stack(p, (const uint32_t[]){ 5 }, 1);       /* 4 q */

	tb_add_sample(p, 0, 0, 2, 0);
	tb_add_sample(p, 0, 0, 1, 0);
	tb_add_sample(p, 0, 1, 3, 0);
	tb_add_sample(p, 0, 2, 2, 0);
	tb_add_sample(p, 0, 3, 3, 0);
	tb_add_sample(p, 0, 4, 1, 0);
	return p;
}

static char *svg_export(const struct profile *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	char err[256] = "";
	int rc = export_run(&export_svg, p, f, err, sizeof(err));
	fclose(f);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0)
		printf("    export error: %s\n", err);
	return buf;
}

/* A drawn frame, found by its (escaped) name in its <title>. */
struct svg_frame {
	int found;
	unsigned long long samples;
	double pct, x, width;
	int y;
	char text[128]; /* the label */
};

static double attr_num(const char *from, const char *end, const char *attr)
{
	char key[32];
	snprintf(key, sizeof(key), " %s=\"", attr);
	const char *a = strstr(from, key);
	if (!a || a > end)
		return -1;
	return strtod(a + strlen(key), NULL);
}

static struct svg_frame find_frame(const char *svg, const char *escaped_name)
{
	struct svg_frame f = { 0 };
	char key[256];
	snprintf(key, sizeof(key), "<g class=\"f\"><title>%s (", escaped_name);
	const char *g = strstr(svg, key);
	if (!g)
		return f;
	const char *end = strstr(g, "</g>");
	if (!end || sscanf(g + strlen(key), "%llu samples, %lf%%)", &f.samples, &f.pct) != 2)
		return f;
	f.x = attr_num(g, end, "x");
	f.width = attr_num(g, end, "width");
	f.y = (int)attr_num(g, end, "y");
	const char *t = strstr(g, "<text ");
	t = t ? strchr(t, '>') : NULL;
	if (t && t < end) {
		size_t n = (size_t)(strstr(t, "</text>") - t - 1);
		if (n >= sizeof(f.text))
			n = sizeof(f.text) - 1;
		memcpy(f.text, t + 1, n);
		f.text[n] = '\0';
	}
	f.found = 1;
	/* Each frame appears once. */
	CHECK(strstr(end, key) == NULL);
	return f;
}

static int count_str(const char *s, const char *needle)
{
	int n = 0;
	for (const char *q = s; (q = strstr(q, needle)); q += strlen(needle))
		n++;
	return n;
}

static int close_ratio(double a, double b)
{
	return a > b * 0.99 && a < b * 1.01;
}

TEST(export_svg_frames)
{
	struct profile *p = svg_test_profile();
	size_t len;
	char *out = svg_export(p, &len);
	CHECK(len > 0 && strncmp(out, "<?xml", 5) == 0);
	CHECK(strstr(out, "<svg") != NULL);
	CHECK(strstr(out, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
	CHECK(len > 7 && strcmp(out + len - 7, "</svg>\n") == 0);
	CHECK(strstr(out, "Flame Graph: prog (12 samples)") != NULL);
	CHECK(strstr(out, "Reset zoom") != NULL && strstr(out, ">Search<") != NULL);
	CHECK(strstr(out, "<script type=\"text/ecmascript\"><![CDATA[") != NULL);
	/* Self-contained: nothing fetched. */
	CHECK(strstr(out, "href") == NULL && strstr(out, "http://") == strstr(out, "http://www.w3.org/2000/svg"));

	static const struct {
		const char *name;
		unsigned long long samples;
		double pct;
		int depth;
	} want[] = {
		{ "all", 12, 100.00, 0 },
		{ "main", 11, 91.67, 1 },
		{ "work", 8, 66.67, 2 },
		{ "leaf", 6, 50.00, 3 },
		{ "tmpl&lt;int&gt;&amp;x", 3, 25.00, 2 },
		{ "q&quot;&apos;", 1, 8.33, 1 },
	};
	struct svg_frame f[6];
	for (size_t i = 0; i < 6; i++) {
		f[i] = find_frame(out, want[i].name);
		CHECK(f[i].found);
		if (!f[i].found) {
			printf("    no frame %s\n", want[i].name);
			continue;
		}
		CHECK_EQ_INT(f[i].samples, want[i].samples);
		CHECK(f[i].pct > want[i].pct - 0.006 && f[i].pct < want[i].pct + 0.006);
		/* Width proportional to samples: 1180 px for all 12. */
		CHECK(close_ratio(f[i].width, 1180.0 * (double)want[i].samples / SVG_TOTAL));
		/* Root at the bottom: one 16 px row up per level. */
		CHECK_EQ_INT(f[0].y - f[i].y, 16 * want[i].depth);
	}
	CHECK_EQ_INT(count_str(out, "<g class=\"f\">"), 6);

	/* Siblings proportional to their counts (work 8, tmpl 3), in name
	 * order: tmpl<int>&x left of work, the first child at its parent's
	 * left edge. */
	CHECK(f[2].width > 0 && f[4].width > 0 && close_ratio(f[2].width / f[4].width, 8.0 / 3.0));
	CHECK(f[4].x < f[2].x);
	CHECK(close_ratio(f[4].x, f[1].x));
	CHECK(close_ratio(f[2].x, f[4].x + f[4].width));
	CHECK(close_ratio(f[0].x, 10) && close_ratio(f[1].x, 10));
	CHECK(close_ratio(f[5].x, f[1].x + f[1].width));
	CHECK(close_ratio(f[3].x, f[2].x)); /* leaf on work's left edge */

	/* Escaped everywhere: the raw names never appear. */
	CHECK(strstr(out, "tmpl<int>") == NULL);
	CHECK(strstr(out, "<int>&x") == NULL);
	CHECK(strstr(out, "q\"'") == NULL);
	CHECK_STR(f[4].text, "tmpl&lt;int&gt;&amp;x");
	CHECK_STR(f[1].text, "main");

	/* The same function gets the same colour in any graph. */
	const char *names[] = { "zz", "work" };
	const uint64_t counts[] = { 5, 1 };
	struct profile *q = svg_flat_profile(names, counts, 2);
	size_t qlen;
	char *qout = svg_export(q, &qlen);
	const char *w1 = strstr(out, "<title>work ("), *w2 = strstr(qout, "<title>work (");
	CHECK(w1 && w2);
	if (w1 && w2) {
		const char *c1 = strstr(w1, "fill=\""), *c2 = strstr(w2, "fill=\"");
		CHECK(c1 && c2 && strncmp(c1, c2, strcspn(c1 + 6, "\"") + 7) == 0);
		CHECK(c1 && strncmp(c1, "fill=\"rgb(", 10) == 0);
	}
	free(qout);
	profile_free(q);
	free(out);
	profile_free(p);
}

TEST(export_svg_deterministic)
{
	struct profile *p = svg_test_profile();
	size_t len1, len2;
	char *a = svg_export(p, &len1);
	char *b = svg_export(p, &len2);
	CHECK_EQ_INT(len1, len2);
	CHECK(len1 == len2 && memcmp(a, b, len1) == 0);
	free(a);
	free(b);
	profile_free(p);
}

TEST(export_svg_labels)
{
	/* 60 samples over 1180 px: 5 samples are 98.33 px, 12 characters at
	 * 7.25 px (3 px padding each side); 1 sample is 19.67 px, under three
	 * characters. */
	const char *names[] = { "abcdefghijklmnopqrstuvwxyz", "tiny", "zz", "ok" };
	const uint64_t counts[] = { 5, 1, 44, 10 };
	struct profile *p = svg_flat_profile(names, counts, 4);
	size_t len;
	char *out = svg_export(p, &len);
	struct svg_frame f = find_frame(out, "abcdefghijklmnopqrstuvwxyz");
	CHECK(f.found);
	CHECK_STR(f.text, "abcdefghij..");
	f = find_frame(out, "tiny");
	CHECK(f.found);
	CHECK_STR(f.text, "");
	f = find_frame(out, "ok");
	CHECK(f.found);
	CHECK_STR(f.text, "ok");
	free(out);
	profile_free(p);
}

TEST(export_svg_narrow_omitted)
{
	/* 1 sample of 100001 is 0.0118 px: left out, and the rows shrink to
	 * what is drawn. */
	struct profile *p = svg_empty_profile();
	tb_add_function(p, "big");
	tb_add_function(p, "small");
	tb_add_function(p, "deeper");
	tb_add_location(p, 0x10, -1, 0);
	tb_add_location(p, 0x20, -1, 1);
	tb_add_location(p, 0x30, -1, 2);
	tb_add_stack(p, (const uint32_t[]){ 0 }, 1);
	tb_add_stack(p, (const uint32_t[]){ 2, 1 }, 2);
	tb_add_sample(p, 0, 0, 100000, 0);
	tb_add_sample(p, 0, 1, 1, 0);
	size_t len;
	char *out = svg_export(p, &len);
	CHECK(find_frame(out, "big").found);
	CHECK(!find_frame(out, "small").found);
	CHECK(strstr(out, "deeper") == NULL);
	CHECK_EQ_INT(count_str(out, "<g class=\"f\">"), 2);
	/* Two rows of 16 px plus the 36 px title and 34 px details rows. */
	CHECK(strstr(out, " height=\"102\" viewBox=\"0 0 1200 102\"") != NULL);
	free(out);
	profile_free(p);
}

TEST(export_svg_odd_names)
{
	/* Control characters and bytes that are not UTF-8 cannot be in XML:
	 * they become '?'. Valid UTF-8 is kept. An empty name or a stack
	 * with no frames is [unknown]. */
	const char *names[] = { "bad\x01\xff", "caf\xc3\xa9", "", "\xed\xa0\x80" };
	const uint64_t counts[] = { 1, 2, 3, 4 };
	struct profile *p = svg_flat_profile(names, counts, 4);
	tb_add_stack(p, NULL, 0);
	tb_add_sample(p, 0, 4, 5, 0);
	tb_add_sample(p, 0, 99, 7, 0); /* no such stack: not counted */
	size_t len;
	char *out = svg_export(p, &len);
	CHECK(find_frame(out, "bad??").found);
	CHECK(find_frame(out, "caf\xc3\xa9").found);
	CHECK(find_frame(out, "???").found); /* a UTF-16 surrogate */
	struct svg_frame f = find_frame(out, "[unknown]");
	CHECK(f.found);
	CHECK_EQ_INT(f.samples, 8);
	CHECK(strstr(out, "(15 samples)") != NULL);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x20 && out[i] != '\n') {
			CHECK(!"control character in the SVG");
			break;
		}
	free(out);
	profile_free(p);
}

TEST(export_svg_empty)
{
	struct profile *p = svg_empty_profile();
	size_t len;
	char *out = svg_export(p, &len);
	CHECK(len > 5 && strncmp(out, "<?xml", 5) == 0);
	CHECK(strstr(out, "No samples") != NULL);
	CHECK(strstr(out, "Flame Graph: ? (0 samples)") != NULL);
	CHECK_EQ_INT(count_str(out, "<g class=\"f\">"), 0);
	CHECK(len > 7 && strcmp(out + len - 7, "</svg>\n") == 0);
	free(out);
	profile_free(p);
}

TEST(export_svg_write_error)
{
	FILE *f = fopen("/dev/full", "w");
	if (!f)
		return; /* not on this system */
	struct profile *p = svg_test_profile();
	char err[256] = "";
	CHECK_EQ_INT(export_run(&export_svg, p, f, err, sizeof(err)), -1);
	CHECK(strstr(err, "cannot write") != NULL);
	fclose(f);
	profile_free(p);
}

TEST(export_svg_registered)
{
	CHECK(export_find("svg") == &export_svg);
	CHECK_STR(export_svg.extension, ".svg");
	CHECK(!export_svg.binary);
}
