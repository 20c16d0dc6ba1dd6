/* Between the collector's decoding half (collect.c) and its session
 * (session.c): not for other modules. */
#ifndef COLLECT_INTERNAL_H
#define COLLECT_INTERNAL_H

#include "collect.h"

/* Adds a running process from /proc: name, command line, mappings and,
 * when threads is set, its threads' names. false: it is gone. */
bool collect_add_from_proc(struct collect *c, pid_t pid, bool threads);
/* Adds the launched command's process before it execs: no /proc look
 * (that would find oneprof's own image), its name from the command. */
void collect_add_command(struct collect *c, pid_t pid, const char *name);
/* The CPU time the profiled process used, for END (single target). */
void collect_set_process_cpu(struct collect *c, uint64_t ns);
/* Writes lost counts gathered since the last call, then cuts a chunk. */
int collect_flush(struct collect *c);
/* The user frames only: the kernel refused kernel samples. */
void collect_note_kernel_excluded(struct collect *c);
struct collect_stats *collect_stats_mut(struct collect *c);
/* A perf callchain of thread tid of pid at time (context markers dropped;
 * ip stands for an empty one) as a STACK record, written the first time;
 * the thread and its process are written first. Its stack id. */
uint64_t collect_stack(struct collect *c, pid_t pid, pid_t tid, uint64_t time, uint64_t ip,
		       const uint8_t *chain, uint64_t nr);
/* An OFF_CPU record: tid left its CPU at time (CLOCK_MONOTONIC) in
 * stack, for off_ns, in state (CAPTURE_STATE_*). */
void collect_write_off_cpu(struct collect *c, uint64_t time, pid_t tid, uint64_t stack,
			   uint64_t off_ns, unsigned state);

#endif
