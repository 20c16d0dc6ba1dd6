/* mpcapture OUT.opf: writes the capture the out-of-process collector
 * would write of three processes, with numbers known to the test
 * (tests/e2e/t134_processes.sh), through the capture writer:
 *
 *   pid 1000 "server --port 8080": threads 1001 server (40 samples) and
 *            1002 worker (20), all in mp_hot <- mp_main
 *   pid 2000 "server --port 8081": the same binary at another address;
 *            thread 2001 server (30 samples) in mp_hot <- mp_main, and
 *            at pid 1000's address of mp_hot another file (other.so),
 *            where no sample may resolve
 *   pid 3000 "client": thread 3001 client, 10 samples in mp_wait, and
 *            two 100 ms off-CPU intervals blocked in the kernel's
 *            schedule under mp_wait
 *
 * Every sample is 10 ms of CPU: 1000 ms on-CPU, 200 ms off-CPU. The
 * binary mapped is this program itself, so mp_hot, mp_wait and mp_main
 * resolve through its symbol table. Also 5 samples lost to a kernel ring
 * overflow and 2 throttle events. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/capture/format.h"
#include "../../src/capture/writer.h"
#include "../unit/builder.h"

#define MS 1000000ull
#define DELTA 0x100000000000ull /* pid 2000 loads the binary this far up */
#define KSCHEDULE 0xffffffff81a00000ull

__attribute__((noinline)) int mp_hot(int x);
__attribute__((noinline)) int mp_wait(int x);
__attribute__((noinline)) int mp_main(int x);
__attribute__((noinline)) int mp_hot(int x)
{
	return x * 7 + 1;
}
__attribute__((noinline)) int mp_wait(int x)
{
	return x * 5 + 2;
}
__attribute__((noinline)) int mp_main(int x)
{
	return mp_hot(x) + mp_wait(x) + 1;
}

#define ADDR(fn) ((uint64_t)(uintptr_t)&(fn))

static struct capture_writer *w;
static uint64_t nstrings;

static uint64_t str(const char *s)
{
	capture_write_string(w, ++nstrings, s, strlen(s));
	return nstrings;
}

#define REC(kind, ...)                                                                 \
	capture_write_varints(w, (kind), (const uint64_t[]){ __VA_ARGS__ },             \
			      sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))

static void stack(uint64_t id, const uint64_t *pcs, size_t n, uint64_t pid)
{
	capture_write_stack_pid(w, id, CAPTURE_STACK_COMPLETE, pcs, n, pid);
}

static void mapping(uint64_t id, uint64_t start, uint64_t end, uint64_t offset, uint64_t path,
		    uint64_t pid)
{
	capture_write_mapping_pid(w, id, start, end, offset, path, NULL, 0, 5 /* r-x */, pid);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mpcapture OUT.opf\n");
		return 2;
	}
	uint64_t start, end, offset;
	char path[4096];
	if (tb_self_exec_mapping(ADDR(mp_hot), &start, &end, &offset, path, sizeof(path)) != 0) {
		fprintf(stderr, "mpcapture: cannot find its own executable mapping in /proc/self/maps\n");
		return 1;
	}
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	struct capture_buf h = { 0 };
	static const char cmd[] = "oneprof\0record\0--system";
	capture_header_bytes(&h, CAPTURE_HDR_CMDLINE, cmd, sizeof(cmd) - 1);
	capture_header_u64(&h, CAPTURE_HDR_HZ, 100);
	capture_header_str(&h, CAPTURE_HDR_HOSTNAME, "testhost");
	capture_header_str(&h, CAPTURE_HDR_SAMPLER, "perf_event cpu-clock");
	w = capture_writer_new(fd, 0, 3);
	if (!w || capture_writer_begin(w, &h) != 0) {
		fprintf(stderr, "mpcapture: cannot write '%s'\n", argv[1]);
		return 1;
	}
	capture_buf_free(&h);

	uint64_t s_path = str(path), s_other = str("/nonexistent/other.so");
	uint64_t s_server = str("server"), s_worker = str("worker"), s_client = str("client");
	uint64_t s_schedule = str("schedule");
	REC(CAPTURE_REC_PROCESS, 1000, s_server, 0, 1, str("server --port 8080"));
	REC(CAPTURE_REC_PROCESS, 2000, s_server, 0, 1, str("server --port 8081"));
	REC(CAPTURE_REC_PROCESS, 3000, s_client, 0, 1, str("client --once"));
	REC(CAPTURE_REC_KERNEL_SYMBOL, KSCHEDULE, 0x400, s_schedule);
	/* id, start, end, offset, path, build-id length 0, prot r-x, pid */
	mapping(1, start, end, offset, s_path, 1000);
	mapping(2, start + DELTA, end + DELTA, offset, s_path, 2000);
	mapping(3, start, end, 0, s_other, 2000);
	mapping(4, start, end, offset, s_path, 3000);
	REC(CAPTURE_REC_THREAD, 1001, s_server, 0, 1000);
	REC(CAPTURE_REC_THREAD, 1002, s_worker, 0, 1000);
	REC(CAPTURE_REC_THREAD, 2001, s_server, 0, 2000);
	REC(CAPTURE_REC_THREAD, 3001, s_client, 0, 3000);

	/* Return addresses point after their call: +1 keeps them inside. */
	uint64_t hot[] = { ADDR(mp_hot), ADDR(mp_main) + 1 };
	uint64_t hot2[] = { ADDR(mp_hot) + DELTA, ADDR(mp_main) + 1 + DELTA };
	uint64_t wait[] = { ADDR(mp_wait), ADDR(mp_main) + 1 };
	uint64_t blocked[] = { KSCHEDULE + 0x10, ADDR(mp_wait) + 1, ADDR(mp_main) + 1 };
	stack(1, hot, 2, 1000);
	stack(2, hot2, 2, 2000);
	stack(3, wait, 2, 3000);
	stack(4, blocked, 3, 3000);
	uint64_t t = 1 * MS;
	for (int i = 0; i < 40; i++, t += MS)
		REC(CAPTURE_REC_CPU_SAMPLE, t, 1001, 1, 1, 10 * MS);
	for (int i = 0; i < 20; i++, t += MS)
		REC(CAPTURE_REC_CPU_SAMPLE, t, 1002, 1, 1, 10 * MS);
	for (int i = 0; i < 30; i++, t += MS)
		REC(CAPTURE_REC_CPU_SAMPLE, t, 2001, 2, 1, 10 * MS);
	for (int i = 0; i < 10; i++, t += MS)
		REC(CAPTURE_REC_CPU_SAMPLE, t, 3001, 3, 1, 10 * MS);
	REC(CAPTURE_REC_OFF_CPU, t, 3001, 4, 100 * MS, CAPTURE_STATE_SLEEPING);
	REC(CAPTURE_REC_OFF_CPU, t + 100 * MS, 3001, 4, 100 * MS, CAPTURE_STATE_SLEEPING);
	REC(CAPTURE_REC_LOST, CAPTURE_LOST_CPU_SAMPLE, CAPTURE_LOST_KERNEL_RING, 5);
	REC(CAPTURE_REC_LOST, CAPTURE_LOST_CPU_SAMPLE, CAPTURE_LOST_THROTTLED, 2);
	REC(CAPTURE_REC_PROCESS_END, 3000, t + 200 * MS);
	/* duration, process cpu (0: many processes), samples, peak rss */
	REC(CAPTURE_REC_END, t + 210 * MS, 0, 102, 0);
	int rc = capture_writer_free(w);
	close(fd);
	if (rc != 0) {
		fprintf(stderr, "mpcapture: cannot write '%s'\n", argv[1]);
		return 1;
	}
	return mp_main(0) == 4 ? 0 : 1;
}
