/* The closing summary of 'oneprof record': what the capture holds, in
 * the numbers a full read gives. An agent's capture ends with an END
 * record that carries them (doc/capture-format.md), so the summary reads
 * the last chunk alone and passes the others by their prefixes: a full
 * heap capture is hundreds of megabytes that the summary would otherwise
 * decompress and decode just to count. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/encoding.h"
#include "../capture/format.h"
#include "../capture/reader.h"
#include "../model/heap.h"
#include "internal.h"

/* The END record's summary fields, when the capture has them and they
 * tell everything the summary prints. */
static bool from_end(const char *path, struct record_summary *s)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	char err[512];
	bool ok = false;
	struct capture_reader *r = capture_reader_open(f, path, err, sizeof(err));
	if (!r || !capture_reader_seek_last(r))
		goto out;
	const struct capture_header *h = capture_reader_header(r);
	/* A rate the overhead budget lowered is in the monitor's series,
	 * spread over the capture: that case reads it all. */
	const char *budget = capture_header_config(h, "max_overhead_ppm");
	if (!budget || strtoull(budget, NULL, 10) != 0)
		goto out;
	uint64_t e[12];
	bool have = false;
	struct capture_record rec;
	while (capture_reader_next(r, &rec)) {
		if (rec.kind != CAPTURE_REC_END)
			continue;
		struct cursor c = cursor_make(rec.body, rec.len);
		for (size_t i = 0; i < 12; i++)
			e[i] = cursor_varint(&c);
		have = !c.bad;
	}
	if (!have || capture_reader_status(r) != CAPTURE_READ_END || (e[6] && !h->hz))
		goto out;
	const char *heap = capture_header_config(h, "heap");
	s->samples = e[2];
	s->threads = (size_t)e[4];
	s->cpu_ns = e[5] + (e[6] ? e[6] * (1000000000u / h->hz) : 0);
	s->wall = e[6] != 0;
	s->lost = e[7];
	s->heap = e[8] || e[9] || e[10] || (e[11] && heap && strncmp(heap, "off", 3) != 0);
	s->heap_allocs = (double)e[8];
	s->heap_frees = (double)e[9];
	s->from_end = true;
	ok = true;
out:
	capture_reader_free(r);
	fclose(f);
	return ok;
}

int record_summary_read(const char *path, bool fast, struct record_summary *s, char *err,
			size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (fast && from_end(path, s))
		return 0;
	profile_heap_options(0, false); /* counts are enough here */
	struct profile *p = profile_load(path, err, errlen);
	if (!p)
		return -1;
	s->incomplete = profile_incomplete_reason(p, s->why, sizeof(s->why)) != NULL;
	for (size_t i = 0; i < p->nlost; i++)
		if (p->lost[i].source == CAPTURE_LOST_CPU_SAMPLE)
			s->lost += p->lost[i].count;
	s->rate_lowered = metric_rate_lowered(p, &s->rate_from, &s->rate_to, &s->rate_when);
	if (p->heap) {
		s->heap = true;
		s->heap_allocs = p->heap->allocs;
		s->heap_frees = p->heap->frees;
	}
	s->samples = p->total_count;
	s->threads = p->nthreads;
	s->cpu_ns = p->total_cpu_ns;
	s->wall = p->wall;
	profile_free(p);
	return 0;
}
