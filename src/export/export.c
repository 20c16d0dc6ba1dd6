/* The table of exporters. */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../report/report.h"
#include "../util/util.h"

const struct exporter *const exporters[] = {
	&export_folded,
	&export_pprof,
	&export_svg,
	&export_speedscope,
	&export_chrome,
	&export_json,
	&export_perfview,
	&export_html,
	&export_spans,
	NULL,
};

int export_run(const struct exporter *ex, const struct profile *p, FILE *out, char *err,
	       size_t errlen)
{
	errno = 0;
	if (ex->write(p, out, err, errlen) != 0)
		return -1;
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "cannot write %s output: %s", ex->name,
			 errno ? strerror(errno) : "write error");
		return -1;
	}
	return 0;
}

const struct exporter *export_find(const char *name)
{
	for (size_t i = 0; exporters[i]; i++)
		if (strcmp(exporters[i]->name, name) == 0)
			return exporters[i];
	return NULL;
}

uint64_t *export_stack_counts(const struct profile *p)
{
	uint64_t *counts = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(uint64_t));
	/* A heap view's values are bytes or counts per site, a span view's
	 * self time in ns (its counts are calls): not samples. */
	bool values = p->heap_view || p->span_view;
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].stack < p->nstacks)
			counts[p->samples[i].stack] += values ? p->samples[i].cpu_ns
							      : p->samples[i].count;
	return counts;
}

void export_amount(const struct profile *p, uint64_t v, char *buf, size_t len)
{
	if (p->span_view)
		report_format_ns(buf, len, (double)v);
	else if (p->heap_view && p->unit && !strcmp(p->unit, "bytes"))
		report_format_bytes(buf, len, (double)v);
	else
		snprintf(buf, len, "%" PRIu64 " %s", v, p->heap_view ? "objects" : "samples");
}

void export_command(const struct profile *p, char *buf, size_t len)
{
	const struct capture_text *cmd = &p->hdr.cmdline;
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; cmd->s && i < cmd->len && o + 1 < len;) {
		const char *arg = cmd->s + i;
		int n = snprintf(buf + o, len - o, "%s%s", o ? " " : "", arg);
		o += n > 0 ? (size_t)n : 0;
		i += strlen(arg) + 1;
	}
	if (o >= len)
		buf[len - 1] = '\0';
}

const char *export_program(const struct profile *p)
{
	if (p->hdr.cmdline.s && p->hdr.cmdline.len && *p->hdr.cmdline.s)
		return path_basename(p->hdr.cmdline.s);
	if (p->hdr.exe.s && *p->hdr.exe.s)
		return path_basename(p->hdr.exe.s);
	return "program";
}

/* --- samples by thread --- */

static int by_time(const void *a, const void *b, void *arg)
{
	const struct profile *p = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (p->samples[x].time_ns != p->samples[y].time_ns)
		return p->samples[x].time_ns < p->samples[y].time_ns ? -1 : 1;
	return x < y ? -1 : x > y;
}

void export_by_thread(const struct profile *p, struct export_by_thread *g)
{
	g->start = xcalloc(p->nthreads + 2, sizeof(size_t));
	g->order = xmalloc((p->nsamples ? p->nsamples : 1) * sizeof(size_t));
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].thread < p->nthreads)
			g->start[p->samples[i].thread + 1]++;
	for (size_t t = 0; t < p->nthreads; t++)
		g->start[t + 1] += g->start[t];
	size_t *fill = xmalloc((p->nthreads ? p->nthreads : 1) * sizeof(size_t));
	memcpy(fill, g->start, p->nthreads * sizeof(size_t));
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].thread < p->nthreads)
			g->order[fill[p->samples[i].thread]++] = i;
	free(fill);
	for (size_t t = 0; t < p->nthreads; t++)
		qsort_r(g->order + g->start[t], g->start[t + 1] - g->start[t], sizeof(size_t), by_time,
			(void *)p);
}

void export_by_thread_free(struct export_by_thread *g)
{
	free(g->order);
	free(g->start);
	g->order = g->start = NULL;
}

/* --- call trees --- */

void export_tree_init(struct export_tree *t)
{
	memset(t, 0, sizeof(*t));
	GROW(t->nodes, t->cap, 1);
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->n = 1;
	t->nslots = 64;
	t->slots = xcalloc(t->nslots, sizeof(uint32_t));
}

void export_tree_free(struct export_tree *t)
{
	free(t->nodes);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static size_t tree_slot(const struct export_tree *t, uint32_t parent, uint32_t frame)
{
	const uint32_t key[2] = { parent, frame };
	size_t i = (size_t)XXH3_64bits(key, sizeof(key)) & (t->nslots - 1);
	while (t->slots[i]) {
		const struct export_tree_node *n = &t->nodes[t->slots[i] - 1];
		if (n->parent == parent && n->frame == frame)
			break;
		i = (i + 1) & (t->nslots - 1);
	}
	return i;
}

uint32_t export_tree_child(struct export_tree *t, uint32_t parent, uint32_t frame)
{
	size_t i = tree_slot(t, parent, frame);
	if (t->slots[i])
		return t->slots[i] - 1;
	if ((t->n + 1) * 2 > t->nslots) {
		/* Keep the table at most half full: double it and re-insert. */
		free(t->slots);
		t->nslots *= 2;
		t->slots = xcalloc(t->nslots, sizeof(uint32_t));
		for (size_t k = 1; k < t->n; k++)
			t->slots[tree_slot(t, t->nodes[k].parent, t->nodes[k].frame)] = (uint32_t)k + 1;
		i = tree_slot(t, parent, frame);
	}
	GROW(t->nodes, t->cap, t->n + 1);
	uint32_t id = (uint32_t)t->n++;
	struct export_tree_node *n = &t->nodes[id];
	memset(n, 0, sizeof(*n));
	n->frame = frame;
	n->parent = parent;
	n->sibling = t->nodes[parent].child;
	t->nodes[parent].child = id;
	t->slots[i] = id + 1;
	return id;
}

uint32_t export_tree_path(struct export_tree *t, uint32_t from, const uint32_t *fn, size_t n,
			  uint32_t empty)
{
	if (!n)
		return export_tree_child(t, from, empty);
	uint32_t node = from;
	for (size_t k = n; k-- > 0;)
		node = export_tree_child(t, node, fn[k]);
	return node;
}

void export_tree_charge(struct export_tree *t, uint32_t node, uint64_t count, uint64_t ns)
{
	t->nodes[node].self_count += count;
	t->nodes[node].self_ns += ns;
	for (uint32_t k = node;; k = t->nodes[k].parent) {
		t->nodes[k].total_count += count;
		t->nodes[k].total_ns += ns;
		if (k == 0)
			break;
	}
}

static int heavier(const void *a, const void *b, void *arg)
{
	const struct export_tree *t = arg;
	const struct export_tree_node *x = &t->nodes[*(const uint32_t *)a];
	const struct export_tree_node *y = &t->nodes[*(const uint32_t *)b];
	if (x->total_ns != y->total_ns)
		return x->total_ns < y->total_ns ? 1 : -1;
	if (x->total_count != y->total_count)
		return x->total_count < y->total_count ? 1 : -1;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

uint32_t *export_tree_children(const struct export_tree *t, uint32_t node, size_t *n)
{
	*n = 0;
	for (uint32_t c = t->nodes[node].child; c; c = t->nodes[c].sibling)
		(*n)++;
	uint32_t *out = xmalloc((*n ? *n : 1) * sizeof(uint32_t));
	size_t k = 0;
	for (uint32_t c = t->nodes[node].child; c; c = t->nodes[c].sibling)
		out[k++] = c;
	qsort_r(out, *n, sizeof(uint32_t), heavier, (void *)t);
	return out;
}
