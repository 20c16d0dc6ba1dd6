/* Offline unwinding of copied stacks (src/unwind/space.c), on ground
 * truth: the frameless chain of unwind_chain.c captures its registers, a
 * copy of its stack is taken, and the walk of the copy with tables read
 * from the files of /proc/self/maps must give the in-process walk's
 * frames, in the functions expected. Then: short copies, the files cache,
 * fork/exec/unmap of spaces, files that are garbage, truncated, without
 * .eh_frame_hdr or missing, and random stacks and registers against a
 * copy between guard pages. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/unwind/unwind.h"
#include "unit.h"
#include "unwind_chain.h"
#include "unwind_syms.h"

#define MAX_PCS 64
/* What the collector would ask the kernel for. */
#define COPY_BYTES (16 * 1024)

/* ---- the ground truth ---- */

struct copy_probe {
	struct unwind_regs regs;
	uint8_t copy[COPY_BYTES];
	size_t len;
	uint64_t live[MAX_PCS];
	unsigned live_n, live_reason;
};

/* Word by word, uninstrumented: the live stack holds ASan redzones of
 * frames, which are no error to copy (the kernel copies them too). */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
__attribute__((no_sanitize_address))
#endif
#endif
static void copy_stack(uint8_t *dst, uintptr_t src, size_t len)
{
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v = *(const volatile uint64_t *)(src + i);
		memcpy(dst + i, &v, 8);
	}
}

static void probe(const struct unwind_regs *regs, void *arg)
{
	struct copy_probe *p = arg;
	pthread_attr_t a;
	void *addr = NULL;
	size_t size = 0;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	pthread_attr_getstack(&a, &addr, &size);
	pthread_attr_destroy(&a);
	uintptr_t lo = (uintptr_t)addr, hi = lo + size;
	p->regs = *regs;
	p->live_n = unwind_walk(regs, lo, hi, p->live, MAX_PCS, &p->live_reason);
	/* The kernel copies at most up to the end of the stack. */
	p->len = hi - regs->sp < COPY_BYTES ? (size_t)(hi - regs->sp) : COPY_BYTES;
	copy_stack(p->copy, regs->sp, p->len);
}

/* The executable mappings of /proc/self/maps, paths as listed; the vDSO
 * too (no file: counted missing). Returns the count. */
static int map_self(struct unwind_space *s, const char *replace, const char *by)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perms, &off, &pos) < 4 ||
		    !pos || perms[2] != 'x')
			continue;
		char *path = line + pos;
		path[strcspn(path, "\n")] = '\0';
		if (!*path)
			continue; /* anonymous code */
		if (replace && strcmp(path, replace) == 0)
			path = (char *)by;
		CHECK_EQ_INT(unwind_space_map(s, lo, hi, off, path), 0);
		n++;
	}
	fclose(f);
	return n;
}

static char self_path[4096];

static const char *exe_path(void)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	self_path[n > 0 ? n : 0] = '\0';
	return self_path;
}

/* Not inlined, so the frames above the chain are the same at every -O. */
__attribute__((noinline)) static struct copy_probe *capture(void)
{
	struct copy_probe *p = calloc(1, sizeof(*p));
	struct unwind_chain_ctx ctx = { probe, p, 0, NULL, NULL };
	unwind_chain_a(&ctx);
	return p;
}

static unsigned walk_copy(struct unwind_space *s, const struct copy_probe *p, size_t len,
			  uint64_t *pcs, unsigned *reason)
{
	return unwind_space_walk(s, &p->regs, p->copy, len, pcs, MAX_PCS, reason);
}

static int same_walk(const uint64_t *a, unsigned na, const uint64_t *b, unsigned nb)
{
	return na == nb && memcmp(a, b, na * sizeof(*a)) == 0;
}

static void dump_walk(const struct usym_table *st, const uint64_t *pcs, unsigned n,
		      unsigned reason)
{
	printf("    walk: %u frames, reason %u\n", n, reason);
	for (unsigned i = 0; i < n; i++) {
		const struct usym *f = usym_find(st, (uintptr_t)pcs[i] - (i ? 1 : 0));
		printf("      #%u %#llx %s\n", i, (unsigned long long)pcs[i], f ? f->name : "?");
	}
}

TEST(unwind_offline_matches_in_process)
{
	CHECK_EQ_INT(unwind_rebuild(), 0);
	struct usym_table st;
	usym_load(&st);
	struct copy_probe *p = capture();
	CHECK(p->len >= 1024); /* the main thread's stack ends a few KiB above */
	CHECK_EQ_INT(p->live_reason, CAPTURE_STACK_COMPLETE);

	struct unwind_files *files = unwind_files_new();
	struct unwind_space *s = unwind_space_new(files);
	CHECK(map_self(s, NULL, NULL) >= 3);
	uint64_t pcs[MAX_PCS];
	unsigned reason = 99;
	unsigned n = walk_copy(s, p, p->len, pcs, &reason);
	/* The same frames as the in-process walk, to the outermost one. */
	CHECK(same_walk(pcs, n, p->live, p->live_n));
	CHECK_EQ_INT(reason, p->live_reason);
	CHECK_EQ_INT(reason, CAPTURE_STACK_COMPLETE);
	/* Each in the function expected, by this binary's symbol table. */
	static const char *const names[] = { "unwind_chain_leaf", "unwind_chain_c",
					     "unwind_chain_b", "unwind_chain_a", "capture",
					     "test_unwind_offline_matches_in_process", "main" };
	int named = n > 7;
	for (unsigned i = 0; named && i < 7; i++) {
		const struct usym *f = usym_find(&st, (uintptr_t)pcs[i] - (i ? 1 : 0));
		named = f && strcmp(f->name, names[i]) == 0;
	}
	CHECK(named);
	if (!named || reason != CAPTURE_STACK_COMPLETE)
		dump_walk(&st, pcs, n, reason);
	printf("    unwind offline: %u frames from a %zu-byte copy, as in-process\n", n, p->len);

	/* Read lazily: only this binary and libc (main's callers) were needed. */
	struct unwind_files_stats fs;
	unwind_files_get_stats(files, &fs);
	CHECK_EQ_INT(fs.parsed, 2);
	CHECK_EQ_INT(fs.failed, 0);
	CHECK(fs.missing >= 1); /* [vdso] */
	CHECK(fs.rows > 1000);

	/* Cut to 256 bytes: the frames found are a prefix, the end says the
	 * copy was too small. */
	uint64_t cut[MAX_PCS];
	unsigned cn = walk_copy(s, p, 256, cut, &reason);
	CHECK_EQ_INT(reason, CAPTURE_STACK_TRUNCATED);
	CHECK(cn >= 1 && cn < n && memcmp(cut, pcs, cn * sizeof(*cut)) == 0);
	/* Every cut, 8 bytes apart: a prefix, TRUNCATED until the copy holds
	 * the whole stack, and more frames the longer the copy. */
	unsigned prev = 0, bad = 0, first_full = 0;
	for (size_t len = 8; len <= p->len; len += 8) {
		unsigned r, k = walk_copy(s, p, len, cut, &r);
		int ok = k >= prev && k <= n && memcmp(cut, pcs, k * sizeof(*cut)) == 0 &&
			 (r == CAPTURE_STACK_TRUNCATED || (r == CAPTURE_STACK_COMPLETE && k == n));
		bad += !ok;
		if (r == CAPTURE_STACK_COMPLETE && !first_full)
			first_full = (unsigned)len;
		prev = k;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(first_full > 0);
	printf("    unwind offline: the whole stack needs %u bytes of copy\n", first_full);
	/* Nothing copied; no room for frames. */
	CHECK_EQ_INT(walk_copy(s, p, 0, cut, &reason), 1);
	CHECK_EQ_INT(reason, CAPTURE_STACK_BAD_FRAME);
	CHECK_EQ_INT(unwind_space_walk(s, &p->regs, p->copy, p->len, cut, 0, &reason), 0);
	CHECK_EQ_INT(reason, CAPTURE_STACK_TRUNCATED);
	CHECK_EQ_INT(unwind_space_walk(s, &p->regs, p->copy, p->len, cut, 3, &reason), 3);
	CHECK_EQ_INT(reason, CAPTURE_STACK_TRUNCATED);

	unwind_space_free(s);
	unwind_files_free(files);
	usym_free(&st);
	free(p);
}

TEST(unwind_offline_files_shared)
{
	struct copy_probe *p = capture();
	struct unwind_files *files = unwind_files_new();
	struct unwind_space *a = unwind_space_new(files), *b = unwind_space_new(files);
	map_self(a, NULL, NULL);
	map_self(b, NULL, NULL);
	uint64_t pa[MAX_PCS], pb[MAX_PCS];
	unsigned ra, rb;
	unsigned na = walk_copy(a, p, p->len, pa, &ra);
	struct unwind_files_stats s1, s2;
	unwind_files_get_stats(files, &s1);
	unsigned nb = walk_copy(b, p, p->len, pb, &rb);
	unwind_files_get_stats(files, &s2);
	CHECK(same_walk(pa, na, pb, nb));
	CHECK_EQ_INT(rb, CAPTURE_STACK_COMPLETE);
	/* Two spaces, one parse of libc and of this binary. */
	CHECK_EQ_INT(s1.parsed, 2);
	CHECK_EQ_INT(s2.parsed, 2);
	CHECK_EQ_INT(s2.files, s1.files);
	CHECK_EQ_INT(s2.rows, s1.rows);
	unwind_space_free(a);
	unwind_space_free(b);
	unwind_files_free(files);
	free(p);
}


TEST(unwind_offline_clone_clear_unmap)
{
	struct copy_probe *p = capture();
	struct unwind_files *files = unwind_files_new();
	struct unwind_space *s = unwind_space_new(files);
	map_self(s, NULL, NULL);
	uint64_t full[MAX_PCS], pcs[MAX_PCS];
	unsigned fr, r;
	unsigned fn = walk_copy(s, p, p->len, full, &fr);
	CHECK_EQ_INT(fr, CAPTURE_STACK_COMPLETE);

	/* fork: the clone walks alone, the parent gone. */
	struct unwind_space *c = unwind_space_clone(s);
	CHECK(c != NULL);
	unwind_space_free(s);
	unsigned n = walk_copy(c, p, p->len, pcs, &r);
	CHECK(same_walk(pcs, n, full, fn));

	/* A page unmapped where no frame is: the rest of the split mapping
	 * keeps its file offsets. */
	extern char etext[]; /* the linker's end of the test binary's text */
	uintptr_t page = 0;
	for (uintptr_t pg = (uintptr_t)usym_load & ~(uintptr_t)4095;
	     !page && pg + 4096 <= (uintptr_t)etext; pg += 4096) {
		int clash = 0;
		for (unsigned i = 0; i < fn; i++)
			clash |= ((full[i] - (i ? 1 : 0)) & ~(uint64_t)4095) == pg;
		page = clash ? 0 : pg;
	}
	CHECK(page != 0);
	unwind_space_unmap(c, page, page + 4096);
	n = walk_copy(c, p, p->len, pcs, &r);
	CHECK(same_walk(pcs, n, full, fn));
	/* The leaf's page unmapped: no table there. With no frame pointer
	 * either the walk stops at once. */
	struct unwind_regs q = p->regs;
	q.fp = 0;
	uintptr_t leaf = (uintptr_t)p->regs.pc & ~(uintptr_t)4095;
	unwind_space_unmap(c, leaf, leaf + 4096);
	n = unwind_space_walk(c, &q, p->copy, p->len, pcs, MAX_PCS, &r);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(r, CAPTURE_STACK_NO_UNWIND_INFO);

	/* exec: nothing mapped. */
	map_self(c, NULL, NULL);
	n = walk_copy(c, p, p->len, pcs, &r);
	CHECK(same_walk(pcs, n, full, fn));
	unwind_space_clear(c);
	n = unwind_space_walk(c, &q, p->copy, p->len, pcs, MAX_PCS, &r);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(r, CAPTURE_STACK_NO_UNWIND_INFO);
	unwind_space_free(c);
	unwind_files_free(files);
	free(p);
}

/* ---- bad files ---- */

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, data, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint8_t *b = malloc((size_t)st.st_size);
	size_t done = 0;
	while (b && done < (size_t)st.st_size) {
		ssize_t r = read(fd, b + done, (size_t)st.st_size - done);
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	*len = done;
	return b;
}

TEST(unwind_offline_bad_files)
{
	struct copy_probe *p = capture();
	char dir[] = "/tmp/oneprof-unwind-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	size_t elen = 0;
	uint8_t *exe = slurp(exe_path(), &elen);
	CHECK(exe && elen > 4096);
	if (!exe) {
		free(p);
		return;
	}
	char garbage[64 + sizeof(dir)], header[64 + sizeof(dir)], cut[64 + sizeof(dir)],
		nohdr[64 + sizeof(dir)], missing[64 + sizeof(dir)];
	snprintf(garbage, sizeof(garbage), "%s/garbage", dir);
	snprintf(header, sizeof(header), "%s/header-cut", dir);
	snprintf(cut, sizeof(cut), "%s/eh-frame-cut", dir);
	snprintf(nohdr, sizeof(nohdr), "%s/no-eh-frame-hdr", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	uint8_t junk[8192];
	uint64_t x = 0x243f6a8885a308d3ull;
	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		junk[i] = (uint8_t)x;
	}
	CHECK_EQ_INT(write_file(garbage, junk, sizeof(junk)), 0);
	CHECK_EQ_INT(write_file(header, exe, 40), 0); /* ELF header cut short */
	/* The program headers (Elf64_Ehdr e_phoff at 32, e_phnum at 56;
	 * Elf64_Phdr p_type at 0, p_offset at 8, p_filesz at 32). */
	uint64_t phoff, hdr_end = 0;
	uint16_t phnum;
	memcpy(&phoff, exe + 32, 8);
	memcpy(&phnum, exe + 56, 2);
	for (unsigned i = 0; i < phnum && phoff + (i + 1) * 56 <= elen; i++) {
		const uint8_t *ph = exe + phoff + i * 56;
		uint32_t type;
		uint64_t off, filesz;
		memcpy(&type, ph, 4);
		memcpy(&off, ph + 8, 8);
		memcpy(&filesz, ph + 32, 8);
		if (type == 0x6474e550) /* PT_GNU_EH_FRAME */
			hdr_end = off + filesz;
	}
	/* Cut just after .eh_frame_hdr: .eh_frame, which follows it, runs
	 * past the end of the file. */
	CHECK(hdr_end > 0 && hdr_end + 64 < elen);
	CHECK_EQ_INT(write_file(cut, exe, hdr_end + 64), 0);
	/* PT_GNU_EH_FRAME turned into PT_NULL. */
	for (unsigned i = 0; i < phnum && phoff + (i + 1) * 56 <= elen; i++) {
		uint32_t type;
		memcpy(&type, exe + phoff + i * 56, 4);
		if (type == 0x6474e550)
			memset(exe + phoff + i * 56, 0, 4);
	}
	CHECK_EQ_INT(write_file(nohdr, exe, elen), 0);

	const char *bad[] = { garbage, header, cut, nohdr, missing };
	struct unwind_files *files = unwind_files_new();
	for (unsigned k = 0; k < 5; k++) {
		/* This binary's mappings backed by the bad file. */
		struct unwind_space *s = unwind_space_new(files);
		map_self(s, exe_path(), bad[k]);
		uint64_t pcs[MAX_PCS];
		unsigned r = 99, n = walk_copy(s, p, p->len, pcs, &r);
		/* The chain is frameless and its rbp holds data: frame-pointer
		 * steps or a clean stop, never a crash or a bogus reason. */
		CHECK(n >= 1 && n <= MAX_PCS && pcs[0] == p->regs.pc);
		CHECK(r < CAPTURE_STACK_END_COUNT && r != CAPTURE_STACK_COMPLETE);
		/* Again, with the failure remembered. */
		unsigned r2, n2 = walk_copy(s, p, p->len, pcs, &r2);
		CHECK(n2 == n && r2 == r);
		unwind_space_free(s);
	}
	struct unwind_files_stats fs;
	unwind_files_get_stats(files, &fs);
	CHECK_EQ_INT(fs.failed, 4); /* garbage, cut header, cut .eh_frame, no header */
	CHECK(fs.missing >= 2);    /* the missing file (several mappings), [vdso] */
	printf("    unwind offline: %u files, %u parsed, %u failed, %u missing mappings\n",
	       fs.files, fs.parsed, fs.failed, fs.missing);
	unwind_files_free(files);
	const char *const all[] = { garbage, header, cut, nohdr };
	for (unsigned k = 0; k < 4; k++)
		unlink(all[k]);
	rmdir(dir);
	free(exe);
	free(p);
}

/* ---- random stacks and registers ---- */

static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

TEST(unwind_offline_random_copies)
{
	struct unwind_files *files = unwind_files_new();
	struct unwind_space *s = unwind_space_new(files);
	map_self(s, NULL, NULL);
	/* Code addresses to plant: this binary's and libc's text. */
	uintptr_t code[2] = { (uintptr_t)unwind_chain_leaf, (uintptr_t)memcpy };
	long pg = sysconf(_SC_PAGESIZE);
	size_t span = 5 * (size_t)pg;
	/* guard | copy | guard: the copy lies against one guard or the other,
	 * so a read past either end faults, with or without ASan. */
	uint8_t *m = mmap(NULL, span + 2 * (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			  0);
	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	uint8_t *area = m + pg;
	CHECK_EQ_INT(mprotect(area, span, PROT_READ | PROT_WRITE), 0);
	uint64_t seed = 0x0123456789abcdefull;
	unsigned long long frames = 0, truncated = 0, complete = 0;
	unsigned bad = 0;
	for (int it = 0; it < 20000; it++) {
		size_t len = (size_t)(rng(&seed) % (span + 1));
		uint8_t *copy = rng(&seed) & 1 ? area : area + span - len;
		uintptr_t sp = 0x7ffd00000000ull + (rng(&seed) % 0x100000);
		if (rng(&seed) % 4)
			sp &= ~(uintptr_t)7;
		for (size_t i = 0; i + 8 <= len; i += 8) {
			uint64_t x = rng(&seed), v;
			switch (x & 7) {
			case 0: case 1: case 2: /* into the copied stack, or just past it */
				v = sp + (x >> 8) % (len + 64);
				if (x & 8)
					v &= ~(uint64_t)7;
				break;
			case 3: case 4:
				v = code[(x >> 8) & 1] + ((x >> 16) % 4096);
				break;
			case 5:
				v = 0;
				break;
			default:
				v = x;
			}
			memcpy(copy + i, &v, 8);
		}
		struct unwind_regs r;
		uint64_t x = rng(&seed);
		r.pc = x & 1 ? code[(x >> 1) & 1] + (rng(&seed) % 4096) : (uintptr_t)rng(&seed);
		r.sp = sp;
		r.fp = x & 4 ? sp + rng(&seed) % (len + 64) : (uintptr_t)rng(&seed);
		uint64_t pcs[MAX_PCS];
		unsigned reason = 99;
		unsigned n = unwind_space_walk(s, &r, copy, len, pcs, MAX_PCS, &reason);
		bad += n < 1 || n > MAX_PCS || reason >= CAPTURE_STACK_END_COUNT || pcs[0] != r.pc;
		frames += n;
		truncated += reason == CAPTURE_STACK_TRUNCATED;
		complete += reason == CAPTURE_STACK_COMPLETE;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(truncated > 0);
	printf("    unwind offline: 20000 random copies, %.2f frames on average, %llu truncated, "
	       "%llu complete\n",
	       (double)frames / 20000, truncated, complete);
	munmap(m, span + 2 * (size_t)pg);
	unwind_space_free(s);
	unwind_files_free(files);
}
