/* libFuzzer target for the agent's perf map parser (src/agent/jitmap.c),
 * the one parser of untrusted text that runs inside the profiled process.
 *
 * Each input is used two ways: as a whole perf map file read through
 * jitmap_read_fd (a memfd, so line splitting, the buffer boundary and an
 * unterminated last line are exercised), and as one line given straight
 * to jitmap_parse_line. Every symbol that comes out must be well formed.
 *
 * Build: make fuzz; run: build/fuzz/fuzz-jitmap -max_total_time=60 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/agent/jitmap.h"

static void check(const struct jitmap_symbol *sym, void *arg)
{
	(void)arg;
	size_t len = strlen(sym->name);
	if (sym->size == 0 || sym->start + sym->size < sym->start || len == 0 ||
	    len > JITMAP_MAX_LINE || sym->name[len - 1] == ' ' || sym->name[len - 1] == '\t')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz-perf-map", 0)) < 0)
		return 0;
	if (ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size &&
	    lseek(fd, 0, SEEK_SET) == 0) {
		struct jitmap_stats st;
		jitmap_read_fd(fd, check, NULL, &st);
		if (st.symbols > JITMAP_MAX_SYMBOLS)
			abort();
	}
	/* One line, with the writable byte after it the parser may use. */
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	struct jitmap_symbol sym;
	if (jitmap_parse_line(line, size, &sym))
		check(&sym, NULL);
	free(line);
	return 0;
}
