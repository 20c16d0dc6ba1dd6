/* The symbolizer's DWARF, demangling, JIT and damaged-file paths, on the
 * test binary itself (built -g): an inline chain whose lines are known
 * from __LINE__, names demangled by libiberty, perf map symbols through a
 * capture, and copies of this binary cut short or with garbage in their
 * debug sections, which must give warnings and never crash (these tests
 * also run under ASan and UBSan). */
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/agent/jitmap.h"
#include "../../src/capture/format.h"
#include "../../src/capture/writer.h"
#include "../../src/model/profile.h"
#include "../../src/symbolize/symbolize.h"
#include "builder.h"
#include "unit.h"

/* --- an inline chain with known lines --- */

volatile uint64_t oneprof_dw_sink;

/* Returns its return address: a pc inside the inlined chain below. */
__attribute__((noinline)) static uint64_t chain_probe(void)
{
	oneprof_dw_sink++;
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

enum { INNER_DECL = __LINE__ + 1 };
static inline __attribute__((always_inline)) uint64_t chain_inner(uint64_t k)
{
	enum { INNER_CALL = __LINE__ + 1 };
	uint64_t r = chain_probe() * 3;
	return r + k + INNER_CALL * 0;
}

enum { MIDDLE_DECL = __LINE__ + 1 };
static inline __attribute__((always_inline)) uint64_t chain_middle(uint64_t k)
{
	enum { MIDDLE_CALL = __LINE__ + 1 };
	uint64_t r = chain_inner(k + 1) ^ 5;
	return r + MIDDLE_CALL * 0;
}

enum { OUTER_DECL = __LINE__ + 1 };
__attribute__((noinline)) uint64_t oneprof_unit_chain_outer(uint64_t k)
{
	enum { OUTER_CALL = __LINE__ + 1 };
	uint64_t r = chain_middle(k) + 7;
	return r + OUTER_CALL * 0;
}

/* The lines the enums above name, by their distance from the decls. */
#define INNER_CALL (INNER_DECL + 3)
#define MIDDLE_CALL (MIDDLE_DECL + 3)
#define OUTER_CALL (OUTER_DECL + 3)

/* The executable segment of this program, as the agent records it. */
struct self {
	struct profile_mapping m;
	char path[4096];
};

static int first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct self *s = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && !s->m.end) {
			s->m.start = info->dlpi_addr + ph->p_vaddr;
			s->m.end = s->m.start + ph->p_memsz;
			s->m.offset = ph->p_offset;
		}
	}
	return 1; /* the main program only */
}

static bool self_map(struct self *s)
{
	memset(s, 0, sizeof(*s));
	ssize_t n = readlink("/proc/self/exe", s->path, sizeof(s->path) - 1);
	if (n <= 0)
		return false;
	s->path[n] = '\0';
	s->m.path = s->path;
	dl_iterate_phdr(first_object, s);
	s->m.build_id_len = tb_self_build_id(s->m.build_id);
	return s->m.end != 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static size_t warnings_with(struct symbolizer *s, const char *needle)
{
	const char *const *lines;
	size_t n = sym_warnings(s, &lines), hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += strstr(lines[i], needle) != NULL;
	return hits;
}

TEST(symbolize_inline_chain_lines)
{
	struct self me;
	if (!self_map(&me)) {
		unit_fail(__FILE__, __LINE__, "cannot find this program's mapping");
		return;
	}
	/* Undo the chain's arithmetic to get chain_probe's return address. */
	uint64_t ra = (((oneprof_unit_chain_outer(0) - 7) ^ 5) - 1) / 3;
	struct symbolizer *s = sym_new();
	const struct sym_frame *f;
	/* The call instruction: one byte before the return address. */
	size_t n = sym_lookup(s, &me.m, ra - 1, &f);
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_STR(f[0].function, "chain_inner");
		CHECK_EQ_INT(f[0].line, INNER_CALL);
		CHECK_EQ_INT(f[0].start_line, INNER_DECL);
		CHECK(ends_with(f[0].file, "tests/unit/test_symbolize_dwarf.c"));
		CHECK_STR(f[1].function, "chain_middle");
		CHECK_EQ_INT(f[1].line, MIDDLE_CALL);
		CHECK_EQ_INT(f[1].start_line, MIDDLE_DECL);
		CHECK_STR(f[2].function, "oneprof_unit_chain_outer");
		CHECK_EQ_INT(f[2].line, OUTER_CALL);
		CHECK_EQ_INT(f[2].start_line, OUTER_DECL);
		CHECK(ends_with(f[2].file, "tests/unit/test_symbolize_dwarf.c"));
	}
	/* Cached: the same frames again. */
	const struct sym_frame *g;
	CHECK_EQ_INT(sym_lookup(s, &me.m, ra - 1, &g), n);
	if (n == 3)
		CHECK_STR(g[0].function, "chain_inner");
	/* A function of another file: its own file. */
	n = sym_lookup(s, &me.m, (uint64_t)(uintptr_t)&profile_resolve + 1, &f);
	CHECK(n >= 1);
	if (n >= 1) {
		CHECK_STR(f[n - 1].function, "profile_resolve");
		CHECK(ends_with(f[n - 1].file, "src/model/profile.c"));
	}
	const char *const *lines;
	CHECK_EQ_INT(sym_warnings(s, &lines), 0);
	sym_free(s);

	/* --no-inlines: one frame, the function holding the code, at the
	 * line of its own statement. */
	struct sym_options o = { .no_inlines = true };
	s = sym_new_with(&o);
	n = sym_lookup(s, &me.m, ra - 1, &f);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_STR(f[0].function, "oneprof_unit_chain_outer");
		CHECK_EQ_INT(f[0].line, OUTER_CALL);
	}
	sym_free(s);
}

/* The chain through the model: locations carry it, innermost first, and
 * profile_stack_functions() gives each inlined function as a frame. */
TEST(symbolize_inline_chain_in_profile)
{
	struct self me;
	if (!self_map(&me))
		return;
	uint64_t ra = (((oneprof_unit_chain_outer(0) - 7) ^ 5) - 1) / 3;
	FILE *f = tmpfile();
	if (!f)
		return;
	struct capture_buf h = { 0 };
	capture_header_u64(&h, CAPTURE_HDR_PID, 1);
	struct capture_writer *w = capture_writer_new(fileno(f), 0, 0);
	CHECK_EQ_INT(capture_writer_begin(w, &h), 0);
	capture_buf_free(&h);
	capture_write_string(w, 1, me.path, strlen(me.path));
	capture_write_mapping(w, 1, me.m.start, me.m.end, me.m.offset, 1, me.m.build_id,
			      me.m.build_id_len, 5);
	/* Leaf: the entry of chain_probe; caller: the return address. */
	const uint64_t pcs[] = { (uint64_t)(uintptr_t)&chain_probe, ra };
	capture_write_stack(w, 1, CAPTURE_STACK_COMPLETE, pcs, 2);
	const uint64_t sample[] = { 1, 100, 1, 1, 1000 };
	capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, sample, 5);
	CHECK_EQ_INT(capture_writer_free(w), 0);
	rewind(f);
	char err[256];
	struct profile *p = profile_read(f, "chain", err, sizeof(err));
	fclose(f);
	if (!p) {
		unit_fail(__FILE__, __LINE__, "%s", err);
		return;
	}
	struct symbolizer *s = sym_new();
	profile_resolve(p, s);
	sym_free(s);
	CHECK_EQ_INT(profile_max_stack_functions(p), 4);
	uint32_t fns[8];
	size_t n = profile_stack_functions(p, &p->stacks[0], fns, 8);
	const char *want[] = { "chain_probe", "chain_inner", "chain_middle",
			       "oneprof_unit_chain_outer" };
	CHECK_EQ_INT(n, 4);
	for (size_t i = 0; i < n && i < 4; i++)
		CHECK_STR(p->functions[fns[i]].name, want[i]);
	const struct profile_location *l = &p->locations[p->stacks[0].locations[1]];
	CHECK_EQ_INT(l->nlines, 3);
	if (l->nlines == 3) {
		CHECK_EQ_INT(l->lines[0].line, INNER_CALL);
		CHECK_EQ_INT(l->lines[2].line, OUTER_CALL);
		CHECK_EQ_INT(l->function, l->lines[2].function);
		CHECK_EQ_INT(p->functions[l->lines[1].function].start_line, MIDDLE_DECL);
		CHECK(ends_with(p->functions[l->function].file, "test_symbolize_dwarf.c"));
	}
	/* A cut-short buffer gets the leaf end. */
	CHECK_EQ_INT(profile_stack_functions(p, &p->stacks[0], fns, 2), 2);
	CHECK_STR(p->functions[fns[1]].name, "chain_inner");
	profile_free(p);
}

/* --- demangling --- */

TEST(symbolize_demangle_cpp_and_rust)
{
	struct symbolizer *s = sym_new();
	CHECK_STR(sym_demangle(s, "_ZN2ns6WorkerIiE3runEi"), "ns::Worker<int>::run(int)");
	CHECK_STR(sym_demangle(s, "_ZN2ns1fEi.constprop.0"), "ns::f(int) [clone .constprop.0]");
	/* Rust legacy: the hash is dropped; v0 as well. */
	CHECK_STR(sym_demangle(s, "_ZN4core3fmt5write17h0123456789abcdefE"), "core::fmt::write");
	CHECK_STR(sym_demangle(s, "_RNvCs1234_7mycrate3foo"), "mycrate::foo");
	/* C names and non-names are left alone. */
	CHECK_STR(sym_demangle(s, "main"), "main");
	CHECK_STR(sym_demangle(s, "_Zgarbage"), "_Zgarbage");
	CHECK_STR(sym_demangle(s, "_R"), "_R");
	/* Cached: the same pointer twice. */
	const char *name = "_ZN2ns6WorkerIiE3runEi";
	CHECK(sym_demangle(s, name) == sym_demangle(s, name));
	sym_free(s);
	struct sym_options o = { .no_demangle = true };
	s = sym_new_with(&o);
	CHECK_STR(sym_demangle(s, "_ZN2ns6WorkerIiE3runEi"), "_ZN2ns6WorkerIiE3runEi");
	sym_free(s);
}

/* --- JIT symbols --- */

TEST(symbolize_jit_later_entries_win)
{
	struct profile_jit_symbol js[] = {
		{ 0x1000, 0x100, "first" },
		{ 0x1080, 0x100, "second" },  /* overlaps the end of first: wins there */
		{ 0x3000, 0x1000, "big" },
		{ 0x3400, 0x10, "small" },    /* inside big, later: wins inside */
		{ 0x5000, 0, "empty" },       /* no size: ignored */
		{ UINT64_MAX - 4, 0x10, "wraps" }, /* ignored */
		{ 0x3400, 0x10, "again" },    /* same range as small, later still */
	};
	struct symbolizer *s = sym_new();
	CHECK(sym_jit(s, 0x1000) == NULL); /* nothing set yet */
	sym_set_jit(s, js, sizeof(js) / sizeof(js[0]));
	CHECK_STR(sym_jit(s, 0x1000), "first");
	CHECK_STR(sym_jit(s, 0x107f), "first");
	CHECK_STR(sym_jit(s, 0x1080), "second");
	CHECK_STR(sym_jit(s, 0x117f), "second");
	CHECK(sym_jit(s, 0x1180) == NULL);
	CHECK(sym_jit(s, 0xfff) == NULL);
	CHECK_STR(sym_jit(s, 0x3000), "big");
	CHECK_STR(sym_jit(s, 0x3400), "again");
	CHECK_STR(sym_jit(s, 0x340f), "again");
	CHECK_STR(sym_jit(s, 0x3410), "big");
	CHECK_STR(sym_jit(s, 0x3fff), "big");
	CHECK(sym_jit(s, 0x4000) == NULL);
	CHECK(sym_jit(s, 0x5000) == NULL);
	CHECK(sym_jit(s, UINT64_MAX - 1) == NULL);
	sym_free(s);
}

static void parse_ok(const char *text, uint64_t start, uint64_t size, const char *name)
{
	char line[256];
	snprintf(line, sizeof(line), "%s", text);
	struct jitmap_symbol sym;
	if (!jitmap_parse_line(line, strlen(line), &sym)) {
		unit_fail(__FILE__, __LINE__, "'%s' did not parse", text);
		return;
	}
	CHECK(sym.start == start);
	CHECK(sym.size == size);
	CHECK_STR(sym.name, name);
}

static bool parses(const char *text, size_t len)
{
	char line[8192];
	memcpy(line, text, len);
	struct jitmap_symbol sym;
	return jitmap_parse_line(line, len, &sym);
}

TEST(jitmap_parse_lines)
{
	parse_ok("7f0894005b80 180 JS:*fib /tmp/w.js:1:13", 0x7f0894005b80, 0x180,
		 "JS:*fib /tmp/w.js:1:13");
	parse_ok("18c4000 300 Builtin:DeoptimizationEntry_Eager", 0x18c4000, 0x300,
		 "Builtin:DeoptimizationEntry_Eager");
	parse_ok("0x10 0X20 with 0x\r", 0x10, 0x20, "with 0x");
	parse_ok("ABCDEF 1\tname\twith tab  ", 0xabcdef, 1, "name\twith tab");
	parse_ok("ffffffffffff0000 ffff top", 0xffffffffffff0000ull, 0xffff, "top");
	const char *bad[] = {
		"",                          /* empty */
		"7f00",                      /* no size */
		"7f00 10",                   /* no name */
		"7f00 10 ",                  /* blank name */
		"7f00 0 zero",               /* zero size */
		"zz00 10 name",              /* not hex */
		"7f00x 10 name",             /* junk after the address */
		"7f00 10name",               /* no blank before the name */
		"11112222333344445 10 name", /* 17 digits */
		"ffffffffffffffff 2 wraps",  /* start + size overflows */
		"-1 10 negative",
		" ",
		"0x 10 name",                /* 0x without digits */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parses(bad[i], strlen(bad[i])))
			unit_fail(__FILE__, __LINE__, "'%s' parsed", bad[i]);
	/* A NUL inside, and a line over the limit. */
	CHECK(!parses("7f00 10 na\0me", 13));
	char lng[JITMAP_MAX_LINE + 64];
	memset(lng, 'a', sizeof(lng));
	memcpy(lng, "10 10 ", 6);
	CHECK(!parses(lng, sizeof(lng) - 1));
	CHECK(parses(lng, 100));
}

struct collected {
	size_t n;
	char names[8][64];
	uint64_t starts[8];
};

static void collect(const struct jitmap_symbol *sym, void *arg)
{
	struct collected *c = arg;
	if (c->n < 8) {
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s", sym->name);
		c->starts[c->n] = sym->start;
	}
	c->n++;
}

TEST(jitmap_read_garbage_file)
{
	char path[] = "/tmp/oneprof-unit-perfmap-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return;
	/* Good lines among binary junk, CRLF, blank lines, a line longer
	 * than the reader's buffer, and a last line without its newline. */
	static char data[200000];
	size_t len = 0;
	len += (size_t)sprintf(data + len, "1000 10 one\n\n2000 20 two\r\n");
	for (int i = 0; i < 300; i++)
		data[len++] = (char)(i * 37 + 11); /* junk bytes, one or more lines */
	data[len++] = '\n';
	memset(data + len, 'x', 100000); /* over the 64 KiB buffer */
	len += 100000;
	data[len++] = '\n';
	len += (size_t)sprintf(data + len, "3000 30 three\n4000 zz bad\n5000 50 last");
	CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
	struct collected c = { 0 };
	struct jitmap_stats st;
	CHECK_EQ_INT(jitmap_read(path, collect, &c, &st), 0);
	CHECK_EQ_INT(c.n, 4);
	CHECK_EQ_INT(st.symbols, 4);
	CHECK(st.bad_lines >= 3); /* the junk, the long line, "zz" */
	CHECK_EQ_INT(st.dropped, 0);
	CHECK_STR(c.names[0], "one");
	CHECK_STR(c.names[1], "two");
	CHECK_STR(c.names[2], "three");
	CHECK_STR(c.names[3], "last");
	CHECK(c.starts[3] == 0x5000);
	unlink(path);
	/* Missing, and not a regular file. */
	CHECK(jitmap_read("/nonexistent/perf-1.map", collect, &c, &st) < 0);
	CHECK(jitmap_read("/tmp", collect, &c, &st) < 0);
}

/* JIT records through a capture: addresses outside every mapping resolve
 * through them; the model keeps the map's counts. */
TEST(symbolize_jit_through_capture)
{
	FILE *f = tmpfile();
	if (!f)
		return;
	struct capture_buf h = { 0 };
	capture_header_u64(&h, CAPTURE_HDR_PID, 42);
	struct capture_writer *w = capture_writer_new(fileno(f), 0, 3);
	CHECK_EQ_INT(capture_writer_begin(w, &h), 0);
	capture_buf_free(&h);
	capture_write_string(w, 1, "JS:*hot /x.js:1", 15);
	capture_write_string(w, 2, "JS:~cold /x.js:9", 16);
	capture_write_string(w, 3, "/tmp/perf-42.map", 16);
	const uint64_t j1[] = { 0x10000, 0x100, 1 }, j2[] = { 0x20000, 0x80, 2 };
	capture_write_varints(w, CAPTURE_REC_JIT_SYMBOL, j1, 3);
	capture_write_varints(w, CAPTURE_REC_JIT_SYMBOL, j2, 3);
	const uint64_t jm[] = { 42, 3, 2, 5, 0 };
	capture_write_varints(w, CAPTURE_REC_JIT_MAP, jm, 5);
	const uint64_t pcs[] = { 0x10010, 0x20041, 0x30000 };
	capture_write_stack(w, 1, CAPTURE_STACK_COMPLETE, pcs, 3);
	const uint64_t sample[] = { 1, 100, 1, 1, 1000 };
	capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, sample, 5);
	CHECK_EQ_INT(capture_writer_free(w), 0);
	rewind(f);
	char err[256];
	struct profile *p = profile_read(f, "jit", err, sizeof(err));
	fclose(f);
	if (!p) {
		unit_fail(__FILE__, __LINE__, "%s", err);
		return;
	}
	CHECK_EQ_INT(p->skipped_records, 0);
	CHECK_EQ_INT(p->njit_symbols, 2);
	CHECK_EQ_INT(p->njit_maps, 1);
	if (p->njit_maps == 1) {
		CHECK_STR(p->jit_maps[0].path, "/tmp/perf-42.map");
		CHECK_EQ_INT(p->jit_maps[0].bad_lines, 5);
	}
	struct symbolizer *s = sym_new();
	profile_resolve(p, s);
	sym_free(s);
	uint32_t fns[4];
	size_t n = profile_stack_functions(p, &p->stacks[0], fns, 4);
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_STR(p->functions[fns[0]].name, "JS:*hot /x.js:1");
		CHECK_STR(p->functions[fns[0]].module, "[jit]");
		CHECK_STR(p->functions[fns[1]].name, "JS:~cold /x.js:9"); /* 0x20040 */
		CHECK_STR(p->functions[fns[2]].name, "0x2ffff"); /* no symbol: the address */
	}
	profile_free(p);
}

/* --- damaged files --- */

static bool copy_file(const char *from, const char *to, size_t keep)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool ok = in >= 0 && out >= 0;
	char buf[65536];
	size_t done = 0;
	ssize_t n;
	while (ok && done < keep && (n = read(in, buf, sizeof(buf))) > 0) {
		size_t take = (size_t)n < keep - done ? (size_t)n : keep - done;
		ok = write(out, buf, take) == (ssize_t)take;
		done += take;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ok;
}

/* Looks up many addresses of the executable segment in a damaged copy:
 * whatever comes back, nothing may crash or read out of bounds. */
static void sweep(struct symbolizer *s, const struct profile_mapping *m)
{
	uint64_t step = (m->end - m->start) / 997 + 1;
	for (uint64_t a = m->start; a < m->end; a += step) {
		const struct sym_frame *f;
		size_t n = sym_lookup(s, m, a, &f);
		for (size_t i = 0; i < n; i++)
			CHECK(f[i].function && f[i].file);
	}
}

TEST(symbolize_truncated_elf_warns)
{
	struct self me;
	if (!self_map(&me))
		return;
	struct stat st;
	if (stat(me.path, &st) != 0)
		return;
	char copy[] = "/tmp/oneprof-unit-trunc-XXXXXX";
	int fd = mkstemp(copy);
	if (fd < 0)
		return;
	close(fd);
	/* Cut at several points: inside the debug info, inside the section
	 * headers, inside the program text. */
	const double cuts[] = { 0.9, 0.5, 0.2, 0.01 };
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		CHECK(copy_file(me.path, copy, (size_t)((double)st.st_size * cuts[c])));
		struct profile_mapping m = me.m;
		m.path = copy;
		struct symbolizer *s = sym_new();
		sweep(s, &m);
		CHECK(warnings_with(s, copy) >= 1);
		sym_free(s);
	}
	unlink(copy);
}

/* Overwrites a section's bytes in a file with a pattern. */
static bool scribble(const char *path, const char *section, int pattern)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	bool done = false;
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;
		while ((scn = elf_nextscn(elf, scn)) && !done) {
			const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name)
								  : NULL;
			if (!name || strcmp(name, section) != 0 || sh.sh_type == SHT_NOBITS)
				continue;
			uint8_t *junk = malloc(sh.sh_size ? sh.sh_size : 1);
			uint32_t x = 2463534242u;
			for (size_t i = 0; i < sh.sh_size; i++) {
				x ^= x << 13, x ^= x >> 17, x ^= x << 5;
				junk[i] = pattern < 0 ? (uint8_t)x : (uint8_t)pattern;
			}
			/* Keep the first bytes of a unit header sometimes: damage
			 * deep inside is harder than damage at the start. */
			size_t from = pattern == -2 && sh.sh_size > 64 ? 12 : 0;
			done = pwrite(fd, junk + from, sh.sh_size - from, (off_t)(sh.sh_offset + from)) ==
			       (ssize_t)(sh.sh_size - from);
			free(junk);
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return done;
}

TEST(symbolize_corrupt_dwarf_warns)
{
	struct self me;
	if (!self_map(&me))
		return;
	struct stat st;
	if (stat(me.path, &st) != 0)
		return;
	char copy[] = "/tmp/oneprof-unit-dwarf-XXXXXX";
	int fd = mkstemp(copy);
	if (fd < 0)
		return;
	close(fd);
	const char *sections[] = { ".debug_info", ".debug_line", ".debug_abbrev",
				   ".debug_rnglists", ".debug_str", ".symtab", ".strtab" };
	const int patterns[] = { -1, -2, 0xff, 0 };
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
			if (!copy_file(me.path, copy, (size_t)st.st_size) ||
			    !scribble(copy, sections[i], patterns[k]))
				continue; /* a section this build does not have */
			struct profile_mapping m = me.m;
			m.path = copy;
			struct symbolizer *s = sym_new();
			sweep(s, &m);
			sym_free(s);
		}
	}
	unlink(copy);
}
