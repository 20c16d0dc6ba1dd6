/* Offline unwinding of copied user stacks, for the out-of-process
 * collector: tables read from module files on disk, address spaces made
 * of mappings, and the walker of walk_core.h reading a stack copy.
 *
 * Files: a module's .eh_frame_hdr and .eh_frame are found through its
 * ELF program headers (PT_GNU_EH_FRAME, and the PT_LOAD segment holding
 * .eh_frame), read with pread and parsed by unwind__parse_eh_frame in the
 * file's own virtual addresses, lazily at the first walk that needs them,
 * once per file identity (device, inode, size, mtime): libc is parsed once
 * for every process. The ELF reading is by hand on purpose: it needs the
 * ELF header, the program headers and two byte ranges, checked against
 * the file size, which <elf.h> and pread give in a few lines; libelf would
 * tie src/unwind/ (also built into the agent) to a library the agent may
 * not link. pread rather than mmap: a file truncated while we read it
 * gives a short read, not a SIGBUS.
 *
 * Addresses: a mapping [start, end) of a file at file offset `offset` puts
 * file offset offset + (pc - start) at pc; the executable PT_LOAD segment
 * holding that offset turns it into the file's virtual address (the same
 * load bias the loader used: start minus the segment's vaddr rounded down
 * the way the loader rounds its file offset), where the rows are.
 *
 * Not thread-safe: one thread owns a files cache and its spaces. */
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unwind.h"
#include "unwind_internal.h"
#include "walk_core.h"

/* Program headers read at most: real binaries have about a dozen. */
#define UW_MAX_PHDRS 256
/* Executable PT_LOAD segments kept per file: linkers emit one or two. */
#define UW_MAX_EXEC_SEGS 8
#define UW_FILE_BUCKETS 1024

enum file_state { FILE_UNREAD, FILE_READY, FILE_FAILED };

struct uw_seg {
	uint64_t off, filesz, vaddr;
};

struct uw_file {
	struct uw_file *next; /* hash chain */
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	char *path; /* where it is read from: the latest mapping that named it */
	enum file_state state;
	bool open_failed; /* FAILED because it could not be opened: another path may do */
	unsigned nseg;
	struct uw_seg seg[UW_MAX_EXEC_SEGS];
	uint64_t text_lo, text_hi; /* file vaddrs the rows are relative to */
	struct uw_row *rows;
	size_t nrows;
	size_t unsupported_fdes;
};

struct unwind_files {
	struct uw_file *bucket[UW_FILE_BUCKETS];
	size_t max_table_bytes;
	struct unwind_files_stats st;
};

struct uw_map {
	uint64_t start, end, offset;
	struct uw_file *file; /* NULL: the file could not be found */
};

struct unwind_space {
	struct unwind_files *files;
	struct uw_map *v; /* sorted by start, disjoint */
	size_t n, cap;
};

/* ---- files ---- */

struct unwind_files *unwind_files_new(void)
{
	struct unwind_files *f = calloc(1, sizeof(*f));
	if (f)
		f->max_table_bytes = UNWIND_MAX_TABLE_BYTES;
	return f;
}

void unwind_files_set_max_table_bytes(struct unwind_files *f, size_t bytes)
{
	f->max_table_bytes = bytes;
}

static void file_free(struct uw_file *u)
{
	free(u->path);
	free(u->rows);
	free(u);
}

void unwind_files_free(struct unwind_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < UW_FILE_BUCKETS; i++) {
		for (struct uw_file *u = f->bucket[i], *next; u; u = next) {
			next = u->next;
			file_free(u);
		}
	}
	free(f);
}

void unwind_files_get_stats(const struct unwind_files *f, struct unwind_files_stats *st)
{
	*st = f->st;
}

static int64_t mtime_ns(const struct stat *s)
{
	return (int64_t)s->st_mtim.tv_sec * 1000000000 + s->st_mtim.tv_nsec;
}

static bool same_file(const struct uw_file *u, const struct stat *s)
{
	return u->dev == s->st_dev && u->ino == s->st_ino && u->size == s->st_size &&
	       u->mtime_ns == mtime_ns(s);
}

static size_t file_hash(const struct stat *s)
{
	uint64_t h = (uint64_t)s->st_ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)s->st_dev;
	h ^= h >> 29;
	return (size_t)(h % UW_FILE_BUCKETS);
}

/* The entry of the file at path, made (unread) on first sight; NULL with
 * *err 0 when there is no such file, -ENOMEM when out of memory. */
static struct uw_file *files_get(struct unwind_files *f, const char *path, int *err)
{
	*err = 0;
	struct stat s;
	if (!path || stat(path, &s) != 0 || !S_ISREG(s.st_mode)) {
		f->st.missing++;
		return NULL;
	}
	size_t h = file_hash(&s);
	for (struct uw_file *u = f->bucket[h]; u; u = u->next) {
		if (!same_file(u, &s))
			continue;
		if (u->state == FILE_FAILED && u->open_failed && strcmp(u->path, path) != 0) {
			/* Unreadable under the old path (its process gone): retry here. */
			char *p = strdup(path);
			if (p) {
				free(u->path);
				u->path = p;
				u->state = FILE_UNREAD;
				u->open_failed = false;
				f->st.failed--;
			}
		}
		return u;
	}
	struct uw_file *u = calloc(1, sizeof(*u));
	if (!u || !(u->path = strdup(path))) {
		free(u);
		*err = -ENOMEM;
		return NULL;
	}
	u->dev = s.st_dev;
	u->ino = s.st_ino;
	u->size = s.st_size;
	u->mtime_ns = mtime_ns(&s);
	u->next = f->bucket[h];
	f->bucket[h] = u;
	f->st.files++;
	return u;
}

/* Reads len bytes at off, all of them inside the file. */
static bool read_at(int fd, uint64_t size, uint64_t off, void *buf, size_t len)
{
	if (off > size || len > size - off)
		return false;
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		done += (size_t)r;
	}
	return true;
}

/* A malloc'ed copy of len bytes at off; NULL on any failure (*nomem set
 * when that was memory). */
static uint8_t *read_copy_of(int fd, uint64_t size, uint64_t off, size_t len, bool *nomem)
{
	uint8_t *b = malloc(len ? len : 1);
	if (!b) {
		*nomem = true;
		return NULL;
	}
	if (!read_at(fd, size, off, b, len)) {
		free(b);
		return NULL;
	}
	return b;
}

/* Builds u's tables from its file. Returns 0 (READY or FAILED) or -ENOMEM
 * (left UNREAD, tried again by a later walk). */
static int file_load(struct unwind_files *f, struct uw_file *u)
{
	int fd = open(u->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		u->open_failed = true;
		goto failed;
	}
	struct stat s;
	bool nomem = false;
	uint8_t *hdr = NULL, *eh = NULL;
	Elf64_Phdr *ph = NULL;
	/* The file must still be the one that was mapped. */
	if (fstat(fd, &s) != 0 || !same_file(u, &s))
		goto bad;
	uint64_t size = (uint64_t)s.st_size;
	Elf64_Ehdr e;
	if (!read_at(fd, size, 0, &e, sizeof(e)) || memcmp(e.e_ident, ELFMAG, SELFMAG) != 0 ||
	    e.e_ident[EI_CLASS] != ELFCLASS64 || e.e_ident[EI_DATA] != ELFDATA2LSB ||
	    e.e_machine != EM_X86_64 || e.e_phentsize != sizeof(Elf64_Phdr) || e.e_phnum == 0 ||
	    e.e_phnum > UW_MAX_PHDRS)
		goto bad;
	ph = calloc(e.e_phnum, sizeof(*ph));
	if (!ph) {
		nomem = true;
		goto bad;
	}
	if (!read_at(fd, size, e.e_phoff, ph, (size_t)e.e_phnum * sizeof(*ph)))
		goto bad;
	const Elf64_Phdr *ehp = NULL;
	u->text_lo = UINT64_MAX;
	u->text_hi = 0;
	u->nseg = 0;
	for (unsigned i = 0; i < e.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type == PT_GNU_EH_FRAME) {
			ehp = p;
		} else if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && p->p_memsz &&
			   u->nseg < UW_MAX_EXEC_SEGS && p->p_vaddr + p->p_memsz > p->p_vaddr) {
			u->seg[u->nseg].off = p->p_offset;
			u->seg[u->nseg].filesz = p->p_filesz;
			u->seg[u->nseg].vaddr = p->p_vaddr;
			u->nseg++;
			if (p->p_vaddr < u->text_lo)
				u->text_lo = p->p_vaddr;
			if (p->p_vaddr + p->p_memsz > u->text_hi)
				u->text_hi = p->p_vaddr + p->p_memsz;
		}
	}
	if (!ehp || !u->nseg || ehp->p_filesz > f->max_table_bytes)
		goto bad;
	size_t hdr_len = (size_t)ehp->p_filesz;
	uintptr_t hdr_addr = (uintptr_t)ehp->p_vaddr, eh_addr;
	if (!(hdr = read_copy_of(fd, size, ehp->p_offset, hdr_len, &nomem)) ||
	    unwind__eh_frame_ptr(hdr, hdr_len, hdr_addr, &eh_addr) != 0)
		goto bad;
	/* .eh_frame runs to its zero terminator; the parser is bounded by the
	 * rest of its segment's file bytes. */
	const Elf64_Phdr *seg = NULL;
	for (unsigned i = 0; i < e.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && eh_addr >= ph[i].p_vaddr &&
		    eh_addr - ph[i].p_vaddr < ph[i].p_filesz)
			seg = &ph[i];
	if (!seg)
		goto bad;
	uint64_t in_seg = eh_addr - seg->p_vaddr;
	uint64_t eh_len = seg->p_filesz - in_seg;
	if (eh_len > f->max_table_bytes)
		eh_len = f->max_table_bytes;
	if (!(eh = read_copy_of(fd, size, seg->p_offset + in_seg, (size_t)eh_len, &nomem)))
		goto bad;
	struct uw_table t;
	int err = unwind__parse_eh_frame(hdr, hdr_len, hdr_addr, eh, (size_t)eh_len, eh_addr,
					 (uintptr_t)u->text_lo, (uintptr_t)u->text_hi, &t);
	if (err == -ENOMEM)
		nomem = true;
	if (err)
		goto bad;
	free(ph);
	free(hdr);
	free(eh);
	close(fd);
	u->rows = t.rows;
	u->nrows = t.nrows;
	u->unsupported_fdes = t.unsupported_fdes;
	u->state = FILE_READY;
	f->st.parsed++;
	f->st.rows += t.nrows;
	f->st.unsupported_fdes += t.unsupported_fdes;
	return 0;
bad:
	free(ph);
	free(hdr);
	free(eh);
	close(fd);
	if (nomem)
		return -ENOMEM;
failed:
	u->state = FILE_FAILED;
	u->nseg = 0;
	f->st.failed++;
	return 0;
}

/* ---- spaces ---- */

struct unwind_space *unwind_space_new(struct unwind_files *files)
{
	struct unwind_space *s = calloc(1, sizeof(*s));
	if (s)
		s->files = files;
	return s;
}

void unwind_space_free(struct unwind_space *s)
{
	if (!s)
		return;
	free(s->v);
	free(s);
}

void unwind_space_clear(struct unwind_space *s)
{
	s->n = 0;
}

struct unwind_space *unwind_space_clone(const struct unwind_space *s)
{
	struct unwind_space *c = unwind_space_new(s->files);
	if (!c)
		return NULL;
	if (s->n) {
		c->v = malloc(s->n * sizeof(*c->v));
		if (!c->v) {
			free(c);
			return NULL;
		}
		memcpy(c->v, s->v, s->n * sizeof(*c->v));
		c->n = c->cap = s->n;
	}
	return c;
}

static int reserve(struct unwind_space *s, size_t more)
{
	if (s->cap - s->n >= more)
		return 0;
	size_t cap = s->cap ? s->cap * 2 : 32;
	while (cap - s->n < more)
		cap *= 2;
	struct uw_map *nv = realloc(s->v, cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	s->v = nv;
	s->cap = cap;
	return 0;
}

/* Cuts [start, end) out of the mappings, keeping the parts outside it;
 * needs room for one more entry (a mapping split in two). */
static void cut(struct unwind_space *s, uint64_t start, uint64_t end)
{
	size_t out = 0, n = s->n;
	struct uw_map *v = s->v;
	for (size_t i = 0; i < n; i++) {
		struct uw_map m = v[i];
		if (m.end <= start || m.start >= end) {
			v[out++] = m;
			continue;
		}
		if (m.start < start && m.end > end) {
			/* m holds the whole range, so nothing else overlaps it and
			 * out == i: split it in two. */
			memmove(&v[i + 2], &v[i + 1], (n - i - 1) * sizeof(*v));
			v[i].end = start;
			v[i + 1] = m;
			v[i + 1].start = end;
			v[i + 1].offset = m.offset + (end - m.start);
			s->n = n + 1;
			return;
		}
		if (m.start < start) {
			m.end = start;
			v[out++] = m;
		} else if (m.end > end) {
			m.offset += end - m.start;
			m.start = end;
			v[out++] = m;
		} /* else wholly inside: dropped */
	}
	s->n = out;
}

int unwind_space_map(struct unwind_space *s, uint64_t start, uint64_t end, uint64_t offset,
		     const char *path)
{
	if (end <= start)
		return -EINVAL;
	int err;
	struct uw_file *u = files_get(s->files, path, &err);
	if (err)
		return err;
	if (reserve(s, 2) != 0)
		return -ENOMEM;
	cut(s, start, end);
	size_t at = 0;
	while (at < s->n && s->v[at].start < start)
		at++;
	memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof(*s->v));
	s->v[at].start = start;
	s->v[at].end = end;
	s->v[at].offset = offset;
	s->v[at].file = u;
	s->n++;
	return 0;
}

void unwind_space_unmap(struct unwind_space *s, uint64_t start, uint64_t end)
{
	if (end <= start || reserve(s, 1) != 0)
		return; /* out of memory: the old mapping stays, harmless offline */
	cut(s, start, end);
}

/* ---- walking ---- */

static const struct uw_map *find_map(const struct unwind_space *s, uintptr_t pc)
{
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (pc < s->v[m].start)
			b = m;
		else if (pc >= s->v[m].end)
			a = m + 1;
		else
			return &s->v[m];
	}
	return NULL;
}

/* The row for pc, reading the mapping's file on first need. ctx is the
 * (non-const) space the walk was given. */
static const struct uw_row *lookup_space(const void *ctx, uintptr_t pc)
{
	const struct unwind_space *s = ctx;
	const struct uw_map *m = find_map(s, pc);
	if (!m || !m->file)
		return NULL;
	struct uw_file *u = m->file;
	if (u->state == FILE_UNREAD && file_load(s->files, u) != 0)
		return NULL;
	if (u->state != FILE_READY)
		return NULL;
	uint64_t fo = m->offset + (pc - m->start);
	for (unsigned i = 0; i < u->nseg; i++) {
		const struct uw_seg *g = &u->seg[i];
		if (fo < g->off || fo - g->off >= g->filesz)
			continue;
		uint64_t vaddr = g->vaddr + (fo - g->off);
		if (vaddr < u->text_lo || vaddr >= u->text_hi)
			return NULL;
		return unwind__find_row(u->rows, u->nrows, (uint32_t)(vaddr - u->text_lo));
	}
	return NULL;
}

/* The slot at addr from the copy, if aligned and wholly inside it;
 * PAST_END for an aligned user address beyond the copy's end. */
static enum uw_read read_copy(const struct uw_window *w, uintptr_t addr, uintptr_t *out)
{
	uintptr_t len = w->hi - w->lo;
	if (addr & (sizeof(uintptr_t) - 1) || addr < w->lo)
		return UW_READ_BAD;
	if (len < sizeof(uintptr_t) || addr - w->lo > len - sizeof(uintptr_t))
		return addr < UW_USER_TOP ? UW_READ_PAST_END : UW_READ_BAD;
	memcpy(out, w->copy + (addr - w->lo), sizeof(*out));
	return UW_READ_OK;
}

unsigned unwind_space_walk(struct unwind_space *s, const struct unwind_regs *regs,
			   const uint8_t *stack, size_t stack_len, uint64_t *pcs, unsigned max,
			   unsigned *end_reason)
{
	if (max == 0) {
		*end_reason = CAPTURE_STACK_TRUNCATED;
		return 0;
	}
	pcs[0] = regs->pc;
	/* Nothing copied: the kernel could not read the stack at sp. */
	if (!stack || stack_len == 0 || stack_len > UINTPTR_MAX - regs->sp) {
		*end_reason = CAPTURE_STACK_BAD_FRAME;
		return 1;
	}
	struct uw_window w = { regs->sp, regs->sp + stack_len, stack };
	return uw_walk_rows(regs->pc, regs->sp, regs->fp, &w, lookup_space, s, read_copy, true, pcs,
			    1, max, end_reason, read_copy, NULL, NULL);
}
