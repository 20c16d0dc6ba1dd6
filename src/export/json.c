/* oneprof's own JSON, for scripts and dashboards: the session, the
 * threads, every function with its self and total time, and the call
 * tree. The schema is doc/json-schema.md; schema_version changes when a
 * field changes meaning or goes away (new fields do not change it). */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../model/filter.h"
#include "../util/escape.h"
#include "../util/util.h"
#include "oneprof.h"

#define JSON_SCHEMA_VERSION 1

struct fn_stats {
	uint32_t function;
	struct profile_totals t;
};

static int by_self(const void *a, const void *b, void *arg)
{
	const struct profile *p = arg;
	const struct fn_stats *x = a, *y = b;
	if (x->t.self_ns != y->t.self_ns)
		return x->t.self_ns < y->t.self_ns ? 1 : -1;
	if (x->t.total_ns != y->t.total_ns)
		return x->t.total_ns < y->t.total_ns ? 1 : -1;
	int c = strcmp(p->functions[x->function].name, p->functions[y->function].name);
	return c ? c : (x->function < y->function ? -1 : x->function > y->function);
}

/* A thread's process id: its process's, else the header's. */
static uint64_t thread_pid(const struct profile *p, const struct profile_thread *t)
{
	const struct profile_process *pr = profile_thread_process(p, t);
	return pr ? pr->pid : p->hdr.pid;
}

static void put_session(const struct profile *p, FILE *out)
{
	const struct capture_header *h = &p->hdr;
	fputs("\"session\":{\n\"capture\":", out);
	esc_json(out, p->name);
	fputs(",\n\"command\":[", out);
	for (size_t i = 0, k = 0; h->cmdline.s && i < h->cmdline.len; k++) {
		if (k)
			fputc(',', out);
		esc_json(out, h->cmdline.s + i);
		i += strlen(h->cmdline.s + i) + 1;
	}
	fputs("],\n\"executable\":", out);
	esc_json(out, h->exe.s);
	fprintf(out, ",\n\"pid\":%" PRIu64 ",\n\"host\":", h->pid);
	esc_json(out, h->hostname.s);
	fputs(",\n\"kernel\":", out);
	esc_json(out, h->kernel.s);
	fputs(",\n\"arch\":", out);
	esc_json(out, h->arch.s);
	fputs(",\n\"sampler\":", out);
	esc_json(out, h->sampler.s);
	uint64_t lost = 0;
	for (size_t i = 0; i < p->nlost; i++)
		lost += p->lost[i].count;
	fprintf(out,
		",\n\"wall_clock\":%s,\n\"sample_rate_hz\":%" PRIu64 ",\n\"start_time_unix_ns\":%" PRIu64
		",\n\"duration_ns\":%" PRIu64 ",\n\"samples\":%" PRIu64 ",\n\"sampled_cpu_ns\":%" PRIu64
		",\n\"process_cpu_ns\":%" PRIu64 ",\n\"peak_rss_kb\":%" PRIu64
		",\n\"complete\":%s,\n\"lost_samples\":%" PRIu64 ",\n\"lost\":[",
		p->wall ? "true" : "false", h->hz, h->start_realtime_ns, p->duration_ns, p->total_count, p->total_cpu_ns,
		p->process_cpu_ns, p->peak_rss_kb,
		p->has_end && p->status == CAPTURE_READ_END ? "true" : "false", lost);
	for (size_t i = 0; i < p->nlost; i++) {
		fputs(i ? ",{\"reason\":" : "{\"reason\":", out);
		esc_json(out, capture_lost_reason_name(p->lost[i].reason));
		fprintf(out, ",\"count\":%" PRIu64 "}", p->lost[i].count);
	}
	fputs("],\n\"stack_ends\":{", out);
	for (unsigned r = 0; r < CAPTURE_STACK_END_COUNT; r++) {
		/* "depth limit" -> "depth_limit": keys scripts can dot into. */
		char key[64];
		snprintf(key, sizeof(key), "%s", capture_stack_end_name(r));
		for (char *c = key; *c; c++)
			if (*c == ' ')
				*c = '_';
		fprintf(out, "%s\"%s\":%" PRIu64, r ? "," : "", key, p->stack_ends[r]);
	}
	fputs("}\n}", out);
}

/* A call tree node and its subtree; depth-first, heaviest child first. */
static void put_node(const struct export_tree *t, uint32_t node, const uint32_t *json_id,
		     uint32_t unknown_frame, FILE *out)
{
	const struct export_tree_node *n = &t->nodes[node];
	fputs("{\"function\":", out);
	if (node == 0 || n->frame == unknown_frame)
		fputs("null", out);
	else
		fprintf(out, "%" PRIu32, json_id[n->frame]);
	fprintf(out,
		",\"self_samples\":%" PRIu64 ",\"total_samples\":%" PRIu64 ",\"self_ns\":%" PRIu64
		",\"total_ns\":%" PRIu64 ",\"children\":[",
		n->self_count, n->total_count, n->self_ns, n->total_ns);
	size_t nc;
	uint32_t *children = export_tree_children(t, node, &nc);
	for (size_t i = 0; i < nc; i++) {
		if (i)
			fputc(',', out);
		fputc('\n', out);
		put_node(t, children[i], json_id, unknown_frame, out);
	}
	free(children);
	fputs("]}", out);
}

static int json_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	(void)err, (void)errlen; /* it cannot fail but by writing: export_run() says so */
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	uint64_t *count, *ns;
	profile_stack_weights(p, &count, &ns);
	struct profile_totals *totals = profile_function_totals(p, &pf);
	struct fn_stats *st = xcalloc(p->nfunctions ? p->nfunctions : 1, sizeof(*st));
	for (size_t f = 0; f < p->nfunctions; f++)
		st[f] = (struct fn_stats){ (uint32_t)f, totals[f] };
	free(totals);

	/* The call tree, one path per stack with samples. */
	struct export_tree tree;
	export_tree_init(&tree);
	uint32_t unknown = (uint32_t)p->nfunctions; /* frame key of an empty stack */
	for (size_t s = 0; s < p->nstacks; s++) {
		if (!count[s])
			continue;
		uint32_t node = export_tree_path(&tree, 0, profile_frames_of(&pf, s),
						 profile_frames_count(&pf, s), unknown);
		export_tree_charge(&tree, node, count[s], ns[s]);
	}
	qsort_r(st, p->nfunctions, sizeof(*st), by_self, (void *)p);
	uint32_t *json_id = xcalloc(p->nfunctions + 1, sizeof(uint32_t));
	size_t nused = 0;
	while (nused < p->nfunctions && st[nused].t.total_count)
		nused++;
	/* The sort put unused functions (no time) last, except that a
	 * function with samples of zero CPU time sorts among them: keep
	 * every function that any sample reached. */
	for (size_t i = nused; i < p->nfunctions; i++)
		if (st[i].t.total_count)
			st[nused++] = st[i];
	for (size_t i = 0; i < nused; i++)
		json_id[st[i].function] = (uint32_t)i;

	fprintf(out, "{\"schema_version\":%d,\n\"generator\":\"oneprof " ONEPROF_VERSION_STRING "\",\n",
		JSON_SCHEMA_VERSION);
	put_session(p, out);
	fputs(",\n\"threads\":[", out);
	for (size_t t = 0; t < p->nthreads; t++) {
		const struct profile_thread *th = &p->threads[t];
		fprintf(out, "%s\n{\"tid\":%" PRIu64 ",\"name\":", t ? "," : "", th->tid);
		esc_json(out, th->name);
		fprintf(out, ",\"samples\":%" PRIu64 ",\"sampled_cpu_ns\":%" PRIu64
			     ",\"cpu_ns\":%" PRIu64 ",\"pid\":%" PRIu64 "}",
			th->samples, th->sampled_cpu_ns, th->cpu_ns, thread_pid(p, th));
	}
	fputs("],\n\"processes\":[", out);
	uint64_t *psamples, *pns;
	profile_process_totals(p, &psamples, &pns);
	for (size_t i = 0; i < p->nprocesses; i++) {
		const struct profile_process *pr = &p->processes[i];
		fprintf(out, "%s\n{\"pid\":%" PRIu64 ",\"ppid\":%" PRIu64 ",\"name\":",
			i ? "," : "", pr->pid, pr->ppid);
		esc_json(out, pr->name);
		fputs(",\"cmdline\":", out);
		esc_json(out, pr->cmdline);
		fprintf(out, ",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"samples\":%" PRIu64
			     ",\"sampled_ns\":%" PRIu64 "}",
			pr->start_ns, pr->end_ns, psamples[i], pns[i]);
	}
	free(psamples);
	free(pns);
	fputs("],\n\"functions\":[", out);
	for (size_t i = 0; i < nused; i++) {
		const struct profile_function *fn = &p->functions[st[i].function];
		fprintf(out, "%s\n{\"id\":%zu,\"name\":", i ? "," : "", i);
		esc_json(out, fn->name);
		fputs(",\"module\":", out);
		esc_json(out, fn->module);
		fprintf(out,
			",\"self_samples\":%" PRIu64 ",\"total_samples\":%" PRIu64
			",\"self_ns\":%" PRIu64 ",\"total_ns\":%" PRIu64 "}",
			st[i].t.self_count, st[i].t.total_count, st[i].t.self_ns, st[i].t.total_ns);
	}
	fputs("],\n\"call_tree\":", out);
	put_node(&tree, 0, json_id, unknown, out);
	fputs("}\n", out);

	free(json_id);
	export_tree_free(&tree);
	free(st);
	free(count);
	free(ns);
	profile_frames_free(&pf);
	return 0;
}

const struct exporter export_json = {
	.name = "json",
	.extension = ".json",
	.description = "oneprof JSON: session, functions by self and total time, call tree",
	.binary = false,
	.write = json_write,
};
