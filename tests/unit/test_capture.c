/* Capture round trips: the real writer into a temp file, the real reader
 * and model back out, then damaged files (wrong version, empty, not a
 * capture, bad records, a flipped byte) and what each load reports. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "../../src/capture/encoding.h"
#include "../../src/capture/format.h"
#include "../../src/capture/writer.h"
#include "../../src/model/profile.h"
#include "builder.h"
#include "unit.h"

/* --- temp files --- */

struct tmpcap {
	char path[64];
	int fd;
};

static int tmp_open(struct tmpcap *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/oneprof-unit-XXXXXX");
	t->fd = mkstemp(t->path);
	return t->fd;
}

static void tmp_close(struct tmpcap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	unlink(t->path);
	t->fd = -1;
}

/* The whole file in memory (at least one allocated byte). */
static uint8_t *slurp(const char *path, size_t *len)
{
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	*len = n;
	return buf;
}

/* profile_read over a memory buffer. */
static struct profile *load_mem(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)data, len, "rb");
	if (!f) {
		snprintf(err, errlen, "fmemopen failed");
		return NULL;
	}
	struct profile *p = profile_read(f, "mem", err, errlen);
	fclose(f);
	return p;
}

/* --- the capture every round trip writes --- */

#define T_PID 4242
#define T_HZ 997
#define T_HOST "testhost.example"
#define T_REALTIME UINT64_C(1700000000123456789)
#define T_CLOCK UINT64_C(987654321)
#define T_PRODUCER "oneprof-unit 0.0"
static const char t_cmdline[] = "./prog\0--flag\0value"; /* argv joined with NULs */
#define T_CMDLINE_LEN (sizeof(t_cmdline) - 1)

#define T_LIB "/usr/lib/libunit-test.so.1"
#define T_MAP_START UINT64_C(0x7f1234560000)
#define T_MAP_END UINT64_C(0x7f1234598000)
#define T_MAP_OFF UINT64_C(0x2000)
#define T_MAP_PROT 5
static const uint8_t t_build_id[20] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02,
					0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
					0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff };

#define T_NSTACKS 24
#define T_NSAMPLES 200
#define T_MAX_FRAMES 12
#define T_UNKNOWN_TID 555

static uint64_t t_pcs[T_NSTACKS][T_MAX_FRAMES];
static size_t t_nframes[T_NSTACKS];
static unsigned t_reason[T_NSTACKS];

/* Stacks: the first has deltas as large as they get, both ways. */
static void make_stacks(void)
{
	static const uint64_t wild[] = {
		UINT64_C(0x7f1234561234), /* leaf in the library */
		UINT64_C(0x401000),       /* far down */
		UINT64_C(0xffffffffff600000), /* far up (vsyscall page) */
		UINT64_C(0x10),           /* almost to zero */
		UINT64_MAX,               /* the top */
		0,                        /* and back to zero */
		UINT64_C(0x8000000000000000),
		UINT64_C(0x7fffffffffffffff),
		UINT64_C(0x7f1234561238),
	};
	t_nframes[0] = sizeof(wild) / sizeof(wild[0]);
	memcpy(t_pcs[0], wild, sizeof(wild));
	t_reason[0] = CAPTURE_STACK_COMPLETE;
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (size_t i = 1; i < T_NSTACKS; i++) {
		t_nframes[i] = i % T_MAX_FRAMES; /* stack 12 has no frames */
		t_reason[i] = (unsigned)(i % CAPTURE_STACK_END_COUNT);
		for (size_t f = 0; f < t_nframes[i]; f++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			t_pcs[i][f] = f % 3 == 0 ? T_MAP_START + (x % (T_MAP_END - T_MAP_START))
						 : x;
		}
	}
}

static void sample_fields(size_t i, uint64_t out[5])
{
	out[0] = 1000 + i * 1013;                                   /* time */
	out[1] = i % 7 == 6 ? T_UNKNOWN_TID : (i % 2 ? 101 : 100); /* tid */
	out[2] = 1 + (i * 5) % T_NSTACKS;                          /* stack id */
	out[3] = 1 + i % 3;                                         /* count */
	out[4] = out[3] * 1000000 + i;                              /* cpu ns */
}

static struct capture_writer *begin_capture(int fd, size_t chunk, int level)
{
	struct capture_buf h = { 0 };
	capture_header_u64(&h, CAPTURE_HDR_PID, T_PID);
	capture_header_bytes(&h, CAPTURE_HDR_CMDLINE, t_cmdline, T_CMDLINE_LEN);
	capture_header_u64(&h, CAPTURE_HDR_START_REALTIME, T_REALTIME);
	capture_header_u64(&h, CAPTURE_HDR_START_CLOCK, T_CLOCK);
	capture_header_u64(&h, CAPTURE_HDR_CLOCK_ID, 1);
	capture_header_str(&h, CAPTURE_HDR_HOSTNAME, T_HOST);
	capture_header_u64(&h, CAPTURE_HDR_HZ, T_HZ);
	capture_header_str(&h, CAPTURE_HDR_PRODUCER, T_PRODUCER);
	capture_header_str(&h, 99, "a field from the future"); /* unknown key: skipped */
	struct capture_writer *w = capture_writer_new(fd, chunk, level);
	CHECK(w != NULL);
	if (w)
		CHECK_EQ_INT(capture_writer_begin(w, &h), 0);
	capture_buf_free(&h);
	return w;
}

static void write_strings_and_defs(struct capture_writer *w)
{
	capture_write_string(w, 1, T_LIB, strlen(T_LIB));
	capture_write_string(w, 2, "main", 4);
	capture_write_string(w, 3, "worker-1", 8);
	capture_write_mapping(w, 1, T_MAP_START, T_MAP_END, T_MAP_OFF, 1, t_build_id,
			      sizeof(t_build_id), T_MAP_PROT);
	const uint64_t t1[] = { 100, 2, 0 };
	const uint64_t t2[] = { 101, 3, 5000 };
	capture_write_varints(w, CAPTURE_REC_THREAD, t1, 3);
	capture_write_varints(w, CAPTURE_REC_THREAD, t2, 3);
}

/* unknown_every: also write a record of an unknown kind every that many
 * samples (0: none); returns how many were written. */
static size_t write_full_capture(int fd, size_t chunk, int level, size_t unknown_every)
{
	make_stacks();
	struct capture_writer *w = begin_capture(fd, chunk, level);
	if (!w)
		return 0;
	write_strings_and_defs(w);
	for (size_t i = 0; i < T_NSTACKS; i++)
		capture_write_stack(w, i + 1, t_reason[i], t_pcs[i], t_nframes[i]);
	size_t unknown = 0;
	for (size_t i = 0; i < T_NSAMPLES; i++) {
		uint64_t f[5];
		sample_fields(i, f);
		capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, f, 5);
		if (unknown_every && i % unknown_every == 0) {
			/* Kinds outside the known range, with bodies that would be
			 * malformed as any known kind. */
			const uint64_t junk[] = { UINT64_MAX, 1, 2, 3, 0, 0x80 };
			const unsigned kinds[] = { 200, 150, 0, 100000 };
			capture_write_varints(w, kinds[unknown % 4], junk, 1 + unknown % 6);
			unknown++;
		}
	}
	const uint64_t lost1[] = { CAPTURE_LOST_CPU_SAMPLE, CAPTURE_LOST_RING_FULL, 7 };
	const uint64_t lost2[] = { CAPTURE_LOST_CPU_SAMPLE, CAPTURE_LOST_NO_RING, 2 };
	const uint64_t lost3[] = { CAPTURE_LOST_CPU_SAMPLE, CAPTURE_LOST_RING_FULL, 3 };
	capture_write_varints(w, CAPTURE_REC_LOST, lost1, 3);
	capture_write_varints(w, CAPTURE_REC_LOST, lost2, 3);
	capture_write_varints(w, CAPTURE_REC_LOST, lost3, 3);
	const uint64_t tend[] = { 101, 900000 };
	capture_write_varints(w, CAPTURE_REC_THREAD_END, tend, 2);
	const uint64_t end[] = { 5000000000u, 123456789, T_NSAMPLES, 20480 };
	capture_write_varints(w, CAPTURE_REC_END, end, 4);
	CHECK(capture_writer_bytes_written(w) > CAPTURE_PREFIX_LEN);
	CHECK_EQ_INT(capture_writer_free(w), 0);
	return unknown;
}

static const struct profile_thread *find_thread(const struct profile *p, uint64_t tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

/* Every field of the capture write_full_capture() wrote. */
static void check_full_profile(const struct profile *p)
{
	/* Header. */
	CHECK_EQ_INT(p->hdr.version, CAPTURE_VERSION);
	CHECK_EQ_INT(p->hdr.min_version, CAPTURE_MIN_VERSION);
	CHECK_EQ_INT(p->hdr.pid, T_PID);
	CHECK_EQ_INT(p->hdr.cmdline.len, T_CMDLINE_LEN);
	CHECK(p->hdr.cmdline.s && memcmp(p->hdr.cmdline.s, t_cmdline, T_CMDLINE_LEN) == 0);
	CHECK_STR(p->hdr.hostname.s, T_HOST);
	CHECK_EQ_INT(p->hdr.hostname.len, strlen(T_HOST));
	CHECK_EQ_INT(p->hdr.hz, T_HZ);
	CHECK(p->hdr.start_realtime_ns == T_REALTIME);
	CHECK(p->hdr.start_clock_ns == T_CLOCK);
	CHECK_EQ_INT(p->hdr.clock_id, 1);
	CHECK_STR(p->hdr.producer.s, T_PRODUCER);
	CHECK_STR(p->hdr.kernel.s, ""); /* absent fields read as empty */
	CHECK_EQ_INT(p->hdr.kernel.len, 0);

	/* Mapping. */
	CHECK_EQ_INT(p->nmappings, 1);
	if (p->nmappings == 1) {
		const struct profile_mapping *m = &p->mappings[0];
		CHECK(m->start == T_MAP_START);
		CHECK(m->end == T_MAP_END);
		CHECK(m->offset == T_MAP_OFF);
		CHECK_STR(m->path, T_LIB);
		CHECK_EQ_INT(m->build_id_len, sizeof(t_build_id));
		CHECK(memcmp(m->build_id, t_build_id, sizeof(t_build_id)) == 0);
		CHECK_EQ_INT(m->prot, T_MAP_PROT);
	}

	/* Threads: two named, one made up from a sample's tid. */
	CHECK_EQ_INT(p->nthreads, 3);
	const struct profile_thread *t100 = find_thread(p, 100);
	const struct profile_thread *t101 = find_thread(p, 101);
	const struct profile_thread *tunk = find_thread(p, T_UNKNOWN_TID);
	CHECK(t100 && t101 && tunk);
	if (t100) {
		CHECK_STR(t100->name, "main");
		CHECK_EQ_INT(t100->start_ns, 0);
		CHECK_EQ_INT(t100->end_ns, 0);
	}
	if (t101) {
		CHECK_STR(t101->name, "worker-1");
		CHECK_EQ_INT(t101->start_ns, 5000);
		CHECK_EQ_INT(t101->end_ns, 900000);
	}
	if (tunk)
		CHECK_STR(tunk->name, "tid 555");

	/* Stacks, leaf first, exactly as written. */
	CHECK_EQ_INT(p->nstacks, T_NSTACKS);
	for (size_t i = 0; i < p->nstacks && i < T_NSTACKS; i++) {
		const struct profile_stack *s = &p->stacks[i];
		CHECK_EQ_INT(s->n, t_nframes[i]);
		CHECK_EQ_INT(s->end_reason, t_reason[i]);
		for (size_t f = 0; f < s->n && f < t_nframes[i]; f++)
			if (s->pcs[f] != t_pcs[i][f]) {
				unit_fail(__FILE__, __LINE__,
					  "stack %zu frame %zu: %#llx != %#llx", i + 1, f,
					  (unsigned long long)s->pcs[f],
					  (unsigned long long)t_pcs[i][f]);
				break;
			}
		CHECK(s->locations == NULL);
	}

	/* Samples, in order, and every total. */
	CHECK_EQ_INT(p->nsamples, T_NSAMPLES);
	uint64_t count = 0, cpu = 0, by_tid[3] = { 0 };
	uint64_t ends[CAPTURE_STACK_END_COUNT] = { 0 };
	for (size_t i = 0; i < p->nsamples && i < T_NSAMPLES; i++) {
		uint64_t f[5];
		sample_fields(i, f);
		const struct profile_sample *s = &p->samples[i];
		CHECK(s->time_ns == f[0]);
		CHECK(s->thread < p->nthreads && p->threads[s->thread].tid == f[1]);
		CHECK_EQ_INT(s->stack, f[2] - 1);
		CHECK(s->count == f[3]);
		CHECK(s->cpu_ns == f[4]);
		count += f[3];
		cpu += f[4];
		by_tid[f[1] == 100 ? 0 : f[1] == 101 ? 1 : 2] += f[3];
		ends[t_reason[f[2] - 1]] += f[3];
	}
	CHECK(p->total_count == count);
	CHECK(p->total_cpu_ns == cpu);
	for (unsigned r = 0; r < CAPTURE_STACK_END_COUNT; r++)
		CHECK(p->stack_ends[r] == ends[r]);
	if (t100 && t101 && tunk) {
		CHECK(t100->samples == by_tid[0]);
		CHECK(t101->samples == by_tid[1]);
		CHECK(tunk->samples == by_tid[2]);
	}

	/* Lost counts, merged by source and reason. */
	CHECK_EQ_INT(p->nlost, 2);
	uint64_t ring_full = 0, no_ring = 0;
	for (size_t i = 0; i < p->nlost; i++) {
		CHECK_EQ_INT(p->lost[i].source, CAPTURE_LOST_CPU_SAMPLE);
		if (p->lost[i].reason == CAPTURE_LOST_RING_FULL)
			ring_full += p->lost[i].count;
		else if (p->lost[i].reason == CAPTURE_LOST_NO_RING)
			no_ring += p->lost[i].count;
	}
	CHECK_EQ_INT(ring_full, 10);
	CHECK_EQ_INT(no_ring, 2);

	/* The end record and a clean end of file. */
	CHECK(p->has_end);
	CHECK(p->duration_ns == 5000000000u);
	CHECK_EQ_INT(p->process_cpu_ns, 123456789);
	CHECK_EQ_INT(p->peak_rss_kb, 20480);
	CHECK_EQ_INT(p->status, CAPTURE_READ_END);
	CHECK_STR(p->stop_reason, "");
	CHECK(p->chunks > 1);
	char buf[512];
	CHECK(profile_incomplete_reason(p, buf, sizeof(buf)) == NULL);
}

static void round_trip(int level, size_t chunk)
{
	struct tmpcap t;
	if (tmp_open(&t) < 0) {
		unit_fail(__FILE__, __LINE__, "mkstemp failed");
		return;
	}
	write_full_capture(t.fd, chunk, level, 0);
	char err[512] = "";
	struct profile *p = profile_load(t.path, err, sizeof(err));
	if (!p) {
		unit_fail(__FILE__, __LINE__, "profile_load: %s", err);
	} else {
		check_full_profile(p);
		CHECK_EQ_INT(p->skipped_records, 0);
		CHECK_STR(p->name, t.path);
		size_t len;
		uint8_t *data = slurp(t.path, &len);
		CHECK(p->good_bytes == len);
		free(data);
		profile_free(p);
	}
	tmp_close(&t);
}

TEST(capture_round_trip_zstd)
{
	round_trip(3, 256);
}

TEST(capture_round_trip_uncompressed)
{
	round_trip(0, 256);
}

TEST(capture_round_trip_one_chunk_per_record)
{
	/* chunk_bytes 1: every record is its own chunk. */
	struct tmpcap t;
	if (tmp_open(&t) < 0)
		return;
	write_full_capture(t.fd, 1, 0, 0);
	size_t len;
	uint8_t *data = slurp(t.path, &len);
	char err[512] = "";
	struct profile *p = load_mem(data, len, err, sizeof(err));
	CHECK(p != NULL);
	if (p) {
		check_full_profile(p);
		/* strings, mapping, threads, stacks, samples, lost, thread end, end */
		CHECK_EQ_INT(p->chunks, 3 + 1 + 2 + T_NSTACKS + T_NSAMPLES + 3 + 1 + 1);
		profile_free(p);
	}
	free(data);
	tmp_close(&t);
}

TEST(capture_unknown_kinds_skipped)
{
	for (int level = 0; level <= 3; level += 3) {
		struct tmpcap t;
		if (tmp_open(&t) < 0)
			return;
		size_t unknown = write_full_capture(t.fd, 256, level, 9);
		CHECK(unknown > 4);
		char err[512] = "";
		struct profile *p = profile_load(t.path, err, sizeof(err));
		CHECK(p != NULL);
		if (p) {
			check_full_profile(p);
			CHECK_EQ_INT(p->skipped_records, unknown);
			profile_free(p);
		}
		tmp_close(&t);
	}
}

/* A small capture to damage: `n` samples on one stack. */
static uint8_t *small_capture(size_t chunk, int level, size_t n, size_t *len)
{
	struct tmpcap t;
	*len = 0;
	if (tmp_open(&t) < 0)
		return NULL;
	struct capture_writer *w = begin_capture(t.fd, chunk, level);
	uint8_t *data = NULL;
	if (w) {
		const uint64_t pcs[] = { 0x401234, 0x401100, 0x400f00 };
		capture_write_stack(w, 1, CAPTURE_STACK_COMPLETE, pcs, 3);
		for (size_t i = 0; i < n; i++) {
			const uint64_t f[] = { i, 100, 1, 1, 1000 };
			capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, f, 5);
		}
		const uint64_t end[] = { 1000, 1000, n, 1 };
		capture_write_varints(w, CAPTURE_REC_END, end, 4);
		capture_writer_free(w);
		data = slurp(t.path, len);
	}
	tmp_close(&t);
	return data;
}

TEST(capture_too_new_rejected)
{
	size_t len;
	uint8_t *data = small_capture(256, 3, 10, &len);
	CHECK(data && len > CAPTURE_PREFIX_LEN);
	if (!data)
		return;
	char err[512] = "";
	/* Untouched, it loads. */
	struct profile *p = load_mem(data, len, err, sizeof(err));
	CHECK(p != NULL);
	profile_free(p);

	/* min_version 99: a reader of version 1 must refuse. */
	put_le16(data + 10, 99);
	err[0] = '\0';
	p = load_mem(data, len, err, sizeof(err));
	CHECK(p == NULL);
	profile_free(p);
	CHECK(strstr(err, "upgrade") != NULL);
	CHECK(strstr(err, "99") != NULL);

	/* A newer version alone (additive change) still reads. */
	put_le16(data + 10, CAPTURE_MIN_VERSION);
	put_le16(data + 8, 7);
	err[0] = '\0';
	p = load_mem(data, len, err, sizeof(err));
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(p->hdr.version, 7);
		CHECK_EQ_INT(p->nsamples, 10);
		CHECK(p->has_end);
	}
	profile_free(p);
	free(data);
}

TEST(capture_empty_rejected)
{
	struct tmpcap t;
	if (tmp_open(&t) < 0)
		return;
	char err[512] = "";
	struct profile *p = profile_load(t.path, err, sizeof(err));
	CHECK(p == NULL);
	profile_free(p);
	CHECK(strstr(err, "empty") != NULL);
	CHECK(strstr(err, t.path) != NULL);
	tmp_close(&t);
}

TEST(capture_missing_file_rejected)
{
	char err[512] = "";
	struct profile *p = profile_load("/nonexistent/oneprof/capture.opf", err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "/nonexistent/oneprof/capture.opf") != NULL);
}

TEST(capture_text_rejected)
{
	struct tmpcap t;
	if (tmp_open(&t) < 0)
		return;
	const char text[] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n"
			    "This is not a capture at all.\n";
	CHECK(write(t.fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	char err[512] = "";
	struct profile *p = profile_load(t.path, err, sizeof(err));
	CHECK(p == NULL);
	profile_free(p);
	CHECK(strstr(err, "not a oneprof capture") != NULL);
	tmp_close(&t);

	/* Shorter than the magic. */
	err[0] = '\0';
	p = load_mem((const uint8_t *)"hi", 2, err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "not a oneprof capture") != NULL);
}

TEST(capture_damaged_prefix_and_header)
{
	size_t len;
	uint8_t *data = small_capture(256, 0, 4, &len);
	if (!data)
		return;
	char err[512];
	/* The magic alone, then a prefix cut short. */
	for (size_t cut = CAPTURE_MAGIC_LEN; cut < CAPTURE_PREFIX_LEN; cut++) {
		err[0] = '\0';
		struct profile *p = load_mem(data, cut, err, sizeof(err));
		CHECK(p == NULL);
		CHECK(strstr(err, "prefix") != NULL);
	}
	/* A header cut short. */
	uint32_t hlen = get_le32(data + 12);
	CHECK(hlen > 0);
	err[0] = '\0';
	struct profile *p = load_mem(data, CAPTURE_PREFIX_LEN + hlen - 1, err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "cut short") != NULL);
	/* A header byte flipped. */
	data[CAPTURE_PREFIX_LEN + hlen / 2] ^= 0x40;
	err[0] = '\0';
	p = load_mem(data, len, err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "corrupt") != NULL);
	data[CAPTURE_PREFIX_LEN + hlen / 2] ^= 0x40;
	/* A header length over the limit. */
	put_le32(data + 12, CAPTURE_MAX_HEADER + 1);
	err[0] = '\0';
	p = load_mem(data, len, err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "limit") != NULL);
	free(data);
}

TEST(capture_undefined_stack_is_corrupt)
{
	struct tmpcap t;
	if (tmp_open(&t) < 0)
		return;
	struct capture_writer *w = begin_capture(t.fd, 4096, 3);
	if (w) {
		const uint64_t pcs[] = { 0x401234, 0x401100 };
		capture_write_stack(w, 1, CAPTURE_STACK_COMPLETE, pcs, 2);
		const uint64_t good[] = { 10, 100, 1, 1, 1000 };
		const uint64_t bad[] = { 20, 100, 2, 1, 1000 }; /* stack 2 never defined */
		capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, good, 5);
		capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, good, 5);
		capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, bad, 5);
		capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, good, 5);
		const uint64_t end[] = { 1, 1, 4, 1 };
		capture_write_varints(w, CAPTURE_REC_END, end, 4);
		CHECK_EQ_INT(capture_writer_free(w), 0);
	}
	char err[512] = "";
	struct profile *p = profile_load(t.path, err, sizeof(err));
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(p->status, CAPTURE_READ_CORRUPT);
		CHECK(strstr(p->stop_reason, "malformed") != NULL);
		CHECK(strstr(p->stop_reason, "16") != NULL); /* the record kind */
		CHECK_EQ_INT(p->nsamples, 2); /* the two before it */
		CHECK_EQ_INT(p->total_count, 2);
		CHECK(!p->has_end);
		char buf[512];
		CHECK(profile_incomplete_reason(p, buf, sizeof(buf)) != NULL);
		profile_free(p);
	}
	tmp_close(&t);
}

TEST(capture_stack_id_zero_is_corrupt)
{
	struct tmpcap t;
	if (tmp_open(&t) < 0)
		return;
	struct capture_writer *w = begin_capture(t.fd, 4096, 0);
	if (w) {
		const uint64_t pcs[] = { 0x401234 };
		capture_write_stack(w, 1, CAPTURE_STACK_COMPLETE, pcs, 1);
		const uint64_t bad[] = { 20, 100, 0, 1, 1000 };
		capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, bad, 5);
		capture_writer_free(w);
	}
	char err[512] = "";
	struct profile *p = profile_load(t.path, err, sizeof(err));
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(p->status, CAPTURE_READ_CORRUPT);
		CHECK(strstr(p->stop_reason, "malformed") != NULL);
		CHECK_EQ_INT(p->nsamples, 0);
		profile_free(p);
	}
	tmp_close(&t);
}

/* Offset of chunk `k` (0-based) in a capture, or 0 when there is none. */
static size_t chunk_offset(const uint8_t *data, size_t len, unsigned k)
{
	if (len < CAPTURE_PREFIX_LEN)
		return 0;
	size_t off = CAPTURE_PREFIX_LEN + get_le32(data + 12);
	for (unsigned i = 0; i < k; i++) {
		if (off + CAPTURE_CHUNK_PREFIX_LEN > len)
			return 0;
		off += CAPTURE_CHUNK_PREFIX_LEN + get_le32(data + off + 8);
	}
	return off + CAPTURE_CHUNK_PREFIX_LEN <= len ? off : 0;
}

static void flipped_second_chunk(int level)
{
	size_t len;
	uint8_t *data = small_capture(256, level, 150, &len);
	if (!data)
		return;
	size_t c1 = chunk_offset(data, len, 1), c2 = chunk_offset(data, len, 2);
	CHECK(c1 > 0 && c2 > c1);
	if (!(c1 > 0 && c2 > c1)) {
		free(data);
		return;
	}
	CHECK_EQ_INT(get_le32(data + c1), CAPTURE_CHUNK_MAGIC);
	CHECK_EQ_INT(get_le32(data + c1 + 4), 1); /* sequence */
	CHECK_EQ_INT(data[c1 + 16], level ? CAPTURE_COMPRESS_ZSTD : CAPTURE_COMPRESS_NONE);

	/* The first chunk alone: what the damaged load must keep. */
	char err[512] = "";
	struct profile *first = load_mem(data, c1, err, sizeof(err));
	CHECK(first != NULL);
	if (!first) {
		free(data);
		return;
	}
	CHECK_EQ_INT(first->status, CAPTURE_READ_END);
	CHECK_EQ_INT(first->chunks, 1);
	CHECK(first->nsamples > 0 && first->nsamples < 150);

	uint32_t stored = get_le32(data + c1 + 8);
	data[c1 + CAPTURE_CHUNK_PREFIX_LEN + stored / 2] ^= 0x01;
	struct profile *p = load_mem(data, len, err, sizeof(err));
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(p->status, CAPTURE_READ_CORRUPT);
		CHECK(strstr(p->stop_reason, "checksum") != NULL);
		CHECK(strstr(p->stop_reason, "chunk 2") != NULL);
		CHECK_EQ_INT(p->chunks, 1);
		CHECK(p->good_bytes == c1);
		CHECK_EQ_INT(p->nstacks, 1);
		CHECK_EQ_INT(p->nsamples, first->nsamples);
		CHECK(p->total_count == first->total_count);
		CHECK(!p->has_end);
		char buf[512];
		const char *why = profile_incomplete_reason(p, buf, sizeof(buf));
		CHECK(why && strstr(why, "checksum"));
		profile_free(p);
	}
	profile_free(first);
	free(data);
}

TEST(capture_flipped_byte_in_second_chunk)
{
	flipped_second_chunk(3);
	flipped_second_chunk(0);
}

TEST(capture_truncated_tail)
{
	size_t len;
	uint8_t *data = small_capture(256, 3, 150, &len);
	if (!data)
		return;
	size_t c1 = chunk_offset(data, len, 1);
	char err[512] = "";
	/* Inside the second chunk's prefix, then inside its body. */
	const size_t cuts[] = { c1 + 5, c1 + CAPTURE_CHUNK_PREFIX_LEN + 3, len - 1 };
	for (size_t i = 0; i < 3; i++) {
		struct profile *p = load_mem(data, cuts[i], err, sizeof(err));
		CHECK(p != NULL);
		if (!p)
			continue;
		CHECK_EQ_INT(p->status, CAPTURE_READ_TRUNCATED);
		CHECK(strstr(p->stop_reason, "ends inside") != NULL);
		CHECK(!p->has_end);
		CHECK(p->chunks >= 1);
		if (i < 2)
			CHECK_EQ_INT(p->chunks, 1);
		profile_free(p);
	}
	/* At a chunk boundary the file just ends: no END record though. */
	struct profile *p = load_mem(data, c1, err, sizeof(err));
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(p->status, CAPTURE_READ_END);
		CHECK(!p->has_end);
		char buf[512];
		const char *why = profile_incomplete_reason(p, buf, sizeof(buf));
		CHECK(why && strstr(why, "no end record"));
		profile_free(p);
	}
	free(data);
}

struct rec_log {
	unsigned kinds[8];
	size_t lens[8];
	size_t n;
};

static bool log_record(const struct capture_record *rec, void *arg)
{
	struct rec_log *l = arg;
	if (l->n < 8) {
		l->kinds[l->n] = rec->kind;
		l->lens[l->n] = rec->len;
	}
	l->n++;
	return true;
}

TEST(capture_parse_payload_framing)
{
	/* Two records, then one whose length runs past the end. */
	uint8_t buf[64];
	size_t len = 0;
	len += varint_put(buf + len, 16);
	len += varint_put(buf + len, 2);
	buf[len++] = 1;
	buf[len++] = 2;
	len += varint_put(buf + len, 300);
	len += varint_put(buf + len, 0);
	size_t good = len;
	len += varint_put(buf + len, 4);
	len += varint_put(buf + len, 9);
	buf[len++] = 0;

	uint8_t *p = malloc(len);
	memcpy(p, buf, len);
	struct rec_log l = { 0 };
	CHECK(capture_parse_payload(p, good, log_record, &l));
	CHECK_EQ_INT(l.n, 2);
	CHECK_EQ_INT(l.kinds[0], 16);
	CHECK_EQ_INT(l.lens[0], 2);
	CHECK_EQ_INT(l.kinds[1], 300);
	CHECK_EQ_INT(l.lens[1], 0);

	memset(&l, 0, sizeof(l));
	CHECK(!capture_parse_payload(p, len, log_record, &l));
	CHECK_EQ_INT(l.n, 2);

	/* A kind over 32 bits is a framing error. */
	size_t n = 0;
	n += varint_put(buf + n, UINT64_C(1) << 32);
	n += varint_put(buf + n, 0);
	memcpy(p, buf, n);
	memset(&l, 0, sizeof(l));
	CHECK(!capture_parse_payload(p, n, log_record, &l));
	CHECK_EQ_INT(l.n, 0);

	/* Empty is fine. */
	CHECK(capture_parse_payload(p, 0, log_record, &l));
	free(p);
}

/* A chunk prefix and body for `payload`, stored as is or zstd-compressed,
 * with the checksum computed as writer.c does. Returns the bytes written
 * to out (which must hold 24 + ZSTD_compressBound(len)). */
static size_t make_chunk(uint8_t *out, uint32_t seq, const uint8_t *payload, size_t len,
			 bool zstd)
{
	uint8_t *body = out + CAPTURE_CHUNK_PREFIX_LEN;
	size_t body_len = len;
	if (zstd) {
		body_len = ZSTD_compress(body, ZSTD_compressBound(len), payload, len, 1);
		CHECK(!ZSTD_isError(body_len));
	} else if (len) {
		memcpy(body, payload, len);
	}
	memset(out, 0, CAPTURE_CHUNK_PREFIX_LEN);
	put_le32(out, CAPTURE_CHUNK_MAGIC);
	put_le32(out + 4, seq);
	put_le32(out + 8, (uint32_t)body_len);
	put_le32(out + 12, (uint32_t)len);
	out[16] = zstd ? CAPTURE_COMPRESS_ZSTD : CAPTURE_COMPRESS_NONE;
	put_le32(out + 20, XXH32(body, body_len, XXH32(out, 20, 0)));
	return CAPTURE_CHUNK_PREFIX_LEN + body_len;
}

/* An empty chunk (no records; the writer never cuts one, but a file may
 * hold one) is read past: the chunks after it still load. */
TEST(capture_empty_chunk)
{
	size_t len;
	uint8_t *data = small_capture(1 << 16, 0, 5, &len);
	if (!data)
		return;
	size_t c0 = chunk_offset(data, len, 0);
	CHECK(c0 > 0);
	for (int zstd = 0; zstd <= 1; zstd++) {
		uint8_t empty[CAPTURE_CHUNK_PREFIX_LEN + 64];
		size_t elen = make_chunk(empty, 0, NULL, 0, zstd);
		/* header, empty chunk, the real chunk */
		uint8_t *file = malloc(len + elen);
		memcpy(file, data, c0);
		memcpy(file + c0, empty, elen);
		memcpy(file + c0 + elen, data + c0, len - c0);
		char err[512] = "";
		struct profile *p = load_mem(file, len + elen, err, sizeof(err));
		CHECK(p != NULL);
		if (p) {
			CHECK_EQ_INT(p->status, CAPTURE_READ_END);
			CHECK_EQ_INT(p->nsamples, 5);
			CHECK(p->has_end);
			CHECK_EQ_INT(p->chunks, 2);
			profile_free(p);
		}
		/* The empty chunk alone. */
		p = load_mem(file, c0 + elen, err, sizeof(err));
		CHECK(p != NULL);
		if (p) {
			CHECK_EQ_INT(p->status, CAPTURE_READ_END);
			CHECK_EQ_INT(p->nsamples, 0);
			profile_free(p);
		}
		free(file);
	}
	free(data);
}

/* STRING records are bytes: one with a NUL inside must load without
 * reading past any allocation, and reads as a C string up to the NUL.
 * "ab\0TUA" hashes (XXH3, low 8 bits) to the same slot as "ab" in the
 * interner's initial 256-slot table; the other suffixes land elsewhere
 * and fill the probe chains around it. Run in a child so that an ASan
 * report fails this test instead of ending the suite. */
#define NUL_STRINGS 40
TEST(capture_string_with_nul_byte)
{
	struct tmpcap t;
	if (tmp_open(&t) < 0)
		return;
	struct capture_writer *w = begin_capture(t.fd, 1 << 16, 0);
	if (!w) {
		tmp_close(&t);
		return;
	}
	capture_write_string(w, 1, "ab", 2);
	capture_write_string(w, 2, "ab\0TUA", 6);
	for (int i = 0; i < NUL_STRINGS; i++) {
		char s[8] = { 'a', 'b', 0, (char)('A' + i % 26), (char)('a' + i / 26), 'z', 0 };
		capture_write_string(w, 3 + (uint64_t)i, s, 6);
	}
	capture_write_mapping(w, 1, 0x1000, 0x2000, 0, 2, NULL, 0, 5);
	capture_write_mapping(w, 2, 0x3000, 0x4000, 0, 3 + NUL_STRINGS - 1, NULL, 0, 5);
	const uint64_t end[] = { 1, 1, 0, 1 };
	capture_write_varints(w, CAPTURE_REC_END, end, 4);
	CHECK_EQ_INT(capture_writer_free(w), 0);
	size_t len;
	uint8_t *data = slurp(t.path, &len);
	tmp_close(&t);
	if (!data)
		return;

	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		char err[512] = "";
		struct profile *p = load_mem(data, len, err, sizeof(err));
		int rc = 0;
		if (!p || p->status != CAPTURE_READ_END || !p->has_end || p->nmappings != 2 ||
		    strcmp(p->mappings[0].path, "ab") != 0 ||
		    strcmp(p->mappings[1].path, "ab") != 0)
			rc = 3;
		profile_free(p);
		free(data);
		_exit(rc);
	}
	CHECK(pid > 0);
	if (pid > 0) {
		int st = 0;
		CHECK(waitpid(pid, &st, 0) == pid);
		if (WIFSIGNALED(st))
			unit_fail(__FILE__, __LINE__, "loading it killed the child (signal %d)",
				  WTERMSIG(st));
		else if (WEXITSTATUS(st) == 3)
			unit_fail(__FILE__, __LINE__, "loaded, but not as expected");
		else if (WEXITSTATUS(st) != 0)
			unit_fail(__FILE__, __LINE__,
				  "loading it failed in the child (exit %d; an ASan report "
				  "above?)", WEXITSTATUS(st));
	}
	free(data);
}

/* Read for reports, samples of one thread, stack, label set and state
 * are one sample: totals unchanged, the first time kept, the latest time
 * known; read for timelines, every sample stays. */
static struct tb_capture *repeated_samples(void)
{
	struct tb_capture *c = tb_capture_new();
	tb_capture_string(c, 1, "main");
	TB_REC(c, CAPTURE_REC_THREAD, 7, 1, 0);
	TB_REC(c, CAPTURE_REC_THREAD, 8, 1, 0);
	const uint64_t a[] = { 0x1000, 0x2000 }, b[] = { 0x3000 };
	tb_capture_stack(c, 1, a, 2);
	tb_capture_stack(c, 2, b, 1);
	for (uint64_t i = 0; i < 1000; i++) /* time, tid, stack, count, cpu ns */
		TB_REC(c, CAPTURE_REC_CPU_SAMPLE, 5000 + i * 10, 7 + i % 2, 1 + (i % 3 == 0), 1,
		       10000000);
	return c;
}

TEST(capture_samples_coalesced)
{
	char err[256];
	struct profile *all = tb_capture_load(repeated_samples(), err, sizeof(err));
	struct profile *one = tb_capture_load_with(repeated_samples(), 0, err, sizeof(err));
	CHECK(all && one);
	if (!all || !one)
		return;
	CHECK(!all->coalesced && one->coalesced);
	CHECK_EQ_INT(all->nsamples, 1000);
	CHECK_EQ_INT(one->nsamples, 4); /* 2 threads x 2 stacks */
	CHECK_EQ_INT(one->total_count, 1000);
	CHECK_EQ_INT(one->total_cpu_ns, all->total_cpu_ns);
	CHECK_EQ_INT(one->samples_end_ns, 5000 + 999 * 10);
	CHECK_EQ_INT(all->samples_end_ns, one->samples_end_ns);
	uint64_t count = 0;
	for (size_t i = 0; i < one->nsamples; i++) {
		count += one->samples[i].count;
		if (i) /* in order of first appearance */
			CHECK(one->samples[i].time_ns > one->samples[i - 1].time_ns);
	}
	CHECK_EQ_INT(count, 1000);
	/* The first sample of each: i = 0 (tid 7, stack 2), 1 (8, 1), 2 (7, 1), 3 (8, 2). */
	CHECK_EQ_INT(one->samples[0].time_ns, 5000);
	CHECK_EQ_INT(one->samples[3].time_ns, 5030);
	CHECK_EQ_INT(one->samples[0].stack, 1);
	CHECK_EQ_INT(one->samples[0].count, 167); /* i = 0, 6, ..., 996 */
	profile_free(all);
	profile_free(one);
}
