/* The collector's decoding half: perf records in, capture records out,
 * with the process, thread and mapping tables that needs. See collect.h.
 *
 * Processes, their mappings and threads are written lazily: a PROCESS
 * record with every mapping the process has then, and a THREAD record,
 * just before the first stack or sample that names them. A whole-system
 * recording then holds only the processes that ran, not every idle
 * daemon's mappings. */
#include "collect.h"
#include "collect_internal.h"
#include "intmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "oneprof.h"
#include "../agent/jitmap.h"
#include "../capture/format.h"
#include "../capture/writer.h"
#include "../symbolize/sym_internal.h"
#include "../util/util.h"
#include "kallsyms.h"

/* --- small tables --- */

/* Byte strings to dense ids from 1 (strings, stacks, build-id files). */
struct idslot {
	uint64_t hash;
	uint8_t *key;
	size_t len;
	uint64_t id;
};
struct idmap {
	struct idslot *slots;
	size_t cap, n;
};

static uint64_t idmap_get(struct idmap *m, const void *key, size_t len, bool *is_new)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct idslot *slots = xcalloc(cap, sizeof(*slots));
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->slots[i].key)
				continue;
			size_t k = (size_t)m->slots[i].hash & (cap - 1);
			while (slots[k].key)
				k = (k + 1) & (cap - 1);
			slots[k] = m->slots[i];
		}
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	uint64_t h = XXH3_64bits(key, len);
	size_t k = (size_t)h & (m->cap - 1);
	while (m->slots[k].key) {
		struct idslot *s = &m->slots[k];
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
			*is_new = false;
			return s->id;
		}
		k = (k + 1) & (m->cap - 1);
	}
	struct idslot *s = &m->slots[k];
	s->hash = h;
	s->key = xmalloc(len ? len : 1);
	memcpy(s->key, key, len);
	s->len = len;
	s->id = ++m->n;
	*is_new = true;
	return s->id;
}

static void idmap_free(struct idmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* --- the session's state --- */

struct cthread {
	pid_t tid, pid;
	char name[16];
	bool announced, ended;
};

struct build_id {
	uint8_t bytes[64];
	size_t len;
};

struct collect {
	struct collect_options o;
	struct capture_writer *cw;
	uint64_t start_ns; /* CLOCK_MONOTONIC at the header */
	struct idmap strings, stacks, files;
	struct build_id *build_ids; /* by files id - 1 */
	size_t cap_build_ids;
	uint64_t mappings;          /* MAPPING records written */
	struct collect_process **procs;
	size_t nprocs, cap_procs;
	struct intmap proc_index;
	struct cthread *threads;
	size_t nthreads, cap_threads;
	struct intmap thread_index;
	/* /proc/kallsyms, read before sampling starts (reading it takes tens
	 * of ms, which would stall the first drain); each symbol is written
	 * once, just before the first stack holding it, so readers of a live
	 * capture (top) name kernel frames as they come. */
	struct kallsyms ks;
	uint8_t *ks_written; /* by symbol index: its KERNEL_SYMBOL written */
	bool ks_hidden;      /* kallsyms unreadable or its addresses hidden */
	long max_stack;   /* kernel.perf_event_max_stack */
	uint64_t process_cpu_ns;
	uint64_t lost_written, throttled_written;
	struct collect_dwarf *dw; /* --call-graph dwarf; NULL: frame pointers */
	struct collect_stats st;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t string_id(struct collect *c, const char *s)
{
	bool is_new;
	size_t len = strlen(s);
	uint64_t id = idmap_get(&c->strings, s, len, &is_new);
	if (is_new)
		capture_write_string(c->cw, id, s, len);
	return id;
}

/* A KERNEL_SYMBOL for each kernel frame of a new stack whose symbol was
 * not written yet. A frame is looked up as reports look it up: a return
 * address by its call (the byte before it), which may end the function
 * before the one the return address falls in. */
static void write_kernel_symbols(struct collect *c, const uint64_t *pcs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (pcs[i] < CAPTURE_KERNEL_ADDRESS_MIN)
			continue;
		c->st.kernel_hidden |= c->ks_hidden;
		const struct kallsyms_sym *s = kallsyms_find(&c->ks, i ? pcs[i] - 1 : pcs[i]);
		if (!s || c->ks_written[s - c->ks.syms])
			continue;
		c->ks_written[s - c->ks.syms] = 1;
		uint64_t f[3] = { s->start, s->size, string_id(c, s->name) };
		capture_write_varints(c->cw, CAPTURE_REC_KERNEL_SYMBOL, f, 3);
		c->st.kernel_symbols++;
	}
}

/* jitmap's callback wants a plain function: the one session writing. */
static struct collect *jit_session;
static uint64_t jit_string_id(const char *s)
{
	return string_id(jit_session, s);
}

static uint64_t rel_time(const struct collect *c, uint64_t t)
{
	return t > c->start_ns ? t - c->start_ns : 0;
}

/* A small /proc file, NUL-terminated; its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* --- build-ids --- */

static const struct build_id *file_build_id(struct collect *c, const struct collect_mapping *m)
{
	char key[PATH_MAX + 64];
	int klen = snprintf(key, sizeof(key), "%" PRIu64 ":%" PRIu64 ":%s", m->dev, m->ino,
			    m->open_path);
	bool is_new;
	uint64_t id = idmap_get(&c->files, key, (size_t)klen < sizeof(key) ? (size_t)klen
									    : sizeof(key) - 1,
				&is_new);
	if (!is_new)
		return &c->build_ids[id - 1];
	GROW(c->build_ids, c->cap_build_ids, id);
	struct build_id *b = &c->build_ids[id - 1];
	b->len = 0;
	if (m->open_path[0] != '/')
		return b; /* [vdso], //anon: no file */
	int fd = open(m->open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return b;
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		elf_version(EV_CURRENT);
		Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		if (elf && elf_kind(elf) == ELF_K_ELF)
			sym_elf_build_id(elf, b->bytes, &b->len);
		if (elf)
			elf_end(elf);
	}
	close(fd);
	return b;
}

/* --- processes and mappings --- */

static struct collect_process *proc_find(const struct collect *c, pid_t pid)
{
	uint32_t i = intmap_get(&c->proc_index, pid);
	return i ? c->procs[i - 1] : NULL;
}

static void maps_clear(struct collect_process *p)
{
	for (size_t i = 0; i < p->nmaps; i++) {
		free(p->maps[i].path);
		free(p->maps[i].open_path);
	}
	p->nmaps = 0;
}

static void proc_free(struct collect_process *p)
{
	collect_dwarf_forget(p);
	maps_clear(p);
	free(p->maps);
	free(p->cmdline);
	free(p);
}

/* A new entry for pid; an older process with the same pid is forgotten
 * (kept in the list, no longer found). */
static struct collect_process *proc_new(struct collect *c, pid_t pid)
{
	struct collect_process *p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->nspid = pid;
	snprintf(p->comm, sizeof(p->comm), "pid %d", (int)pid);
	GROW(c->procs, c->cap_procs, c->nprocs + 1);
	c->procs[c->nprocs++] = p;
	intmap_put(&c->proc_index, pid, (uint32_t)c->nprocs);
	return p;
}

/* Where this collector can open a file the process maps: through
 * /proc/PID/root, so a process in another mount namespace (a container)
 * has its own files found; the path as given when that fails. */
static void mapping_paths(struct collect_mapping *m, pid_t pid, const char *path)
{
	m->path = xstrdup(path);
	if (path[0] != '/') {
		m->open_path = xstrdup(path);
		return;
	}
	char root[PATH_MAX + 32];
	snprintf(root, sizeof(root), "/proc/%d/root%s", (int)pid, path);
	struct stat sb;
	if (stat(root, &sb) == 0 && (!m->ino || sb.st_ino == m->ino)) {
		m->open_path = xstrdup(root);
		return;
	}
	m->open_path = xstrdup(path);
}

/* The path a MAPPING record names: the process's own when this machine
 * has the same file there, else the /proc/PID/root one (a report made
 * while the process lives reads it; later, --sysroot or --path-map). */
static const char *record_path(const struct collect_mapping *m)
{
	if (m->path[0] != '/' || !strcmp(m->path, m->open_path))
		return m->path;
	struct stat sb;
	if (stat(m->path, &sb) == 0 && (!m->ino || sb.st_ino == m->ino))
		return m->path;
	return m->open_path;
}

static void write_mapping(struct collect *c, const struct collect_process *p,
			  struct collect_mapping *m)
{
	const struct build_id *b = file_build_id(c, m);
	uint64_t path = string_id(c, record_path(m));
	m->id = ++c->mappings;
	capture_write_mapping_pid(c->cw, m->id, m->start, m->end, m->offset, path, b->bytes,
				  b->len, m->prot & 7u, (uint64_t)p->pid);
}

/* Inserts [start, end) as the kernel does with a new mapping: whatever
 * it overlaps is cut away. */
static struct collect_mapping *maps_insert(struct collect_process *p, uint64_t start,
					   uint64_t end, uint64_t offset)
{
	for (size_t i = 0; i < p->nmaps;) {
		struct collect_mapping *m = &p->maps[i];
		if (m->end <= start || m->start >= end) {
			i++;
			continue;
		}
		if (m->start < start && m->end > end) {
			/* Split: the right part becomes its own entry. */
			struct collect_mapping right = *m;
			right.offset += end - m->start;
			right.start = end;
			right.path = xstrdup(m->path);
			right.open_path = xstrdup(m->open_path);
			right.id = 0;
			m->end = start;
			GROW(p->maps, p->cap_maps, p->nmaps + 1);
			memmove(&p->maps[i + 2], &p->maps[i + 1],
				(p->nmaps - i - 1) * sizeof(*p->maps));
			p->maps[i + 1] = right;
			p->nmaps++;
			i += 2;
		} else if (m->start < start) {
			m->end = start;
			i++;
		} else if (m->end > end) {
			m->offset += end - m->start;
			m->start = end;
			i++;
		} else {
			free(m->path);
			free(m->open_path);
			memmove(m, m + 1, (p->nmaps - i - 1) * sizeof(*m));
			p->nmaps--;
		}
	}
	size_t at = 0;
	while (at < p->nmaps && p->maps[at].start < start)
		at++;
	GROW(p->maps, p->cap_maps, p->nmaps + 1);
	memmove(&p->maps[at + 1], &p->maps[at], (p->nmaps - at) * sizeof(*p->maps));
	p->nmaps++;
	struct collect_mapping *m = &p->maps[at];
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->offset = offset;
	return m;
}

static void add_mapping(struct collect *c, struct collect_process *p, uint64_t start,
			uint64_t end, uint64_t offset, uint32_t prot, uint64_t dev, uint64_t ino,
			const char *path)
{
	if (end <= start)
		return;
	struct collect_mapping *m = maps_insert(p, start, end, offset);
	m->prot = prot;
	m->dev = dev;
	m->ino = ino;
	mapping_paths(m, p->pid, path);
	if (c->dw)
		collect_dwarf_map(c->dw, p, m);
	if (p->announced)
		write_mapping(c, p, m);
}

const struct collect_mapping *collect_mapping_find(const struct collect_process *p,
						   uint64_t addr)
{
	if (!p)
		return NULL;
	size_t lo = UTIL_COUNT_LE(p->maps, p->nmaps, start, addr);
	return lo && addr < p->maps[lo - 1].end ? &p->maps[lo - 1] : NULL;
}

const struct collect_process *collect_process_find(const struct collect *c, pid_t pid)
{
	return proc_find(c, pid);
}

/* Executable mappings of /proc/PID/maps: the ones samples can land in
 * (the kernel's MMAP2 records, without mmap_data, are the same set). */
static void read_maps(struct collect *c, struct collect_process *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[PATH_MAX + 256];
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, ino;
		unsigned maj, min;
		char perms[8];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj,
			   &min, &ino, &name_at) < 7 || perms[2] != 'x')
			continue;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = '\0';
		if (!*name)
			name = "//anon";
		uint32_t prot = (perms[0] == 'r' ? 1u : 0) | (perms[1] == 'w' ? 2u : 0) | 4u;
		add_mapping(c, p, start, end, off, prot, makedev(maj, min), ino, name);
	}
	fclose(f);
}

/* The process's arguments from /proc, joined by spaces; left as they were
 * when it cannot be read. */
static void read_cmdline(struct collect_process *p)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)p->pid);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	free(p->cmdline);
	p->cmdline = xstrdup(buf);
}

static void read_process_info(struct collect_process *p)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(p->comm, sizeof(p->comm), "%s", buf);
	}
	read_cmdline(p);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		const char *pp = strstr(buf, "\nPPid:");
		if (pp)
			p->ppid = (pid_t)strtol(pp + 6, NULL, 10);
		/* NSpid: the pid in each nested namespace, innermost last. */
		const char *ns = strstr(buf, "\nNSpid:");
		if (ns) {
			const char *e = ns + 7;
			char *end;
			long v;
			while ((v = strtol(e, &end, 10)), end != e) {
				p->nspid = (pid_t)v;
				e = end;
			}
		}
	}
}

/* --- threads --- */

static struct cthread *thread_find(const struct collect *c, pid_t tid)
{
	uint32_t i = intmap_get(&c->thread_index, tid);
	return i ? &c->threads[i - 1] : NULL;
}

static struct cthread *thread_new(struct collect *c, pid_t pid, pid_t tid, const char *name)
{
	GROW(c->threads, c->cap_threads, c->nthreads + 1);
	struct cthread *t = &c->threads[c->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pid = pid;
	snprintf(t->name, sizeof(t->name), "%s", name);
	intmap_put(&c->thread_index, tid, (uint32_t)c->nthreads);
	return t;
}

static void thread_name_from_proc(pid_t pid, pid_t tid, char *out, size_t cap)
{
	char path[96], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(out, cap, "%s", buf);
	} else {
		snprintf(out, cap, "tid %d", (int)tid);
	}
}

bool collect_add_from_proc(struct collect *c, pid_t pid, bool threads)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (access(path, F_OK) != 0)
		return false;
	struct collect_process *p = proc_new(c, pid);
	read_process_info(p);
	read_maps(c, p);
	if (!threads)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0)
			continue;
		char name[16];
		thread_name_from_proc(pid, tid, name, sizeof(name));
		thread_new(c, pid, tid, name);
	}
	if (d)
		closedir(d);
	return true;
}

void collect_add_command(struct collect *c, pid_t pid, const char *name)
{
	struct collect_process *p = proc_new(c, pid);
	snprintf(p->comm, sizeof(p->comm), "%s", path_basename(name));
	p->ppid = getpid();
	thread_new(c, pid, pid, p->comm);
}

/* The process of a record: known, or looked up in /proc now. */
static struct collect_process *proc_get(struct collect *c, pid_t pid)
{
	struct collect_process *p = proc_find(c, pid);
	if (p)
		return p;
	if (pid > 0 && collect_add_from_proc(c, pid, false))
		return proc_find(c, pid);
	return proc_new(c, pid);
}

static void announce_process(struct collect *c, struct collect_process *p, uint64_t time)
{
	if (p->announced)
		return;
	p->announced = true;
	c->st.processes++;
	uint64_t f[5] = { (uint64_t)p->pid, string_id(c, p->comm), rel_time(c, time),
			  (uint64_t)(p->ppid > 0 ? p->ppid : 0),
			  p->cmdline ? string_id(c, p->cmdline) : 0 };
	capture_write_varints(c->cw, CAPTURE_REC_PROCESS, f, 5);
	for (size_t i = 0; i < p->nmaps; i++)
		write_mapping(c, p, &p->maps[i]);
}

static void announce_thread(struct collect *c, struct cthread *t, uint64_t time)
{
	announce_process(c, proc_get(c, t->pid), time);
	uint64_t f[4] = { (uint64_t)t->tid, string_id(c, t->name), rel_time(c, time),
			  (uint64_t)t->pid };
	capture_write_varints(c->cw, CAPTURE_REC_THREAD, f, 4);
	t->announced = true;
}

static struct cthread *thread_get(struct collect *c, pid_t pid, pid_t tid)
{
	struct cthread *t = thread_find(c, tid);
	if (t && t->pid == pid && !t->ended)
		return t;
	char name[16];
	thread_name_from_proc(pid, tid, name, sizeof(name));
	return thread_new(c, pid, tid, name);
}

/* --- record decoding --- */

/* The time of a non-sample record: sample_id_all puts pid/tid, time,
 * cpu/res at its end. */
static uint64_t trailer_time(const struct perf_event_header *h)
{
	if (h->size < sizeof(*h) + 24)
		return 0;
	uint64_t t;
	memcpy(&t, (const uint8_t *)h + h->size - 16, 8);
	return t;
}

uint64_t collect_stack(struct collect *c, pid_t pid, pid_t tid, uint64_t time, uint64_t ip,
		       const uint8_t *chain, uint64_t nr, const uint8_t *end)
{
	/* Key: pid, end reason, frames. The pid is part of a stack's
	 * identity: the same addresses mean other code in another process. */
	uint64_t key[3 + COLLECT_MAX_FRAMES];
	uint64_t *pcs = key + 2;
	size_t n = 0;
	unsigned reason = CAPTURE_STACK_COMPLETE;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t pc;
		memcpy(&pc, chain + i * 8, 8);
		if (pc >= (uint64_t)PERF_CONTEXT_MAX)
			continue; /* a context marker (kernel, user...), not a frame */
		if (n == COLLECT_MAX_FRAMES) {
			reason = CAPTURE_STACK_TRUNCATED;
			break;
		}
		pcs[n++] = pc;
	}
	if (c->max_stack > 0 && nr >= (uint64_t)c->max_stack)
		reason = CAPTURE_STACK_TRUNCATED; /* the kernel stopped at its limit */
	if (c->dw && end) {
		/* The user frames, unwound from the sample's stack copy, after
		 * the kernel's (the callchain has no user frames then). */
		unsigned why = reason;
		bool bad = false;
		n = collect_dwarf_user(c->dw, proc_get(c, pid), chain + nr * 8, end, pcs, n,
				       COLLECT_MAX_FRAMES, &why, &bad);
		if (bad) {
			c->st.bad_records++;
			return 0;
		}
		if (reason == CAPTURE_STACK_COMPLETE)
			reason = why;
	}
	if (n == 0)
		pcs[n++] = ip;
	key[0] = (uint64_t)pid;
	key[1] = reason;
	bool is_new;
	struct cthread *t = thread_get(c, pid, tid);
	if (!t->announced)
		announce_thread(c, t, time);
	uint64_t id = idmap_get(&c->stacks, key, (2 + n) * sizeof(uint64_t), &is_new);
	if (is_new) {
		write_kernel_symbols(c, pcs, n);
		capture_write_stack_pid(c->cw, id, reason, pcs, n, (uint64_t)pid);
	}
	return id;
}

void collect_write_off_cpu(struct collect *c, uint64_t time, pid_t tid, uint64_t stack,
			   uint64_t off_ns, unsigned state)
{
	uint64_t f[5] = { rel_time(c, time), (uint64_t)tid, stack, off_ns, state };
	capture_write_varints(c->cw, CAPTURE_REC_OFF_CPU, f, 5);
	c->st.off_cpu++;
}

static void on_sample(struct collect *c, struct rd *r)
{
	uint64_t ip = rd_u64(r);
	pid_t pid = (pid_t)rd_u32(r);
	pid_t tid = (pid_t)rd_u32(r);
	uint64_t time = rd_u64(r);
	rd_u32(r); /* cpu */
	rd_u32(r);
	uint64_t period = rd_u64(r);
	uint64_t nr = rd_u64(r);
	if (r->bad || nr > (uint64_t)(r->end - r->p) / 8) {
		c->st.bad_records++;
		return;
	}
	uint64_t id = collect_stack(c, pid, tid, time, ip, r->p, nr, r->end);
	if (!id)
		return; /* malformed user registers or stack: counted */
	/* cpu-clock's period is in ns: the CPU time this sample stands for. */
	uint64_t f[5] = { rel_time(c, time), (uint64_t)tid, id, 1, period };
	capture_write_varints(c->cw, CAPTURE_REC_CPU_SAMPLE, f, 5);
	c->st.samples++;
}

static void on_mmap2(struct collect *c, const struct perf_event_header *h, struct rd *r)
{
	pid_t pid = (pid_t)rd_u32(r);
	rd_u32(r); /* tid */
	uint64_t addr = rd_u64(r), len = rd_u64(r), pgoff = rd_u64(r);
	uint64_t dev = 0, ino = 0;
	if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
		rd_u64(r); /* build_id_size and the id: read from the file below */
		rd_u64(r);
		rd_u64(r);
	} else {
		uint32_t maj = rd_u32(r), min = rd_u32(r);
		dev = makedev(maj, min);
		ino = rd_u64(r);
		rd_u64(r); /* ino_generation */
	}
	uint32_t prot = rd_u32(r);
	rd_u32(r); /* flags */
	const char *name = rd_str(r);
	if (r->bad || addr + len < addr) {
		c->st.bad_records++;
		return;
	}
	if (!(prot & PROT_EXEC))
		return;
	add_mapping(c, proc_get(c, pid), addr, addr + len, pgoff, prot & 7u, dev, ino,
		    *name ? name : "//anon");
}

static void on_comm(struct collect *c, const struct perf_event_header *h, struct rd *r)
{
	pid_t pid = (pid_t)rd_u32(r);
	pid_t tid = (pid_t)rd_u32(r);
	const char *comm = rd_str(r);
	if (r->bad) {
		c->st.bad_records++;
		return;
	}
	uint64_t time = trailer_time(h);
	struct collect_process *p = proc_get(c, pid);
	if (h->misc & PERF_RECORD_MISC_COMM_EXEC) {
		/* A new image: the old mappings are gone (the new ones follow
		 * as MMAP2 records), and so are its name and arguments. */
		maps_clear(p);
		collect_dwarf_exec(p);
		snprintf(p->comm, sizeof(p->comm), "%s", comm);
		free(p->cmdline);
		p->cmdline = NULL;
		read_cmdline(p);
		if (p->announced) {
			/* A second PROCESS record: the pid's new image. */
			p->announced = false;
			c->st.processes--;
			announce_process(c, p, time);
		}
	} else if (pid == tid) {
		snprintf(p->comm, sizeof(p->comm), "%s", comm);
	}
	struct cthread *t = thread_get(c, pid, tid);
	if (strcmp(t->name, comm)) {
		snprintf(t->name, sizeof(t->name), "%s", comm);
		if (t->announced)
			announce_thread(c, t, time); /* a second THREAD renames it */
	}
}

static void on_fork(struct collect *c, struct rd *r)
{
	pid_t pid = (pid_t)rd_u32(r), ppid = (pid_t)rd_u32(r);
	pid_t tid = (pid_t)rd_u32(r), ptid = (pid_t)rd_u32(r);
	rd_u64(r); /* time */
	if (r->bad) {
		c->st.bad_records++;
		return;
	}
	struct cthread *parent = thread_find(c, ptid);
	char name[16];
	snprintf(name, sizeof(name), "%s", parent ? parent->name : "");
	if (pid != ppid) {
		/* A new process: a copy of its parent's address space. */
		struct collect_process *from = proc_get(c, ppid);
		struct collect_process *p = proc_new(c, pid);
		p->ppid = ppid;
		snprintf(p->comm, sizeof(p->comm), "%s", from->comm);
		if (from->cmdline)
			p->cmdline = xstrdup(from->cmdline);
		for (size_t i = 0; i < from->nmaps; i++) {
			const struct collect_mapping *m = &from->maps[i];
			struct collect_mapping *n = maps_insert(p, m->start, m->end, m->offset);
			n->prot = m->prot;
			n->dev = m->dev;
			n->ino = m->ino;
			n->path = xstrdup(m->path);
			n->open_path = xstrdup(m->open_path);
		}
		if (c->dw)
			collect_dwarf_fork(c->dw, from, p);
		if (!name[0])
			snprintf(name, sizeof(name), "%s", p->comm);
	} else {
		proc_get(c, pid);
	}
	if (!name[0])
		snprintf(name, sizeof(name), "tid %d", (int)tid);
	thread_new(c, pid, tid, name);
}

static void on_exit_record(struct collect *c, struct rd *r)
{
	pid_t pid = (pid_t)rd_u32(r);
	rd_u32(r); /* ppid */
	pid_t tid = (pid_t)rd_u32(r);
	rd_u32(r); /* ptid */
	uint64_t time = rd_u64(r);
	if (r->bad) {
		c->st.bad_records++;
		return;
	}
	struct cthread *t = thread_find(c, tid);
	if (t && !t->ended) {
		t->ended = true;
		if (t->announced) {
			uint64_t f[2] = { (uint64_t)tid, rel_time(c, time) };
			capture_write_varints(c->cw, CAPTURE_REC_THREAD_END, f, 2);
		}
	}
	/* The thread group leader's exit: the process's (a leader that
	 * exits before its threads is rare; its process ends here too). */
	struct collect_process *p = pid == tid ? proc_find(c, pid) : NULL;
	if (p && !p->ended) {
		p->ended = true;
		if (p->announced) {
			uint64_t f[2] = { (uint64_t)pid, rel_time(c, time) };
			capture_write_varints(c->cw, CAPTURE_REC_PROCESS_END, f, 2);
		}
	}
}

void collect_record(struct collect *c, const struct perf_event_header *h)
{
	struct rd r = { (const uint8_t *)(h + 1), (const uint8_t *)h + h->size, false };
	if (h->size < sizeof(*h)) {
		c->st.bad_records++;
		return;
	}
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		on_sample(c, &r);
		break;
	case PERF_RECORD_MMAP2:
		on_mmap2(c, h, &r);
		break;
	case PERF_RECORD_COMM:
		on_comm(c, h, &r);
		break;
	case PERF_RECORD_FORK:
		on_fork(c, &r);
		break;
	case PERF_RECORD_EXIT:
		on_exit_record(c, &r);
		break;
	case PERF_RECORD_LOST: {
		rd_u64(&r); /* id */
		uint64_t lost = rd_u64(&r);
		if (r.bad)
			c->st.bad_records++;
		else
			c->st.lost += lost;
		break;
	}
	case PERF_RECORD_LOST_SAMPLES: {
		uint64_t lost = rd_u64(&r);
		if (r.bad)
			c->st.bad_records++;
		else
			c->st.lost += lost;
		break;
	}
	case PERF_RECORD_THROTTLE:
		c->st.throttled++;
		break;
	default:
		break; /* UNTHROTTLE and kinds not asked for */
	}
}

/* --- the capture --- */

static void build_header(struct capture_buf *h, const struct collect_options *o, pid_t pid,
			 uint64_t start_ns)
{
	char buf[8192], path[64];
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	capture_header_u64(h, CAPTURE_HDR_PID, (uint64_t)(pid > 0 ? pid : 0));
	size_t len = 0;
	if (o->mode == COLLECT_COMMAND) {
		for (size_t i = 0; o->argv && o->argv[i]; i++) {
			int n = snprintf(buf + len, sizeof(buf) - len, "%s%c", o->argv[i], '\0');
			if (n < 0 || (size_t)n >= sizeof(buf) - len)
				break;
			len += (size_t)n;
		}
	} else {
		snprintf(path, sizeof(path), "/proc/%d/cmdline",
			 o->mode == COLLECT_PIDS && o->npids == 1 ? (int)o->pids[0] : (int)getpid());
		ssize_t n = read_small(path, buf, sizeof(buf));
		len = n > 0 ? (size_t)n : 0;
	}
	if (len && buf[len - 1] == '\0')
		len--;
	capture_header_bytes(h, CAPTURE_HDR_CMDLINE, buf, len);
	capture_header_u64(h, CAPTURE_HDR_START_REALTIME,
			   (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec);
	capture_header_u64(h, CAPTURE_HDR_START_CLOCK, start_ns);
	capture_header_u64(h, CAPTURE_HDR_CLOCK_ID, CLOCK_MONOTONIC);
	len = (size_t)snprintf(buf, sizeof(buf),
			       "collector=perf\ntarget=%s\ncall_graph=%s\nring_pages=%u\nhz=%u\n"
			       "duration_ns=%llu\noff_cpu=%d\n",
			       o->mode == COLLECT_SYSTEM ? "system"
			       : o->mode == COLLECT_PIDS ? "pid"
							 : "command",
			       o->dwarf_stack ? "dwarf" : "fp", o->ring_pages, o->hz,
			       (unsigned long long)o->duration_ns, o->off_cpu);
	if (o->dwarf_stack)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "dwarf_stack_bytes=%u\n",
					o->dwarf_stack);
	if (o->mode == COLLECT_PIDS) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "pids=");
		for (size_t i = 0; i < o->npids && len < sizeof(buf) - 16; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d", i ? "," : "",
						(int)o->pids[i]);
		snprintf(buf + len, sizeof(buf) - len, "\n");
	}
	capture_header_str(h, CAPTURE_HDR_CONFIG, buf);
	capture_header_host(h);
	if (o->mode == COLLECT_COMMAND && o->path) {
		capture_header_str(h, CAPTURE_HDR_EXE, o->path);
	} else if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
		ssize_t n = readlink(path, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		capture_header_str(h, CAPTURE_HDR_EXE, buf);
	}
	capture_header_str(h, CAPTURE_HDR_SAMPLER, "perf_event(cpu-clock)");
	capture_header_u64(h, CAPTURE_HDR_HZ, o->hz);
	capture_header_str(h, CAPTURE_HDR_PRODUCER, "oneprof-collector " ONEPROF_VERSION_STRING);
}

struct collect *collect_new(int fd, const struct collect_options *o, pid_t header_pid,
			    char *err, size_t cap)
{
	struct collect *c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->max_stack = perf_sysctl("/proc/sys/kernel/perf_event_max_stack", 127);
	if (o->dwarf_stack && !(c->dw = collect_dwarf_new())) {
		snprintf(err, cap, "cannot start the DWARF unwinder: out of memory");
		free(c);
		return NULL;
	}
	c->cw = capture_writer_new(fd, 0, 3);
	if (!c->cw) {
		snprintf(err, cap, "cannot start the capture writer: out of memory");
		collect_dwarf_free(c->dw);
		free(c);
		return NULL;
	}
	c->start_ns = mono_ns();
	struct capture_buf h = { 0 };
	build_header(&h, o, header_pid, c->start_ns);
	int rc = capture_writer_begin(c->cw, &h);
	capture_buf_free(&h);
	if (rc != 0) {
		snprintf(err, cap, "cannot write capture '%s': %s; choose a writable path with -o",
			 o->output ? o->output : "?", strerror(-rc));
		capture_writer_free(c->cw);
		collect_dwarf_free(c->dw);
		free(c);
		return NULL;
	}
	return c;
}

int collect_flush(struct collect *c)
{
	if (c->st.lost > c->lost_written) {
		uint64_t f[3] = { CAPTURE_LOST_CPU_SAMPLE, CAPTURE_LOST_KERNEL_RING,
				  c->st.lost - c->lost_written };
		capture_write_varints(c->cw, CAPTURE_REC_LOST, f, 3);
		c->lost_written = c->st.lost;
	}
	if (c->st.throttled > c->throttled_written) {
		uint64_t f[3] = { CAPTURE_LOST_CPU_SAMPLE, CAPTURE_LOST_THROTTLED,
				  c->st.throttled - c->throttled_written };
		capture_write_varints(c->cw, CAPTURE_REC_LOST, f, 3);
		c->throttled_written = c->st.throttled;
	}
	return capture_writer_flush(c->cw);
}

struct jit_copy {
	struct collect *c;
	uint64_t symbols;
};

static void jit_symbol(const struct jitmap_symbol *sym, void *arg)
{
	struct jit_copy *j = arg;
	uint64_t f[3] = { sym->start, sym->size, jit_string_id(sym->name) };
	capture_write_varints(j->c->cw, CAPTURE_REC_JIT_SYMBOL, f, 3);
}

/* A profiled process's perf map, /tmp/perf-NSPID.map as the process sees
 * it (its own /tmp, its own pid), copied like the agent does. */
static void write_perf_map(struct collect *c, const struct collect_process *p)
{
	char path[128], shown[64];
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", (int)p->pid, (int)p->nspid);
	snprintf(shown, sizeof(shown), "/tmp/perf-%d.map", (int)p->nspid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0 && p->nspid == p->pid)
		fd = open(shown, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return;
	/* Only a regular file of the process's owner (or root): another
	 * user's file planted in /tmp is not the runtime's. */
	struct stat sb, owner;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/%d", (int)p->pid);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_uid != 0 && (stat(proc, &owner) != 0 || owner.st_uid != sb.st_uid))) {
		close(fd);
		return;
	}
	struct jit_copy j = { c, 0 };
	struct jitmap_stats st;
	jit_session = c;
	jitmap_read_fd(fd, jit_symbol, &j, &st);
	close(fd);
	uint64_t f[5] = { (uint64_t)p->pid, string_id(c, shown), st.symbols, st.bad_lines,
			  st.dropped };
	capture_write_varints(c->cw, CAPTURE_REC_JIT_MAP, f, 5);
}

void collect_set_process_cpu(struct collect *c, uint64_t ns)
{
	c->process_cpu_ns = ns;
}

void collect_note_kernel_excluded(struct collect *c)
{
	c->st.kernel_excluded = true;
}

void collect_load_kernel_symbols(struct collect *c)
{
	if (kallsyms_load(&c->ks) != 0 || c->ks.hidden || !c->ks.n) {
		c->ks_hidden = true;
		kallsyms_free(&c->ks); /* n = 0: no frame is named */
		return;
	}
	c->ks_written = xcalloc(c->ks.n, 1);
}

struct collect_stats *collect_stats_mut(struct collect *c)
{
	return &c->st;
}

int collect_finish(struct collect *c)
{
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i]->announced)
			write_perf_map(c, c->procs[i]);
	collect_flush(c);
	if (c->dw)
		collect_dwarf_stats(c->dw, &c->st);
	uint64_t end[4] = { mono_ns() - c->start_ns, c->process_cpu_ns, c->st.samples, 0 };
	capture_write_varints(c->cw, CAPTURE_REC_END, end, 4);
	return capture_writer_flush(c->cw);
}

const struct collect_stats *collect_get_stats(const struct collect *c)
{
	return &c->st;
}

void collect_free(struct collect *c)
{
	if (!c)
		return;
	capture_writer_free(c->cw);
	idmap_free(&c->strings);
	idmap_free(&c->stacks);
	idmap_free(&c->files);
	free(c->build_ids);
	for (size_t i = 0; i < c->nprocs; i++)
		proc_free(c->procs[i]);
	free(c->procs);
	intmap_free(&c->proc_index);
	free(c->threads);
	intmap_free(&c->thread_index);
	kallsyms_free(&c->ks);
	free(c->ks_written);
	collect_dwarf_free(c->dw);
	free(c);
}
