/* perf_event plumbing of the out-of-process collector: opening events,
 * mapping their rings, and reading whole records out of a ring.
 *
 * Ownership: a perf_ring owns its mapping and its copy buffer, not the
 * event's file descriptor, which the session opens and closes. */
#ifndef COLLECT_PERF_H
#define COLLECT_PERF_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest record a ring can hold: perf_event_header.size is 16 bits. */
#define PERF_RECORD_MAX 65536u

struct perf_ring {
	struct perf_event_mmap_page *meta; /* the control page */
	uint8_t *data;                     /* data pages: size bytes, a power of two */
	uint64_t size;
	size_t map_len;                    /* whole mapping, 0: not mmap'ed (tests) */
	uint8_t *copy;                     /* PERF_RECORD_MAX bytes: a record that wraps */
};

/* Called with each whole record, contiguous in memory, size >= 8. */
typedef void (*perf_record_fn)(void *arg, const struct perf_event_header *h);

/* Maps the ring of an event: one control page and `pages` data pages (a
 * power of two). Returns 0 or -errno. */
int perf_ring_map(struct perf_ring *r, int fd, unsigned pages);
/* A ring over memory the caller owns (the unit tests' synthetic rings):
 * meta then `size` bytes of data. */
int perf_ring_attach(struct perf_ring *r, struct perf_event_mmap_page *meta, uint8_t *data,
		     uint64_t size);
void perf_ring_unmap(struct perf_ring *r);

/* Hands every whole record between the ring's tail and head to fn, then
 * gives the space back to the kernel. A record that straddles the end of
 * the ring is copied out first. A header that cannot be right (size
 * under 8, or past the head) skips the rest of what is there and counts
 * one in *bad: the kernel never writes that, so it is a bug, not data.
 * Returns the records handed over. */
size_t perf_ring_drain(struct perf_ring *r, perf_record_fn fn, void *arg, uint64_t *bad);

/* perf_event_open(2); -errno on failure. */
int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu);

/* A software cpu-clock sampling event as the collector uses it:
 * frequency mode at hz, CLOCK_MONOTONIC timestamps, IP, TID, TIME, CPU,
 * PERIOD and the kernel's frame-pointer callchain; MMAP2, COMM and task
 * records with the sample id fields on every record. Disabled: the
 * session enables it once its ring is mapped (or on exec). */
void perf_attr_cpu_clock(struct perf_event_attr *attr, unsigned hz);

/* --call-graph dwarf: the user registers an unwind starts from (x86-64
 * perf register numbers of <asm/perf_regs.h>: BP 6, SP 7, IP 8) and the
 * bytes of user stack the kernel copies per sample. */
#define PERF_DWARF_REGS_MASK ((1ull << 6) | (1ull << 7) | (1ull << 8))
#define PERF_DWARF_DEFAULT_STACK 8192u /* perf's default too */
#define PERF_DWARF_MIN_STACK 8u
/* The largest multiple of 8 a 16-bit record size can carry (the kernel
 * clips the copy further to what fits beside the sample's other fields). */
#define PERF_DWARF_MAX_STACK 65528u

/* Turns a cpu-clock event into a DWARF one: user registers and
 * stack_bytes of user stack per sample (a multiple of 8), and kernel
 * frames only in the callchain (user frames come from the unwinder). */
void perf_attr_dwarf(struct perf_event_attr *attr, uint32_t stack_bytes);

/* A sample's PERF_SAMPLE_REGS_USER and PERF_SAMPLE_STACK_USER fields. */
struct perf_user_stack {
	uint64_t abi;            /* PERF_SAMPLE_REGS_ABI_*; NONE: no user context (a
				    kernel thread) and no registers */
	uint64_t ip, sp, bp;
	const uint8_t *stack;    /* the copy, from sp; NULL when none */
	uint64_t size;           /* bytes the record holds */
	uint64_t dyn_size;       /* of which the kernel could fill (<= size) */
};

/* Reads the fields at p (after the callchain) for a register mask of
 * PERF_DWARF_REGS_MASK, every read inside [p, end). Returns false when
 * the record is too short for them or dyn_size exceeds size. */
bool perf_parse_user_stack(const uint8_t *p, const uint8_t *end, struct perf_user_stack *out);

/* One line saying why opening an event failed and how to fix it. `what`
 * names the target ("process 123", "CPU 1", "command 'x'"). */
void perf_open_error(int err, const char *what, char *msg, size_t cap);

/* An integer from a /proc/sys file; def when unreadable. */
long perf_sysctl(const char *path, long def);

#endif
