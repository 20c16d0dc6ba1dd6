/* The writer thread: drains every thread's ring, interns strings and
 * stacks, records the module mappings stacks point into (before the stack
 * itself, so definitions precede use), and writes the capture.
 *
 * Its tables are hand-written open-addressing sets over one byte arena:
 * the agent links nothing but libc and zstd, and these are the only two
 * tables it needs. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../capture/format.h"
#include "../capture/writer.h"
#include "../unwind/unwind.h"
#include "agent.h"
#include "jitmap.h"
#include "oneprof.h"

/* A table holding this many stacks is cleared and starts over: memory
 * stays bounded and stacks are simply defined again, under new ids. */
#define MAX_INTERNED (1u << 20)
#define DRAIN_INTERVAL_MS 50

struct blob_set {
	struct set_entry {
		uint64_t hash;
		uint64_t id;
	} *slots;
	size_t cap, count;
	uint64_t next_id;
};

struct module_range {
	uint64_t start, end;
};

static struct {
	struct capture_writer *cw;
	struct blob_set strings, stacks;
	struct module_range *modules;
	size_t nmodules, cap_modules;
	char exe[4096];
	bool rescanned; /* this drain already rescanned the modules */
	uint64_t samples;
	uint64_t lost_no_ring_reported;
	/* Pauses and resumes not yet written (threads_lock guards them). */
	struct pause_note {
		uint64_t time;
		bool paused;
	} pauses[64];
	unsigned npauses;
} w;

static bool set_init(struct blob_set *s)
{
	s->cap = 1024;
	s->count = 0;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	return s->slots != NULL;
}

/* Returns the id of the blob and whether it is new. Blobs are identified
 * by their 64-bit hash alone: a collision would merge two stacks, with
 * odds near 2^-40 for a million stacks, a price worth not storing them. */
static uint64_t set_get(struct blob_set *s, const void *p, size_t len, bool *is_new)
{
	uint64_t h = XXH3_64bits(p, len) | 1; /* 0 marks an empty slot */
	size_t i = (size_t)h & (s->cap - 1);
	*is_new = false;
	while (s->slots[i].hash) {
		if (s->slots[i].hash == h)
			return s->slots[i].id;
		i = (i + 1) & (s->cap - 1);
	}
	if ((s->count + 1) * 2 > s->cap) {
		size_t cap = s->count + 1 > MAX_INTERNED ? 1024 : s->cap * 2;
		struct set_entry *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return 0;
		if (cap > s->cap) {
			for (size_t k = 0; k < s->cap; k++) {
				if (!s->slots[k].hash)
					continue;
				size_t j = (size_t)s->slots[k].hash & (cap - 1);
				while (slots[j].hash)
					j = (j + 1) & (cap - 1);
				slots[j] = s->slots[k];
			}
		} else {
			s->count = 0; /* start over: ids keep growing */
		}
		free(s->slots);
		s->slots = slots;
		s->cap = cap;
		i = (size_t)h & (s->cap - 1);
		while (s->slots[i].hash)
			i = (i + 1) & (s->cap - 1);
	}
	s->slots[i].hash = h;
	s->slots[i].id = ++s->next_id;
	s->count++;
	*is_new = true;
	return s->slots[i].id;
}

static uint64_t string_id(const char *str)
{
	bool is_new;
	size_t len = strlen(str);
	uint64_t id = set_get(&w.strings, str, len, &is_new);
	if (is_new)
		capture_write_string(w.cw, id, str, len);
	return id;
}

/* --- modules --- */

static void note_build_id(const struct dl_phdr_info *info, uint8_t *out, size_t *len)
{
	*len = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			const uint8_t *next = desc + ((nh->n_descsz + 3) & ~3u);
			if (next > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0 && nh->n_descsz <= 64) {
				memcpy(out, desc, nh->n_descsz);
				*len = nh->n_descsz;
				return;
			}
			p = next;
		}
	}
}

static bool module_known(uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < w.nmodules; i++)
		if (w.modules[i].start == start && w.modules[i].end == end)
			return true;
	return false;
}

static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	const char *path = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : w.exe;
	uint8_t build_id[64];
	size_t build_id_len = 0;
	bool have_id = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uint64_t start = info->dlpi_addr + ph->p_vaddr;
		uint64_t end = start + ph->p_memsz;
		if (module_known(start, end))
			continue;
		if (!have_id) {
			note_build_id(info, build_id, &build_id_len);
			have_id = true;
		}
		struct module_range *grown = w.modules;
		if (w.nmodules == w.cap_modules) {
			size_t cap = w.cap_modules ? w.cap_modules * 2 : 64;
			grown = realloc(w.modules, cap * sizeof(*grown));
			if (!grown)
				return 1;
			w.modules = grown;
			w.cap_modules = cap;
		}
		w.modules[w.nmodules++] = (struct module_range){ start, end };
		uint64_t prot = 4 | ((ph->p_flags & PF_W) ? 2 : 0) | ((ph->p_flags & PF_R) ? 1 : 0);
		capture_write_mapping(w.cw, w.nmodules, start, end, ph->p_offset, string_id(path),
				      build_id, build_id_len, prot);
	}
	return 0;
}

static void scan_modules(void)
{
	dl_iterate_phdr(on_object, NULL);
	/* A module loaded by any path (dlopen from libc itself, say) gets its
	 * unwind table here at the latest; cheap when nothing changed. */
	unwind_rebuild();
}

static void cover_pcs(const uint64_t *pcs, unsigned n)
{
	for (unsigned i = 0; i < n && !w.rescanned; i++) {
		bool covered = false;
		for (size_t k = w.nmodules; k-- > 0 && !covered;)
			covered = pcs[i] >= w.modules[k].start && pcs[i] < w.modules[k].end;
		if (!covered) {
			/* A library loaded since the last scan (dlopen). */
			scan_modules();
			w.rescanned = true;
		}
	}
}

/* --- draining --- */

static void announce(struct agent_thread *t)
{
	uint64_t f[3] = { (uint64_t)t->tid, string_id(t->name), t->start_ns };
	capture_write_varints(w.cw, CAPTURE_REC_THREAD, f, 3);
	t->announced = true;
}

static void write_lost(uint64_t reason, uint64_t count);

/* Writes one sample: a record of the thread's ring (header SAMPLE_WORDS)
 * or of the wall-clock ticker's (WALL_WORDS). */
static void emit_sample(struct agent_thread *t, const uint64_t *rec, unsigned words)
{
	uint64_t time = rec[1];
	uint64_t count = rec[2] & SAMPLE_COUNT_MASK;
	uint64_t state = (rec[2] >> 24) & 0xff;
	unsigned reason = (unsigned)((rec[2] >> 32) & 0xff);
	unsigned n = (unsigned)(rec[2] >> 40);
	if (n > rec[0] - words)
		return; /* cannot happen: the producer sets both */
	const uint64_t *pcs = rec + words;

	uint64_t id;
	if (reason == WALL_REPEAT) {
		id = t->wall_last_stack;
		if (!id)
			return;
	} else {
		/* The end reason is part of the stack's identity. */
		uint64_t key[1 + 1024];
		key[0] = reason;
		memcpy(key + 1, pcs, n * sizeof(uint64_t));
		bool is_new;
		id = set_get(&w.stacks, key, (1 + n) * sizeof(uint64_t), &is_new);
		if (id == 0)
			return;
		if (is_new) {
			cover_pcs(pcs, n);
			capture_write_stack(w.cw, id, reason, pcs, n);
		}
		/* A repeat means "where the thread's latest sample found it",
		 * which a sample taken in the thread itself says best. */
		if (words == SAMPLE_WORDS)
			t->wall_last_stack = id;
	}
	if (agent.sampler == SAMPLER_WALL) {
		uint64_t f[6] = { time, (uint64_t)t->tid, id, count, rec[3], state };
		capture_write_varints(w.cw, CAPTURE_REC_WALL_SAMPLE, f, 6);
	} else {
		uint64_t f[5] = { time, (uint64_t)t->tid, id, count, rec[3] };
		capture_write_varints(w.cw, CAPTURE_REC_CPU_SAMPLE, f, 5);
	}
	w.samples += count;
}

/* Drains the thread's ring, up to samples taken before `until`. */
static void drain_ring(struct agent_thread *t, uint64_t until)
{
	const uint64_t *rec;
	while ((rec = ring_peek(t->ring)) && rec[1] < until) {
		emit_sample(t, rec, SAMPLE_WORDS);
		ring_release(t->ring, rec[0]);
	}
}

/* The wall-clock ticker's samples, first: they point at threads that
 * the loop below may free. Each thread's own samples older than a ticker
 * sample go out before it, so a repeat finds the stack it means. */
static void drain_ticker(void)
{
	struct ring *r = wall_ring();
	const uint64_t *rec;
	while (r && (rec = ring_peek(r))) {
		struct agent_thread *t = (struct agent_thread *)(uintptr_t)rec[4];
		drain_ring(t, rec[1]);
		if (!t->announced)
			announce(t);
		emit_sample(t, rec, WALL_WORDS);
		ring_release(r, rec[0]);
	}
	if (r) {
		uint64_t dropped = atomic_exchange(&r->dropped, 0);
		if (dropped)
			write_lost(CAPTURE_LOST_RING_FULL, dropped);
	}
}

static void write_lost(uint64_t reason, uint64_t count)
{
	uint64_t f[3] = { CAPTURE_LOST_CPU_SAMPLE, reason, count };
	capture_write_varints(w.cw, CAPTURE_REC_LOST, f, 3);
}

static void write_thread_end(const struct agent_thread *t, uint64_t end_ns, uint64_t cpu_ns)
{
	uint64_t f[3] = { (uint64_t)t->tid, end_ns, cpu_ns };
	capture_write_varints(w.cw, CAPTURE_REC_THREAD_END, f, 3);
}

void writer_note_pause(bool paused)
{
	/* More than a drain interval's worth of toggles keeps the first and
	 * the last state: what is lost is flicker, never the final state. */
	unsigned i = w.npauses < 64 ? w.npauses++ : 63;
	w.pauses[i] = (struct pause_note){ agent_now_ns() - agent.start_ns, paused };
}

/* drain_all(true) at exit: threads still running end there too. */
static void drain_all(bool at_exit)
{
	w.rescanned = false;
	pthread_mutex_lock(&agent.threads_lock);
	for (unsigned i = 0; i < w.npauses; i++) {
		uint64_t f[2] = { w.pauses[i].time, w.pauses[i].paused };
		capture_write_varints(w.cw, CAPTURE_REC_PAUSE, f, 2);
	}
	w.npauses = 0;
	drain_ticker();
	struct agent_thread **link = &agent.threads;
	while (*link) {
		struct agent_thread *t = *link;
		bool exited = atomic_load_explicit(&t->exited, memory_order_acquire);
		if (!t->announced || atomic_exchange(&t->name_dirty, false))
			announce(t);
		drain_ring(t, UINT64_MAX);
		uint64_t dropped = atomic_exchange(&t->ring->dropped, 0);
		if (dropped)
			write_lost(CAPTURE_LOST_RING_FULL, dropped);
		if (exited) {
			write_thread_end(t, t->end_ns, t->cpu_ns);
			*link = t->next;
			munmap(t->ring, sizeof(struct ring) + agent.cfg.ring_bytes);
			free(t);
			continue;
		}
		if (at_exit) {
			clockid_t clock;
			struct timespec ts = { 0, 0 };
			if (pthread_getcpuclockid(t->self, &clock) == 0)
				clock_gettime(clock, &ts);
			write_thread_end(t, agent_now_ns() - agent.start_ns,
					 (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
		}
		link = &t->next;
	}
	pthread_mutex_unlock(&agent.threads_lock);
	uint64_t no_ring = atomic_load(&agent.lost_no_ring);
	if (no_ring > w.lost_no_ring_reported) {
		write_lost(CAPTURE_LOST_NO_RING, no_ring - w.lost_no_ring_reported);
		w.lost_no_ring_reported = no_ring;
	}
}

static void *writer_main(void *arg)
{
	(void)arg;
	uint64_t last_flush = agent_now_ns();
	pthread_mutex_lock(&agent.wake_lock);
	while (!agent.stop_writer) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += DRAIN_INTERVAL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&agent.wake, &agent.wake_lock, &until);
		if (agent.stop_writer)
			break;
		pthread_mutex_unlock(&agent.wake_lock);
		control_poll();
		drain_all(false);
		uint64_t now = agent_now_ns();
		if (now - last_flush >= (uint64_t)agent.cfg.flush_ms * 1000000u) {
			capture_writer_flush(w.cw);
			last_flush = now;
		}
		pthread_mutex_lock(&agent.wake_lock);
	}
	pthread_mutex_unlock(&agent.wake_lock);
	return NULL;
}

/* --- start and finish --- */

static void read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n;
	while (*len < cap && (n = read(fd, buf + *len, cap - *len)) > 0)
		*len += (size_t)n;
	close(fd);
}

static void build_header(struct capture_buf *h)
{
	char buf[8192];
	size_t len;
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);

	capture_header_u64(h, CAPTURE_HDR_PID, (uint64_t)agent.pid);
	read_file("/proc/self/cmdline", buf, sizeof(buf), &len);
	if (len && buf[len - 1] == '\0')
		len--;
	capture_header_bytes(h, CAPTURE_HDR_CMDLINE, buf, len);
	capture_header_u64(h, CAPTURE_HDR_START_REALTIME,
			   (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec);
	capture_header_u64(h, CAPTURE_HDR_START_CLOCK, agent.start_ns);
	capture_header_u64(h, CAPTURE_HDR_CLOCK_ID, CLOCK_MONOTONIC);
	snprintf(buf, sizeof(buf),
		 "hz=%u\nmax_depth=%u\nring_size=%llu\nflush_ms=%u\nsignal=%d\ntimer=%s\n",
		 agent.cfg.hz, agent.cfg.max_depth, (unsigned long long)agent.cfg.ring_bytes,
		 agent.cfg.flush_ms, agent.cfg.signo, sampler_name());
	capture_header_str(h, CAPTURE_HDR_CONFIG, buf);
	if (gethostname(buf, sizeof(buf)) == 0) {
		buf[sizeof(buf) - 1] = '\0';
		capture_header_str(h, CAPTURE_HDR_HOSTNAME, buf);
	}
	struct utsname u;
	if (uname(&u) == 0) {
		snprintf(buf, sizeof(buf), "%s %s %s", u.sysname, u.release, u.version);
		capture_header_str(h, CAPTURE_HDR_KERNEL, buf);
		capture_header_str(h, CAPTURE_HDR_ARCH, u.machine);
	}
	capture_header_str(h, CAPTURE_HDR_EXE, w.exe);
	capture_header_str(h, CAPTURE_HDR_SAMPLER, sampler_name());
	capture_header_u64(h, CAPTURE_HDR_HZ, agent.cfg.hz);
	capture_header_str(h, CAPTURE_HDR_PRODUCER, "oneprof-agent " ONEPROF_VERSION_STRING);
}

int writer_start(void)
{
	ssize_t n = readlink("/proc/self/exe", w.exe, sizeof(w.exe) - 1);
	w.exe[n > 0 ? n : 0] = '\0';
	w.cw = capture_writer_new(agent.fd, 0, 3);
	if (!w.cw || !set_init(&w.strings) || !set_init(&w.stacks))
		return -ENOMEM;
	struct capture_buf h = { 0 };
	build_header(&h);
	int rc = capture_writer_begin(w.cw, &h);
	capture_buf_free(&h);
	if (rc != 0)
		return rc;
	if (atomic_load(&agent.paused))
		writer_note_pause(true); /* ONEPROF_PAUSED=1 */
	scan_modules();

	pthread_mutex_init(&agent.wake_lock, NULL);
	pthread_cond_init(&agent.wake, NULL);
	/* The writer takes no samples and must never run a signal handler of
	 * the program: block everything in it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = threads_create_unprofiled(&agent.writer, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	agent.writer_started = true;
	return 0;
}

void writer_forget(void)
{
	memset(&w, 0, sizeof(w));
}

uint64_t writer_finish(void)
{
	if (agent.writer_started) {
		pthread_mutex_lock(&agent.wake_lock);
		agent.stop_writer = true;
		pthread_cond_signal(&agent.wake);
		pthread_mutex_unlock(&agent.wake_lock);
		pthread_join(agent.writer, NULL);
		agent.writer_started = false;
	}
	if (!w.cw)
		return 0;
	drain_all(true);
	struct timespec cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t end[4] = { agent_now_ns() - agent.start_ns,
			    (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec, w.samples,
			    (uint64_t)ru.ru_maxrss };
	/* The runtime's JIT symbols, which the report needs and the file
	 * system may not keep. */
	jitmap_write(w.cw, (int)agent.pid, string_id);
	capture_write_varints(w.cw, CAPTURE_REC_END, end, 4);
	int rc = capture_writer_free(w.cw);
	w.cw = NULL;
	if (rc != 0)
		fprintf(stderr, "oneprof: writing capture '%s' failed: %s; the capture is cut short\n",
			agent.path, strerror(-rc));
	return w.samples;
}
