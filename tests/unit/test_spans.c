/* The model's instrumentation records: spans, attributes, operations,
 * allocations charged to spans, GC, counters, label sets and the views
 * and filters built on them. Captures are written with the real writer
 * and read back with profile_read(). */
#include <string.h>

#include "../../src/capture/encoding.h"
#include "../../src/capture/format.h"
#include "../../src/model/filter.h"
#include "../../src/model/profile.h"
#include "builder.h"
#include "unit.h"

enum {
	S_MAIN = 1, S_WORKER, S_PARSE, S_EVAL, S_FILE, S_QUERY, S_BYTECODE, S_ROWS, S_REQUEST,
	S_CHECKOUT, S_USER, S_BOB, S_CART, S_LIVE, S_DONE, S_COUNT
};

static const char *const strings[S_COUNT] = {
	[S_MAIN] = "main", [S_WORKER] = "worker", [S_PARSE] = "parse", [S_EVAL] = "eval",
	[S_FILE] = "a.c", [S_QUERY] = "query", [S_BYTECODE] = "bytecode", [S_ROWS] = "rows",
	[S_REQUEST] = "request", [S_CHECKOUT] = "checkout", [S_USER] = "user", [S_BOB] = "bob",
	[S_CART] = "cart", [S_LIVE] = "live", [S_DONE] = "done",
};

/* Strings, two threads (tid 100 "main", 101 "worker") and three span
 * sites: 1 parse (a.c:10), 2 eval (a.c:20), 3 query (no file). */
static struct tb_capture *start(void)
{
	struct tb_capture *c = tb_capture_new();
	for (unsigned i = 1; i < S_COUNT; i++)
		tb_capture_string(c, i, strings[i]);
	TB_REC(c, CAPTURE_REC_THREAD, 100, S_MAIN, 0);
	TB_REC(c, CAPTURE_REC_THREAD, 101, S_WORKER, 0);
	TB_REC(c, CAPTURE_REC_SPAN_SITE, 1, S_PARSE, 1, S_FILE, 10);
	TB_REC(c, CAPTURE_REC_SPAN_SITE, 2, S_EVAL, 1, S_FILE, 20);
	TB_REC(c, CAPTURE_REC_SPAN_SITE, 3, S_QUERY, 0, 0, 0);
	return c;
}

static struct profile *load(struct tb_capture *c)
{
	char err[256];
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	return p;
}

/* A child node of parent by name, or 0. */
static uint32_t child_named(const struct profile_spans *s, uint32_t parent, const char *name)
{
	for (uint32_t n = s->nodes[parent].child; n; n = s->nodes[n].sibling)
		if (!strcmp(s->sites[s->nodes[n].site].name, name))
			return n;
	return 0;
}

/* Thread 100: parse [100, 1000) holding eval [200, 400); thread 101:
 * parse [150, 600) holding eval [300, 500). Thread 101's records come
 * first, and the allocations before every span record: the model must
 * not depend on the order of threads or kinds. */
static struct profile *two_threads(void)
{
	struct tb_capture *c = start();
	/* Allocations of thread 100: before every span, at parse's begin,
	 * at eval's begin, at eval's end and at parse's end. */
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 50, 100, 0x1000, 16, 0);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 100, 100, 0x2000, 1, 0);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 200, 100, 0x3000, 2, 0);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 400, 100, 0x4000, 4, 0);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 1000, 100, 0x5000, 8, 0);

	TB_REC(c, CAPTURE_REC_SPAN_BEGIN, 150, 101, 1);
	TB_REC(c, CAPTURE_REC_SPAN_BEGIN, 300, 101, 2);
	TB_REC(c, CAPTURE_REC_SPAN_END, 500, 101);
	TB_REC(c, CAPTURE_REC_GC_BEGIN, 700, 101);
	TB_REC(c, CAPTURE_REC_GC_END, 750, 101, 4096);
	TB_REC(c, CAPTURE_REC_SPAN_END, 600, 101);

	TB_REC(c, CAPTURE_REC_SPAN_BEGIN, 100, 100, 1);
	TB_REC(c, CAPTURE_REC_SPAN_ATTR, 100, S_ROWS, 0, zigzag_encode(-3));
	TB_REC(c, CAPTURE_REC_SPAN_BEGIN, 200, 100, 2);
	TB_REC(c, CAPTURE_REC_OPS, 250, 100, S_BYTECODE, 5);
	TB_REC(c, CAPTURE_REC_SPAN_ATTR, 100, S_REQUEST, 1, S_CHECKOUT);
	TB_REC(c, CAPTURE_REC_SPAN_END, 400, 100);
	TB_REC(c, CAPTURE_REC_OPS, 450, 100, S_BYTECODE, 2);
	TB_REC(c, CAPTURE_REC_SPAN_ATTR, 100, S_USER, 1, S_BOB); /* parse's again */
	TB_REC(c, CAPTURE_REC_SPAN_END, 1000, 100);
	TB_REC(c, CAPTURE_REC_OPS, 2000, 100, S_BYTECODE, 1);
	TB_REC(c, CAPTURE_REC_OPS, 2100, 100, S_BYTECODE, 1);
	TB_REC(c, CAPTURE_REC_GC_BEGIN, 800, 100);
	TB_REC(c, CAPTURE_REC_THREAD_END, 100, 3000);
	TB_REC(c, CAPTURE_REC_END, 5000, 0, 0, 0);
	return load(c);
}

TEST(spans_nested_two_threads)
{
	struct profile *p = two_threads();
	if (!p)
		return;
	CHECK_EQ_INT(p->status, CAPTURE_READ_END);
	const struct profile_spans *s = p->spans;
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_EQ_INT(s->nsites, 3);
	CHECK_STR(s->sites[0].file, "a.c");
	CHECK_EQ_INT(s->sites[1].line, 20);
	CHECK_STR(s->sites[2].file, "");
	CHECK_EQ_INT(s->nspans, 4);
	if (s->nspans != 4)
		goto out;
	/* Start order across threads. */
	const uint64_t start[] = { 100, 150, 200, 300 }, end[] = { 1000, 600, 400, 500 };
	const uint32_t site[] = { 0, 0, 1, 1 }, parent[] = { SPAN_NONE, SPAN_NONE, 0, 1 };
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_INT(s->spans[i].start_ns, start[i]);
		CHECK_EQ_INT(s->spans[i].end_ns, end[i]);
		CHECK_EQ_INT(s->spans[i].site, site[i]);
		CHECK_EQ_INT(s->spans[i].parent, parent[i]);
		CHECK_EQ_INT(s->spans[i].depth, parent[i] == SPAN_NONE ? 0 : 1);
		CHECK(!s->spans[i].unclosed);
	}
	CHECK_STR(p->threads[s->spans[0].thread].name, "main");
	CHECK_STR(p->threads[s->spans[1].thread].name, "worker");

	/* Attributes: each span's contiguous, in record order. */
	const struct profile_span *a = &s->spans[0], *b = &s->spans[2];
	CHECK_EQ_INT(a->nattrs, 2);
	CHECK_EQ_INT(b->nattrs, 1);
	CHECK_EQ_INT(s->spans[1].nattrs, 0);
	if (a->nattrs == 2 && b->nattrs == 1) {
		CHECK_STR(s->attrs[a->attr].key, "rows");
		CHECK(s->attrs[a->attr].str == NULL);
		CHECK_EQ_INT(s->attrs[a->attr].num, -3);
		CHECK_STR(s->attrs[a->attr + 1].key, "user");
		CHECK_STR(s->attrs[a->attr + 1].str, "bob");
		CHECK_STR(s->attrs[b->attr].key, "request");
		CHECK_STR(s->attrs[b->attr].str, "checkout");
	}

	/* Operations: to the innermost open span, or to none. */
	CHECK_EQ_INT(b->nops, 1);
	CHECK_EQ_INT(a->nops, 1);
	if (b->nops == 1 && a->nops == 1) {
		CHECK_EQ_INT(s->ops[b->ops].n, 5);
		CHECK_STR(s->ops[b->ops].kind, "bytecode");
		CHECK_EQ_INT(s->ops[a->ops].n, 2);
	}
	CHECK_EQ_INT(s->nops, 3);
	CHECK_EQ_INT(s->ops[s->nops - 1].span, SPAN_NONE);
	CHECK_EQ_INT(s->ops[s->nops - 1].n, 2);

	/* Allocations: begin inclusive, end exclusive. */
	CHECK_EQ_INT((long long)a->alloc_bytes, 1 + 4);
	CHECK_EQ_INT((long long)a->alloc_count, 2);
	CHECK_EQ_INT((long long)b->alloc_bytes, 2);
	CHECK_EQ_INT((long long)s->spans[1].alloc_bytes, 0);

	/* GC: the worker's closed pause, main's open at its thread's end. */
	CHECK_EQ_INT(s->ngcs, 2);
	CHECK_EQ_INT(s->gc_count, 2);
	CHECK_EQ_INT(s->gc_ns, 50 + 2200);
	CHECK_EQ_INT(s->gc_reclaimed, 4096);
	if (s->ngcs == 2) {
		CHECK(!s->gcs[0].unclosed);
		CHECK(s->gcs[1].unclosed);
		CHECK_EQ_INT(s->gcs[1].end_ns, 3000);
	}

	/* The call tree: merged across threads by name. */
	CHECK_EQ_INT(s->nnodes, 3);
	uint32_t parse = child_named(s, 0, "parse");
	uint32_t eval = parse ? child_named(s, parse, "eval") : 0;
	CHECK(parse && eval);
	if (parse && eval) {
		CHECK_EQ_INT(s->nodes[parse].calls, 2);
		CHECK_EQ_INT(s->nodes[parse].total_ns, 900 + 450);
		CHECK_EQ_INT(s->nodes[parse].self_ns, 700 + 250);
		CHECK_EQ_INT(s->nodes[eval].calls, 2);
		CHECK_EQ_INT(s->nodes[eval].total_ns, 400);
		CHECK_EQ_INT(s->nodes[eval].self_ns, 400);
		CHECK_EQ_INT(s->nodes[0].total_ns, 1350);
		CHECK_EQ_INT(s->nodes[0].self_ns, 0);
		CHECK_EQ_INT((long long)s->nodes[eval].total_alloc_bytes, 2);
		CHECK_EQ_INT((long long)s->nodes[parse].alloc_bytes, 5);
		CHECK_EQ_INT((long long)s->nodes[parse].total_alloc_bytes, 7);
		CHECK_EQ_INT((long long)s->nodes[0].alloc_bytes, 16 + 8);
		CHECK_EQ_INT((long long)s->nodes[0].total_alloc_bytes, 31);

		const char *kinds[4];
		uint64_t counts[4];
		CHECK_EQ_INT(span_node_ops(p, parse, false, kinds, counts, 4), 1);
		CHECK_EQ_INT(counts[0], 2);
		CHECK_EQ_INT(span_node_ops(p, parse, true, kinds, counts, 4), 1);
		CHECK_STR(kinds[0], "bytecode");
		CHECK_EQ_INT(counts[0], 7);
		CHECK_EQ_INT(span_node_ops(p, 0, false, kinds, counts, 4), 1);
		CHECK_EQ_INT(counts[0], 2);
		CHECK_EQ_INT(span_node_ops(p, 0, true, kinds, counts, 4), 1);
		CHECK_EQ_INT(counts[0], 9);
		CHECK_EQ_INT(span_node_ops(p, eval, true, kinds, counts, 0), 0);
	}
out:
	profile_free(p);
}

TEST(spans_view_totals)
{
	struct profile *p = two_threads();
	if (!p)
		return;
	CHECK(profile_span_view(p));
	CHECK(p->span_view);
	CHECK(p->unit == NULL);
	/* One sample per (node, thread): parse and eval on two threads. */
	CHECK_EQ_INT(p->nsamples, 4);
	CHECK_EQ_INT(p->total_cpu_ns, p->spans->nodes[0].total_ns);
	CHECK_EQ_INT(p->total_count, 4);
	uint64_t sum = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct profile_sample *smp = &p->samples[i];
		uint32_t fn[8];
		size_t n = profile_stack_functions(p, &p->stacks[smp->stack], fn, 8);
		sum += smp->cpu_ns;
		CHECK(n >= 1);
		if (n == 2) {
			CHECK_STR(p->functions[fn[0]].name, "eval");
			CHECK_STR(p->functions[fn[1]].name, "parse");
			CHECK_STR(p->functions[fn[1]].file, "a.c");
			CHECK_EQ_INT(p->functions[fn[1]].start_line, 10);
			CHECK_EQ_INT(smp->cpu_ns, 200);
		} else if (n == 1) {
			CHECK_STR(p->functions[fn[0]].name, "parse");
			CHECK_EQ_INT(smp->cpu_ns, smp->thread == 0 ? 700 : 250);
		}
		CHECK_EQ_INT(smp->count, 1);
	}
	CHECK_EQ_INT(sum, 1350);
	CHECK(profile_max_stack_functions(p) >= 2);
	profile_free(p);
}

TEST(spans_unclosed_notes_counters)
{
	struct tb_capture *c = start();
	/* A flight recorder's end without its begin, and the agent's notes. */
	TB_REC(c, CAPTURE_REC_SPAN_END, 10, 100);
	TB_REC(c, CAPTURE_REC_SPAN_NOTE, CAPTURE_SPAN_TOO_SHORT, 3);
	TB_REC(c, CAPTURE_REC_SPAN_NOTE, CAPTURE_SPAN_TOO_SHORT, 4);
	TB_REC(c, CAPTURE_REC_SPAN_NOTE, 99, 1); /* a reason from the future */
	TB_REC(c, CAPTURE_REC_SPAN_BEGIN, 100, 100, 1);
	TB_REC(c, CAPTURE_REC_SPAN_BEGIN, 200, 100, 3);
	TB_REC(c, CAPTURE_REC_THREAD_END, 100, 3000);
	TB_REC(c, CAPTURE_REC_SPAN_BEGIN, 2600, 101, 3);
	TB_REC(c, CAPTURE_REC_COUNTER, 100, S_LIVE, zigzag_encode(5), 1);
	TB_REC(c, CAPTURE_REC_COUNTER, 100, S_DONE, zigzag_encode(10), 0);
	TB_REC(c, CAPTURE_REC_COUNTER, 200, S_LIVE, zigzag_encode(-2), 1);
	TB_REC(c, CAPTURE_REC_COUNTER, 200, S_DONE, zigzag_encode(25), 0);
	TB_REC(c, CAPTURE_REC_END, 5000, 0, 0, 0);
	struct profile *p = load(c);
	if (!p)
		return;
	const struct profile_spans *s = p->spans;
	CHECK(s && s->nspans == 3);
	if (!s || s->nspans != 3)
		goto out;
	CHECK_EQ_INT(s->notes[CAPTURE_SPAN_END_WITHOUT_BEGIN], 1);
	CHECK_EQ_INT(s->notes[CAPTURE_SPAN_TOO_SHORT], 7);
	/* At the thread's end, then at the capture's end. */
	CHECK(s->spans[0].unclosed && s->spans[1].unclosed && s->spans[2].unclosed);
	CHECK_EQ_INT(s->spans[0].end_ns, 3000);
	CHECK_EQ_INT(s->spans[1].end_ns, 3000);
	CHECK_EQ_INT(s->spans[1].parent, 0);
	CHECK_EQ_INT(s->spans[2].end_ns, 5000);
	CHECK_EQ_INT(s->nodes[0].total_ns, 2900 + 2400);

	CHECK_EQ_INT(s->nseries, 2);
	if (s->nseries == 2) {
		const struct profile_series *live = &s->series[0], *done = &s->series[1];
		CHECK_STR(live->name, "live");
		CHECK(live->level);
		CHECK(!done->level);
		CHECK_EQ_INT(live->n, 2);
		CHECK_EQ_INT(done->n, 2);
		CHECK_EQ_INT((long long)live->points[1].value, -2);
		CHECK_EQ_INT(live->points[1].time_ns, 200);
		CHECK_EQ_INT((long long)done->points[1].value, 25);
	}
out:
	profile_free(p);
}

/* Label sets 1 {request=checkout}, 2 {request=checkout, user=bob},
 * 3 {request=cart}, 4 {request=checkout then request=cart}; CPU samples
 * on stack 1 with no labels (the field left out) and sets 0 .. 4; heap
 * allocations on the same stack under sets 0, 1 and 2. */
static struct profile *labelled(void)
{
	struct tb_capture *c = start();
	const uint64_t pcs[] = { 0x400100, 0x400200 };
	tb_capture_stack(c, 1, pcs, 2);
	TB_REC(c, CAPTURE_REC_LABEL_SET, 1, 0, S_REQUEST, S_CHECKOUT);
	TB_REC(c, CAPTURE_REC_LABEL_SET, 2, 1, S_USER, S_BOB);
	TB_REC(c, CAPTURE_REC_LABEL_SET, 3, 0, S_REQUEST, S_CART);
	TB_REC(c, CAPTURE_REC_LABEL_SET, 4, 1, S_REQUEST, S_CART);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 10, 100, 1, 1, 1000000);
	for (uint64_t set = 0; set <= 4; set++)
		TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 20 + set, 100, 1, 1, 1000000, set);
	TB_REC(c, CAPTURE_REC_WALL_SAMPLE, 30, 101, 1, 1, 0, 0, 2);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 40, 100, 0x1000, 10, 1);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 41, 100, 0x2000, 20, 1, 1);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 42, 100, 0x3000, 40, 1, 2);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 43, 100, 0x4000, 80, 1, 2);
	TB_REC(c, CAPTURE_REC_END, 100, 0, 0, 0);
	return load(c);
}

TEST(spans_label_sets)
{
	struct profile *p = labelled();
	if (!p)
		return;
	CHECK_EQ_INT(p->status, CAPTURE_READ_END);
	/* Sites but no span. */
	CHECK(p->spans && p->spans->nspans == 0 && p->spans->nnodes == 1);
	CHECK(!profile_span_view(p));
	CHECK_EQ_INT(p->nlabel_sets, 5);
	CHECK_EQ_INT(p->nsamples, 7);
	if (p->nsamples == 7) {
		CHECK_EQ_INT(p->samples[0].labels, 0);
		for (uint32_t set = 0; set <= 4; set++)
			CHECK_EQ_INT(p->samples[1 + set].labels, set);
		CHECK_EQ_INT(p->samples[6].labels, 2);
	}
	CHECK(profile_labels_have(p, 1, "request", "checkout"));
	CHECK(profile_labels_have(p, 2, "request", "checkout"));
	CHECK(profile_labels_have(p, 2, "user", NULL));
	CHECK(profile_labels_have(p, 2, "user", "bob"));
	CHECK(!profile_labels_have(p, 2, "user", "alice"));
	CHECK(!profile_labels_have(p, 3, "user", NULL));
	CHECK(!profile_labels_have(p, 0, "request", NULL));
	CHECK(!profile_labels_have(p, 4, "request", "checkout")); /* hidden by cart */
	CHECK(profile_labels_have(p, 4, "request", "cart"));
	CHECK(!profile_labels_have(p, 99, "request", NULL));

	/* Heap sites split by label set. */
	CHECK(p->heap && p->heap->nsites == 3);
	if (p->heap && p->heap->nsites == 3) {
		CHECK_EQ_INT(p->heap->sites[2].labels, 2);
		CHECK_EQ_INT((long long)p->heap->sites[2].alloc_bytes, 120);
	}
	profile_free(p);
}

/* The CPU samples (labels 0, 0, 1, 2, 3, 4 and the wall sample's 2) a
 * filter keeps, as a bit mask by sample index. */
static unsigned kept(const struct profile *p, const char *focus1, const char *focus2,
		     const char *ignore)
{
	struct profile_filter f;
	char err[256];
	profile_filter_init(&f);
	if (focus1)
		CHECK(profile_filter_add_tag(&f, false, focus1, err, sizeof(err)));
	if (focus2)
		CHECK(profile_filter_add_tag(&f, false, focus2, err, sizeof(err)));
	if (ignore)
		CHECK(profile_filter_add_tag(&f, true, ignore, err, sizeof(err)));
	CHECK(profile_filter_active(&f));
	struct profile *v = profile_filter(p, &f, err, sizeof(err));
	unsigned mask = 0;
	for (size_t i = 0; v && i < v->nsamples; i++)
		for (size_t k = 0; k < p->nsamples; k++)
			if (v->samples[i].time_ns == p->samples[k].time_ns)
				mask |= 1u << k;
	profile_view_free(v);
	profile_filter_release(&f);
	return mask;
}

TEST(spans_tag_filters)
{
	struct profile *p = labelled();
	if (!p)
		return;
	/* Sample k: bit k. Labels by sample: 0, 0, 1, 2, 3, 4, 2. */
	CHECK_EQ_INT(kept(p, "request=checkout", NULL, NULL), 0x04 | 0x08 | 0x40);
	CHECK_EQ_INT(kept(p, "user", NULL, NULL), 0x08 | 0x40);
	CHECK_EQ_INT(kept(p, "request=cart", "user", NULL), 0x08 | 0x10 | 0x20 | 0x40);
	CHECK_EQ_INT(kept(p, NULL, NULL, "request"), 0x01 | 0x02);
	CHECK_EQ_INT(kept(p, "request", NULL, "user=bob"), 0x04 | 0x10 | 0x20);
	CHECK_EQ_INT(kept(p, "request=", NULL, NULL), 0); /* the empty value */

	struct profile_filter f;
	char err[256] = "";
	profile_filter_init(&f);
	CHECK(!profile_filter_add_tag(&f, false, "=x", err, sizeof(err)));
	CHECK(strstr(err, "--tag-focus '=x'") != NULL);
	CHECK(!profile_filter_add_tag(&f, true, "", err, sizeof(err)));
	CHECK(strstr(err, "--tag-ignore") != NULL);
	CHECK(!profile_filter_active(&f));
	CHECK(profile_filter_add_tag(&f, false, "request=checkout", err, sizeof(err)));
	CHECK(profile_filter_add_tag(&f, true, "user", err, sizeof(err)));
	char desc[256];
	profile_filter_describe(&f, desc, sizeof(desc));
	CHECK_STR(desc, "tag-focus 'request=checkout', tag-ignore 'user'");
	profile_filter_release(&f);

	/* Heap views carry their sites' labels. */
	CHECK(profile_heap_view(p, HEAP_ALLOC_BYTES));
	profile_filter_init(&f);
	CHECK(profile_filter_add_tag(&f, false, "request=checkout", err, sizeof(err)));
	struct profile *v = profile_filter(p, &f, err, sizeof(err));
	CHECK(v != NULL);
	if (v) {
		CHECK_EQ_INT(v->nsamples, 2);
		CHECK_EQ_INT(v->total_cpu_ns, 20 + 120);
	}
	profile_view_free(v);
	profile_filter_release(&f);
	profile_free(p);
}

/* A record naming what the capture never defined stops reading there,
 * with what came before kept. */
TEST(spans_malformed)
{
	static const struct {
		unsigned kind;
		uint64_t f[5];
		size_t n;
	} bad[] = {
		{ CAPTURE_REC_SPAN_BEGIN, { 10, 100, 99 }, 3 },           /* no such site */
		{ CAPTURE_REC_SPAN_BEGIN, { 10, 100, 0 }, 3 },            /* site 0 */
		{ CAPTURE_REC_SPAN_SITE, { 9, S_PARSE, 0, 0, 0 }, 5 },    /* out of order */
		{ CAPTURE_REC_SPAN_SITE, { 4, 999, 0, 0, 0 }, 5 },        /* no such string */
		{ CAPTURE_REC_SPAN_ATTR, { 100, 999, 0, 1 }, 4 },         /* no such key */
		{ CAPTURE_REC_SPAN_ATTR, { 100, S_ROWS, 7, 1 }, 4 },      /* no such type */
		{ CAPTURE_REC_LABEL_SET, { 2, 0, S_USER, S_BOB }, 4 },    /* out of order */
		{ CAPTURE_REC_LABEL_SET, { 1, 1, S_USER, S_BOB }, 4 },    /* its own parent */
		{ CAPTURE_REC_COUNTER, { 1, 999, 0, 0 }, 4 },             /* no such name */
		{ CAPTURE_REC_OPS, { 1, 100, S_ROWS }, 3 },               /* short */
		{ CAPTURE_REC_CPU_SAMPLE, { 1, 100, 1, 1, 1 }, 5 },       /* label set 1: none */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tb_capture *c = start();
		const uint64_t pc = 0x400100;
		tb_capture_stack(c, 1, &pc, 1);
		TB_REC(c, CAPTURE_REC_SPAN_BEGIN, 5, 100, 1);
		if (bad[i].kind == CAPTURE_REC_CPU_SAMPLE)
			TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 1, 100, 1, 1, 1, 1); /* set 1 undefined */
		else
			tb_capture_rec(c, bad[i].kind, bad[i].f, bad[i].n);
		TB_REC(c, CAPTURE_REC_SPAN_END, 20, 100);
		struct profile *p = load(c);
		if (!p)
			continue;
		char want[64];
		snprintf(want, sizeof(want), "malformed record of kind %u", bad[i].kind);
		if (p->status != CAPTURE_READ_CORRUPT || !strstr(p->stop_reason, want))
			unit_fail(__FILE__, __LINE__, "case %zu: status %d, '%s'", i, p->status,
				  p->stop_reason);
		/* The span read before stays, unclosed. */
		CHECK(p->spans && p->spans->nspans == 1 && p->spans->spans[0].unclosed);
		profile_free(p);
	}
}

/* Without any instrumentation record, allocations leave no spans behind. */
TEST(spans_none_without_records)
{
	struct tb_capture *c = tb_capture_new();
	TB_REC(c, CAPTURE_REC_LABEL_SET, 1, 0, 0, 0);
	TB_REC(c, CAPTURE_REC_HEAP_ALLOC, 40, 100, 0x1000, 10, 0, 1);
	struct profile *p = load(c);
	if (!p)
		return;
	CHECK_EQ_INT(p->status, CAPTURE_READ_END);
	CHECK(p->spans == NULL);
	CHECK(p->heap && p->heap->nsites == 1 && p->heap->sites[0].labels == 1);
	CHECK(!profile_span_view(p));
	profile_free(p);
}
