/* The capture format: constants shared by every writer (agent, collector)
 * and the reader. doc/capture-format.md is the prose version of this file;
 * change both together. */
#ifndef CAPTURE_FORMAT_H
#define CAPTURE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* 0x89 first so a text-mode transfer or a 7-bit channel is caught, CR LF
 * and ^Z so line-ending conversion is caught (the PNG trick). */
#define CAPTURE_MAGIC "\x89OPF\r\n\x1a\n"
#define CAPTURE_MAGIC_LEN 8

/* version: what the writer wrote. min_version: the oldest reader version
 * that can still read it. A reader of version R reads a file when
 * min_version <= R. Additive changes (new record kinds, new trailing fields)
 * bump version only; incompatible ones bump min_version too. */
#define CAPTURE_VERSION 1
#define CAPTURE_MIN_VERSION 1

/* File prefix: magic[8] u16 version, u16 min_version, u32 header_len,
 * u32 header_checksum, then header_len bytes of header fields. */
#define CAPTURE_PREFIX_LEN 20
#define CAPTURE_MAX_HEADER (1u << 20)

/* Chunk prefix: u32 magic, u32 sequence, u32 stored_len, u32 raw_len,
 * u8 compression, u8 reserved[3], u32 checksum. All little-endian. */
#define CAPTURE_CHUNK_MAGIC 0x4b43504fu /* "OPCK" */
#define CAPTURE_CHUNK_PREFIX_LEN 24
/* Bound on one chunk, stored or raw: the reader never allocates more. */
#define CAPTURE_MAX_CHUNK (16u << 20)

enum capture_compression {
	CAPTURE_COMPRESS_NONE = 0,
	CAPTURE_COMPRESS_ZSTD = 1,
};

/* Header fields: varint key, varint length, value. Integers are varints,
 * text is UTF-8 without a terminator. Unknown keys are skipped. */
enum capture_header_key {
	CAPTURE_HDR_PID = 1,
	CAPTURE_HDR_CMDLINE = 2,     /* argv joined with NUL bytes */
	CAPTURE_HDR_START_REALTIME = 3, /* ns since the epoch */
	CAPTURE_HDR_START_CLOCK = 4, /* ns on CLOCK_ID at the same instant */
	CAPTURE_HDR_CLOCK_ID = 5,    /* clockid_t of every record timestamp */
	CAPTURE_HDR_CONFIG = 6,      /* "key=value" lines */
	CAPTURE_HDR_HOSTNAME = 7,
	CAPTURE_HDR_KERNEL = 8,      /* uname sysname, release, version */
	CAPTURE_HDR_EXE = 9,
	CAPTURE_HDR_ARCH = 10,
	CAPTURE_HDR_SAMPLER = 11,    /* name of the timer used */
	CAPTURE_HDR_HZ = 12,
	CAPTURE_HDR_PRODUCER = 13,   /* "oneprof-agent 0.1.0" */
};

/* HEAP_EVENTS: threads one record may name */
#define CAPTURE_HEAP_EVENTS_MAX_THREADS 64
/* HEAP_EVENTS event head: flag bits below the time delta */
#define CAPTURE_HEAP_EV_ALLOC 1u   /* an allocation; else a free */
#define CAPTURE_HEAP_EV_THREAD 2u  /* a thread slot follows; else the previous event's */
#define CAPTURE_HEAP_EV_LABELS 4u  /* an allocation's label set follows */
#define CAPTURE_HEAP_EV_SHIFT 3
/* HEAP_STREAM event head: its kind below the time delta */
enum {
	CAPTURE_HEAP_ST_FREE = 0,
	CAPTURE_HEAP_ST_ALLOC = 1,
	CAPTURE_HEAP_ST_ALLOC_LABELS = 2, /* an allocation with a label set */
	CAPTURE_HEAP_ST_CONTROL = 3,      /* a control event, its kind follows */
};
#define CAPTURE_HEAP_ST_SHIFT 2
/* HEAP_STREAM control events */
enum {
	CAPTURE_HEAP_CTL_RESET = 0, /* time, address and slots start over */
	CAPTURE_HEAP_CTL_SLOT = 1,  /* slot, stack: the slot names this stack */
};
#define CAPTURE_HEAP_SLOTS 4096 /* slots a thread's stream may name */
/* HEAP_STREAM flags */
#define CAPTURE_HEAP_STREAM_ALONE 1u /* read on its own: no state in or out */

/* Record kinds. A record is varint kind, varint body length, body; the
 * reader skips kinds it does not know, so new sources add kinds without
 * breaking older readers. Ranges are reserved per source family. */
enum capture_record_kind {
	/* 1..15: definitions and control */
	CAPTURE_REC_STRING = 1,     /* id, bytes */
	CAPTURE_REC_MAPPING = 2,    /* id, start, end, offset, path, build-id, prot */
	CAPTURE_REC_THREAD = 3,     /* tid, name, time */
	CAPTURE_REC_STACK = 4,      /* id, stop reason, n, pc[0], zigzag deltas */
	CAPTURE_REC_THREAD_END = 5, /* tid, time */
	CAPTURE_REC_LOST = 6,       /* source, reason, count */
	CAPTURE_REC_END = 7,        /* duration, process cpu, samples, peak rss */
	CAPTURE_REC_PAUSE = 8,      /* time, 1 paused / 0 resumed */
	/* 16..23: CPU samples. A trailing label set id (0: none; may be
	 * left out) follows the fields below. */
	CAPTURE_REC_CPU_SAMPLE = 16, /* time, tid, stack, count, cpu ns */
	/* time, tid, stack, count (periods of wall time), cpu ns, state */
	CAPTURE_REC_WALL_SAMPLE = 17,
	/* 24..31: heap events, in time order across threads. */
	/* time, tid, address, size, stack, then an optional label set id */
	CAPTURE_REC_HEAP_ALLOC = 24,
	CAPTURE_REC_HEAP_FREE = 25,  /* time, tid, address */
	/* tid, allocations, bytes allocated, frees: the thread's running
	 * totals of every call, sampled or not */
	CAPTURE_REC_HEAP_TOTALS = 26,
	/* Many HEAP_ALLOC and HEAP_FREE events, delta-coded (see
	 * doc/capture-format.md, "Heap event batches") */
	CAPTURE_REC_HEAP_EVENTS = 27,
	/* ticks, ns: a point of the heap event clock, and the end of a drain
	 * (see doc/capture-format.md, "Heap event streams") */
	CAPTURE_REC_HEAP_CLOCK = 28,
	/* tid, flags, then one thread's events, encoded by the thread itself
	 * (doc/capture-format.md, "Heap event streams") */
	CAPTURE_REC_HEAP_STREAM = 29,
	/* 32..39: spans and labels. Span events of one thread are in the
	 * order the thread made them; an event without a tid field (ATTR)
	 * belongs to its thread's innermost open span. */
	/* id, name (string id), kind (enum oneprof_kind), file (string id,
	 * 0: none), line */
	CAPTURE_REC_SPAN_SITE = 32,
	CAPTURE_REC_SPAN_BEGIN = 33, /* time, tid, site */
	CAPTURE_REC_SPAN_END = 34,   /* time, tid */
	/* tid, key (string id), type (0: integer, zigzag; 1: string id), value */
	CAPTURE_REC_SPAN_ATTR = 35,
	/* id, parent set (0: none), key (string id), value (string id): the
	 * set is its parent's labels plus key=value */
	CAPTURE_REC_LABEL_SET = 36,
	CAPTURE_REC_SPAN_NOTE = 37,  /* reason (enum capture_span_note), count */
	/* 40..47: counters and runtime events. */
	/* time, name (string id), value (zigzag), mode (0: total, 1: level) */
	CAPTURE_REC_COUNTER = 40,
	CAPTURE_REC_OPS = 41,        /* time, tid, kind (string id), n */
	CAPTURE_REC_GC_BEGIN = 42,   /* time, tid */
	CAPTURE_REC_GC_END = 43,     /* time, tid, bytes reclaimed */
	/* 48..55: metric series. */
	/* time, name (string id), value: one point of a series named and
	 * unit-typed by its suffix (doc/capture-format.md, "Metric series") */
	CAPTURE_REC_METRIC = 48,
	/* 56..63: the out-of-process collector. A capture may then hold
	 * several processes: MAPPING, THREAD and STACK records carry a
	 * trailing pid (0 or left out: the header's pid). */
	/* pid, name (string id: the command name), time, parent pid (0:
	 * unknown), cmdline (string id, arguments joined by spaces; 0:
	 * unknown). Written before the first record naming the pid. */
	CAPTURE_REC_PROCESS = 56,
	CAPTURE_REC_PROCESS_END = 57, /* pid, time */
	/* time, tid, stack, off_ns, state: the thread left its CPU at time
	 * and stayed off for off_ns, blocked in stack; state as in
	 * WALL_SAMPLE (1 sleeping, 2 uninterruptible, 0 preempted) */
	CAPTURE_REC_OFF_CPU = 58,
	/* start, size, name (string id): the kernel symbol (from
	 * /proc/kallsyms) holding kernel addresses that stacks contain */
	CAPTURE_REC_KERNEL_SYMBOL = 59,
	/* 64..71: JIT symbols, copied from a runtime's perf map
	 * (/tmp/perf-PID.map) when the recording ends. */
	CAPTURE_REC_JIT_SYMBOL = 64, /* start, size, name (string id) */
	CAPTURE_REC_JIT_MAP = 65,    /* pid, path, symbols kept, bad lines, dropped */
	/* The kinds this reader knows: 1..MAX_KNOWN and the two ranges. */
	CAPTURE_REC_MAX_KNOWN = 48,
	CAPTURE_REC_COLLECTOR_LAST_KNOWN = 59,
	CAPTURE_REC_JIT_LAST_KNOWN = 65,
};

/* Why a stack walk stopped. */
enum capture_stack_end {
	CAPTURE_STACK_COMPLETE = 0,    /* reached the outermost frame */
	CAPTURE_STACK_TRUNCATED = 1,   /* hit the depth limit, or a stack copy's end */
	CAPTURE_STACK_BAD_FRAME = 2,   /* frame pointer outside the stack or not increasing */
	CAPTURE_STACK_NO_STACK_INFO = 3, /* thread stack bounds unknown */
	CAPTURE_STACK_NO_UNWIND_INFO = 4, /* a pc with no CFI, and no frame pointer either */
	CAPTURE_STACK_END_COUNT
};

/* What a thread was doing when a wall-clock sample found it. */
enum capture_thread_state {
	CAPTURE_STATE_RUNNING = 0,  /* on a CPU or runnable */
	CAPTURE_STATE_SLEEPING = 1, /* blocked, interruptible (S) */
	CAPTURE_STATE_DISK = 2,     /* blocked, uninterruptible (D): I/O mostly */
	CAPTURE_STATE_OTHER = 3,    /* stopped, traced, ... */
	CAPTURE_STATE_COUNT
};
const char *capture_state_name(unsigned state);

/* Sources and reasons in LOST records. */
enum capture_lost_source {
	CAPTURE_LOST_CPU_SAMPLE = 1,
	CAPTURE_LOST_HEAP_EVENT = 2,
	CAPTURE_LOST_SPAN_EVENT = 3, /* span, attribute, ops and GC events */
	CAPTURE_LOST_LABEL_SET = 4,  /* label pushes past the set limit */
	CAPTURE_LOST_COUNTER = 5,    /* counter calls past the name limit */
	CAPTURE_LOST_METRIC = 6,     /* monitor snapshots the writer had no room for */
};

/* Span misuse and filtering, in SPAN_NOTE records. */
enum capture_span_note {
	CAPTURE_SPAN_END_WITHOUT_BEGIN = 1, /* ignored */
	CAPTURE_SPAN_UNCLOSED = 2,      /* open when the thread or recording ended */
	CAPTURE_SPAN_NULL_NAME = 3,     /* recorded as "(null)" */
	CAPTURE_SPAN_LONG_NAME = 4,     /* cut to 1024 bytes */
	CAPTURE_SPAN_TOO_DEEP = 5,      /* nested deeper than the maximum depth: not recorded */
	CAPTURE_SPAN_TOO_SHORT = 6,     /* shorter than the minimum duration: not recorded */
	CAPTURE_SPAN_BEFORE_WINDOW = 7, /* flight recorder: older than the window kept */
	CAPTURE_SPAN_NOTE_COUNT
};
const char *capture_span_note_name(unsigned reason);
enum capture_lost_reason {
	CAPTURE_LOST_RING_FULL = 1,    /* the thread's ring had no room */
	CAPTURE_LOST_NO_RING = 2,      /* signal landed on a thread without a ring */
	CAPTURE_LOST_WRITE_FAILED = 3, /* the capture file could not be written */
	CAPTURE_LOST_SAMPLE_TABLE = 4, /* heap sampling: no room to remember the block */
	CAPTURE_LOST_AFTER_END = 5,    /* made after heap tracking stopped at exit */
	CAPTURE_LOST_TABLE_FULL = 6,   /* label sets or counter names: no room */
	CAPTURE_LOST_KERNEL_RING = 7,  /* a perf_event ring overflowed (PERF_RECORD_LOST) */
	CAPTURE_LOST_THROTTLED = 8,    /* the kernel throttled sampling: count = throttle events */
};

/* On x86-64, addresses at or above this are the kernel's: stack frames
 * there resolve through KERNEL_SYMBOL records, not mappings. */
#define CAPTURE_KERNEL_ADDRESS_MIN 0xffff800000000000ull

const char *capture_stack_end_name(unsigned reason);
const char *capture_lost_reason_name(unsigned reason);
const char *capture_lost_source_name(unsigned source);

#endif
