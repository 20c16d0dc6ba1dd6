/* Off-CPU time for the out-of-process collector (record --off-cpu): the
 * sched:sched_switch tracepoint turned into OFF_CPU records, one per
 * stretch a thread spent off its CPU, with the stack it left in. See
 * doc/design/collect.md, "Off-CPU".
 *
 * Two halves: the tracepoint's description (read from tracefs, decoded
 * without hard-coded offsets) and the interval tracker, which pairs each
 * thread's switch-out with its next switch-in and writes through the
 * collector's stack interning.
 *
 * Ownership: an offcpu tracker owns its thread table only; the collector
 * and the events are the session's. */
#ifndef COLLECT_OFFCPU_H
#define COLLECT_OFFCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf.h"

struct collect;

/* CPU numbers the tracker keeps the last switch time of (to bound a
 * switch-in it did not see); a switch on a higher one bounds nothing. */
#define OFFCPU_MAX_CPUS 65536u

/* One field of a tracepoint's record: offset and size in bytes. */
struct offcpu_field {
	uint16_t offset, size; /* size 0: not found */
};

/* What the sched_switch format file says. */
struct offcpu_format {
	uint32_t id; /* the tracepoint's perf config */
	struct offcpu_field prev_pid, prev_state, next_pid;
	/* The bit of prev_state that marks a preemption (TASK_REPORT_MAX
	 * since 4.14: 0x100 once TASK_REPORT_IDLE exists, 0x80 before; a
	 * larger TASK_STATE_MAX on older kernels), from the print format. */
	uint64_t preempt_bit;
	bool preempt_guessed; /* not in the print format: 0x100 assumed */
};

/* Parses a sched_switch format file's text. 0, or -1 with err saying
 * which field is missing. */
int offcpu_format_parse(const char *text, struct offcpu_format *f, char *err, size_t cap);

/* Finds tracefs (any mount of it, or debugfs's tracing/, or the usual
 * paths) and parses events/sched/sched_switch/format. 0, or -1 with one
 * line in err naming what is missing and how to fix it. */
int offcpu_format_load(struct offcpu_format *f, char *err, size_t cap);

/* One decoded sched_switch. */
struct offcpu_switch {
	int32_t prev_pid, next_pid;
	int64_t prev_state;
};

/* Decodes the raw data of one sample (PERF_SAMPLE_RAW's bytes). false
 * when it is too short for the fields. */
bool offcpu_decode(const struct offcpu_format *f, const uint8_t *raw, size_t len,
		   struct offcpu_switch *out);

/* prev_state as a capture thread state (CAPTURE_STATE_*), or
 * OFFCPU_STATE_EXITED for a task's last switch (dead or zombie). */
#define OFFCPU_STATE_EXITED 255u
unsigned offcpu_state(const struct offcpu_format *f, int64_t prev_state);

/* The tracepoint event: period 1, the collector's sample layout plus
 * RAW, and PERF_RECORD_SWITCH records for switch-ins. per_task: -p and
 * --perf (inherit); enable_on_exec for --perf. Disabled, like the
 * cpu-clock event. */
void offcpu_attr(struct perf_event_attr *attr, const struct offcpu_format *f, bool per_task,
		 bool enable_on_exec);

/* One line saying why the tracepoint event could not be opened. */
void offcpu_open_error(int err, const struct offcpu_format *f, const char *what, char *msg,
		       size_t cap);

/* The tracker. self: a pid left out (the collector itself under
 * --system; 0: none). */
struct offcpu *offcpu_new(const struct offcpu_format *f, pid_t self);
/* One record of an off-CPU ring: SAMPLE (a switch), SWITCH (a task's
 * switch-in), others (LOST, ...) handed to collect_record. */
void offcpu_record(struct offcpu *o, struct collect *c, const struct perf_event_header *h);
/* Closes the intervals still open at end_ns (CLOCK_MONOTONIC), the end of
 * the recording. */
void offcpu_finish(struct offcpu *o, struct collect *c, uint64_t end_ns);
void offcpu_free(struct offcpu *o);

#endif
