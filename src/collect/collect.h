/* The out-of-process collector: samples running processes, the whole
 * machine, or a command launched without the agent, with perf_event, and
 * writes the same capture format as the agent (doc/design/collect.md).
 *
 * collect_run() is the whole recording; collect_new(), collect_record()
 * and collect_finish() are its decoding half, which turns perf records
 * into capture records and is driven by the unit tests with synthetic
 * records.
 *
 * Ownership: a collect session owns its capture writer, its process and
 * thread tables and its events; not the output file descriptor. */
#ifndef COLLECT_H
#define COLLECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf.h"

enum collect_mode {
	COLLECT_PIDS = 1, /* -p PID[,PID...]: per-thread events, inherited */
	COLLECT_SYSTEM,   /* --system: one event per online CPU */
	COLLECT_COMMAND,  /* --perf -- CMD: the command's event, inherited, enabled on exec */
};

/* Limits, each a named bound. */
#define COLLECT_DEFAULT_RING_PAGES 64u /* data pages per ring (256 KiB with 4 KiB pages) */
#define COLLECT_MAX_RING_PAGES 65536u  /* 256 MiB per ring */
#define COLLECT_MAX_PIDS 256u          /* targets of one -p list */
#define COLLECT_MAX_FRAMES 1024u       /* frames kept per sample; the kernel's own
					  limit (kernel.perf_event_max_stack, 127) is lower */
#define COLLECT_FLUSH_NS 1000000000ull /* a chunk reaches the file at least this often */
#define COLLECT_POLL_MS 100            /* longest wait between two drains */

struct collect_options {
	enum collect_mode mode;
	const pid_t *pids; /* COLLECT_PIDS */
	size_t npids;
	char *const *argv; /* COLLECT_COMMAND: the command and its arguments */
	const char *path;  /* COLLECT_COMMAND: argv[0] resolved */
	unsigned hz;
	unsigned ring_pages;  /* a power of two */
	uint64_t duration_ns; /* 0: until a signal, or every target exited */
	const char *output;
	/* oneprof top: the capture goes to fd (not closed) instead of
	 * output, cut into a chunk at least every flush_ns (0:
	 * COLLECT_FLUSH_NS), and the recording ends once *stop is set (by
	 * another thread; NULL: never). */
	bool use_fd;
	int fd;
	uint64_t flush_ns;
	const atomic_bool *stop;
	bool off_cpu;         /* also OFF_CPU records from sched:sched_switch (offcpu.h) */
	/* --call-graph dwarf[,SIZE]: bytes of user stack copied per sample
	 * and unwound by the collector (PERF_DWARF_MIN_STACK to
	 * PERF_DWARF_MAX_STACK, a multiple of 8); 0: frame pointers. */
	unsigned dwarf_stack;
};

struct collect_stats {
	uint64_t samples;      /* CPU_SAMPLE records written */
	uint64_t lost;         /* the kernel's PERF_RECORD_LOST(_SAMPLES) counts, summed */
	uint64_t throttled;    /* PERF_RECORD_THROTTLE records */
	uint64_t bad_records;  /* perf records too short for their fields: skipped */
	uint64_t events;       /* perf events opened */
	uint64_t processes;    /* processes written to the capture */
	uint64_t kernel_symbols;
	uint64_t off_cpu;          /* OFF_CPU records written */
	uint64_t off_cpu_open;     /* of those, intervals open at the end (closed there) */
	uint64_t off_cpu_unpaired; /* intervals whose switch-in was never seen (a lost or
				      unreported switch): ended at the CPU's last switch
				      seen (a lower bound), or left out without one */
	bool kernel_hidden;    /* kallsyms addresses hidden (kptr_restrict): no kernel names */
	bool kernel_excluded;  /* the kernel refused kernel samples: user frames only */
	bool command_exited;   /* COLLECT_COMMAND: the command ended; status below */
	/* --call-graph dwarf: samples with no user context (kernel threads:
	 * kernel frames only), samples whose stack copy ran out before the
	 * outermost frame (TRUNCATED: raise SIZE), module files whose unwind
	 * tables were read, and those that could not be (frame-pointer steps
	 * there). */
	uint64_t dwarf_no_user, dwarf_truncated;
	unsigned dwarf_files, dwarf_files_failed;
	int command_status;    /* as waitpid gives it */
};

/* A mapping of a process's address space, as the collector tracks it
 * (from /proc/PID/maps at start, then MMAP2 records). Kept for the
 * offline unwinder, which needs the file behind each address. */
struct collect_mapping {
	uint64_t start, end, offset;
	uint32_t prot;          /* PROT_READ/WRITE/EXEC bits */
	uint64_t dev, ino;      /* as the kernel reported them; 0: unknown */
	char *path;             /* as the process sees it ("[vdso]" for the vDSO) */
	char *open_path;        /* readable from here: /proc/PID/root/PATH when that
				   worked, else path */
	uint64_t id;            /* its MAPPING record id; 0: not written yet */
};

struct unwind_space;

struct collect_process {
	pid_t pid, ppid;
	pid_t nspid;            /* the pid in its own pid namespace (perf maps use it) */
	char comm[16];
	char *cmdline;          /* arguments joined by spaces; NULL: unknown */
	struct collect_mapping *maps; /* sorted by start, not overlapping */
	size_t nmaps, cap_maps;
	bool announced;         /* its PROCESS record (and mappings) are written */
	bool ended;
	struct unwind_space *space; /* --call-graph dwarf: the same mappings, for the
				       unwinder (dwarf.c); NULL: none yet */
};

/* Records a whole session; fills *st and returns 0, or returns a
 * non-zero exit status with one line in err saying what failed and how to
 * fix it. */
int collect_run(const struct collect_options *o, struct collect_stats *st, char *err,
		size_t cap);

/* The decoding half. collect_new writes the capture's header to fd for
 * target pid (0: several). */
struct collect;
struct collect *collect_new(int fd, const struct collect_options *o, pid_t header_pid,
			    char *err, size_t cap);
/* One whole perf record, as perf_ring_drain hands it over. */
void collect_record(struct collect *c, const struct perf_event_header *h);
/* Kernel symbols, perf maps, lost counts and END; flushes. 0 or -errno of
 * the capture's first write error. */
int collect_finish(struct collect *c);
const struct collect_stats *collect_get_stats(const struct collect *c);
void collect_free(struct collect *c);

/* The mapping table, for the unwinder: the process (NULL: not seen) and
 * the mapping holding addr (NULL: none). */
const struct collect_process *collect_process_find(const struct collect *c, pid_t pid);
const struct collect_mapping *collect_mapping_find(const struct collect_process *p,
						   uint64_t addr);

#endif
