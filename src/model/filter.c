/* Filtered views of a profile (see filter.h). pprof's semantics: focus
 * and ignore keep or drop whole samples by whether any frame of their
 * stack matches; hide takes matching frames out of stacks and keeps the
 * samples. A view is a struct profile so that every report and exporter
 * reads it unchanged; it copies only what filtering changes. */
#include "filter.h"

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

/* A view and what it owns; the profile comes first so that the view's
 * pointer is the profile's. */
struct view {
	struct profile p;
	bool owns_stacks, owns_locations;
	struct profile_heap heap; /* the heap sites kept, when there are any */
	uint32_t *rewritten; /* stacks whose pcs and locations the view allocated */
	size_t nrewritten, cap_rewritten;
};

void profile_filter_init(struct profile_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->thread = -1;
}

void profile_filter_add(char **slot, const char *regex)
{
	if (!*slot) {
		*slot = xstrdup(regex);
		return;
	}
	size_t len = strlen(*slot) + strlen(regex) + 8;
	char *both = xmalloc(len);
	snprintf(both, len, "(%s)|(%s)", *slot, regex);
	free(*slot);
	*slot = both;
}

bool profile_filter_add_tag(struct profile_filter *f, bool ignore, const char *spec, char *err,
			    size_t errlen)
{
	const char *eq = strchr(spec, '=');
	size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
	if (klen == 0) {
		snprintf(err, errlen,
			 "--%s '%s' names no label; give KEY=VALUE, or KEY for any value "
			 "(e.g. request=checkout)",
			 ignore ? "tag-ignore" : "tag-focus", spec);
		return false;
	}
	struct profile_tag **tags = ignore ? &f->tag_ignore : &f->tag_focus;
	size_t *n = ignore ? &f->ntag_ignore : &f->ntag_focus;
	*tags = xrealloc(*tags, (*n + 1) * sizeof(**tags));
	(*tags)[*n].key = xstrndup(spec, klen);
	(*tags)[*n].value = eq ? xstrdup(eq + 1) : NULL;
	(*n)++;
	return true;
}

bool profile_filter_add_pids(struct profile_filter *f, const char *list, char *err,
			     size_t errlen)
{
	const char *s = list;
	for (;;) {
		char *end;
		errno = 0;
		unsigned long long pid = *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
		if (!pid || errno || (*end && *end != ',')) {
			snprintf(err, errlen,
				 "--pid '%s' is not a list of process ids; give PID[,PID...], e.g. "
				 "--pid 1234,5678 (the summary of 'oneprof report' lists them)",
				 list);
			return false;
		}
		f->pids = xrealloc(f->pids, (f->npids + 1) * sizeof(*f->pids));
		f->pids[f->npids++] = pid;
		if (!*end)
			return true;
		s = end + 1;
	}
}

bool profile_filter_active(const struct profile_filter *f)
{
	return f->focus || f->ignore || f->hide || f->thread >= 0 || f->ntag_focus ||
	       f->ntag_ignore || f->npids || f->comm;
}

static void tags_free(struct profile_tag *tags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(tags[i].key);
		free(tags[i].value);
	}
	free(tags);
}

void profile_filter_release(struct profile_filter *f)
{
	free(f->focus);
	free(f->ignore);
	free(f->hide);
	tags_free(f->tag_focus, f->ntag_focus);
	tags_free(f->tag_ignore, f->ntag_ignore);
	free(f->pids);
	free(f->comm);
	profile_filter_init(f);
}

void profile_filter_describe(const struct profile_filter *f, char *buf, size_t len)
{
	const char *names[] = { "focus", "ignore", "hide" };
	const char *values[] = { f->focus, f->ignore, f->hide };
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < 3 && o < len; i++) {
		if (!values[i])
			continue;
		int n = snprintf(buf + o, len - o, "%s%s '%s'", o ? ", " : "", names[i], values[i]);
		o += n > 0 ? (size_t)n : 0;
	}
	for (int ig = 0; ig < 2; ig++) {
		const struct profile_tag *tags = ig ? f->tag_ignore : f->tag_focus;
		size_t ntags = ig ? f->ntag_ignore : f->ntag_focus;
		for (size_t i = 0; i < ntags && o < len; i++) {
			int n = snprintf(buf + o, len - o, "%s%s '%s%s%s'", o ? ", " : "",
					 ig ? "tag-ignore" : "tag-focus", tags[i].key,
					 tags[i].value ? "=" : "", tags[i].value ? tags[i].value : "");
			o += n > 0 ? (size_t)n : 0;
		}
	}
	for (size_t i = 0; i < f->npids && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%" PRIu64, i ? "," : o ? ", pid " : "pid ",
				 f->pids[i]);
		o += n > 0 ? (size_t)n : 0;
	}
	if (f->comm && o < len)
		snprintf(buf + o, len - o, "%scomm '%s'", o ? ", " : "", f->comm);
}

/* Which threads' processes pass --pid and --comm: an array of nthreads
 * flags (free it), or NULL and a message for a bad regex. */
static bool *process_keep(const struct profile *p, const struct profile_filter *f, char *err,
			  size_t errlen)
{
	regex_t re;
	if (f->comm) {
		int rc = regcomp(&re, f->comm, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];
			regerror(rc, &re, why, sizeof(why));
			snprintf(err, errlen,
				 "--comm '%s' is not a valid regular expression (%s); use POSIX "
				 "extended syntax, e.g. 'nginx|redis'",
				 f->comm, why);
			return NULL;
		}
	}
	bool *keep = xcalloc(p->nthreads ? p->nthreads : 1, sizeof(bool));
	for (size_t t = 0; t < p->nthreads; t++) {
		const struct profile_process *pr = profile_thread_process(p, &p->threads[t]);
		uint64_t pid = pr ? pr->pid : p->threads[t].pid;
		bool ok = !f->npids;
		for (size_t i = 0; i < f->npids && !ok; i++)
			ok = f->pids[i] == pid;
		if (ok && f->comm)
			ok = regexec(&re, pr && pr->name ? pr->name : "", 0, NULL, 0) == 0;
		keep[t] = ok;
	}
	if (f->comm)
		regfree(&re);
	return keep;
}

static bool any_tag(const struct profile *p, uint32_t labels, const struct profile_tag *tags,
		    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (profile_labels_have(p, labels, tags[i].key, tags[i].value))
			return true;
	return false;
}

/* Does a sample's label set pass the tag filters? */
static bool tags_keep(const struct profile *p, const struct profile_filter *f, uint32_t labels)
{
	if (f->ntag_focus && !any_tag(p, labels, f->tag_focus, f->ntag_focus))
		return false;
	return !any_tag(p, labels, f->tag_ignore, f->ntag_ignore);
}

bool *profile_match_functions(const struct profile *p, const char *regex, const char *what,
			      char *err, size_t errlen)
{
	regex_t re;
	int rc = regcomp(&re, regex, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[128];
		regerror(rc, &re, why, sizeof(why));
		snprintf(err, errlen,
			 "--%s '%s' is not a valid regular expression (%s); use POSIX extended "
			 "syntax, e.g. 'decode_(rows|block)'",
			 what, regex, why);
		return NULL;
	}
	bool *match = xcalloc(p->nfunctions ? p->nfunctions : 1, sizeof(bool));
	for (size_t i = 0; i < p->nfunctions; i++) {
		const char *name = p->functions[i].name;
		match[i] = regexec(&re, name ? name : "", 0, NULL, 0) == 0;
	}
	regfree(&re);
	return match;
}

/* The functions of one stack, leaf first, into a buffer grown to fit:
 * profile_stack_functions() stops at its capacity, so a full buffer
 * means try again with a larger one. */
static size_t stack_functions(const struct profile *p, const struct profile_stack *s,
			      uint32_t **buf, size_t *cap)
{
	for (;;) {
		if (*cap < (size_t)s->n + 16) {
			*cap = (size_t)s->n + 16;
			*buf = xrealloc(*buf, *cap * sizeof(uint32_t));
		}
		size_t n = profile_stack_functions(p, s, *buf, *cap);
		if (n < *cap)
			return n;
		*cap *= 2;
		*buf = xrealloc(*buf, *cap * sizeof(uint32_t));
	}
}

void profile_frames_build(const struct profile *p, struct profile_frames *pf)
{
	size_t cap = 0, len = 0, scratch_cap = 0;
	uint32_t *scratch = NULL;
	pf->fn = NULL;
	pf->start = xcalloc(p->nstacks + 1, sizeof(size_t));
	/* Only stacks with samples: a view of one thread uses few of them. */
	bool *used = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(bool));
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].stack < p->nstacks)
			used[p->samples[i].stack] = true;
	/* And the heap report's call sites. */
	for (size_t i = 0; p->heap && i < p->heap->nsites; i++)
		if (p->heap->sites[i].stack < p->nstacks)
			used[p->heap->sites[i].stack] = true;
	for (size_t s = 0; s < p->nstacks; s++) {
		size_t n = used[s] ? stack_functions(p, &p->stacks[s], &scratch, &scratch_cap) : 0;
		pf->start[s] = len;
		if (!n)
			continue;
		GROW(pf->fn, cap, len + n);
		memcpy(pf->fn + len, scratch, n * sizeof(uint32_t));
		len += n;
	}
	pf->start[p->nstacks] = len;
	if (!pf->fn)
		pf->fn = xcalloc(1, sizeof(uint32_t));
	free(scratch);
	free(used);
}

void profile_frames_free(struct profile_frames *pf)
{
	free(pf->fn);
	free(pf->start);
	pf->fn = NULL;
	pf->start = NULL;
}

void profile_stack_weights(const struct profile *p, uint64_t **count, uint64_t **ns)
{
	*count = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(uint64_t));
	*ns = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(uint64_t));
	for (size_t i = 0; i < p->nsamples; i++) {
		if (p->samples[i].stack >= p->nstacks)
			continue;
		(*count)[p->samples[i].stack] += p->samples[i].count;
		(*ns)[p->samples[i].stack] += p->samples[i].cpu_ns;
	}
}

struct profile_totals *profile_function_totals(const struct profile *p,
					       const struct profile_frames *pf)
{
	uint64_t *count, *ns;
	profile_stack_weights(p, &count, &ns);
	struct profile_totals *t = xcalloc(p->nfunctions ? p->nfunctions : 1, sizeof(*t));
	size_t *seen = xcalloc(p->nfunctions ? p->nfunctions : 1, sizeof(size_t)); /* stack + 1 */
	for (size_t s = 0; s < p->nstacks; s++) {
		size_t n = profile_frames_count(pf, s);
		const uint32_t *fn = profile_frames_of(pf, s);
		if (!count[s] || !n)
			continue;
		t[fn[0]].self_count += count[s];
		t[fn[0]].self_ns += ns[s];
		for (size_t k = 0; k < n; k++) {
			if (seen[fn[k]] == s + 1)
				continue;
			seen[fn[k]] = s + 1;
			t[fn[k]].total_count += count[s];
			t[fn[k]].total_ns += ns[s];
		}
	}
	free(seen);
	free(count);
	free(ns);
	return t;
}

static bool any_marked(const bool *marks, const uint32_t *fns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (marks[fns[i]])
			return true;
	return false;
}

static uint32_t add_location(struct profile *v, const struct profile_location *from,
			     uint32_t function)
{
	/* A plain location: same address and mapping, one function. It
	 * stands for what is left of an inline chain once some of its
	 * functions are hidden. */
	GROW(v->locations, v->cap_locations, v->nlocations + 1);
	struct profile_location *l = &v->locations[v->nlocations];
	memset(l, 0, sizeof(*l));
	l->address = from->address;
	l->mapping = from->mapping;
	l->function = function;
	return (uint32_t)v->nlocations++;
}

/* Rewrites stack s of the view without the hidden functions. Each
 * location is kept whole when none of its functions is hidden, dropped
 * when all are, and otherwise replaced by one plain location per
 * function left. */
static void hide_frames(struct view *vw, const struct profile *src, size_t s, const bool *hidden,
			uint32_t **buf, size_t *cap)
{
	struct profile *v = &vw->p;
	const struct profile_stack *old = &src->stacks[s];
	uint32_t *locs = xmalloc(((size_t)old->n * 2 + 1) * sizeof(uint32_t));
	size_t nlocs = 0, cap_locs = (size_t)old->n * 2 + 1;
	for (uint32_t f = 0; f < old->n; f++) {
		/* One frame as a stack of its own gives its inline chain. */
		struct profile_stack one = *old;
		one.n = 1;
		one.pcs = old->pcs + f;
		one.locations = old->locations + f;
		size_t n = stack_functions(src, &one, buf, cap);
		size_t kept = 0;
		for (size_t i = 0; i < n; i++)
			kept += !hidden[(*buf)[i]];
		if (kept == 0)
			continue;
		if (nlocs + kept > cap_locs) {
			cap_locs = (nlocs + kept) * 2;
			locs = xrealloc(locs, cap_locs * sizeof(uint32_t));
		}
		if (kept == n) {
			locs[nlocs++] = old->locations[f];
			continue;
		}
		if (!vw->owns_locations) {
			struct profile_location *copy =
				xmalloc((src->nlocations + 16) * sizeof(*copy));
			memcpy(copy, src->locations, src->nlocations * sizeof(*copy));
			v->locations = copy;
			v->cap_locations = src->nlocations + 16;
			vw->owns_locations = true;
		}
		for (size_t i = 0; i < n; i++)
			if (!hidden[(*buf)[i]])
				locs[nlocs++] = add_location(v, &src->locations[old->locations[f]],
							     (*buf)[i]);
	}
	struct profile_stack *ns = &v->stacks[s];
	ns->n = (uint32_t)nlocs;
	ns->locations = locs;
	ns->pcs = xmalloc((nlocs ? nlocs : 1) * sizeof(uint64_t));
	for (size_t i = 0; i < nlocs; i++)
		ns->pcs[i] = v->locations[locs[i]].address;
	GROW(vw->rewritten, vw->cap_rewritten, vw->nrewritten + 1);
	vw->rewritten[vw->nrewritten++] = (uint32_t)s;
}

struct profile *profile_filter(const struct profile *src, const struct profile_filter *f,
			       char *err, size_t errlen)
{
	bool *focus = NULL, *ignore = NULL, *hidden = NULL, *procs = NULL;
	if ((f->npids || f->comm) && !(procs = process_keep(src, f, err, errlen)))
		return NULL;
	if ((f->focus && !(focus = profile_match_functions(src, f->focus, "focus", err, errlen))) ||
	    (f->ignore &&
	     !(ignore = profile_match_functions(src, f->ignore, "ignore", err, errlen))) ||
	    (f->hide && !(hidden = profile_match_functions(src, f->hide, "hide", err, errlen)))) {
		free(focus);
		free(ignore);
		free(procs);
		return NULL;
	}

	struct view *vw = xcalloc(1, sizeof(*vw));
	struct profile *v = &vw->p;
	*v = *src; /* borrow everything, then replace what changes */

	/* Which stacks survive focus and ignore. */
	bool *keep = xcalloc(src->nstacks ? src->nstacks : 1, sizeof(bool));
	struct profile_frames pf = { 0 };
	if (focus || ignore || hidden)
		profile_frames_build(src, &pf);
	for (size_t s = 0; s < src->nstacks; s++) {
		keep[s] = true;
		if (!pf.start)
			continue;
		const uint32_t *fns = profile_frames_of(&pf, s);
		size_t n = profile_frames_count(&pf, s);
		if (focus && !any_marked(focus, fns, n))
			keep[s] = false;
		if (ignore && any_marked(ignore, fns, n))
			keep[s] = false;
	}

	/* Samples, and every total derived from them. */
	v->samples = NULL;
	v->nsamples = v->cap_samples = 0;
	v->threads = xmalloc((src->nthreads ? src->nthreads : 1) * sizeof(*v->threads));
	if (src->nthreads)
		memcpy(v->threads, src->threads, src->nthreads * sizeof(*v->threads));
	v->cap_threads = src->nthreads;
	for (size_t t = 0; t < v->nthreads; t++) {
		v->threads[t].samples = 0;
		v->threads[t].sampled_cpu_ns = 0;
	}
	v->total_count = v->total_cpu_ns = 0;
	memset(v->stack_ends, 0, sizeof(v->stack_ends));
	memset(v->state_ns, 0, sizeof(v->state_ns));
	v->off_cpu_ns = 0;
	bool *used = xcalloc(src->nstacks ? src->nstacks : 1, sizeof(bool));
	for (size_t i = 0; i < src->nsamples; i++) {
		const struct profile_sample *s = &src->samples[i];
		if (s->stack >= src->nstacks || !keep[s->stack] ||
		    (f->thread >= 0 && s->thread != (uint32_t)f->thread) ||
		    (procs && (s->thread >= src->nthreads || !procs[s->thread])) ||
		    !tags_keep(src, f, s->labels))
			continue;
		GROW(v->samples, v->cap_samples, v->nsamples + 1);
		v->samples[v->nsamples++] = *s;
		used[s->stack] = true;
		v->total_count += s->count;
		v->total_cpu_ns += s->cpu_ns;
		v->stack_ends[src->stacks[s->stack].end_reason] += s->count;
		if (s->state < CAPTURE_STATE_COUNT)
			v->state_ns[s->state] += s->cpu_ns;
		if (s->off_cpu)
			v->off_cpu_ns += s->cpu_ns;
		if (s->thread < v->nthreads) {
			v->threads[s->thread].samples += s->count;
			v->threads[s->thread].sampled_cpu_ns += s->cpu_ns;
		}
	}

	/* Heap sites: the same filter, so every heap metric (pprof carries
	 * four at once, from the sites) sees the same allocations. */
	if (src->heap) {
		vw->heap = *src->heap;
		vw->heap.sites = NULL;
		vw->heap.nsites = vw->heap.cap_sites = 0;
		vw->heap.first_double_free_site = UINT32_MAX;
		for (size_t i = 0; i < src->heap->nsites; i++) {
			const struct heap_site *h = &src->heap->sites[i];
			if (h->stack >= src->nstacks || !keep[h->stack] ||
			    (f->thread >= 0 && h->thread != (uint32_t)f->thread) ||
			    (procs && (h->thread >= src->nthreads || !procs[h->thread])) ||
			    !tags_keep(src, f, h->labels))
				continue;
			if (i == src->heap->first_double_free_site)
				vw->heap.first_double_free_site = (uint32_t)vw->heap.nsites;
			GROW(vw->heap.sites, vw->heap.cap_sites, vw->heap.nsites + 1);
			vw->heap.sites[vw->heap.nsites++] = *h;
			used[h->stack] = true;
		}
		v->heap = &vw->heap;
	}

	/* Hidden frames: rewrite only the stacks still in use that have one. */
	if (hidden) {
		uint32_t *buf = NULL;
		size_t cap = 0;
		for (size_t s = 0; s < src->nstacks; s++) {
			if (!used[s] ||
			    !any_marked(hidden, profile_frames_of(&pf, s), profile_frames_count(&pf, s)))
				continue;
			if (!vw->owns_stacks) {
				v->stacks = xmalloc((src->nstacks ? src->nstacks : 1) * sizeof(*v->stacks));
				memcpy(v->stacks, src->stacks, src->nstacks * sizeof(*v->stacks));
				v->cap_stacks = src->nstacks;
				vw->owns_stacks = true;
			}
			hide_frames(vw, src, s, hidden, &buf, &cap);
		}
		free(buf);
	}

	profile_frames_free(&pf);
	free(used);
	free(keep);
	free(focus);
	free(ignore);
	free(hidden);
	free(procs);
	return v;
}

void profile_view_free(struct profile *view)
{
	if (!view)
		return;
	struct view *vw = (struct view *)view;
	for (size_t i = 0; i < vw->nrewritten; i++) {
		free(view->stacks[vw->rewritten[i]].pcs);
		free(view->stacks[vw->rewritten[i]].locations);
	}
	free(vw->rewritten);
	free(vw->heap.sites);
	if (vw->owns_stacks)
		free(view->stacks);
	if (vw->owns_locations)
		free(view->locations);
	free(view->samples);
	free(view->threads);
	free(vw);
}
