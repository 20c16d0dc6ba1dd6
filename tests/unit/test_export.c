/* Exporters on a small hand-built profile: folded lines exactly, and the
 * pprof output decoded back (gunzip, then a minimal protobuf walk) to
 * check what readers enforce. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../../src/export/export.h"
#include "../../src/model/profile.h"
#include "../../src/util/util.h"
#include "builder.h"
#include "unit.h"

#define TEST_TOTAL 18
#define TEST_MERGED_SAMPLES 7

/*
 * Functions: main, work, "leaf;x\n" (needs sanitizing), "" (unknown),
 * "op 12" (looks like a count). Two locations of work at different
 * addresses give two stacks with the same names, which folded merges.
 */
static struct profile *test_profile(void)
{
	struct profile *p = tb_empty_profile();
	static const char cmdline[] = "prog\0--fast\0"; /* argv, NUL-separated */
	p->hdr.cmdline.s = xstrndup(cmdline, sizeof(cmdline) - 1);
	p->hdr.cmdline.len = sizeof(cmdline) - 1;
	p->hdr.exe.s = xstrdup("/usr/bin/prog");
	p->hdr.exe.len = strlen(p->hdr.exe.s);
	p->hdr.hz = 100;
	p->hdr.start_realtime_ns = 1700000000000000000ull;
	p->duration_ns = 2000000000ull;

	static const uint8_t bid[] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };
	tb_add_mapping(p, 0x7000, 0x8000, "/lib/libc.so.6", NULL, 0);
	tb_add_mapping(p, 0x1000, 0x2000, "/usr/bin/prog", bid, sizeof(bid));

	tb_add_function(p, "main");    /* 0 */
	tb_add_function(p, "work");    /* 1 */
	tb_add_function(p, "leaf;x\n"); /* 2 */
	tb_add_function(p, "");        /* 3 */
	tb_add_function(p, "op 12");   /* 4 */

	tb_add_location(p, 0x1100, 1, 0);  /* 0 main */
	tb_add_location(p, 0x1200, 1, 1);  /* 1 work */
	tb_add_location(p, 0x1210, 1, 1);  /* 2 work, another call site */
	tb_add_location(p, 0x1300, 1, 2);  /* 3 leaf */
	tb_add_location(p, 0x9999, -1, 3); /* 4 unknown, no mapping */
	tb_add_location(p, 0x7100, 0, 4);  /* 5 op 12 */

	tb_add_stack(p, (const uint32_t[]){ 3, 1, 0 }, 3); /* 0 main;work;leaf */
	tb_add_stack(p, (const uint32_t[]){ 3, 2, 0 }, 3); /* 1 same names */
	tb_add_stack(p, (const uint32_t[]){ 1, 0 }, 2);    /* 2 main;work */
	tb_add_stack(p, (const uint32_t[]){ 4, 0 }, 2);    /* 3 main;[unknown] */
	tb_add_stack(p, (const uint32_t[]){ 5 }, 1);       /* 4 op 12 */
	tb_add_stack(p, NULL, 0);                          /* 5 empty */

	tb_add_thread(p, 100, "main");
	tb_add_thread(p, 101, "");

	tb_add_sample(p, 0, 0, 2, 100);
	tb_add_sample(p, 1, 0, 1, 200);
	tb_add_sample(p, 0, 1, 3, 300);
	tb_add_sample(p, 0, 2, 4, 400);
	tb_add_sample(p, 1, 3, 1, 500);
	tb_add_sample(p, 0, 4, 5, 600);
	tb_add_sample(p, 0, 0, 1, 700); /* same stack and thread as the first */
	tb_add_sample(p, 0, 5, 1, 800);
	return p;
}

/* Runs an exporter into memory. Returns the bytes (caller frees). */
static char *export_mem(const struct exporter *ex, const struct profile *p, size_t *len,
			int *rc)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	char err[256] = "";
	*rc = export_run(ex, p, f, err, sizeof(err));
	fclose(f);
	if (*rc != 0)
		printf("    export error: %s\n", err);
	return buf;
}

/* --- folded --- */

TEST(export_folded_lines)
{
	struct profile *p = test_profile();
	size_t len;
	int rc;
	char *out = export_mem(&export_folded, p, &len, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_STR(out, "[unknown] 1\n"
		       "main;[unknown] 1\n"
		       "main;work 4\n"
		       "main;work;leaf_x_ 7\n"
		       "op_12 5\n");
	free(out);
	profile_free(p);
}

TEST(export_folded_sanitize)
{
	struct profile *p = tb_empty_profile();
	tb_add_function(p, "a 1.5");      /* whitespace + decimal: a count */
	tb_add_function(p, "b\t\r7");     /* control chars become '_' */
	tb_add_function(p, "c  42");      /* every trailing space goes */
	tb_add_function(p, "d 4x");       /* not a trailing number: kept */
	tb_add_function(p, "operator;()"); /* ';' would split the frame */
	for (uint32_t i = 0; i < 5; i++) {
		tb_add_location(p, 0x100 + i, -1, i);
		tb_add_stack(p, (const uint32_t[]){ i }, 1);
	}
	tb_add_thread(p, 1, "t");
	for (uint32_t i = 0; i < 5; i++)
		tb_add_sample(p, 0, i, i + 1, 0);
	size_t len;
	int rc;
	char *out = export_mem(&export_folded, p, &len, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_STR(out, "a_1.5 1\n"
		       "b__7 2\n"
		       "c__42 3\n"
		       "d 4x 4\n"
		       "operator_() 5\n");
	free(out);
	profile_free(p);
}

TEST(export_folded_empty)
{
	struct profile *p = tb_empty_profile();
	size_t len;
	int rc;
	char *out = export_mem(&export_folded, p, &len, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(len, 0);
	free(out);
	profile_free(p);
}

/* --- pprof: gunzip and walk the protobuf --- */

static uint8_t *gunzip(const char *in, size_t inlen, size_t *outlen)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK) /* gzip only, not zlib */
		return NULL;
	size_t cap = 4096, len = 0;
	uint8_t *out = xmalloc(cap);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)inlen;
	int rc;
	do {
		if (len == cap)
			out = xrealloc(out, cap *= 2);
		zs.next_out = out + len;
		zs.avail_out = (uInt)(cap - len);
		rc = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
	} while (rc == Z_OK);
	inflateEnd(&zs);
	if (rc != Z_STREAM_END || zs.avail_in != 0) {
		free(out);
		return NULL;
	}
	*outlen = len;
	return out;
}

struct pbr {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t pbr_varint(struct pbr *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->bad = 1;
			return 0;
		}
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

/* Next field: returns 1 with its number and wire type, and the value
 * (varint) or the bytes (length-delimited). */
static int pbr_next(struct pbr *r, unsigned *field, unsigned *wt, uint64_t *val,
		    struct pbr *sub)
{
	if (r->bad || r->p >= r->end)
		return 0;
	uint64_t key = pbr_varint(r);
	*field = (unsigned)(key >> 3);
	*wt = (unsigned)(key & 7);
	if (*wt == 0) {
		*val = pbr_varint(r);
	} else if (*wt == 2) {
		uint64_t n = pbr_varint(r);
		if (r->bad || n > (uint64_t)(r->end - r->p)) {
			r->bad = 1;
			return 0;
		}
		sub->p = r->p;
		sub->end = r->p + n;
		sub->bad = 0;
		r->p += n;
	} else {
		r->bad = 1; /* the exporter writes no fixed-width fields */
		return 0;
	}
	return !r->bad;
}

/* Ids seen per table, small enough for linear scans. */
#define MAX_IDS 64
struct idset {
	uint64_t v[MAX_IDS];
	size_t n;
};

static void idset_add(struct idset *s, uint64_t v)
{
	if (s->n < MAX_IDS)
		s->v[s->n++] = v;
}

static int idset_has(const struct idset *s, uint64_t v)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == v)
			return 1;
	return 0;
}

struct decoded {
	char *strings[64];
	size_t nstrings;
	size_t nsample_types, nsamples, ntime_nanos;
	size_t bad_value_counts, empty_stacks;
	uint64_t total_count, total_cpu, period, duration, time_nanos;
	uint64_t comment, period_type_type, first_mapping_id;
	struct idset sample_locs, locations, location_funcs, location_maps, functions, mappings;
	uint64_t function_names[64];
	size_t nfunction_names;
	uint64_t label_keys[64], label_strs[64];
	size_t nlabels;
	uint64_t build_id;
};

static void decode_sample(struct pbr *r, struct decoded *d)
{
	unsigned f, wt;
	uint64_t v;
	struct pbr sub, it;
	size_t nvalues = 0, nlocs = 0;
	while (pbr_next(r, &f, &wt, &v, &sub)) {
		if (f == 1 && wt == 2) {
			it = sub;
			while (it.p < it.end && !it.bad) {
				idset_add(&d->sample_locs, pbr_varint(&it));
				nlocs++;
			}
		} else if (f == 2 && wt == 2) {
			it = sub;
			while (it.p < it.end && !it.bad) {
				uint64_t x = pbr_varint(&it);
				if (nvalues == 0)
					d->total_count += x;
				else if (nvalues == 1)
					d->total_cpu += x;
				nvalues++;
			}
		} else if (f == 3 && wt == 2) {
			uint64_t key = 0, str = 0;
			while (pbr_next(&sub, &f, &wt, &v, &it))
				if (f == 1)
					key = v;
				else if (f == 2)
					str = v;
			if (d->nlabels < 64) {
				d->label_keys[d->nlabels] = key;
				d->label_strs[d->nlabels] = str;
				d->nlabels++;
			}
		}
	}
	if (nvalues != 2)
		d->bad_value_counts++;
	if (!nlocs)
		d->empty_stacks++;
}

static void decode_location(struct pbr *r, struct decoded *d)
{
	unsigned f, wt;
	uint64_t v;
	struct pbr sub, line;
	while (pbr_next(r, &f, &wt, &v, &sub)) {
		if (f == 1)
			idset_add(&d->locations, v);
		else if (f == 2)
			idset_add(&d->location_maps, v);
		else if (f == 4 && wt == 2)
			while (pbr_next(&sub, &f, &wt, &v, &line))
				if (f == 1)
					idset_add(&d->location_funcs, v);
	}
}

static int decode_profile(const uint8_t *buf, size_t len, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	struct pbr r = { buf, buf + len, 0 }, sub, in;
	unsigned f, wt, f2, wt2;
	uint64_t v, v2;
	while (pbr_next(&r, &f, &wt, &v, &sub)) {
		switch (f) {
		case 1:
			d->nsample_types++;
			break;
		case 2:
			d->nsamples++;
			decode_sample(&sub, d);
			break;
		case 3:
			while (pbr_next(&sub, &f2, &wt2, &v2, &in)) {
				if (f2 == 1) {
					if (!d->mappings.n)
						d->first_mapping_id = v2;
					idset_add(&d->mappings, v2);
				} else if (f2 == 6) {
					d->build_id = v2;
				}
			}
			break;
		case 4:
			decode_location(&sub, d);
			break;
		case 5:
			while (pbr_next(&sub, &f2, &wt2, &v2, &in))
				if (f2 == 1)
					idset_add(&d->functions, v2);
				else if (f2 == 2 && d->nfunction_names < 64)
					d->function_names[d->nfunction_names++] = v2;
			break;
		case 6:
			if (d->nstrings < 64)
				d->strings[d->nstrings++] =
					xstrndup((const char *)sub.p, (size_t)(sub.end - sub.p));
			break;
		case 9:
			d->ntime_nanos++;
			d->time_nanos = v;
			break;
		case 10:
			d->duration = v;
			break;
		case 11:
			while (pbr_next(&sub, &f2, &wt2, &v2, &in))
				if (f2 == 1)
					d->period_type_type = v2;
			break;
		case 12:
			d->period = v;
			break;
		case 13:
			d->comment = v;
			break;
		}
	}
	return !r.bad;
}

static void decoded_free(struct decoded *d)
{
	for (size_t i = 0; i < d->nstrings; i++)
		free(d->strings[i]);
}

static const char *str_at(const struct decoded *d, uint64_t i)
{
	return i < d->nstrings ? d->strings[i] : NULL;
}

static int has_string(const struct decoded *d, const char *s)
{
	for (size_t i = 0; i < d->nstrings; i++)
		if (strcmp(d->strings[i], s) == 0)
			return 1;
	return 0;
}

/* Exports p as pprof and decodes it into d; 0 on failure. */
static int pprof_roundtrip(const struct profile *p, struct decoded *d)
{
	size_t len;
	int rc;
	char *gz = export_mem(&export_pprof, p, &len, &rc);
	CHECK_EQ_INT(rc, 0);
	/* gzip magic: a .pb.gz that is not gzip is rejected by uploaders. */
	CHECK(len > 2 && (uint8_t)gz[0] == 0x1f && (uint8_t)gz[1] == 0x8b);
	size_t rawlen = 0;
	uint8_t *raw = gunzip(gz, len, &rawlen);
	free(gz);
	CHECK(raw != NULL);
	if (!raw)
		return 0;
	int ok = decode_profile(raw, rawlen, d);
	CHECK(ok);
	free(raw);
	return ok;
}

TEST(export_pprof_structure)
{
	struct profile *p = test_profile();
	struct decoded d;
	if (!pprof_roundtrip(p, &d)) {
		profile_free(p);
		return;
	}
	CHECK(d.nstrings > 0);
	CHECK_STR(str_at(&d, 0), "");
	/* Deduplicated: "main" is both a function and a thread name. */
	size_t mains = 0;
	for (size_t i = 0; i < d.nstrings; i++)
		mains += strcmp(d.strings[i], "main") == 0;
	CHECK_EQ_INT(mains, 1);

	CHECK_EQ_INT(d.nsample_types, 2);
	CHECK_EQ_INT(d.nsamples, TEST_MERGED_SAMPLES);
	CHECK_EQ_INT(d.bad_value_counts, 0);
	CHECK_EQ_INT(d.empty_stacks, 1);
	CHECK_EQ_INT(d.total_count, TEST_TOTAL);
	CHECK_EQ_INT(d.total_cpu, TEST_TOTAL * 10000000ull);
	CHECK(has_string(&d, "samples") && has_string(&d, "count") && has_string(&d, "cpu") &&
	      has_string(&d, "nanoseconds"));
	CHECK_STR(str_at(&d, d.period_type_type), "cpu");
	CHECK_EQ_INT(d.period, 10000000);
	CHECK_EQ_INT(d.ntime_nanos, 1);
	CHECK(d.time_nanos == p->hdr.start_realtime_ns);
	CHECK(d.duration == p->duration_ns);
	CHECK_STR(str_at(&d, d.comment), "prog --fast");

	/* Tables: ids are 1-based and unique, every reference resolves. */
	CHECK_EQ_INT(d.locations.n, p->nlocations);
	CHECK_EQ_INT(d.functions.n, p->nfunctions);
	CHECK_EQ_INT(d.mappings.n, p->nmappings);
	CHECK(!idset_has(&d.locations, 0) && !idset_has(&d.functions, 0) &&
	      !idset_has(&d.mappings, 0));
	for (size_t i = 0; i < d.sample_locs.n; i++)
		CHECK(idset_has(&d.locations, d.sample_locs.v[i]));
	for (size_t i = 0; i < d.location_funcs.n; i++)
		CHECK(idset_has(&d.functions, d.location_funcs.v[i]));
	for (size_t i = 0; i < d.location_maps.n; i++)
		CHECK(idset_has(&d.mappings, d.location_maps.v[i]));
	/* The executable's mapping (index 1) goes first. */
	CHECK_EQ_INT(d.first_mapping_id, 2);
	CHECK_STR(str_at(&d, d.build_id), "deadbeef01");

	/* Names kept raw: sanitizing is folded's business, not pprof's. */
	size_t found = 0;
	for (size_t i = 0; i < d.nfunction_names; i++) {
		const char *n = str_at(&d, d.function_names[i]);
		found += n && (strcmp(n, "leaf;x\n") == 0 || strcmp(n, "op 12") == 0);
	}
	CHECK_EQ_INT(found, 2);

	/* Labels: "thread" only where the name is known, "tid" always. */
	size_t thread_labels = 0, tid_labels = 0;
	for (size_t i = 0; i < d.nlabels; i++) {
		const char *key = str_at(&d, d.label_keys[i]);
		if (key && strcmp(key, "thread") == 0) {
			thread_labels++;
			CHECK_STR(str_at(&d, d.label_strs[i]), "main");
		} else if (key && strcmp(key, "tid") == 0) {
			tid_labels++;
		}
	}
	CHECK_EQ_INT(tid_labels, TEST_MERGED_SAMPLES);
	CHECK_EQ_INT(thread_labels, 5); /* samples on thread 0 */

	decoded_free(&d);
	profile_free(p);
}

TEST(export_pprof_defaults)
{
	/* No samples, no hz, no end record: still a valid profile. */
	struct profile *p = tb_empty_profile();
	struct decoded d;
	if (!pprof_roundtrip(p, &d)) {
		profile_free(p);
		return;
	}
	CHECK_STR(str_at(&d, 0), "");
	CHECK_EQ_INT(d.nsample_types, 2);
	CHECK_EQ_INT(d.nsamples, 0);
	CHECK_EQ_INT(d.period, 1000000000ull / 99);
	CHECK_EQ_INT(d.ntime_nanos, 1);
	CHECK_EQ_INT(d.comment, 0);
	decoded_free(&d);
	profile_free(p);

	/* Killed mid-run (duration 0): the last sample's time stands in. */
	p = test_profile();
	p->duration_ns = 0;
	if (pprof_roundtrip(p, &d)) {
		CHECK_EQ_INT(d.duration, 800);
		decoded_free(&d);
	}
	profile_free(p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(export_pprof_many_strings)
{
	/* More strings than the table's first hash size: it must grow and
	 * still deduplicate. Every function appears in two stacks. */
	enum { NFUNC = 3000 };
	struct profile *p = tb_empty_profile();
	char name[32];
	for (uint32_t i = 0; i < NFUNC; i++) {
		snprintf(name, sizeof(name), "fn_%u", i);
		tb_add_function(p, name);
		tb_add_location(p, 0x1000 + i, -1, i);
	}
	for (uint32_t i = 0; i + 1 < NFUNC; i++)
		tb_add_stack(p, (const uint32_t[]){ i + 1, i }, 2);
	tb_add_thread(p, 7, "worker");
	for (uint32_t i = 0; i + 1 < NFUNC; i++)
		tb_add_sample(p, 0, i, 1, i);

	size_t len, rawlen = 0;
	int rc;
	char *gz = export_mem(&export_pprof, p, &len, &rc);
	CHECK_EQ_INT(rc, 0);
	uint8_t *raw = gunzip(gz, len, &rawlen);
	free(gz);
	CHECK(raw != NULL);
	if (raw) {
		char **strs = xcalloc(NFUNC + 64, sizeof(char *));
		size_t n = 0, nfuncs = 0, nsamples = 0;
		struct pbr r = { raw, raw + rawlen, 0 }, sub;
		unsigned f, wt;
		uint64_t v;
		while (pbr_next(&r, &f, &wt, &v, &sub)) {
			if (f == 6 && n < NFUNC + 64)
				strs[n++] = xstrndup((const char *)sub.p, (size_t)(sub.end - sub.p));
			nfuncs += f == 5;
			nsamples += f == 2;
		}
		CHECK(!r.bad);
		CHECK_EQ_INT(nfuncs, NFUNC);
		CHECK_EQ_INT(nsamples, NFUNC - 1);
		/* "", samples, count, cpu, nanoseconds, thread, worker, tid and
		 * the function names, each once. */
		CHECK_EQ_INT(n, NFUNC + 8);
		CHECK(n && strcmp(strs[0], "") == 0);
		qsort(strs, n, sizeof(char *), cmp_str);
		for (size_t i = 1; i < n; i++)
			CHECK(strcmp(strs[i - 1], strs[i]) != 0);
		for (size_t i = 0; i < n; i++)
			free(strs[i]);
		free(strs);
		free(raw);
	}
	profile_free(p);
}

TEST(export_write_errors)
{
	/* /dev/full fails every write with ENOSPC: every exporter must say so. */
	FILE *f = fopen("/dev/full", "w");
	if (!f)
		return; /* not on this system */
	struct profile *p = test_profile();
	for (size_t i = 0; exporters[i]; i++) {
		char err[256] = "";
		clearerr(f);
		CHECK_EQ_INT(export_run(exporters[i], p, f, err, sizeof(err)), -1);
		CHECK(strstr(err, "cannot write") != NULL);
	}
	fclose(f);
	profile_free(p);
}

TEST(export_find_names)
{
	CHECK(export_find("folded") == &export_folded);
	CHECK(export_find("pprof") == &export_pprof);
	CHECK_STR(export_pprof.extension, ".pb.gz");
	CHECK(export_pprof.binary);
	CHECK_STR(export_folded.extension, ".folded");
}
