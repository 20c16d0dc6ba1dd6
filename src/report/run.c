/* One entry point for the text reports: the kind asked for, once or per
 * thread. */
#include <inttypes.h>
#include <stdlib.h>

#include "../model/filter.h"
#include "../util/util.h"
#include "internal.h"

static int run_one(const struct profile *p, FILE *out, const struct report_options *o,
		   char *err, size_t errlen)
{
	switch (o->kind) {
	case REPORT_TREE:
		report_tree(p, out, o);
		return 0;
	case REPORT_PEEK:
		return report_peek(p, out, o, err, errlen);
	case REPORT_TRACES:
		report_traces(p, out, o);
		return 0;
	case REPORT_TOP:
	default:
		report_top(p, out, o);
		return 0;
	}
}

static int by_samples(const void *a, const void *b, void *arg)
{
	const struct profile *p = arg;
	const struct profile_thread *x = &p->threads[*(const size_t *)a];
	const struct profile_thread *y = &p->threads[*(const size_t *)b];
	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* The report once per thread with samples, busiest first; percentages
 * are of the thread's own sampled time. */
static int run_per_thread(const struct profile *view, const struct profile *all, FILE *out,
			  const struct report_options *o, char *err, size_t errlen)
{
	size_t *order = xmalloc((view->nthreads ? view->nthreads : 1) * sizeof(size_t));
	size_t n = 0, matched = 0;
	for (size_t t = 0; t < view->nthreads; t++)
		if (view->threads[t].samples)
			order[n++] = t;
	qsort_r(order, n, sizeof(size_t), by_samples, (void *)view);
	int rc = 0;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		size_t t = order[i];
		const struct profile_thread *th = &all->threads[t];
		struct profile_filter f;
		profile_filter_init(&f);
		f.thread = (long)t;
		struct profile *tv = profile_filter(view, &f, err, errlen);
		char cpu[32], name[512];
		report_format_value(o->unit, cpu, sizeof(cpu), (double)view->threads[t].sampled_cpu_ns);
		/* One process: "tid name" as always; several: which process. */
		if (all->nprocesses > 1)
			profile_thread_label(all, th, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%" PRIu64 " %s", th->tid, th->name);
		fprintf(out, "\n%s=== Thread %s: %" PRIu64 " samples, %s, %.1f%% of all "
			"samples ===%s\n",
			report_c(o, RC_BOLD), name, view->threads[t].samples, cpu,
			all->total_count ? 100.0 * (double)view->threads[t].samples /
						   (double)all->total_count
					 : 0.0,
			report_c(o, RC_OFF));
		struct report_options to = *o;
		to.total_ns = th->sampled_cpu_ns;
		rc = run_one(tv, out, &to, err, errlen);
		if (rc > 0)
			matched += (size_t)rc;
		profile_view_free(tv);
	}
	free(order);
	if (rc < 0)
		return -1;
	return o->kind == REPORT_PEEK ? (int)matched : 0;
}

int report_run(const struct profile *view, const struct profile *all, FILE *out,
	       const struct report_options *o, char *err, size_t errlen)
{
	struct report_options ro = *o;
	if (!ro.total_ns)
		ro.total_ns = all->total_cpu_ns;
	ro.unit = view->unit;
	int rc = o->per_thread ? run_per_thread(view, all, out, &ro, err, errlen)
			       : run_one(view, out, &ro, err, errlen);
	if (rc < 0)
		return -1;
	if (o->kind == REPORT_PEEK && rc == 0) {
		snprintf(err, errlen,
			 "--peek '%s' matches no function with samples; 'oneprof report' lists "
			 "the functions (a regex matches anywhere in a name)",
			 o->peek);
		return -1;
	}
	return 0;
}
