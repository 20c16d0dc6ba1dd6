/* Captures of several processes, as the out-of-process collector writes
 * them: the process table, mappings looked up only in their own process,
 * kernel frames through KERNEL_SYMBOL records, JIT symbols bound to their
 * process, off-CPU intervals beside CPU samples, the --pid and --comm
 * filters, and old captures without pid fields read as before. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/model/filter.h"
#include "../../src/model/profile.h"
#include "../../src/report/report.h"
#include "../../src/symbolize/symbolize.h"
#include "builder.h"
#include "unit.h"

#define ADDR(fn) ((uint64_t)(uintptr_t)&(fn))

__attribute__((noinline)) int oneprof_unit_proc_target(int x);
__attribute__((noinline)) int oneprof_unit_proc_target(int x)
{
	return x * 3 + 1;
}

/* The function a stack's frame k resolved to. */
static const struct profile_function *frame_fn(const struct profile *p, size_t stack, size_t k)
{
	const struct profile_stack *s = &p->stacks[stack];
	if (k >= s->n || !s->locations || s->locations[k] >= p->nlocations)
		return NULL;
	return &p->functions[p->locations[s->locations[k]].function];
}

static const char *frame_name(const struct profile *p, size_t stack, size_t k)
{
	const struct profile_function *f = frame_fn(p, stack, k);
	return f ? f->name : "(none)";
}

/* Two processes of one binary at different load addresses; the second
 * also maps another file where the first has the binary. */
TEST(processes_same_binary_two_processes)
{
	uint64_t start, end, offset;
	char path[4096];
	uint64_t fn = ADDR(oneprof_unit_proc_target);
	if (tb_self_exec_mapping(fn, &start, &end, &offset, path, sizeof(path)) != 0) {
		printf("    skipped: no executable mapping of the test binary\n");
		return;
	}
	const uint64_t delta = 0x100000000000ull;
	struct tb_capture *c = tb_capture_new();
	tb_capture_string(c, 1, path);
	tb_capture_string(c, 2, "/nonexistent/other.so");
	tb_capture_string(c, 3, "server");
	tb_capture_string(c, 4, "server --port 1");
	tb_capture_string(c, 5, "main");
	TB_REC(c, CAPTURE_REC_PROCESS, 100, 3, 0, 1, 4);
	TB_REC(c, CAPTURE_REC_PROCESS, 200, 3, 5, 1, 0);
	tb_capture_mapping_pid(c, 1, start, end, offset, 1, 100);
	tb_capture_mapping_pid(c, 2, start + delta, end + delta, offset, 1, 200);
	/* Written last: a lookup across processes would take it (newest). */
	tb_capture_mapping_pid(c, 3, start, end, 0, 2, 200);
	TB_REC(c, CAPTURE_REC_THREAD, 100, 5, 0, 100);
	TB_REC(c, CAPTURE_REC_THREAD, 201, 5, 6, 200);
	uint64_t a[] = { fn }, b[] = { fn + delta }, other[] = { fn };
	tb_capture_stack_pid(c, 1, a, 1, 100);
	tb_capture_stack_pid(c, 2, b, 1, 200);
	tb_capture_stack_pid(c, 3, other, 1, 200);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 10, 100, 1, 3, 30000000);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 20, 201, 2, 2, 20000000);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 30, 201, 3, 1, 10000000);
	/* A thread never announced: its stack says its process. */
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 40, 202, 2, 1, 10000000);
	TB_REC(c, CAPTURE_REC_PROCESS_END, 200, 50);
	char err[256] = "";
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	if (!p) {
		printf("    %s\n", err);
		return;
	}
	CHECK_EQ_INT(p->nprocesses, 2);
	CHECK_EQ_INT(p->processes[0].pid, 100);
	CHECK_STR(p->processes[0].name, "server");
	CHECK_STR(p->processes[0].cmdline, "server --port 1");
	CHECK_EQ_INT(p->processes[1].end_ns, 50);
	CHECK_EQ_INT(p->mappings[0].pid, 100);
	CHECK_EQ_INT(p->mappings[2].pid, 200);
	CHECK_EQ_INT(p->stacks[1].pid, 200);
	CHECK_EQ_INT(p->nthreads, 3);
	CHECK_EQ_INT(p->threads[0].pid, 100);
	CHECK_EQ_INT(p->threads[1].pid, 200);
	CHECK_EQ_INT(p->threads[2].pid, 200);
	CHECK_EQ_INT(p->threads[2].process, 1);
	uint64_t *samples, *ns;
	profile_process_totals(p, &samples, &ns);
	CHECK_EQ_INT(samples[0], 3);
	CHECK_EQ_INT(samples[1], 4);
	free(samples);
	free(ns);
	char label[128];
	CHECK_STR(profile_thread_label(p, &p->threads[1], label, sizeof(label)),
		  "main [201] in server [200]");

	struct symbolizer *s = sym_new();
	profile_resolve(p, s);
	/* Each process's address in its own mapping of the binary; one
	 * function for both. */
	CHECK_STR(frame_name(p, 0, 0), "oneprof_unit_proc_target");
	CHECK_STR(frame_name(p, 1, 0), "oneprof_unit_proc_target");
	CHECK(frame_fn(p, 0, 0) == frame_fn(p, 1, 0));
	/* The same address in the second process is its other file. */
	CHECK(strncmp(frame_name(p, 2, 0), "other.so+0x", 11) == 0);
	CHECK_EQ_INT(p->locations[p->stacks[0].locations[0]].mapping, 0);
	CHECK_EQ_INT(p->locations[p->stacks[1].locations[0]].mapping, 1);
	CHECK_EQ_INT(p->locations[p->stacks[2].locations[0]].mapping, 2);
	sym_free(s);

	/* --pid and --comm keep whole processes. */
	struct profile_filter f;
	profile_filter_init(&f);
	CHECK(profile_filter_add_pids(&f, "200", err, sizeof(err)));
	struct profile *v = profile_filter(p, &f, err, sizeof(err));
	CHECK(v && v->total_count == 4);
	profile_view_free(v);
	profile_filter_release(&f);
	profile_filter_init(&f);
	CHECK(profile_filter_add_pids(&f, "100,200", err, sizeof(err)));
	CHECK(!profile_filter_add_pids(&f, "12x", err, sizeof(err)));
	CHECK(strstr(err, "--pid '12x' is not a list of process ids") != NULL);
	profile_filter_release(&f);
	profile_filter_init(&f);
	profile_filter_add(&f.comm, "^serv");
	f.npids = 0;
	v = profile_filter(p, &f, err, sizeof(err));
	CHECK(v && v->total_count == 7);
	profile_view_free(v);
	profile_filter_release(&f);
	profile_filter_init(&f);
	profile_filter_add(&f.comm, "nginx");
	v = profile_filter(p, &f, err, sizeof(err));
	CHECK(v && v->total_count == 0);
	profile_view_free(v);
	profile_filter_release(&f);
	profile_free(p);
}

TEST(processes_kernel_frames)
{
	struct tb_capture *c = tb_capture_new();
	tb_capture_string(c, 1, "do_sys_poll");
	tb_capture_string(c, 2, "ext4_file_read_iter [ext4]");
	TB_REC(c, CAPTURE_REC_KERNEL_SYMBOL, 0xffffffff81000000ull, 0x100, 1);
	TB_REC(c, CAPTURE_REC_KERNEL_SYMBOL, 0xffffffffc0400000ull, 0x200, 2);
	/* Leaf first: a kernel address no symbol holds (past a sized one),
	 * then two with symbols, then a user address without a mapping. */
	uint64_t pcs[] = { 0xffffffff81000180ull, 0xffffffffc0400021ull, 0xffffffff81000011ull,
			   0x401000 };
	tb_capture_stack(c, 1, pcs, 4);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 10, 1, 1, 1, 10000000);
	char err[256] = "";
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_INT(p->nkernel_symbols, 2);
	profile_resolve(p, NULL);
	CHECK_STR(frame_name(p, 0, 0), "[kernel]+0xffffffff81000180");
	CHECK_STR(frame_fn(p, 0, 0)->module, "[kernel]");
	CHECK_STR(frame_name(p, 0, 1), "ext4_file_read_iter");
	CHECK_STR(frame_fn(p, 0, 1)->module, "[ext4]");
	CHECK_STR(frame_name(p, 0, 2), "do_sys_poll");
	CHECK_STR(frame_fn(p, 0, 2)->module, "[kernel]");
	CHECK_STR(frame_name(p, 0, 3), "0x400fff");
	profile_free(p);
}

/* Two processes with JIT code at the same address: each gets its own
 * perf map's name. */
TEST(processes_jit_symbols_bound_to_their_pid)
{
	struct tb_capture *c = tb_capture_new();
	tb_capture_string(c, 1, "//anon");
	tb_capture_string(c, 2, "node");
	tb_capture_string(c, 3, "LazyCompile:a");
	tb_capture_string(c, 4, "LazyCompile:b");
	tb_capture_string(c, 5, "/tmp/perf-100.map");
	tb_capture_string(c, 6, "/tmp/perf-200.map");
	TB_REC(c, CAPTURE_REC_PROCESS, 100, 2, 0, 1, 0);
	TB_REC(c, CAPTURE_REC_PROCESS, 200, 2, 0, 1, 0);
	tb_capture_mapping_pid(c, 1, 0x7000000, 0x7100000, 0, 1, 100);
	tb_capture_mapping_pid(c, 2, 0x7000000, 0x7100000, 0, 1, 200);
	uint64_t pc[] = { 0x7000010 };
	tb_capture_stack_pid(c, 1, pc, 1, 100);
	tb_capture_stack_pid(c, 2, pc, 1, 200);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 10, 100, 1, 1, 10000000);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 10, 200, 2, 1, 10000000);
	TB_REC(c, CAPTURE_REC_JIT_SYMBOL, 0x7000000, 0x100, 3);
	TB_REC(c, CAPTURE_REC_JIT_MAP, 100, 5, 1, 0, 0);
	TB_REC(c, CAPTURE_REC_JIT_SYMBOL, 0x7000000, 0x100, 4);
	TB_REC(c, CAPTURE_REC_JIT_MAP, 200, 6, 1, 0, 0);
	char err[256] = "";
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_INT(p->jit_symbols[0].pid, 100);
	CHECK_EQ_INT(p->jit_symbols[1].pid, 200);
	struct symbolizer *s = sym_new();
	profile_resolve(p, s);
	CHECK_STR(frame_name(p, 0, 0), "LazyCompile:a");
	CHECK_STR(frame_name(p, 1, 0), "LazyCompile:b");
	CHECK_STR(frame_fn(p, 1, 0)->module, "[jit]");
	sym_free(s);
	profile_free(p);
}

/* A mapping laid over part of another (a library mapped into a hole, a
 * file mapped again): each address belongs to the latest mapping holding
 * it. Sorted lookups reuse the last answer up to where it may change:
 * the next mapping's start, or the end of the one that held. */
TEST(processes_overlapping_mappings_latest_wins)
{
	struct tb_capture *c = tb_capture_new();
	tb_capture_string(c, 1, "/nonexistent/a.so");
	tb_capture_string(c, 2, "/nonexistent/b.so");
	tb_capture_string(c, 3, "app");
	TB_REC(c, CAPTURE_REC_PROCESS, 100, 3, 0, 1, 0);
	tb_capture_mapping_pid(c, 1, 0x10000, 0x50000, 0, 1, 100);
	tb_capture_mapping_pid(c, 2, 0x20000, 0x30000, 0x1000, 2, 100);
	/* Leaf first; callers are looked up at their address - 1. */
	uint64_t pcs[] = { 0x18000, 0x20001, 0x2ffff + 1, 0x30001, 0x4ffff + 1, 0x50001 };
	tb_capture_stack_pid(c, 1, pcs, 6, 100);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 10, 100, 1, 1, 10000000);
	char err[256] = "";
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	profile_resolve(p, NULL);
	CHECK_STR(frame_name(p, 0, 0), "a.so+0x8000");
	CHECK_STR(frame_name(p, 0, 1), "b.so+0x1000");
	CHECK_STR(frame_name(p, 0, 2), "b.so+0x10fff");
	CHECK_STR(frame_name(p, 0, 3), "a.so+0x20000");
	CHECK_STR(frame_name(p, 0, 4), "a.so+0x3ffff");
	CHECK_STR(frame_name(p, 0, 5), "0x50000");
	profile_free(p);
}

/* OFF_CPU intervals beside CPU samples: one profile of wall time split
 * by state, and the top report's off-CPU column. */
TEST(processes_off_cpu_wall_time)
{
	struct tb_capture *c = tb_capture_new();
	tb_capture_string(c, 1, "worker");
	TB_REC(c, CAPTURE_REC_THREAD, 7, 1, 0);
	uint64_t run[] = { 0x1000, 0x2000 }, wait[] = { 0x3000, 0x2000 };
	tb_capture_stack(c, 1, run, 2);
	tb_capture_stack(c, 2, wait, 2);
	for (uint64_t i = 0; i < 3; i++)
		TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 10 + i, 7, 1, 1, 10000000);
	TB_REC(c, CAPTURE_REC_OFF_CPU, 50, 7, 2, 50000000, CAPTURE_STATE_SLEEPING);
	TB_REC(c, CAPTURE_REC_OFF_CPU, 60, 7, 2, 10000000, CAPTURE_STATE_DISK);
	/* Preempted while runnable: off its CPU, in state running. */
	TB_REC(c, CAPTURE_REC_OFF_CPU, 70, 7, 2, 10000000, CAPTURE_STATE_RUNNING);
	char err[256] = "";
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(p->wall && p->off_cpu);
	CHECK_EQ_INT(p->total_cpu_ns, 100000000);
	CHECK_EQ_INT(p->state_ns[CAPTURE_STATE_RUNNING], 40000000);
	CHECK_EQ_INT(p->state_ns[CAPTURE_STATE_SLEEPING], 50000000);
	CHECK_EQ_INT(p->state_ns[CAPTURE_STATE_DISK], 10000000);
	CHECK_EQ_INT(p->off_cpu_ns, 70000000);
	CHECK_EQ_INT(p->nsamples, 6);
	CHECK(p->samples[5].off_cpu && p->samples[5].state == CAPTURE_STATE_RUNNING);
	CHECK(!p->samples[0].off_cpu);
	CHECK_EQ_INT(p->samples[3].state, CAPTURE_STATE_SLEEPING);
	CHECK_EQ_INT(p->samples[3].cpu_ns, 50000000);
	CHECK_EQ_INT(p->threads[0].sampled_cpu_ns, 100000000);
	/* One process, from the header: pid 1. */
	CHECK_EQ_INT(p->nprocesses, 1);
	CHECK_EQ_INT(p->processes[0].pid, 1);
	profile_resolve(p, NULL);

	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct report_options o = { .kind = REPORT_TOP };
	CHECK_EQ_INT(report_run(p, p, out, &o, err, sizeof(err)), 0);
	report_summary(p, out);
	fclose(out);
	/* 0x1fff (the caller of both) is 100 ms, 70 of them off-CPU;
	 * 0x2fff (the blocking leaf) 70 ms, all off-CPU. */
	CHECK(strstr(buf, "off-CPU   off%") != NULL);
	CHECK(strstr(buf, "     100ms 100.0%       70ms  70.0%  0x1fff") != NULL);
	CHECK(strstr(buf, "      70ms 100.0%  0x3000") != NULL);
	CHECK(strstr(buf, "30ms  30.0%        0ns   0.0%  0x1000") != NULL);
	CHECK(strstr(buf, "On/off:   on-CPU 30ms (30.0%), off-CPU 70ms (70.0%)") != NULL);
	free(buf);
	profile_free(p);
}

/* A capture of the agent: no pid fields, no PROCESS records. Everything
 * belongs to the header's process, which is in the table. */
TEST(processes_old_capture_unchanged)
{
	struct tb_capture *c = tb_capture_new();
	tb_capture_string(c, 1, "/bin/x");
	tb_capture_string(c, 2, "main");
	tb_capture_string(c, 3, "fn");
	tb_capture_string(c, 4, "/tmp/perf-77.map");
	TB_REC(c, CAPTURE_REC_MAPPING, 1, 0x400000, 0x500000, 0, 1, 0, 5);
	TB_REC(c, CAPTURE_REC_MAPPING, 2, 0x7000000, 0x7100000, 0, 0, 0, 5);
	TB_REC(c, CAPTURE_REC_THREAD, 1, 2, 0);
	uint64_t pcs[] = { 0x7000010, 0x401000 };
	tb_capture_stack(c, 1, pcs, 2);
	TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 10, 1, 1, 2, 20000000);
	/* The agent's perf map may carry another pid (a child's copy): it
	 * still names this process's code. */
	TB_REC(c, CAPTURE_REC_JIT_SYMBOL, 0x7000000, 0x100, 3);
	TB_REC(c, CAPTURE_REC_JIT_MAP, 77, 4, 1, 0, 0);
	char err[256] = "";
	struct profile *p = tb_capture_load(c, err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_INT(p->mappings[0].pid, 1);
	CHECK_EQ_INT(p->stacks[0].pid, 1);
	CHECK_EQ_INT(p->threads[0].pid, 1);
	CHECK_EQ_INT(p->jit_symbols[0].pid, 1);
	CHECK_EQ_INT(p->nprocesses, 1);
	CHECK(!p->off_cpu && !p->wall);
	CHECK_EQ_INT(p->state_ns[CAPTURE_STATE_RUNNING], 20000000);
	struct symbolizer *s = sym_new();
	profile_resolve(p, s);
	CHECK_STR(frame_name(p, 0, 0), "fn");
	CHECK_STR(frame_name(p, 0, 1), "x+0xfff");
	sym_free(s);
	char label[64];
	CHECK_STR(profile_thread_label(p, &p->threads[0], label, sizeof(label)), "main [1]");
	profile_free(p);
}

/* A module that cannot be opened is tried through its process's root
 * (another mount namespace); the warning names both attempts. */
TEST(processes_module_through_proc_root_warning)
{
	struct profile_mapping m = { .start = 0x400000, .end = 0x500000, .prot = 5 };
	m.path = "/nonexistent-oneprof-dir/app";
	m.pid = (uint64_t)getpid();
	struct symbolizer *s = sym_new();
	const struct sym_frame *frames;
	CHECK_EQ_INT(sym_lookup(s, &m, 0x401000, &frames), 0);
	const char *const *lines;
	size_t n = sym_warnings(s, &lines);
	char want[128];
	snprintf(want, sizeof(want), "nor through its process's root ('/proc/%d/root%s': ",
		 (int)getpid(), m.path);
	CHECK(n == 1 && strstr(lines[0], "module '/nonexistent-oneprof-dir/app' cannot be read") &&
	      strstr(lines[0], want));
	if (n)
		printf("    %s\n", lines[0]);
	sym_free(s);
}
