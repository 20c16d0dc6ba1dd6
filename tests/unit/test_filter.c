/* Filtered views of a profile: focus, ignore, hide and thread, what they
 * keep, the totals they recompute, and that the original is untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/model/filter.h"
#include "test_report_util.h"
#include "unit.h"

static struct profile *filtered(const struct profile *p, const char *focus, const char *ignore,
				const char *hide, long thread)
{
	struct profile_filter f;
	profile_filter_init(&f);
	if (focus)
		profile_filter_add(&f.focus, focus);
	if (ignore)
		profile_filter_add(&f.ignore, ignore);
	if (hide)
		profile_filter_add(&f.hide, hide);
	f.thread = thread;
	char err[256] = "";
	struct profile *v = profile_filter(p, &f, err, sizeof(err));
	if (!v)
		printf("    filter error: %s\n", err);
	profile_filter_release(&f);
	return v;
}

/* The function names of stack s of p, root first, ';'-joined. */
static const char *stack_text(const struct profile *p, size_t s, char *buf, size_t len)
{
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = profile_frames_count(&pf, s); i-- > 0 && o < len;)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ";" : "",
				      p->functions[profile_frames_of(&pf, s)[i]].name);
	profile_frames_free(&pf);
	return buf;
}

TEST(filter_focus_keeps_samples_through_a_match)
{
	struct profile *p = rt_profile();
	struct profile *v = filtered(p, "work_a", NULL, NULL, -1);
	CHECK(v != NULL);
	CHECK_EQ_INT(v->total_count, 7); /* stacks 0 and 2 */
	CHECK_EQ_INT(v->total_cpu_ns, 70000000);
	CHECK_EQ_INT(v->threads[0].samples, 7);
	CHECK_EQ_INT(v->threads[1].samples, 0);
	CHECK_EQ_INT(v->stack_ends[CAPTURE_STACK_COMPLETE], 7);
	/* The original is untouched. */
	CHECK_EQ_INT(p->total_count, RT_TOTAL);
	CHECK_EQ_INT(p->threads[1].samples, 4);
	profile_view_free(v);

	/* Unanchored, extended syntax, like pprof. */
	v = filtered(p, "ork_(a|b)", NULL, NULL, -1);
	CHECK_EQ_INT(v->total_count, 10);
	profile_view_free(v);
	profile_free(p);
}

TEST(filter_ignore_drops_samples_through_a_match)
{
	struct profile *p = rt_profile();
	struct profile *v = filtered(p, NULL, "^rec$", NULL, -1);
	CHECK_EQ_INT(v->total_count, 10);
	profile_view_free(v);
	/* focus and ignore together: through work_a but not through rec. */
	v = filtered(p, "work_a", "rec", NULL, -1);
	CHECK_EQ_INT(v->total_count, 5);
	profile_view_free(v);
	/* A regex matching nothing keeps nothing (focus) or everything (ignore). */
	v = filtered(p, "nothing_matches", NULL, NULL, -1);
	CHECK_EQ_INT(v->total_count, 0);
	CHECK_EQ_INT(v->nsamples, 0);
	profile_view_free(v);
	v = filtered(p, NULL, "nothing_matches", NULL, -1);
	CHECK_EQ_INT(v->total_count, RT_TOTAL);
	profile_view_free(v);
	profile_free(p);
}

TEST(filter_hide_removes_frames_keeps_samples)
{
	struct profile *p = rt_profile();
	struct profile *v = filtered(p, NULL, NULL, "^(run|rec)$", -1);
	char buf[256];
	CHECK_EQ_INT(v->total_count, RT_TOTAL);
	CHECK_STR(stack_text(v, 0, buf, sizeof(buf)), "main;work_a");
	CHECK_STR(stack_text(v, 1, buf, sizeof(buf)), "main;work_b");
	CHECK_STR(stack_text(v, 2, buf, sizeof(buf)), "main;work_a");
	CHECK_STR(stack_text(v, 3, buf, sizeof(buf)), "main;" RT_HOSTILE);
	CHECK_EQ_INT(v->stacks[2].n, 2);
	CHECK_EQ_INT(v->stacks[2].pcs[1], 0x1000); /* main's address kept */
	/* The original stacks are untouched. */
	CHECK_STR(stack_text(p, 2, buf, sizeof(buf)), "main;rec;rec;work_a");
	profile_view_free(v);

	/* Hiding every frame leaves the sample, with an empty stack. */
	v = filtered(p, NULL, NULL, ".", -1);
	CHECK_EQ_INT(v->total_count, RT_TOTAL);
	for (size_t s = 0; s < v->nstacks; s++)
		CHECK_EQ_INT(v->stacks[s].n, 0);
	profile_view_free(v);
	profile_free(p);
}

TEST(filter_thread_and_view_of_a_view)
{
	struct profile *p = rt_profile();
	struct profile *v = filtered(p, NULL, NULL, "run", 1);
	CHECK_EQ_INT(v->total_count, 4);
	CHECK_EQ_INT(v->threads[0].samples, 0);
	CHECK_EQ_INT(v->threads[1].samples, 4);
	/* A view filters like a profile, and frees on its own. */
	struct profile *vv = filtered(v, "work_b", NULL, NULL, -1);
	char buf[256];
	CHECK_EQ_INT(vv->total_count, 3);
	CHECK_STR(stack_text(vv, 1, buf, sizeof(buf)), "main;work_b");
	profile_view_free(vv);
	profile_view_free(v);
	profile_view_free(NULL);
	profile_free(p);
}

TEST(filter_repeated_option_matches_either)
{
	struct profile_filter f;
	profile_filter_init(&f);
	CHECK(!profile_filter_active(&f));
	profile_filter_add(&f.focus, "work_a");
	profile_filter_add(&f.focus, "work_b");
	CHECK_STR(f.focus, "(work_a)|(work_b)");
	CHECK(profile_filter_active(&f));
	char desc[128];
	profile_filter_add(&f.hide, "run");
	profile_filter_describe(&f, desc, sizeof(desc));
	CHECK_STR(desc, "focus '(work_a)|(work_b)', hide 'run'");
	struct profile *p = rt_profile();
	char err[256];
	struct profile *v = profile_filter(p, &f, err, sizeof(err));
	CHECK_EQ_INT(v->total_count, 10);
	profile_view_free(v);
	profile_free(p);
	profile_filter_release(&f);
	CHECK(f.focus == NULL && f.hide == NULL);
}

TEST(filter_bad_regex_names_the_option)
{
	struct profile *p = rt_profile();
	struct profile_filter f;
	profile_filter_init(&f);
	profile_filter_add(&f.ignore, "work_(");
	char err[256] = "";
	CHECK(profile_filter(p, &f, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "--ignore 'work_('") != NULL);
	CHECK(strstr(err, "not a valid regular expression") != NULL);
	profile_filter_release(&f);
	profile_free(p);
}

TEST(filter_frames_table)
{
	struct profile *p = rt_profile();
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	CHECK_EQ_INT(profile_frames_count(&pf, 0), 3);
	CHECK_EQ_INT(profile_frames_of(&pf, 0)[0], 2); /* leaf first */
	CHECK_EQ_INT(profile_frames_count(&pf, 2), 4);
	CHECK_EQ_INT(profile_frames_count(&pf, 4), 0);
	CHECK_EQ_INT(pf.start[p->nstacks], 12);
	profile_frames_free(&pf);
	profile_free(p);
}

TEST(filter_empty_profile)
{
	struct profile *p = tb_empty_profile();
	struct profile *v = filtered(p, "a", "b", "c", -1);
	CHECK(v != NULL);
	CHECK_EQ_INT(v->total_count, 0);
	CHECK_EQ_INT(v->nsamples, 0);
	profile_view_free(v);
	profile_free(p);
}
