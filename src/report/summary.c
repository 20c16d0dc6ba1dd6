/* The report header. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

#include "internal.h"

void report_format_ns(char *buf, size_t len, double ns)
{
	if (ns >= 1e9)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (ns >= 1e7)
		snprintf(buf, len, "%.0fms", ns / 1e6);
	else if (ns >= 1e6)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else if (ns >= 1e3)
		snprintf(buf, len, "%.0fus", ns / 1e3);
	else
		snprintf(buf, len, "%.0fns", ns);
}

void report_format_bytes(char *buf, size_t len, double b)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", b);
	else
		snprintf(buf, len, "%.*f %s", b >= 100 ? 0 : b >= 10 ? 1 : 2, b, units[u]);
}

void report_format_value(const char *unit, char *buf, size_t len, double v)
{
	if (!unit || !strcmp(unit, "nanoseconds")) {
		report_format_ns(buf, len, v);
	} else if (!strcmp(unit, "bytes")) {
		report_format_bytes(buf, len, v);
		char *sp = strchr(buf, ' ');
		if (sp) /* compact in columns: "1.50MiB" */
			memmove(sp, sp + 1, strlen(sp));
	} else if (v >= 1e9) {
		snprintf(buf, len, "%.2fG", v / 1e9);
	} else if (v >= 1e6) {
		snprintf(buf, len, "%.2fM", v / 1e6);
	} else if (v >= 1e4) {
		snprintf(buf, len, "%.1fk", v / 1e3);
	} else {
		snprintf(buf, len, "%.0f", v);
	}
}

static int by_samples(const void *a, const void *b)
{
	const struct profile_thread *x = *(const struct profile_thread *const *)a;
	const struct profile_thread *y = *(const struct profile_thread *const *)b;
	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void report_threads(const struct profile *p, FILE *out, size_t max)
{
	const struct profile_thread **order = xcalloc(p->nthreads, sizeof(*order));
	for (size_t i = 0; i < p->nthreads; i++)
		order[i] = &p->threads[i];
	qsort(order, p->nthreads, sizeof(*order), by_samples);
	size_t shown = max && max < p->nthreads ? max : p->nthreads;
	/* Several processes: which one each thread is in. */
	bool procs = p->nprocesses > 1;
	fprintf(out, "  %8s  %-16s %8s %10s %10s%s\n", "tid", "thread", "samples", "CPU",
		"rate", procs ? "  process [pid]" : "");
	for (size_t i = 0; i < shown; i++) {
		const struct profile_thread *t = order[i];
		char cpu[32] = "?", rate[32] = "?";
		/* The effective rate per second of the thread's own CPU time
		 * (of its lifetime, wall-clock): below the requested rate means
		 * the timer missed expirations. */
		uint64_t per = p->wall ? (t->end_ns > t->start_ns ? t->end_ns - t->start_ns : 0)
				       : t->cpu_ns;
		if (t->cpu_ns)
			report_format_ns(cpu, sizeof(cpu), (double)t->cpu_ns);
		if (per)
			snprintf(rate, sizeof(rate), "%.1f Hz", (double)t->samples * 1e9 / (double)per);
		fprintf(out, "  %8" PRIu64 "  %-16s %8" PRIu64 " %10s %10s", t->tid, t->name,
			t->samples, cpu, rate);
		const struct profile_process *pr = procs ? profile_thread_process(p, t) : NULL;
		if (pr)
			fprintf(out, "  %s [%" PRIu64 "]", pr->name, pr->pid);
		fputc('\n', out);
	}
	if (shown < p->nthreads)
		fprintf(out, "  ... and %zu more threads\n",
			p->nthreads - shown);
	free(order);
}

static int by_process_samples(const void *a, const void *b, void *arg)
{
	const uint64_t *samples = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (samples[x] != samples[y])
		return samples[x] < samples[y] ? 1 : -1;
	return x < y ? -1 : x > y;
}

void report_processes(const struct profile *p, FILE *out, size_t max)
{
	uint64_t *samples, *ns;
	profile_process_totals(p, &samples, &ns);
	size_t *order = xmalloc((p->nprocesses ? p->nprocesses : 1) * sizeof(size_t));
	for (size_t i = 0; i < p->nprocesses; i++)
		order[i] = i;
	qsort_r(order, p->nprocesses, sizeof(size_t), by_process_samples, samples);
	size_t shown = max && max < p->nprocesses ? max : p->nprocesses;
	fprintf(out, "  %8s  %-16s %8s %10s  %s\n", "pid", "process", "samples",
		p->wall ? "time" : "CPU", "command");
	for (size_t i = 0; i < shown; i++) {
		const struct profile_process *pr = &p->processes[order[i]];
		char t[32];
		report_format_value(p->unit, t, sizeof(t), (double)ns[order[i]]);
		fprintf(out, "  %8" PRIu64 "  %-16s %8" PRIu64 " %10s  %s\n", pr->pid, pr->name,
			samples[order[i]], t, pr->cmdline);
	}
	if (shown < p->nprocesses)
		fprintf(out, "  ... and %zu more processes\n", p->nprocesses - shown);
	free(order);
	free(samples);
	free(ns);
}

void report_summary(const struct profile *p, FILE *out)
{
	const struct capture_header *h = &p->hdr;
	fprintf(out, "Capture:  %s\n", p->name);
	fputs("Command: ", out);
	for (size_t i = 0; i < h->cmdline.len;) {
		const char *arg = h->cmdline.s + i;
		fprintf(out, " %s", arg);
		i += strlen(arg) + 1;
	}
	fprintf(out, " (pid %" PRIu64 ", %s)\n", h->pid, *h->hostname.s ? h->hostname.s : "?");
	if (p->merged_from)
		fprintf(out, "Merged:   from %s\n", p->merged_from);
	if (p->nprocesses > 1) {
		fprintf(out, "Processes: %zu\n", p->nprocesses);
		report_processes(p, out, 10);
	}

	char dur[32], cpu[32], proc_cpu[32];
	uint64_t duration = p->duration_ns;
	if (!duration)
		duration = p->samples_end_ns;
	if (p->pprof)
		fprintf(out, "Profile:  %s, sample type %s/%s%s\n",
			p->import.format ? p->import.format : "pprof", p->pprof_type, p->pprof_unit,
			strcmp(p->pprof_unit, "nanoseconds") && strcmp(p->pprof_unit, "count")
				? " (values shown as if nanoseconds)"
				: "");
	report_format_ns(dur, sizeof(dur), (double)duration);
	report_format_ns(cpu, sizeof(cpu), (double)p->total_cpu_ns);
	fprintf(out, "Duration: %s, sampled %s time %s", dur, p->wall ? "wall-clock" : "CPU", cpu);
	if (p->process_cpu_ns && !p->wall) {
		report_format_ns(proc_cpu, sizeof(proc_cpu), (double)p->process_cpu_ns);
		fprintf(out, " of %s used by the process", proc_cpu);
	}
	fputc('\n', out);

	if (p->pauses) {
		char paused[32];
		report_format_ns(paused, sizeof(paused), (double)p->paused_ns);
		fprintf(out, "Paused:   %s of the run (%" PRIu32 " pause%s): CPU time then was not sampled\n",
			paused, p->pauses, p->pauses > 1 ? "s" : "");
	}

	/* Effective rate: samples per second of CPU the process really used
	 * (while sampling was on: then per second of CPU time sampled). */
	fprintf(out, "Samples:  %" PRIu64 " at %" PRIu64 " Hz (%s)", p->total_count, h->hz,
		*h->sampler.s ? h->sampler.s : "unknown timer");
	if (p->off_cpu) {
		/* The collector's: CPU samples are the running time, each
		 * off-CPU interval one sample of its length. */
		char on[32], off[32];
		uint64_t on_ns = p->total_cpu_ns > p->off_cpu_ns ? p->total_cpu_ns - p->off_cpu_ns : 0;
		report_format_ns(on, sizeof(on), (double)on_ns);
		report_format_ns(off, sizeof(off), (double)p->off_cpu_ns);
		fprintf(out, ", with off-CPU intervals\nOn/off:   on-CPU %s (%.1f%%), off-CPU %s "
			"(%.1f%%)\nStates:  ",
			on, report_pct(on_ns, p->total_cpu_ns), off,
			report_pct(p->off_cpu_ns, p->total_cpu_ns));
		for (unsigned st = 0; st < CAPTURE_STATE_COUNT; st++)
			fprintf(out, "%s %s %.1f%%", st ? "," : "", capture_state_name(st),
				report_pct(p->state_ns[st], p->total_cpu_ns));
	} else if (p->wall) {
		fprintf(out, ", one per thread per period of real time\nStates:  ");
		for (unsigned st = 0; st < CAPTURE_STATE_COUNT; st++)
			fprintf(out, "%s %s %.1f%%", st ? "," : "", capture_state_name(st),
				p->total_cpu_ns ? 100.0 * (double)p->state_ns[st] / (double)p->total_cpu_ns
						: 0.0);
	} else if (p->pauses && p->total_cpu_ns)
		fprintf(out, ", effective %.1f Hz of sampled CPU time",
			(double)p->total_count * 1e9 / (double)p->total_cpu_ns);
	else if (p->process_cpu_ns)
		fprintf(out, ", effective %.1f Hz of CPU time",
			(double)p->total_count * 1e9 / (double)p->process_cpu_ns);
	fputc('\n', out);

	uint64_t lost = 0;
	unsigned reasons = 0;
	for (size_t i = 0; i < p->nlost; i++)
		if (p->lost[i].source == CAPTURE_LOST_CPU_SAMPLE)
			lost += p->lost[i].count;
	fprintf(out, "Threads:  %zu   Lost samples: %" PRIu64, p->nthreads, lost);
	for (size_t i = 0; i < p->nlost; i++)
		if (p->lost[i].source == CAPTURE_LOST_CPU_SAMPLE)
			fprintf(out, "%s%" PRIu64 " %s", reasons++ ? ", " : " (", p->lost[i].count,
				capture_lost_reason_name(p->lost[i].reason));
	fputs(reasons ? ")\n" : "\n", out);
	/* Other sources' losses: heap events, span events, label sets. */
	reasons = 0;
	for (size_t i = 0; i < p->nlost; i++)
		if (p->lost[i].source != CAPTURE_LOST_CPU_SAMPLE)
			fprintf(out, "%s%" PRIu64 " %s (%s)", reasons++ ? ", " : "Lost events: ",
				p->lost[i].count, capture_lost_source_name(p->lost[i].source),
				capture_lost_reason_name(p->lost[i].reason));
	if (reasons)
		fputc('\n', out);

	report_threads(p, out, 10);

	fputs("Stacks:  ", out);
	for (unsigned r = 0; r < CAPTURE_STACK_END_COUNT; r++)
		fprintf(out, "%s %" PRIu64 " %s", r ? "," : "", p->stack_ends[r],
			capture_stack_end_name(r));
	fputc('\n', out);
}

void report_filtered(const struct profile *view, const struct profile *all, const char *desc,
		     FILE *out)
{
	char kept[32], of[32];
	report_format_value(all->unit, kept, sizeof(kept), (double)view->total_cpu_ns);
	report_format_value(all->unit, of, sizeof(of), (double)all->total_cpu_ns);
	fprintf(out,
		"Filters:  %s: kept %" PRIu64 " of %" PRIu64 " samples (%.1f%%), %s of %s; "
		"percentages below are of all samples\n",
		desc, view->total_count, all->total_count,
		all->total_count ? 100.0 * (double)view->total_count / (double)all->total_count : 0.0,
		kept, of);
}
