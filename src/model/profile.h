/* The profile model: everything a capture says, as tables every report
 * and exporter reads (the shape of pprof's tables). Built by streaming a
 * capture through the reader; symbolized lazily by profile_resolve().
 *
 * Ownership: a profile owns every string, table and its header; pointers
 * into it stay valid until profile_free(). */
#ifndef MODEL_PROFILE_H
#define MODEL_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../capture/format.h"
#include "../capture/reader.h"
#include "heap.h"
#include "spans.h"

struct profile_mapping {
	uint64_t start, end, offset;
	const char *path;
	uint8_t build_id[64];
	size_t build_id_len;
	uint64_t prot;
	uint64_t pid; /* the process whose address space holds it (the header's
		       * pid when the capture did not say) */
};

/* A process of the capture: from PROCESS records, or the one process a
 * capture of the agent holds (its header's pid and command). Every
 * profile read from a capture has at least one when any thread does. */
struct profile_process {
	uint64_t pid, ppid;  /* ppid 0: unknown */
	const char *name;    /* command name; "pid N" when never announced */
	const char *cmdline; /* arguments joined by spaces, "" when unknown */
	uint64_t start_ns, end_ns; /* relative to the capture start; end 0: unknown */
};

struct profile_thread {
	uint64_t tid;
	const char *name;
	uint64_t start_ns, end_ns; /* relative to the capture start; end 0: unknown */
	uint64_t samples;
	uint64_t sampled_cpu_ns; /* CPU time its samples stand for */
	uint64_t cpu_ns;         /* CPU time it used, when its end was recorded */
	uint64_t pid;            /* its process (the header's pid unless said) */
	uint32_t process;        /* index into processes; >= nprocesses: none */
};

struct profile_stack {
	uint32_t n;          /* frames, leaf first */
	uint32_t end_reason; /* enum capture_stack_end */
	uint64_t *pcs;       /* return addresses except pcs[0], the interrupted pc */
	uint32_t *locations; /* after profile_resolve(): location index per frame */
	uint64_t pid;        /* whose mappings its user addresses are in */
};

struct profile_sample {
	uint64_t time_ns; /* since the capture start */
	uint32_t thread;  /* index into threads */
	uint32_t stack;   /* index into stacks */
	uint64_t count;   /* samples this record stands for */
	uint64_t cpu_ns;  /* time it stands for: CPU time, or in a wall-clock
			   * capture (profile.wall) real time */
	uint8_t state;    /* wall-clock capture, or off-CPU time of the
			   * collector: enum capture_thread_state */
	uint8_t off_cpu;  /* an off-CPU interval (OFF_CPU record), whatever its
			   * state: preempted counts as running but off-CPU */
	uint32_t labels;  /* index into label_sets; 0: no labels */
};

struct profile_function {
	const char *name;
	const char *module;  /* basename of the module, or "" */
	const char *file;    /* source file, "" when unknown */
	uint32_t start_line; /* line where it is declared, 0 when unknown */
};

/* One function of a location's inline chain and the line in it. */
struct profile_line {
	uint32_t function; /* index into functions */
	uint32_t line;     /* 0 when unknown */
};

struct profile_location {
	uint64_t address;
	int32_t mapping;   /* index into mappings, -1 when no mapping covers it */
	uint32_t function; /* index into functions: the function whose code
			    * holds the address (the outermost of lines) */
	/* The inline chain, innermost first; lines[nlines - 1] is
	 * `function`. nlines is 0 in profiles built by hand. */
	struct profile_line *lines;
	uint32_t nlines;
};

/* A symbol of a runtime's perf map (JIT code), as the capture kept it. */
struct profile_jit_symbol {
	uint64_t start, size;
	const char *name;
	uint64_t pid; /* the process whose perf map named it (its JIT_MAP's) */
};

/* A kernel function holding kernel addresses of the stacks (from
 * /proc/kallsyms when recorded): "name" or "name [module]". */
struct profile_kernel_symbol {
	uint64_t start, size; /* size 0: up to the next symbol */
	const char *name;
};

/* A perf map the agent copied into the capture, and what it left out. */
struct profile_jit_map {
	uint64_t pid;
	const char *path;
	uint64_t symbols; /* kept */
	uint64_t bad_lines; /* not "START SIZE name" */
	uint64_t dropped;   /* over the agent's limits */
};

struct profile_lost {
	unsigned source, reason;
	uint64_t count;
};

/* What an import of another tool's profile read and left out (pprof,
 * folded stacks, perf script text): 'oneprof import' prints it, every
 * other command warns about what was skipped. format is NULL for a
 * capture. */
struct profile_import {
	const char *format;      /* "pprof", "folded", "perf script" */
	const char *input_types; /* pprof: every sample type of the file,
				  * "samples/count, cpu/nanoseconds" */
	bool has_count;          /* sample counts are counts of samples */
	uint64_t records;        /* samples (pprof, perf) or lines (folded) read */
	uint64_t bad;            /* malformed lines or samples skipped */
	uint64_t first_bad_line; /* line of the first (text formats) */
	char bad_why[160];       /* what was wrong with it */
	uint64_t zero;           /* samples whose value was 0: nothing to add */
	uint64_t other_event;    /* perf: samples of other events, skipped */
	const char *other_event_name; /* the first of those events */
	uint64_t truncated;      /* stacks cut at max_frames */
	uint64_t stray_lines;    /* perf: indented lines that are not frames */
	uint64_t unknown_fields; /* pprof: fields profile.proto does not
				  * define, ignored */
};

struct profile {
	struct capture_header hdr;
	const char *name; /* the file it was loaded from */

	struct profile_mapping *mappings;
	size_t nmappings, cap_mappings;
	struct profile_thread *threads;
	size_t nthreads, cap_threads;
	struct profile_stack *stacks;
	size_t nstacks, cap_stacks;
	struct profile_sample *samples;
	size_t nsamples, cap_samples;
	struct profile_lost *lost;
	size_t nlost, cap_lost;
	/* Processes, in the order first announced. */
	struct profile_process *processes;
	size_t nprocesses, cap_processes;
	struct profile_kernel_symbol *kernel_symbols;
	size_t nkernel_symbols, cap_kernel_symbols;

	/* Filled by profile_resolve(). */
	struct profile_function *functions;
	size_t nfunctions, cap_functions;
	struct profile_location *locations;
	size_t nlocations, cap_locations;
	struct profile_line *lines; /* every location's chain, end to end */
	size_t nlines, cap_lines;

	/* JIT symbols from perf maps, in capture order. */
	struct profile_jit_symbol *jit_symbols;
	size_t njit_symbols, cap_jit_symbols;
	struct profile_jit_map *jit_maps;
	size_t njit_maps, cap_jit_maps;

	bool wall;             /* wall-clock samples: times are real time */
	/* Off-CPU intervals (the collector's OFF_CPU records) mixed with
	 * CPU samples: wall is set too, and state_ns splits the time. */
	bool off_cpu;
	uint64_t off_cpu_ns; /* the time of the off-CPU samples */
	/* What sample values (cpu_ns) measure: NULL or "nanoseconds" for
	 * time, "bytes", "count". Reports format values by it. */
	const char *unit;
	/* Heap analyses, when the capture holds heap events (heap.h); after
	 * profile_heap_view() the samples show heap_metric. */
	struct profile_heap *heap;
	bool heap_view;
	/* Spans, counters, operation counts and GC (spans.h); NULL when the
	 * capture has none. After profile_span_view() the samples show span
	 * self time. */
	struct profile_spans *spans;
	bool span_view;
	/* Label sets (spans.h); set 0, the empty set, is always there once
	 * any set is. */
	struct profile_label_set *label_sets;
	size_t nlabel_sets, cap_label_sets;
	enum heap_metric heap_metric;
	/* Read from a pprof file: the sample type shown (cpu_ns holds its
	 * values, in ns when it is a time) and its unit. */
	bool pprof;
	const char *pprof_type, *pprof_unit;
	/* Made by 'oneprof merge': its inputs, ", "-separated (a pprof
	 * comment carries it); NULL otherwise. */
	const char *merged_from;
	/* Read from another tool's format: what the import saw. */
	struct profile_import import;
	uint64_t state_ns[CAPTURE_STATE_COUNT]; /* wall time by thread state */
	/* Samples of one thread, stack, label set and state are summed into
	 * one, with the time of the first, unless the profile was read with
	 * PROFILE_SAMPLE_TIMES: memory then grows with distinct stacks, not
	 * with the length of the recording. */
	bool coalesced;
	uint64_t samples_end_ns; /* time of the latest sample */
	uint64_t total_count;  /* sum of sample counts */
	uint64_t total_cpu_ns; /* sum of sample CPU time */
	uint64_t stack_ends[CAPTURE_STACK_END_COUNT]; /* samples by walk end */

	bool has_end; /* the writer finished cleanly (END record) */
	uint64_t duration_ns;
	uint64_t process_cpu_ns;
	uint64_t peak_rss_kb;
	/* Sampling paused (oneprof_stop, the toggle signal, ONEPROF_PAUSED). */
	uint32_t pauses;
	uint64_t paused_ns;

	/* How reading ended. */
	enum capture_read_status status;
	char stop_reason[256];
	uint64_t chunks;
	uint64_t good_bytes;
	uint64_t skipped_records;

	/* private */
	void **blocks; /* profile_alloc()'s */
	size_t nblocks, cap_blocks;
	char *block_next;
	size_t block_left;
	uint32_t *tid_slots; /* see thread_find() */
	size_t tid_cap;
	bool paused_now; /* while reading: the last PAUSE record said paused */
	uint64_t paused_since;
	char **strings; /* capture string ids, 1-based */
	size_t nstrings, cap_strings;
	uint64_t *pc_pool;
	struct intern *intern;
	size_t process_records; /* PROCESS records read */
	size_t jit_unbound;     /* first JIT symbol no JIT_MAP has claimed yet */
};

/* The pprof comment that carries merged_from. */
#define PPROF_MERGED_COMMENT "oneprof merged from: "

/* Loads a capture, or a pprof profile (gzipped or raw protobuf, told
 * apart by content) into the same model, already resolved. NULL and a
 * one-line message when it cannot be read at all; a damaged capture tail
 * still loads, with status and stop_reason set. */
struct profile *profile_load(const char *path, char *err, size_t errlen);
/* Same; sample_index names the pprof sample type to read ("cpu",
 * "alloc_space", or its number; NULL: the profile's default, else the
 * last, like pprof). Captures ignore it. */
struct profile *profile_load_index(const char *path, const char *sample_index, char *err,
				   size_t errlen);
/* Every sample on its own, with its time: what timelines need (Chrome
 * trace, speedscope, PerfView). Without it samples are coalesced. */
#define PROFILE_SAMPLE_TIMES 0x1u
struct profile *profile_load_with(const char *path, const char *sample_index, unsigned flags,
				  char *err, size_t errlen);

/* true when the first bytes of a file look like a pprof profile: gzip
 * magic, or a protobuf starting with a sample_type. */
bool profile_is_pprof(const uint8_t *data, size_t len);

/* The formats every command reads. */
enum profile_format {
	PROFILE_FORMAT_UNKNOWN,
	PROFILE_FORMAT_CAPTURE,
	PROFILE_FORMAT_PPROF,
	PROFILE_FORMAT_FOLDED,
	PROFILE_FORMAT_PERF_SCRIPT,
};
/* How many bytes of a file profile_detect() wants to see. */
#define PROFILE_DETECT_BYTES 4096
/* What the first bytes of a file are: the one place that decides, for
 * every command. Text that is neither folded stacks nor perf script is
 * UNKNOWN (the capture reader then says what it expected). */
enum profile_format profile_detect(const uint8_t *head, size_t len);
/* "capture", "pprof", "folded", "perf-script" (the names of import
 * --format), or NULL for UNKNOWN; and back (UNKNOWN for none). */
const char *profile_format_name(enum profile_format f);
enum profile_format profile_format_parse(const char *name);

/* Limits of the text readers: a stack deeper than max_frames keeps its
 * leaf-most frames (counted in import.truncated); a line longer than
 * max_line bytes is malformed. 0: the defaults. */
#define PROFILE_TEXT_MAX_FRAMES 4096
#define PROFILE_TEXT_MAX_LINE (1u << 20)
struct profile_text_limits {
	size_t max_frames, max_line;
};
/* Folded stacks ("root;caller;leaf COUNT" lines, src/model/folded_read.c)
 * and perf script text with call chains (src/model/perf_script_read.c)
 * into the model, already resolved. Malformed lines are skipped and
 * counted in p->import; NULL and a message when the input holds no
 * sample at all or cannot be read. perf script: event names the event
 * to import (NULL: the first one seen). flags: PROFILE_SAMPLE_TIMES. */
struct profile *profile_read_folded(FILE *f, const char *name,
				    const struct profile_text_limits *lim, unsigned flags,
				    char *err, size_t errlen);
struct profile *profile_read_perf_script(FILE *f, const char *name, const char *event,
					 const struct profile_text_limits *lim, unsigned flags,
					 char *err, size_t errlen);
/* Any format from an open stream (a file, or standard input: it need not
 * seek): detected, or the one forced (not UNKNOWN). sample_index: the
 * pprof sample type, or the perf script event. */
struct profile *profile_load_stream(FILE *f, const char *name, enum profile_format force,
				    const char *sample_index, const struct profile_text_limits *lim,
				    unsigned flags, char *err, size_t errlen);
/* A pprof profile in memory into the model (src/model/pprof_read.c). */
struct profile *profile_read_pprof(const uint8_t *data, size_t len, const char *name,
				   const char *sample_index, char *err, size_t errlen);
/* Same, from an open stream (tests use fmemopen), every sample kept. */
struct profile *profile_read(FILE *f, const char *name, char *err, size_t errlen);
struct profile *profile_read_with(FILE *f, const char *name, unsigned flags, char *err,
				  size_t errlen);
void profile_free(struct profile *p);

/* A profile fed one record at a time as a capture is being written (the
 * live model of oneprof top, model/live.h): every sample kept on its own,
 * never coalesced. profile_stream_add() returns false for a malformed
 * record; profile_stream_processes() gives every thread its process, as
 * the end of reading does, and may be called again as more arrive. */
struct profile *profile_stream_new(const struct capture_header *h, const char *name);
bool profile_stream_add(struct profile *p, const struct capture_record *rec);
void profile_stream_processes(struct profile *p);

/* A setting of the capture's config text ("key=value" lines): the value,
 * up to its line's end, or NULL when the key is not there; as a number,
 * or def. */
const char *profile_config(const struct profile *p, const char *key);
uint64_t profile_config_u64(const struct profile *p, const char *key, uint64_t def);

/* The warning to print when the capture did not end cleanly, or NULL. */
const char *profile_incomplete_reason(const struct profile *p, char *buf, size_t len);

struct symbolizer;
/* Builds locations and functions for every frame: each distinct address
 * is symbolized once, in address order (so each module's debug info is
 * read in one sweep); sym may be NULL (module+offset names only). */
void profile_resolve(struct profile *p, struct symbolizer *sym);

/* The functions of a resolved stack, leaf first, as reports and exporters
 * show them: a location with an inline chain gives every inlined function
 * as its own frame, innermost first, then the function holding the code.
 * Writes at most cap indexes into functions[] to out and returns how many
 * it wrote. Every report and exporter walks stacks through this one
 * function. */
size_t profile_stack_functions(const struct profile *p, const struct profile_stack *s,
			       uint32_t *out, size_t cap);

/* The most functions profile_stack_functions() gives for any one stack of
 * p: a buffer of that many (at least 1) always suffices. */
size_t profile_max_stack_functions(const struct profile *p);

/* The thread with this tid, added (named "tid N") when the capture did
 * not announce it. */
struct profile_thread *profile_thread_get(struct profile *p, uint64_t tid, uint64_t time);
/* The process with this pid (the latest, when a pid was reused), or
 * NULL. */
const struct profile_process *profile_process_find(const struct profile *p, uint64_t pid);
/* A thread's process, or NULL (a profile built by hand or from pprof). */
const struct profile_process *profile_thread_process(const struct profile *p,
						     const struct profile_thread *t);
/* Samples and sampled time per process (arrays of nprocesses the caller
 * frees), from the threads' counts: a filtered view gives its own. */
void profile_process_totals(const struct profile *p, uint64_t **samples, uint64_t **ns);
/* "name [tid]", and " in process [pid]" after it when the profile holds
 * more than one process: how reports and exporters name a thread. */
const char *profile_thread_label(const struct profile *p, const struct profile_thread *t,
				 char *buf, size_t len);

/* Functions by identity (name, module, file, start line; strings
 * interned in the profile, so pointers compare): index + 1 per slot, 0
 * empty. Zeroed to start; free(slots) at the end. */
struct profile_function_index {
	uint32_t *slots;
	size_t cap;
};
/* The index in p->functions of the function equal to f, added when
 * there is none. */
uint32_t profile_function_get(struct profile *p, struct profile_function_index *ix,
			      const struct profile_function *f);

/* Adds a sample (thread and stack indexes set) to its thread's and the
 * profile's totals: counts, time, walk ends, states, off-CPU time, the
 * latest sample time. Every place that builds samples counts them here. */
void profile_count_sample(struct profile *p, const struct profile_sample *s);
/* A capture string by id; NULL when undefined. */
const char *profile_string(struct profile *p, uint64_t id);

/* Interns a string in the profile's pool (stable until profile_free). */
const char *profile_intern(struct profile *p, const char *s, size_t len);
/* Memory that lives as long as p, 8-byte aligned, never NULL: what a
 * stack's pcs and locations are allocated from (profile_free frees it
 * all at once; a malloc and a free per stack were 4% of the instructions
 * of loading and symbolizing a capture of short stacks). */
void *profile_alloc(struct profile *p, size_t bytes);

#endif
