/* Off-CPU time of the perf_event collector: the sched_switch format file
 * (field offsets, the preemption bit of three kernel generations), the
 * prev_state mapping, raw decoding, and the interval tracker fed with
 * synthetic records, read back with the real reader and model. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../src/capture/format.h"
#include "../../src/collect/collect.h"
#include "../../src/collect/offcpu.h"
#include "../../src/model/profile.h"
#include "unit.h"

/* As a 6.x kernel prints it. */
static const char format_6x[] =
	"name: sched_switch\n"
	"ID: 372\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
	"\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
	"\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
	"\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
	"\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
	"\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
	"\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n"
	"\n"
	"print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s "
	"next_pid=%d next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, "
	"(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 "
	"| 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state "
	"& ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | "
	"0x00000020 | 0x00000040) + 1) << 1) - 1), \"|\", { 0x00000001, \"S\" }, { 0x00000002, "
	"\"D\" }, { 0x00000004, \"T\" }, { 0x00000008, \"t\" }, { 0x00000010, \"X\" }, { "
	"0x00000020, \"Z\" }, { 0x00000040, \"P\" }, { 0x00000080, \"I\" }) : \"R\", "
	"REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | "
	"0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? \"+\" : \"\", REC->next_comm, "
	"REC->next_pid, REC->next_prio\n";

/* 4.14's shape (TASK_REPORT_MAX = TASK_REPORT + 1), other offsets. */
static const char format_414[] =
	"name: sched_switch\nID: 283\nformat:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:1;\n"
	"\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
	"\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
	"\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
	"\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:1;\n"
	"\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
	"\nprint fmt: \"prev_state=%s%s\", (REC->prev_state & (((0x0000 | 0x0001 | 0x0002 | "
	"0x0004 | 0x0008 | 0x0010 | 0x0020 | 0x0040) + 1) - 1)) ? \"x\" : \"R\", "
	"REC->prev_state & ((0x0000 | 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010 | 0x0020 | "
	"0x0040) + 1) ? \"+\" : \"\"\n";

/* Older kernels: the raw state word, TASK_STATE_MAX as a number; a
 * 4-byte prev_state at another offset. */
static const char format_old[] =
	"name: sched_switch\nID: 61\nformat:\n"
	"\tfield:pid_t prev_pid;\toffset:28;\tsize:4;\tsigned:1;\n"
	"\tfield:int prev_state;\toffset:36;\tsize:4;\tsigned:1;\n"
	"\tfield:pid_t next_pid;\toffset:60;\tsize:4;\tsigned:1;\n"
	"\nprint fmt: \"...\", REC->prev_state & (2048-1) ? \"S\" : \"R\", "
	"REC->prev_state & 2048 ? \"+\" : \"\"\n";

TEST(offcpu_format_parse_offsets_and_preempt_bit)
{
	struct offcpu_format f;
	char err[128];
	CHECK_EQ_INT(offcpu_format_parse(format_6x, &f, err, sizeof(err)), 0);
	CHECK_EQ_INT(f.id, 372);
	CHECK_EQ_INT(f.prev_pid.offset, 24);
	CHECK_EQ_INT(f.prev_pid.size, 4);
	CHECK_EQ_INT(f.prev_state.offset, 32);
	CHECK_EQ_INT(f.prev_state.size, 8);
	CHECK_EQ_INT(f.next_pid.offset, 56);
	CHECK_EQ_INT(f.preempt_bit, 0x100);
	CHECK(!f.preempt_guessed);

	CHECK_EQ_INT(offcpu_format_parse(format_414, &f, err, sizeof(err)), 0);
	CHECK_EQ_INT(f.id, 283);
	CHECK_EQ_INT(f.preempt_bit, 0x80);

	CHECK_EQ_INT(offcpu_format_parse(format_old, &f, err, sizeof(err)), 0);
	CHECK_EQ_INT(f.preempt_bit, 2048);
	CHECK_EQ_INT(f.prev_state.offset, 36);
	CHECK_EQ_INT(f.prev_state.size, 4);
	CHECK_EQ_INT(f.next_pid.offset, 60);

	/* No print format: today's bit, marked as a guess. */
	CHECK_EQ_INT(offcpu_format_parse("ID: 5\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\n"
					 "\tfield:long prev_state;\toffset:32;\tsize:8;\n"
					 "\tfield:pid_t next_pid;\toffset:56;\tsize:4;\n",
					 &f, err, sizeof(err)),
		     0);
	CHECK_EQ_INT(f.preempt_bit, 0x100);
	CHECK(f.preempt_guessed);

	/* prev_comm is not prev_pid, and a missing field is named. */
	CHECK_EQ_INT(offcpu_format_parse("ID: 5\n\tfield:char prev_comm[16];\toffset:8;\tsize:16;\n",
					 &f, err, sizeof(err)),
		     -1);
	CHECK_STR(err, "no field prev_pid");
	CHECK_EQ_INT(offcpu_format_parse("format:\n", &f, err, sizeof(err)), -1);
	CHECK_STR(err, "no ID line");
}

TEST(offcpu_prev_state_mapping)
{
	struct offcpu_format f, f414;
	char err[128];
	CHECK_EQ_INT(offcpu_format_parse(format_6x, &f, err, sizeof(err)), 0);
	CHECK_EQ_INT(offcpu_format_parse(format_414, &f414, err, sizeof(err)), 0);
	CHECK_EQ_INT(offcpu_state(&f, 0x1), CAPTURE_STATE_SLEEPING);
	CHECK_EQ_INT(offcpu_state(&f, 0x2), CAPTURE_STATE_DISK);
	CHECK_EQ_INT(offcpu_state(&f, 0x0), CAPTURE_STATE_RUNNING);     /* yielded */
	CHECK_EQ_INT(offcpu_state(&f, 0x100), CAPTURE_STATE_RUNNING);   /* R+ */
	CHECK_EQ_INT(offcpu_state(&f, 0x101), CAPTURE_STATE_RUNNING);   /* preempted wins */
	CHECK_EQ_INT(offcpu_state(&f, 0x80), CAPTURE_STATE_SLEEPING);   /* I */
	CHECK_EQ_INT(offcpu_state(&f, 0x4), CAPTURE_STATE_OTHER);       /* T */
	CHECK_EQ_INT(offcpu_state(&f, 0x8), CAPTURE_STATE_OTHER);       /* t */
	CHECK_EQ_INT(offcpu_state(&f, 0x10), OFFCPU_STATE_EXITED);      /* X */
	CHECK_EQ_INT(offcpu_state(&f, 0x20), OFFCPU_STATE_EXITED);      /* Z */
	/* 4.14: 0x80 is the preemption bit, not I. */
	CHECK_EQ_INT(offcpu_state(&f414, 0x80), CAPTURE_STATE_RUNNING);
	CHECK_EQ_INT(offcpu_state(&f414, 0x81), CAPTURE_STATE_RUNNING);
	CHECK_EQ_INT(offcpu_state(&f414, 0x2), CAPTURE_STATE_DISK);
}

/* A raw sched_switch of format_6x, padded as the kernel does (u32 size
 * plus data: a multiple of 8). */
#define RAW_SIZE 68
static void raw_switch(uint8_t *raw, int32_t prev, int64_t state, int32_t next)
{
	memset(raw, 0, RAW_SIZE);
	uint16_t type = 372;
	memcpy(raw, &type, 2);
	memcpy(raw + 8, "prev", 5);
	memcpy(raw + 24, &prev, 4);
	memcpy(raw + 32, &state, 8);
	memcpy(raw + 40, "next", 5);
	memcpy(raw + 56, &next, 4);
}

TEST(offcpu_decode_raw)
{
	struct offcpu_format f;
	char err[128];
	CHECK_EQ_INT(offcpu_format_parse(format_6x, &f, err, sizeof(err)), 0);
	uint8_t raw[RAW_SIZE];
	raw_switch(raw, 4242, 0x102, 77);
	struct offcpu_switch sw;
	CHECK(offcpu_decode(&f, raw, sizeof(raw), &sw));
	CHECK_EQ_INT(sw.prev_pid, 4242);
	CHECK_EQ_INT(sw.prev_state, 0x102);
	CHECK_EQ_INT(sw.next_pid, 77);
	CHECK_EQ_INT(offcpu_state(&f, sw.prev_state), CAPTURE_STATE_RUNNING);
	/* Cut before next_pid ends. */
	CHECK(!offcpu_decode(&f, raw, 59, &sw));
}

/* --- the tracker --- */

#define PID 0x7fffff00
#define TID2 0x7fffff01
#define TID3 0x7fffff02

static uint32_t cur_cpu; /* the CPU the next synthetic switch is on */

struct rec {
	uint8_t b[512];
	size_t len;
};

static void put(struct rec *r, const void *p, size_t n)
{
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

static void put64(struct rec *r, uint64_t v)
{
	put(r, &v, 8);
}

static void put32(struct rec *r, uint32_t v)
{
	put(r, &v, 4);
}

static void header(struct rec *r, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = { .type = type, .misc = misc, .size = 0 };
	r->len = 0;
	put(r, &h, sizeof(h));
}

static const struct perf_event_header *done(struct rec *r)
{
	((struct perf_event_header *)r->b)->size = (uint16_t)r->len;
	return (const struct perf_event_header *)r->b;
}

/* tid of PID leaves at time in state, switching to next. */
static void out(struct offcpu *o, struct collect *c, uint32_t tid, uint64_t time, int64_t state,
		int32_t next, uint64_t user_pc)
{
	struct rec r;
	header(&r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL);
	put64(&r, 0xffffffff81000100ull);
	put32(&r, PID);
	put32(&r, tid);
	put64(&r, time);
	put32(&r, cur_cpu);
	put32(&r, 0);
	put64(&r, 1);
	uint64_t chain[] = { PERF_CONTEXT_KERNEL, 0xffffffff81000100ull, PERF_CONTEXT_USER,
			     user_pc, 0x400900 };
	put64(&r, 5);
	put(&r, chain, sizeof(chain));
	uint8_t raw[RAW_SIZE];
	raw_switch(raw, (int32_t)tid, state, next);
	put32(&r, RAW_SIZE);
	put(&r, raw, RAW_SIZE);
	offcpu_record(o, c, done(&r));
}

/* A task's own switch record (sample_id_all trailer). */
static void sw(struct offcpu *o, struct collect *c, uint32_t tid, uint64_t time, bool is_out)
{
	struct rec r;
	header(&r, PERF_RECORD_SWITCH, is_out ? PERF_RECORD_MISC_SWITCH_OUT : 0);
	put32(&r, PID);
	put32(&r, tid);
	put64(&r, time);
	put32(&r, 0);
	put32(&r, 0);
	offcpu_record(o, c, done(&r));
}

TEST(offcpu_intervals_to_capture)
{
	char path[] = "/tmp/oneprof-unit-offcpu-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	struct offcpu_format f;
	char err[256];
	CHECK_EQ_INT(offcpu_format_parse(format_6x, &f, err, sizeof(err)), 0);
	struct collect_options opt = { .mode = COLLECT_PIDS, .hz = 99, .ring_pages = 1,
				       .output = path, .off_cpu = true };
	struct collect *c = collect_new(fd, &opt, 0, err, sizeof(err));
	CHECK(c != NULL);
	if (!c)
		return;
	struct offcpu *o = offcpu_new(&f, 0);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1000000;

	/* Sleeps 1000 ns; back through its own switch-in record (the OUT
	 * record is not an end). */
	out(o, c, PID, t, 0x1, 1, 0x400100);
	sw(o, c, PID, t + 10, true);
	sw(o, c, PID, t + 1000, false);
	/* D for 3000 ns; back through another switch naming it next. */
	out(o, c, PID, t + 2000, 0x2, 1, 0x400200);
	out(o, c, TID2, t + 5000, 0x100, PID, 0x400300); /* TID2 preempted from here */
	/* The same switch-in reported twice, the second read late: nothing. */
	sw(o, c, PID, t + 5000, false);
	/* TID2 leaves again without coming back: its first interval is left
	 * out, counted. */
	out(o, c, TID2, t + 8000, 0x1, 0, 0x400300);
	/* PID's last switch: it exited, nothing opens. */
	out(o, c, PID, t + 9000, 0x20, 0, 0x400400);
	/* A stale switch-in from before TID2 left: ignored. */
	sw(o, c, TID2, t + 7000, false);
	/* On CPU 1: TID3 sleeps, the CPU switches at +6000 without a word of
	 * TID3 coming back, TID3 leaves again: its sleep ends at +6000. */
	cur_cpu = 1;
	out(o, c, TID3, t + 5500, 0x1, 1, 0x400500);
	out(o, c, 1, t + 6000, 0x1, 2, 0x400600);
	out(o, c, TID3, t + 6500, 0x1, 3, 0x400500);
	cur_cpu = 0;
	offcpu_finish(o, c, t + 10000); /* TID2's sleep ends with the recording */
	offcpu_free(o);

	const struct collect_stats *st = collect_get_stats(c);
	/* 1 pid 1 (not ours, but --system would see it), sleeping from
	 * +6000, and TID3 from +6500, end with the recording. */
	CHECK_EQ_INT(st->off_cpu, 6);
	CHECK_EQ_INT(st->off_cpu_open, 3);
	CHECK_EQ_INT(st->off_cpu_unpaired, 2);
	CHECK_EQ_INT(st->bad_records, 0);
	CHECK_EQ_INT(collect_finish(c), 0);
	collect_free(c);
	close(fd);

	struct profile *p = profile_load(path, err, sizeof(err));
	if (!p) {
		unit_fail(__FILE__, __LINE__, "profile_load: %s", err);
		unlink(path);
		return;
	}
	CHECK(p->off_cpu);
	CHECK_EQ_INT(p->off_cpu_ns, 1000 + 3000 + 2000 + 500 + 4000 + 3500);
	CHECK_EQ_INT(p->state_ns[CAPTURE_STATE_SLEEPING], 1000 + 2000 + 500 + 4000 + 3500);
	CHECK_EQ_INT(p->state_ns[CAPTURE_STATE_DISK], 3000);
	CHECK_EQ_INT(p->state_ns[CAPTURE_STATE_RUNNING], 0);
	CHECK_EQ_INT(p->total_count, 6);
	/* The blocking stacks: kernel frame, then the user chain. */
	bool found = false;
	for (size_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].n == 3 && p->stacks[i].pcs[0] == 0xffffffff81000100ull &&
		    p->stacks[i].pcs[1] == 0x400200 && p->stacks[i].pcs[2] == 0x400900)
			found = true;
	CHECK(found);
	profile_free(p);
	unlink(path);
}
