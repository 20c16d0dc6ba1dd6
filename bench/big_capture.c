/* big-capture MB OUT.opf: writes a synthetic CPU capture of about MB
 * megabytes, for measuring what reading and reporting a large capture
 * costs (bench/big-capture.sh). 16 threads sample at 999 Hz over 50,000
 * distinct stacks of 4 to 32 frames from 4,000 functions, picked with a
 * skew (a few stacks hot, most rare) as in real profiles; times advance by
 * about a period per sample. The addresses belong to no mapping: the
 * question is the cost of samples and stacks, not of symbolization. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../src/capture/format.h"
#include "../src/capture/writer.h"

#define THREADS 16
#define STACKS 50000
#define FUNCTIONS 4000
#define PERIOD_NS 1001001u

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	/* xorshift64*: fast, and good enough for a workload's shape */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

int main(int argc, char **argv)
{
	if (argc != 3 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: big-capture MB OUT.opf\n");
		return 2;
	}
	uint64_t want = (uint64_t)atoi(argv[1]) << 20;
	int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	struct capture_buf h = { 0 };
	capture_header_u64(&h, CAPTURE_HDR_PID, 1);
	capture_header_u64(&h, CAPTURE_HDR_HZ, 999);
	capture_header_str(&h, CAPTURE_HDR_CMDLINE, "big-capture");
	struct capture_writer *w = capture_writer_new(fd, 0, 3);
	if (capture_writer_begin(w, &h) != 0) {
		fprintf(stderr, "big-capture: cannot write '%s'\n", argv[2]);
		return 1;
	}
	capture_buf_free(&h);
	for (unsigned t = 0; t < THREADS; t++) {
		char name[16];
		int n = snprintf(name, sizeof(name), "worker-%u", t);
		capture_write_string(w, t + 1, name, (size_t)n);
		const uint64_t f[3] = { 1000 + t, t + 1, 0 };
		capture_write_varints(w, CAPTURE_REC_THREAD, f, 3);
	}
	/* Stacks share their roots, as real ones do: frame i of a stack is
	 * one of a few functions for small i, any function deeper down. */
	uint64_t pcs[32];
	for (unsigned s = 1; s <= STACKS; s++) {
		unsigned depth = 4 + (unsigned)(next() % 29);
		for (unsigned i = 0; i < depth; i++) {
			unsigned outer = depth - 1 - i; /* pcs[] is leaf first */
			uint64_t choices = outer < 3 ? 4u << outer : FUNCTIONS;
			pcs[i] = 0x400000 + (next() % choices) * 0x100 + 0x10;
		}
		capture_write_stack(w, s, CAPTURE_STACK_COMPLETE, pcs, depth);
	}
	uint64_t time[THREADS] = { 0 }, samples = 0;
	while (capture_writer_bytes_written(w) < want) {
		for (int k = 0; k < 4096; k++) {
			unsigned t = (unsigned)(next() % THREADS);
			/* Skewed: the square of a uniform number favours low ids. */
			uint64_t u = next() % 65536;
			uint64_t stack = 1 + (u * u / 65536) * STACKS / 65536;
			uint64_t cpu = PERIOD_NS - 50000 + next() % 100000;
			time[t] += cpu;
			const uint64_t f[5] = { time[t], 1000 + t, stack, 1, cpu };
			capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, f, 5);
			samples++;
		}
	}
	uint64_t last = 0;
	for (unsigned t = 0; t < THREADS; t++)
		last = time[t] > last ? time[t] : last;
	const uint64_t end[4] = { last, samples * PERIOD_NS, samples, 0 };
	capture_write_varints(w, CAPTURE_REC_END, end, 4);
	if (capture_writer_free(w) != 0) {
		fprintf(stderr, "big-capture: writing '%s' failed\n", argv[2]);
		return 1;
	}
	close(fd);
	printf("%llu samples over %u stacks on %u threads\n", (unsigned long long)samples, STACKS,
	       THREADS);
	return 0;
}
