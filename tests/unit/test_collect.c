/* The perf_event collector's decoding half: synthetic rings (records
 * that wrap the ring's end, a broken header, a record cut short) and
 * synthetic perf records turned into a capture, read back with the real
 * reader and model. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../../src/capture/format.h"
#include "../../src/collect/collect.h"
#include "../../src/collect/kallsyms.h"
#include "../../src/model/profile.h"
#include "unit.h"

/* --- rings --- */

struct fake_ring {
	struct perf_event_mmap_page meta;
	uint8_t data[256];
	struct perf_ring ring;
};

static void fake_init(struct fake_ring *f, uint64_t tail)
{
	memset(f, 0, sizeof(*f));
	f->meta.data_tail = tail;
	f->meta.data_head = tail;
	CHECK_EQ_INT(perf_ring_attach(&f->ring, &f->meta, f->data, sizeof(f->data)), 0);
}

/* Appends a record of `size` bytes, type `type`, its body bytes counting
 * up from `seed`; wraps around the ring's end like the kernel. */
static void fake_put(struct fake_ring *f, uint32_t type, uint16_t size, uint8_t seed)
{
	uint8_t rec[256];
	struct perf_event_header h = { .type = type, .misc = 0, .size = size };
	memcpy(rec, &h, sizeof(h));
	for (size_t i = sizeof(h); i < size; i++)
		rec[i] = (uint8_t)(seed + i);
	for (size_t i = 0; i < size; i++)
		f->data[(f->meta.data_head + i) % sizeof(f->data)] = rec[i];
	f->meta.data_head += size;
}

struct seen {
	size_t n;
	uint16_t sizes[16];
	uint32_t types[16];
	int body_ok[16];
};

static void on_rec(void *arg, const struct perf_event_header *h)
{
	struct seen *s = arg;
	if (s->n >= 16)
		return;
	s->sizes[s->n] = h->size;
	s->types[s->n] = h->type;
	const uint8_t *b = (const uint8_t *)h;
	int ok = 1;
	for (size_t i = sizeof(*h); i < h->size; i++)
		ok &= b[i] == (uint8_t)(b[sizeof(*h)] - sizeof(*h) + i);
	s->body_ok[s->n] = ok;
	s->n++;
}

TEST(collect_ring_record_wrapping_the_end)
{
	struct fake_ring f;
	fake_init(&f, 200); /* 56 bytes before the end */
	fake_put(&f, 9, 24, 10);  /* 200..224 */
	fake_put(&f, 10, 48, 50); /* 224..272: straddles the end at 256 */
	fake_put(&f, 11, 16, 90); /* 272..288: wrapped */
	struct seen s = { 0 };
	uint64_t bad = 0;
	CHECK_EQ_INT(perf_ring_drain(&f.ring, on_rec, &s, &bad), 3);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(s.n, 3);
	CHECK_EQ_INT(s.sizes[0], 24);
	CHECK_EQ_INT(s.sizes[1], 48);
	CHECK_EQ_INT(s.sizes[2], 16);
	CHECK_EQ_INT(s.types[1], 10);
	CHECK(s.body_ok[0] && s.body_ok[1] && s.body_ok[2]);
	CHECK_EQ_INT(f.meta.data_tail, 288); /* the space is given back */
	/* A header itself split by the end of the ring. */
	perf_ring_unmap(&f.ring);
	fake_init(&f, 252);
	fake_put(&f, 12, 32, 7);
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(perf_ring_drain(&f.ring, on_rec, &s, &bad), 1);
	CHECK_EQ_INT(s.types[0], 12);
	CHECK(s.body_ok[0]);
	perf_ring_unmap(&f.ring);
}

TEST(collect_ring_bad_and_cut_records)
{
	struct fake_ring f;
	fake_init(&f, 0);
	fake_put(&f, 9, 24, 1);
	fake_put(&f, 9, 4, 1); /* size under a header: never from the kernel */
	fake_put(&f, 9, 24, 1);
	struct seen s = { 0 };
	uint64_t bad = 0;
	CHECK_EQ_INT(perf_ring_drain(&f.ring, on_rec, &s, &bad), 1);
	CHECK_EQ_INT(bad, 1);
	CHECK_EQ_INT(f.meta.data_tail, f.meta.data_head); /* skipped, not looping */
	perf_ring_unmap(&f.ring);

	/* A record whose size runs past the head (cut short). */
	fake_init(&f, 100);
	fake_put(&f, 9, 16, 1);
	struct perf_event_header h = { .type = 9, .size = 64 };
	memcpy(&f.data[f.meta.data_head % 256], &h, sizeof(h));
	f.meta.data_head += 32;
	memset(&s, 0, sizeof(s));
	bad = 0;
	CHECK_EQ_INT(perf_ring_drain(&f.ring, on_rec, &s, &bad), 1);
	CHECK_EQ_INT(bad, 1);
	CHECK_EQ_INT(f.meta.data_tail, 148);
	perf_ring_unmap(&f.ring);
}

/* --- records to a capture --- */

/* No process has this pid (pid_max is at most 2^22): /proc finds nothing. */
#define PID 0x7ffffff0
#define CHILD 0x7ffffff1

struct rec {
	uint8_t b[512];
	size_t len;
};

static void r_begin(struct rec *r, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = { .type = type, .misc = misc, .size = 0 };
	memcpy(r->b, &h, sizeof(h));
	r->len = sizeof(h);
}

static void r_u32(struct rec *r, uint32_t v)
{
	memcpy(r->b + r->len, &v, 4);
	r->len += 4;
}

static void r_u64(struct rec *r, uint64_t v)
{
	memcpy(r->b + r->len, &v, 8);
	r->len += 8;
}

static void r_str(struct rec *r, const char *s)
{
	size_t n = strlen(s) + 1, padded = (n + 7) & ~(size_t)7;
	memset(r->b + r->len, 0, padded);
	memcpy(r->b + r->len, s, n);
	r->len += padded;
}

/* sample_id_all's trailer, then the size. */
static const struct perf_event_header *r_end(struct rec *r, uint32_t pid, uint64_t time)
{
	r_u32(r, pid);
	r_u32(r, pid);
	r_u64(r, time);
	r_u32(r, 0);
	r_u32(r, 0);
	((struct perf_event_header *)r->b)->size = (uint16_t)r->len;
	return (const struct perf_event_header *)r->b;
}

static const struct perf_event_header *r_done(struct rec *r)
{
	((struct perf_event_header *)r->b)->size = (uint16_t)r->len;
	return (const struct perf_event_header *)r->b;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sample(struct collect *c, uint32_t pid, uint64_t time, const uint64_t *chain,
		   size_t n, uint64_t claimed)
{
	struct rec r;
	r_begin(&r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	r_u64(&r, chain[n > 1 ? 1 : 0]);
	r_u32(&r, pid);
	r_u32(&r, pid);
	r_u64(&r, time);
	r_u32(&r, 1);
	r_u32(&r, 0);
	r_u64(&r, 10101010); /* period: ns of CPU time */
	r_u64(&r, claimed);
	for (size_t i = 0; i < n; i++)
		r_u64(&r, chain[i]);
	collect_record(c, r_done(&r));
}

static void mmap2(struct collect *c, uint32_t pid, uint64_t addr, uint64_t len,
		  const char *path, uint64_t time)
{
	struct rec r;
	r_begin(&r, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
	r_u32(&r, pid);
	r_u32(&r, pid);
	r_u64(&r, addr);
	r_u64(&r, len);
	r_u64(&r, 0);
	r_u32(&r, 8);
	r_u32(&r, 1);
	r_u64(&r, 1234);
	r_u64(&r, 0);
	r_u32(&r, PROT_READ | PROT_EXEC);
	r_u32(&r, MAP_PRIVATE);
	r_str(&r, path);
	collect_record(c, r_end(&r, pid, time));
}

static void comm(struct collect *c, uint32_t pid, const char *name, bool exec, uint64_t time)
{
	struct rec r;
	r_begin(&r, PERF_RECORD_COMM, exec ? PERF_RECORD_MISC_COMM_EXEC : 0);
	r_u32(&r, pid);
	r_u32(&r, pid);
	r_str(&r, name);
	collect_record(c, r_end(&r, pid, time));
}

static void lost(struct collect *c, uint64_t n, uint64_t time)
{
	struct rec r;
	r_begin(&r, PERF_RECORD_LOST, 0);
	r_u64(&r, 1);
	r_u64(&r, n);
	collect_record(c, r_end(&r, 0, time));
}

static void task(struct collect *c, uint32_t type, uint32_t pid, uint32_t ppid, uint64_t time)
{
	struct rec r;
	r_begin(&r, type, 0);
	r_u32(&r, pid);
	r_u32(&r, ppid);
	r_u32(&r, pid);
	r_u32(&r, ppid);
	r_u64(&r, time);
	collect_record(c, r_end(&r, pid, time));
}

TEST(collect_records_to_capture)
{
	char path[] = "/tmp/oneprof-unit-collect-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	struct collect_options o = { .mode = COLLECT_SYSTEM, .hz = 99, .ring_pages = 1,
				     .output = path };
	char err[256];
	struct collect *c = collect_new(fd, &o, 0, err, sizeof(err));
	CHECK(c != NULL);
	if (!c)
		return;
	uint64_t t = now_ns() + 1000;
	comm(c, PID, "prog", true, t);
	mmap2(c, PID, 0x400000, 0x1000, "/nonexistent/prog", t + 1);
	mmap2(c, PID, 0x500000, 0x2000, "/nonexistent/lib.so", t + 2);
	const struct collect_process *p = collect_process_find(c, PID);
	CHECK(p != NULL);
	CHECK_EQ_INT(p ? p->nmaps : 0, 2);
	CHECK_STR(collect_mapping_find(p, 0x500010)->path, "/nonexistent/lib.so");
	CHECK(collect_mapping_find(p, 0x401000) == NULL);
	/* A mapping over part of another cuts it, as in the kernel. */
	mmap2(c, PID, 0x501000, 0x800, "/nonexistent/other", t + 3);
	CHECK_EQ_INT(p ? p->nmaps : 0, 4);
	CHECK_STR(collect_mapping_find(p, 0x501100)->path, "/nonexistent/other");
	CHECK_EQ_INT(collect_mapping_find(p, 0x501900)->offset, 0x1800);

	uint64_t chain[] = { PERF_CONTEXT_KERNEL, 0xffffffff81000010ull, PERF_CONTEXT_USER,
			     0x400100, 0x400200 };
	sample(c, PID, t + 10, chain, 5, 5);
	sample(c, PID, t + 20, chain, 5, 5);
	sample(c, PID, t + 30, chain, 5, 100); /* claims 100 frames, has 5: cut short */
	lost(c, 7, t + 40);
	lost(c, 5, t + 41);
	struct rec thr;
	r_begin(&thr, PERF_RECORD_THROTTLE, 0);
	r_u64(&thr, t + 42);
	r_u64(&thr, 1);
	r_u64(&thr, 1);
	collect_record(c, r_end(&thr, PID, t + 42));

	/* A child: its parent's mappings, until it execs. */
	task(c, PERF_RECORD_FORK, CHILD, PID, t + 50);
	const struct collect_process *ch = collect_process_find(c, CHILD);
	CHECK_EQ_INT(ch ? ch->nmaps : 0, 4);
	CHECK_STR(ch ? ch->comm : "", "prog");
	comm(c, CHILD, "other", true, t + 51);
	CHECK_EQ_INT(ch ? ch->nmaps : 1, 0);
	mmap2(c, CHILD, 0x600000, 0x1000, "/nonexistent/other-prog", t + 52);
	uint64_t chain2[] = { PERF_CONTEXT_USER, 0x600100 };
	sample(c, CHILD, t + 60, chain2, 2, 2);
	task(c, PERF_RECORD_EXIT, CHILD, PID, t + 70);

	const struct collect_stats *st = collect_get_stats(c);
	CHECK_EQ_INT(st->samples, 3);
	CHECK_EQ_INT(st->lost, 12);
	CHECK_EQ_INT(st->throttled, 1);
	CHECK_EQ_INT(st->bad_records, 1);
	CHECK_EQ_INT(st->processes, 2);
	CHECK_EQ_INT(collect_finish(c), 0);
	collect_free(c);
	close(fd);

	struct profile *prof = profile_load(path, err, sizeof(err));
	if (!prof) {
		unit_fail(__FILE__, __LINE__, "profile_load: %s", err);
		unlink(path);
		return;
	}
	CHECK_EQ_INT(prof->total_count, 3);
	CHECK_EQ_INT(prof->total_cpu_ns, 3 * 10101010ull);
	uint64_t ring = 0, throttled = 0;
	for (size_t i = 0; i < prof->nlost; i++) {
		if (prof->lost[i].reason == CAPTURE_LOST_KERNEL_RING)
			ring += prof->lost[i].count;
		if (prof->lost[i].reason == CAPTURE_LOST_THROTTLED)
			throttled += prof->lost[i].count;
	}
	CHECK_EQ_INT(ring, 12);
	CHECK_EQ_INT(throttled, 1);
	CHECK_EQ_INT(prof->nstacks, 2);
	if (prof->nstacks == 2) {
		/* Markers dropped, kernel frames first, then user frames. */
		CHECK_EQ_INT(prof->stacks[0].n, 3);
		CHECK(prof->stacks[0].pcs[0] == 0xffffffff81000010ull);
		CHECK(prof->stacks[0].pcs[1] == 0x400100);
		CHECK(prof->stacks[0].pcs[2] == 0x400200);
		CHECK_EQ_INT(prof->stacks[1].n, 1);
	}
	CHECK_EQ_INT(prof->nthreads, 2);
	if (prof->nthreads == 2) {
		CHECK_STR(prof->threads[0].name, "prog");
		CHECK_STR(prof->threads[1].name, "other");
		CHECK(prof->threads[1].end_ns > 0);
	}
	/* Four mappings of the parent (written with it), one of the child. */
	CHECK_EQ_INT(prof->nmappings, 5);
	CHECK(prof->has_end);
	profile_free(prof);
	unlink(path);
}

TEST(collect_kallsyms_sizes_and_lookup)
{
	const char text[] = "ffffffff81000000 T _stext\n"
			    "ffffffff81000000 T startup_64\n"
			    "ffffffff81000100 t helper\n"
			    "ffffffff81000180 D some_data\n"
			    "ffffffff81000200 t mod_fn\t[mymod]\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct kallsyms ks;
	CHECK_EQ_INT(kallsyms_read(f, &ks), 0);
	fclose(f);
	CHECK_EQ_INT(ks.n, 4); /* data symbols left out */
	CHECK(!ks.hidden);
	const struct kallsyms_sym *s = kallsyms_find(&ks, 0xffffffff81000150ull);
	CHECK(s && !strcmp(s->name, "helper") && s->size == 0x100);
	s = kallsyms_find(&ks, 0xffffffff81000210ull);
	CHECK(s && !strcmp(s->name, "mod_fn [mymod]"));
	CHECK(kallsyms_find(&ks, 0xffffffff80000000ull) == NULL);
	kallsyms_free(&ks);

	const char hidden[] = "0000000000000000 T _stext\n0000000000000000 t helper\n";
	f = fmemopen((void *)hidden, sizeof(hidden) - 1, "r");
	CHECK_EQ_INT(kallsyms_read(f, &ks), 0);
	fclose(f);
	CHECK(ks.hidden);
	CHECK_EQ_INT(ks.n, 0);
	kallsyms_free(&ks);
}

/* --- --call-graph dwarf --- */

/* The user fields after a callchain: abi, BP, SP, IP (abi 64 only), then
 * the stack copy: size, bytes, dyn_size. */
static void r_user(struct rec *r, uint64_t abi, uint64_t bp, uint64_t sp, uint64_t ip,
		   const uint64_t *stack, size_t words, uint64_t dyn_size)
{
	r_u64(r, abi);
	if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
		r_u64(r, bp);
		r_u64(r, sp);
		r_u64(r, ip);
	}
	r_u64(r, words * 8);
	for (size_t i = 0; i < words; i++)
		r_u64(r, stack[i]);
	if (words)
		r_u64(r, dyn_size);
}

static void dwarf_sample(struct collect *c, uint64_t time, const uint64_t *chain, size_t n,
			 uint64_t abi, uint64_t bp, uint64_t sp, uint64_t ip, const uint64_t *stack,
			 size_t words, uint64_t dyn_size, size_t cut)
{
	struct rec r;
	r_begin(&r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	r_u64(&r, n ? chain[n - 1] : ip);
	r_u32(&r, PID);
	r_u32(&r, PID);
	r_u64(&r, time);
	r_u32(&r, 0);
	r_u32(&r, 0);
	r_u64(&r, 1000000);
	r_u64(&r, n);
	for (size_t i = 0; i < n; i++)
		r_u64(&r, chain[i]);
	r_user(&r, abi, bp, sp, ip, stack, words, dyn_size);
	r.len -= cut;
	collect_record(c, r_done(&r));
}

TEST(collect_parse_user_stack_bounds)
{
	struct rec r = { .len = 0 };
	uint64_t stack[4] = { 1, 2, 3, 4 };
	r_user(&r, PERF_SAMPLE_REGS_ABI_64, 0x10, 0x20, 0x30, stack, 4, 24);
	struct perf_user_stack u;
	CHECK(perf_parse_user_stack(r.b, r.b + r.len, &u));
	CHECK_EQ_INT(u.abi, PERF_SAMPLE_REGS_ABI_64);
	CHECK(u.bp == 0x10 && u.sp == 0x20 && u.ip == 0x30);
	CHECK_EQ_INT(u.size, 32);
	CHECK_EQ_INT(u.dyn_size, 24);
	CHECK(u.stack == r.b + 8 * 5);
	/* Every shorter record is refused, never read past. */
	for (size_t cut = 1; cut <= r.len; cut++)
		CHECK(!perf_parse_user_stack(r.b, r.b + r.len - cut, &u));
	/* dyn_size beyond size: malformed. */
	struct rec b = { .len = 0 };
	r_user(&b, PERF_SAMPLE_REGS_ABI_64, 0, 0, 0, stack, 2, 17);
	CHECK(!perf_parse_user_stack(b.b, b.b + b.len, &u));
	/* No user context: no registers; an empty copy has no dyn_size. */
	struct rec k = { .len = 0 };
	r_user(&k, PERF_SAMPLE_REGS_ABI_NONE, 0, 0, 0, NULL, 0, 0);
	CHECK_EQ_INT(k.len, 16);
	CHECK(perf_parse_user_stack(k.b, k.b + k.len, &u));
	CHECK_EQ_INT(u.abi, PERF_SAMPLE_REGS_ABI_NONE);
	CHECK(u.stack == NULL && u.size == 0);
	/* A size larger than the record. */
	struct rec h = { .len = 0 };
	r_u64(&h, PERF_SAMPLE_REGS_ABI_NONE);
	r_u64(&h, 1u << 20);
	r_u64(&h, 0);
	CHECK(!perf_parse_user_stack(h.b, h.b + h.len, &u));
}

/* Synthetic DWARF samples: kernel frames then the frames walked in the
 * copy (the mapping has no file: frame-pointer steps, here through a
 * chain laid out in the copy), a kernel thread's sample (kernel frames
 * only), a copy that ends before the chain does (TRUNCATED), and cut or
 * inconsistent records (counted, skipped). */
TEST(collect_dwarf_samples)
{
	char path[] = "/tmp/oneprof-unit-collect-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	struct collect_options o = { .mode = COLLECT_SYSTEM, .hz = 99, .ring_pages = 1,
				     .output = path, .dwarf_stack = 64 };
	char err[256];
	struct collect *c = collect_new(fd, &o, 0, err, sizeof(err));
	CHECK(c != NULL);
	if (!c)
		return;
	uint64_t t = now_ns() + 1000;
	comm(c, PID, "prog", true, t);
	mmap2(c, PID, 0x400000, 0x1000, "/nonexistent/prog", t + 1);
	const uint64_t S = 0x7ffd00000000ull;
	/* An rbp chain in the copy: rbp S+16 (return address 0x400200),
	 * then S+32 (0x400300), then S+48, whose return address 0 ends it. */
	uint64_t stack[8] = { 0, 0, S + 32, 0x400200, S + 48, 0x400300, 0, 0 };
	uint64_t kchain[] = { PERF_CONTEXT_KERNEL, 0xffffffff81000010ull };
	dwarf_sample(c, t + 10, kchain, 2, PERF_SAMPLE_REGS_ABI_64, S + 16, S, 0x400100, stack, 8,
		     64, 0);
	/* The same, but only 32 bytes could be copied: the walk runs out. */
	dwarf_sample(c, t + 20, NULL, 0, PERF_SAMPLE_REGS_ABI_64, S + 16, S, 0x400100, stack, 8,
		     32, 0);
	/* A kernel thread: no user context. */
	dwarf_sample(c, t + 30, kchain, 2, PERF_SAMPLE_REGS_ABI_NONE, 0, 0, 0, NULL, 0, 0, 0);
	/* Cut short, and dyn_size past size: skipped and counted. */
	dwarf_sample(c, t + 40, kchain, 2, PERF_SAMPLE_REGS_ABI_64, S + 16, S, 0x400100, stack, 8,
		     64, 8);
	dwarf_sample(c, t + 50, kchain, 2, PERF_SAMPLE_REGS_ABI_64, S + 16, S, 0x400100, stack, 8,
		     72, 0);
	CHECK_EQ_INT(collect_finish(c), 0);
	const struct collect_stats *st = collect_get_stats(c);
	CHECK_EQ_INT(st->samples, 3);
	CHECK_EQ_INT(st->bad_records, 2);
	CHECK_EQ_INT(st->dwarf_no_user, 1);
	CHECK_EQ_INT(st->dwarf_truncated, 1);
	collect_free(c);
	close(fd);

	struct profile *prof = profile_load(path, err, sizeof(err));
	if (!prof) {
		unit_fail(__FILE__, __LINE__, "profile_load: %s", err);
		unlink(path);
		return;
	}
	const char *cg = profile_config(prof, "call_graph");
	CHECK(cg && !strncmp(cg, "dwarf\n", 6));
	CHECK_EQ_INT(profile_config_u64(prof, "dwarf_stack_bytes", 0), 64);
	CHECK_EQ_INT(prof->nstacks, 3);
	if (prof->nstacks == 3) {
		/* Kernel frame, then the walked user frames. */
		CHECK_EQ_INT(prof->stacks[0].n, 4);
		CHECK(prof->stacks[0].pcs[0] == 0xffffffff81000010ull);
		CHECK(prof->stacks[0].pcs[1] == 0x400100);
		CHECK(prof->stacks[0].pcs[2] == 0x400200);
		CHECK(prof->stacks[0].pcs[3] == 0x400300);
		CHECK_EQ_INT(prof->stacks[0].end_reason, CAPTURE_STACK_COMPLETE);
		CHECK_EQ_INT(prof->stacks[1].n, 2);
		CHECK_EQ_INT(prof->stacks[1].end_reason, CAPTURE_STACK_TRUNCATED);
		CHECK_EQ_INT(prof->stacks[2].n, 1);
		CHECK(prof->stacks[2].pcs[0] == 0xffffffff81000010ull);
	}
	profile_free(prof);
	unlink(path);
}
