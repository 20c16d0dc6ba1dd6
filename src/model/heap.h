/* Heap analyses of a capture's allocation events (src/model/heap.c),
 * computed in one pass while the capture streams in: allocation counts
 * and bytes, leaks at the end, the live set at the true global peak,
 * temporary allocations, a size histogram and heap and RSS over time, all
 * by call site (stack and thread).
 *
 * Definitions (doc/heap.md says them for users):
 *   - live: allocated and not yet freed, in the capture's time order;
 *   - peak: the largest live total at any event; the peak columns are each
 *     site's live blocks at that moment;
 *   - leaked: live when the capture ended;
 *   - temporary: freed by the thread that allocated it, with at most N
 *     other allocations by that thread in between (N = 0: heaptrack's
 *     "directly followed by its free"; profile_heap_options() sets N).
 * In a sampled capture every figure is an estimate: a block of n bytes
 * sampled at mean rate R stands for 1 / (1 - exp(-n / R)) blocks, and
 * temporaries are not computed (the blocks in between were not seen). */
#ifndef MODEL_HEAP_H
#define MODEL_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct profile;
struct capture_record;

/* One call site: a stack on a thread under a label set. */
struct heap_site {
	uint32_t stack;  /* index into the profile's stacks */
	uint32_t thread; /* index into the profile's threads */
	uint32_t labels; /* index into the profile's label sets; 0: none */
	double alloc_count, alloc_bytes;
	double leak_count, leak_bytes;
	double peak_count, peak_bytes;
	double temp_count, temp_bytes;
	/* while reading */
	double live_count, live_bytes;
	uint64_t stamp;
};

/* Metrics a heap view shows (profile_heap_view()). */
enum heap_metric {
	HEAP_ALLOC_BYTES = 0,
	HEAP_ALLOC_COUNT,
	HEAP_PEAK_BYTES,
	HEAP_PEAK_COUNT,
	HEAP_LEAK_BYTES,
	HEAP_LEAK_COUNT,
	HEAP_TEMP_COUNT,
	HEAP_TEMP_BYTES,
	HEAP_METRIC_COUNT
};

/* A value over time, kept in at most HEAP_SERIES_MAX buckets: when they
 * run out, the bucket width doubles and neighbours merge, keeping the
 * maximum (a peak never disappears from the chart). */
#define HEAP_SERIES_MAX 2048
struct heap_series {
	uint64_t width_ns; /* of one bucket */
	size_t n;
	double max[HEAP_SERIES_MAX];
	bool set[HEAP_SERIES_MAX];
};

#define HEAP_SIZE_CLASSES 48 /* histogram bucket k: sizes in [2^(k-1), 2^k) */

struct profile_heap {
	bool sampled;
	uint64_t sample_rate;    /* mean bytes between samples (sampled) */
	unsigned temporary_within;

	/* From the events (estimates when sampled). */
	double allocs, bytes, frees;
	double live_bytes, live_blocks;
	double peak_bytes, peak_blocks;
	uint64_t peak_time_ns;
	double leaked_bytes, leaked_blocks;
	double temp_count, temp_bytes;
	double size_hist[HEAP_SIZE_CLASSES]; /* allocations by size class */
	/* Every call the program made, sampled or not (TOTALS records): exact
	 * in both modes. */
	uint64_t calls, call_bytes, call_frees;

	/* Frees that matched no live block: of a block freed before (double
	 * free), or of one allocated before tracking began or outside it. */
	uint64_t double_frees, unknown_frees;
	uint32_t first_double_free_site; /* UINT32_MAX: none */
	/* Events that arrived out of order (a free seen after the address was
	 * handed out again) and were set right. */
	uint64_t reordered;

	struct heap_series heap, rss;

	struct heap_site *sites;
	size_t nsites, cap_sites;

	/* private: the reading state (freed by profile_heap_finish()) */
	struct heap_state *st;
};

/* Set before loading: the allocations a temporary allows between its
 * allocation and its free; analyse false only counts allocation and free
 * events (a quick summary of a big capture). */
void profile_heap_options(unsigned temporary_within, bool analyse);

/* Called by the profile reader for heap and metric records. false: the
 * record is malformed. */
bool profile_heap_record(struct profile *p, const struct capture_record *rec);
/* At the end of reading: leaks and peak columns final, state freed. */
void profile_heap_finish(struct profile *p);
void profile_heap_free(struct profile_heap *h);

/* Replaces the profile's samples by one per heap site carrying `metric`
 * (p->unit becomes "bytes" or "count"), so every report and exporter
 * shows heap data unchanged. Returns false when the capture holds no
 * heap events. */
bool profile_heap_view(struct profile *p, enum heap_metric metric);
/* "alloc_space", "inuse_space" ...: the names pprof users know, and ours. */
bool heap_metric_parse(const char *name, enum heap_metric *out);
const char *heap_metric_name(enum heap_metric m);
const char *heap_metric_unit(enum heap_metric m);
/* pprof's name of the metric ("alloc_space", "inuse_objects", ...). */
const char *heap_metric_pprof_name(enum heap_metric m);
double heap_site_value(const struct heap_site *s, enum heap_metric m);

#endif
