/* The symbolizer on the test binary itself: its executable mapping from
 * /proc/self/maps, functions defined here looked up by address, and the
 * warnings for modules that are missing, not ELF, or rebuilt. */
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/capture/format.h"
#include "../../src/capture/writer.h"
#include "../../src/model/profile.h"
#include "../../src/symbolize/sym_internal.h"
#include "../../src/symbolize/symbolize.h"
#include "builder.h"
#include "unit.h"

/* Targets: non-static so they are in .symtab under these names, noinline
 * so they have bodies of their own, and different bodies so identical
 * code folding cannot merge them. */
volatile uint64_t oneprof_sym_sink;

__attribute__((noinline)) void oneprof_unit_sym_target_one(uint64_t x)
{
	for (uint64_t i = 0; i < x; i++)
		oneprof_sym_sink += i * 0x9e3779b97f4a7c15u;
	oneprof_sym_sink ^= 0x1111;
}

__attribute__((noinline)) uint64_t oneprof_unit_sym_target_two(uint64_t a, uint64_t b)
{
	uint64_t r = a;
	for (uint64_t i = 0; i < b; i++)
		r = r * 31 + (oneprof_sym_sink ^ i) + 0x2222;
	oneprof_sym_sink = r;
	return r;
}

#define ADDR(fn) ((uint64_t)(uintptr_t)&(fn))

/* The executable mapping of this binary, with path storage. */
struct self_map {
	struct profile_mapping m;
	char path[4096];
};

static int self_mapping(struct self_map *sm, uint64_t inside)
{
	memset(sm, 0, sizeof(*sm));
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	char line[8192];
	int found = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, offset;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &start, &end, perms, &offset,
			   &pos) != 4)
			continue;
		char *path = line + pos;
		while (*path == ' ')
			path++;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, exe) != 0 || !strchr(perms, 'x'))
			continue;
		if (inside && (inside < start || inside >= end))
			continue;
		sm->m.start = start;
		sm->m.end = end;
		sm->m.offset = offset;
		snprintf(sm->path, sizeof(sm->path), "%s", path);
		sm->m.path = sm->path;
		sm->m.build_id_len = 0;
		found = 0;
		break;
	}
	fclose(f);
	return found;
}

struct bid {
	uint8_t id[64];
	size_t len;
};

static size_t count_warnings_with(struct symbolizer *s, const char *needle)
{
	const char *const *lines;
	size_t n = sym_warnings(s, &lines), hits = 0;
	for (size_t i = 0; i < n; i++)
		if (lines[i] && strstr(lines[i], needle))
			hits++;
	return hits;
}

TEST(symbolize_own_functions)
{
	struct self_map sm;
	if (self_mapping(&sm, ADDR(oneprof_unit_sym_target_one)) != 0) {
		unit_fail(__FILE__, __LINE__, "no executable mapping of /proc/self/exe found");
		return;
	}
	CHECK(ADDR(oneprof_unit_sym_target_two) >= sm.m.start &&
	      ADDR(oneprof_unit_sym_target_two) < sm.m.end);
	struct symbolizer *s = sym_new();
	CHECK_STR(sym_function(s, &sm.m, ADDR(oneprof_unit_sym_target_one) + 1),
		  "oneprof_unit_sym_target_one");
	CHECK_STR(sym_function(s, &sm.m, ADDR(oneprof_unit_sym_target_two) + 1),
		  "oneprof_unit_sym_target_two");
	/* The first byte, and a few bytes in. */
	CHECK_STR(sym_function(s, &sm.m, ADDR(oneprof_unit_sym_target_one)),
		  "oneprof_unit_sym_target_one");
	CHECK_STR(sym_function(s, &sm.m, ADDR(oneprof_unit_sym_target_two) + 4),
		  "oneprof_unit_sym_target_two");
	/* Other functions of the binary resolve too. */
	CHECK_STR(sym_function(s, &sm.m, ADDR(self_mapping) + 1), "self_mapping");
	CHECK_STR(sym_function(s, &sm.m, ADDR(sym_function) + 1), "sym_function");
	/* Nothing to warn about. */
	const char *const *lines;
	CHECK_EQ_INT(sym_warnings(s, &lines), 0);
	sym_free(s);
	oneprof_unit_sym_target_one(1);
	oneprof_unit_sym_target_two(1, 1);
}

TEST(symbolize_matching_build_id)
{
	struct self_map sm;
	struct bid b;
	if (self_mapping(&sm, ADDR(oneprof_unit_sym_target_one)) != 0)
		return;
	b.len = tb_self_build_id(b.id);
	if (b.len == 0) {
		unit_fail(__FILE__, __LINE__, "the test binary has no build-id note");
		return;
	}
	/* The right build-id: found as before. */
	struct symbolizer *s = sym_new();
	memcpy(sm.m.build_id, b.id, b.len);
	sm.m.build_id_len = b.len;
	CHECK_STR(sym_function(s, &sm.m, ADDR(oneprof_unit_sym_target_one) + 1),
		  "oneprof_unit_sym_target_one");
	const char *const *lines;
	CHECK_EQ_INT(sym_warnings(s, &lines), 0);
	sym_free(s);
}

TEST(symbolize_build_id_mismatch)
{
	struct self_map sm;
	struct bid b;
	if (self_mapping(&sm, ADDR(oneprof_unit_sym_target_one)) != 0)
		return;
	b.len = tb_self_build_id(b.id);
	CHECK(b.len > 0);
	struct symbolizer *s = sym_new();
	/* The file's own build-id with one byte changed. */
	memcpy(sm.m.build_id, b.id, b.len ? b.len : 20);
	sm.m.build_id_len = b.len ? b.len : 20;
	sm.m.build_id[0] ^= 0xff;
	for (int i = 0; i < 3; i++)
		CHECK(sym_function(s, &sm.m, ADDR(oneprof_unit_sym_target_one) + 1) == NULL);
	const char *const *lines;
	size_t n = sym_warnings(s, &lines);
	CHECK_EQ_INT(n, 1);
	if (n >= 1) {
		CHECK(strstr(lines[0], "build-id") != NULL);
		CHECK(strstr(lines[0], sm.path) != NULL);
	}
	/* A build-id of another length differs as well. */
	struct symbolizer *s2 = sym_new();
	sm.m.build_id_len = 8;
	CHECK(sym_function(s2, &sm.m, ADDR(oneprof_unit_sym_target_one) + 1) == NULL);
	CHECK_EQ_INT(count_warnings_with(s2, "build-id"), 1);
	sym_free(s2);
	sym_free(s);
}

TEST(symbolize_missing_module)
{
	const char *path = "/nonexistent/oneprof-unit/libmissing.so.3";
	struct profile_mapping m = { 0 };
	m.start = 0x7f0000000000;
	m.end = 0x7f0000100000;
	m.offset = 0;
	m.path = path;
	struct symbolizer *s = sym_new();
	for (int i = 0; i < 5; i++)
		CHECK(sym_function(s, &m, m.start + 0x1000 + (uint64_t)i * 0x40) == NULL);
	const char *const *lines;
	size_t n = sym_warnings(s, &lines);
	CHECK_EQ_INT(n, 1);
	if (n >= 1)
		CHECK(strstr(lines[0], path) != NULL);

	/* A second missing module: one more warning, its own. */
	m.path = "/nonexistent/oneprof-unit/other.so";
	CHECK(sym_function(s, &m, m.start + 0x10) == NULL);
	CHECK(sym_function(s, &m, m.start + 0x20) == NULL);
	n = sym_warnings(s, &lines);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(count_warnings_with(s, path), 1);
	CHECK_EQ_INT(count_warnings_with(s, "/nonexistent/oneprof-unit/other.so"), 1);
	sym_free(s);
}

TEST(symbolize_kernel_pseudo_modules_are_quiet)
{
	struct profile_mapping m = { 0 };
	m.start = 0x7ffd00000000;
	m.end = 0x7ffd00002000;
	const char *paths[] = { "[vdso]", "[stack]", "" };
	struct symbolizer *s = sym_new();
	for (size_t i = 0; i < 3; i++) {
		m.path = paths[i];
		CHECK(sym_function(s, &m, m.start + 0x100) == NULL);
	}
	const char *const *lines;
	CHECK_EQ_INT(sym_warnings(s, &lines), 0);
	sym_free(s);
}

TEST(symbolize_not_elf)
{
	char path[] = "/tmp/oneprof-unit-notelf-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		unit_fail(__FILE__, __LINE__, "mkstemp failed");
		return;
	}
	const char text[] = "this is a text file, not an ELF object\n"
			    "\x7f" "ELF but only the magic, then nothing sensible\n";
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);

	struct profile_mapping m = { 0 };
	m.start = 0x555500000000;
	m.end = 0x555500010000;
	m.path = path;
	struct symbolizer *s = sym_new();
	for (int i = 0; i < 3; i++)
		CHECK(sym_function(s, &m, m.start + 0x20 + (uint64_t)i) == NULL);
	const char *const *lines;
	size_t n = sym_warnings(s, &lines);
	CHECK_EQ_INT(n, 1);
	if (n >= 1)
		CHECK(strstr(lines[0], path) != NULL);
	sym_free(s);

	/* An empty file as well. */
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
	s = sym_new();
	CHECK(sym_function(s, &m, m.start + 0x20) == NULL);
	CHECK_EQ_INT(count_warnings_with(s, path), 1);
	sym_free(s);
	unlink(path);
}

TEST(symbolize_outside_any_segment)
{
	struct self_map sm;
	if (self_mapping(&sm, ADDR(oneprof_unit_sym_target_one)) != 0)
		return;
	struct symbolizer *s = sym_new();
	/* A file offset far past every segment of the binary. */
	struct profile_mapping m = sm.m;
	m.offset = UINT64_C(1) << 40;
	CHECK(sym_function(s, &m, m.start + 0x10) == NULL);
	sym_free(s);
}

/* Through the model: a capture naming this binary's mapping, loaded and
 * resolved, gives the function names back, the return address of a
 * caller frame looked up one byte earlier. */
TEST(symbolize_profile_resolve)
{
	struct self_map sm;
	if (self_mapping(&sm, ADDR(oneprof_unit_sym_target_one)) != 0)
		return;
	FILE *f = tmpfile();
	if (!f) {
		unit_fail(__FILE__, __LINE__, "tmpfile failed");
		return;
	}
	struct capture_buf h = { 0 };
	capture_header_u64(&h, CAPTURE_HDR_PID, (uint64_t)getpid());
	struct capture_writer *w = capture_writer_new(fileno(f), 0, 0);
	CHECK_EQ_INT(capture_writer_begin(w, &h), 0);
	capture_buf_free(&h);
	capture_write_string(w, 1, sm.path, strlen(sm.path));
	capture_write_mapping(w, 1, sm.m.start, sm.m.end, sm.m.offset, 1, NULL, 0, 5);
	/* Leaf: the first byte of target_two (looked up as is); caller: a
	 * "return address" just past the start of target_one (looked up one
	 * byte earlier, still inside it); then an unmapped address. */
	const uint64_t pcs[] = { ADDR(oneprof_unit_sym_target_two),
				 ADDR(oneprof_unit_sym_target_one) + 2, 0x10 };
	capture_write_stack(w, 1, CAPTURE_STACK_COMPLETE, pcs, 3);
	const uint64_t sample[] = { 1, 100, 1, 1, 1000 };
	capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, sample, 5);
	CHECK_EQ_INT(capture_writer_free(w), 0);
	rewind(f);

	char err[512] = "";
	struct profile *p = profile_read(f, "self", err, sizeof(err));
	fclose(f);
	CHECK(p != NULL);
	if (!p)
		return;
	struct symbolizer *s = sym_new();
	profile_resolve(p, s);
	CHECK_EQ_INT(p->nstacks, 1);
	if (p->nstacks == 1 && p->stacks[0].n == 3 && p->stacks[0].locations) {
		const struct profile_stack *st = &p->stacks[0];
		const struct profile_location *l0 = &p->locations[st->locations[0]];
		const struct profile_location *l1 = &p->locations[st->locations[1]];
		const struct profile_location *l2 = &p->locations[st->locations[2]];
		CHECK_STR(p->functions[l0->function].name, "oneprof_unit_sym_target_two");
		CHECK_STR(p->functions[l1->function].name, "oneprof_unit_sym_target_one");
		CHECK(l0->address == pcs[0]);
		CHECK(l1->address == pcs[1] - 1);
		CHECK_EQ_INT(l0->mapping, 0);
		CHECK_EQ_INT(l2->mapping, -1);
		CHECK_STR(p->functions[l2->function].name, "0xf"); /* a caller frame: pc - 1 */
		const char *base = strrchr(sm.path, '/');
		CHECK_STR(p->functions[l0->function].module, base ? base + 1 : sm.path);
	} else {
		unit_fail(__FILE__, __LINE__, "stack not loaded or not resolved");
	}
	const char *const *lines;
	CHECK_EQ_INT(sym_warnings(s, &lines), 0);
	sym_free(s);
	profile_free(p);
}

/* The symbolizer reads line tables and function trees itself (libdw's
 * readers are the slow part of a large unit) and walks sorted lookups
 * forward from the last answer: every address of this binary's code,
 * looked up upward and downward, cached or not (sym_lookup_into), must
 * give what libdw's readers and fresh lookups give. */
/* Whether file names a and b are one file: libdw gives DWARF 5 names
 * relative to the unit's directory, which our reader puts before them. */
static bool same_file(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > lb && a[0] == '/' && b[0] != '/')
		return strcmp(a + la - lb, b) == 0 && a[la - lb - 1] == '/';
	if (lb > la && b[0] == '/' && a[0] != '/')
		return same_file(b, a);
	return strcmp(a, b) == 0;
}

static bool same_frames(const struct sym_frame *a, size_t na, const struct sym_frame *b,
			size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].function, b[i].function) != 0 || !same_file(a[i].file, b[i].file) ||
		    a[i].line != b[i].line || a[i].start_line != b[i].start_line)
			return false;
	return true;
}

/* The flattened ranges answer as the search of the ranges does, for
 * every third byte of this binary's code (each function and inlined
 * call's edges included): the same frames, in order and backward. */
TEST(symbolize_flattened_ranges_match_search)
{
	struct self_map sm;
	if (self_mapping(&sm, ADDR(oneprof_unit_sym_target_one)) != 0) {
		unit_fail(__FILE__, __LINE__, "no executable mapping of /proc/self/exe found");
		return;
	}
	sym_dwarf_search_ranges = true;
	struct symbolizer *ref = sym_new();
	struct symbolizer *ref_down = sym_new();
	sym_dwarf_search_ranges = false;
	struct symbolizer *flat = sym_new(), *flat_down = sym_new();
	size_t n = 0, inlined = 0, differ = 0;
	struct sym_frame fr[SYM_MAX_FRAMES], ff[SYM_MAX_FRAMES];
	for (uint64_t a = sm.m.start; a < sm.m.end; a += 3, n++) {
		size_t nr = sym_lookup_into(ref, &sm.m, a, fr);
		size_t nf = sym_lookup_into(flat, &sm.m, a, ff);
		differ += !same_frames(fr, nr, ff, nf);
		inlined += nr > 1;
	}
	for (uint64_t k = n; k-- > 0;) {
		uint64_t a = sm.m.start + k * 3;
		size_t nr = sym_lookup_into(ref_down, &sm.m, a, fr);
		size_t nf = sym_lookup_into(flat_down, &sm.m, a, ff);
		differ += !same_frames(fr, nr, ff, nf);
	}
	printf("    %zu addresses, %zu inlined, %zu differ\n", n, inlined, differ);
	CHECK(inlined > 100);
	CHECK_EQ_INT(differ, 0);
	sym_free(ref);
	sym_free(ref_down);
	sym_free(flat);
	sym_free(flat_down);
}

TEST(symbolize_own_line_reader_matches_libdw)
{
	struct self_map sm;
	if (self_mapping(&sm, ADDR(oneprof_unit_sym_target_one)) != 0) {
		unit_fail(__FILE__, __LINE__, "no executable mapping of /proc/self/exe found");
		return;
	}
	sym_dwarf_libdw_lines = true;
	struct symbolizer *ref = sym_new();
	sym_dwarf_libdw_lines = false;
	struct symbolizer *up = sym_new(), *down = sym_new(), *into = sym_new();
	size_t n = 0, lines = 0, inlined = 0, differ = 0;
	const uint64_t step = 3;
	for (uint64_t a = sm.m.start; a < sm.m.end; a += step, n++) {
		const struct sym_frame *fr, *fu;
		struct sym_frame fi[SYM_MAX_FRAMES];
		size_t nr = sym_lookup(ref, &sm.m, a, &fr);
		size_t nu = sym_lookup(up, &sm.m, a, &fu);
		size_t ni = sym_lookup_into(into, &sm.m, a, fi);
		differ += !same_frames(fr, nr, fu, nu) + !same_frames(fr, nr, fi, ni);
		lines += nr && fr[0].line;
		inlined += nr > 1;
	}
	/* Downward: every lookup goes back, and the cache leaves its
	 * in-order mode after the first. */
	for (uint64_t k = n; k-- > 0;) {
		uint64_t a = sm.m.start + k * step;
		const struct sym_frame *fr, *fd;
		size_t nr = sym_lookup(ref, &sm.m, a, &fr);
		size_t nd = sym_lookup(down, &sm.m, a, &fd);
		differ += !same_frames(fr, nr, fd, nd);
	}
	/* And the upward one again, now from its cache. */
	for (uint64_t a = sm.m.start; a < sm.m.end; a += step * 7) {
		const struct sym_frame *fr, *fu;
		size_t nr = sym_lookup(ref, &sm.m, a, &fr);
		size_t nu = sym_lookup(up, &sm.m, a, &fu);
		differ += !same_frames(fr, nr, fu, nu);
	}
	printf("    %zu addresses, %zu with a line, %zu inlined, %zu differ\n", n, lines, inlined,
	       differ);
	CHECK(lines > n / 2);
	CHECK(inlined > 100);
	CHECK_EQ_INT(differ, 0);
	sym_free(ref);
	sym_free(up);
	sym_free(down);
	sym_free(into);
}
