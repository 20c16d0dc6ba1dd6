/* JIT symbols in the agent: when a recording ends, the runtime's perf map
 * (/tmp/perf-PID.map: "START SIZE name" per line, hex without 0x, written
 * by node --perf-basic-prof, the JVM's perf-map-agent, Python 3.12's
 * -X perf, LuaJIT...) is copied into the capture, because the file may be
 * gone by the time the capture is reported on.
 *
 * The file is untrusted input: every line is bounded, anything that does
 * not parse is counted and skipped, and nothing here allocates. It runs on
 * the writer's finish path (never in a signal handler), with plain
 * open/read. */
#ifndef AGENT_JITMAP_H
#define AGENT_JITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct capture_writer;

/* A longer line is malformed (no runtime writes names this long). */
#define JITMAP_MAX_LINE 4096
/* Symbols kept from one map; the rest are counted as dropped. */
#define JITMAP_MAX_SYMBOLS (1u << 20)
/* Bytes read from one map at most. */
#define JITMAP_MAX_BYTES (256u << 20)

struct jitmap_symbol {
	uint64_t start, size;
	const char *name; /* NUL-terminated, inside the parsed line */
};

struct jitmap_stats {
	uint64_t symbols;   /* passed to the callback */
	uint64_t bad_lines; /* malformed or too long */
	uint64_t dropped;   /* over JITMAP_MAX_SYMBOLS or JITMAP_MAX_BYTES */
};

/* Parses one line (without its newline) in place: the name gets a NUL
 * written after it, so line[len] must be writable. false when the line is not "START SIZE name" with a
 * non-zero size that does not wrap around. */
bool jitmap_parse_line(char *line, size_t len, struct jitmap_symbol *out);

/* Reads a perf map and calls fn for each symbol, in file order. Returns
 * 0, or -errno when the file cannot be opened, is not a regular file, or
 * belongs to another user (someone else's file in /tmp is not trusted).
 * Not reentrant: it uses one static buffer. */
int jitmap_read(const char *path, void (*fn)(const struct jitmap_symbol *sym, void *arg),
		void *arg, struct jitmap_stats *st);

/* The same from an open file, without the checks (the fuzzer's way in). */
void jitmap_read_fd(int fd, void (*fn)(const struct jitmap_symbol *sym, void *arg), void *arg,
		    struct jitmap_stats *st);

/* Copies /tmp/perf-<pid>.map, if there is one, into the capture: one
 * JIT_SYMBOL record per symbol, then a JIT_MAP record with the counts.
 * string_id interns a string in the capture and returns its id. */
void jitmap_write(struct capture_writer *cw, int pid, uint64_t (*string_id)(const char *s));

#endif
