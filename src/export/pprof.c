/* pprof: a gzip-compressed perftools.profiles.Profile protobuf (field
 * numbers from google/pprof proto/profile.proto), shaped like the CPU
 * profiles Go writes: sample types samples/count and cpu/nanoseconds,
 * period cpu/nanoseconds.
 *
 * The protobuf is encoded by hand: the schema is small and frozen, and a
 * generated encoder (protobuf-c) would add a code generator and a
 * library for a few dozen lines of varints. Submessages are encoded into
 * a scratch buffer and copied behind their length, so no size pass is
 * needed. */
#include "export.h"

#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../model/merge.h"
#include "../util/util.h"

/* Wire types. */
#define WT_VARINT 0
#define WT_LEN 2

/* Profile fields. */
#define PROFILE_SAMPLE_TYPE 1
#define PROFILE_SAMPLE 2
#define PROFILE_MAPPING 3
#define PROFILE_LOCATION 4
#define PROFILE_FUNCTION 5
#define PROFILE_STRING_TABLE 6
#define PROFILE_TIME_NANOS 9
#define PROFILE_DURATION_NANOS 10
#define PROFILE_PERIOD_TYPE 11
#define PROFILE_PERIOD 12
#define PROFILE_DEFAULT_SAMPLE_TYPE 14
#define PROFILE_COMMENT 13

#define VALUE_TYPE_TYPE 1
#define VALUE_TYPE_UNIT 2

#define SAMPLE_LOCATION_ID 1
#define SAMPLE_VALUE 2
#define SAMPLE_LABEL 3

#define LABEL_KEY 1
#define LABEL_STR 2
#define LABEL_NUM 3

#define MAPPING_ID 1
#define MAPPING_MEMORY_START 2
#define MAPPING_MEMORY_LIMIT 3
#define MAPPING_FILE_OFFSET 4
#define MAPPING_FILENAME 5
#define MAPPING_BUILD_ID 6
#define MAPPING_HAS_FUNCTIONS 7
#define MAPPING_HAS_FILENAMES 8
#define MAPPING_HAS_LINE_NUMBERS 9
#define MAPPING_HAS_INLINE_FRAMES 10

#define LOCATION_ID 1
#define LOCATION_MAPPING_ID 2
#define LOCATION_ADDRESS 3
#define LOCATION_LINE 4

#define LINE_FUNCTION_ID 1
#define LINE_LINE 2

#define FUNCTION_ID 1
#define FUNCTION_NAME 2
#define FUNCTION_SYSTEM_NAME 3
#define FUNCTION_FILENAME 4
#define FUNCTION_START_LINE 5

/* The agent's default rate, for captures whose header lacks one. */
#define DEFAULT_HZ 99

/* --- protobuf encoding --- */

struct pbuf {
	uint8_t *d;
	size_t len, cap;
};

static void pb_reserve(struct pbuf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	b->d = xrealloc(b->d, cap);
	b->cap = cap;
}

static void pb_raw(struct pbuf *b, const void *data, size_t n)
{
	if (!n)
		return;
	pb_reserve(b, n);
	memcpy(b->d + b->len, data, n);
	b->len += n;
}

static void pb_varint(struct pbuf *b, uint64_t v)
{
	pb_reserve(b, 10);
	while (v >= 0x80) {
		b->d[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->d[b->len++] = (uint8_t)v;
}

static void pb_key(struct pbuf *b, unsigned field, unsigned wire_type)
{
	pb_varint(b, ((uint64_t)field << 3) | wire_type);
}

/* A varint field. proto3 reads a missing scalar as 0, so zeros are left
 * out; callers that need a field present exactly once (time_nanos) use
 * pb_field_always. int64 values are plain two's complement, not zigzag. */
static void pb_field(struct pbuf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, WT_VARINT);
	pb_varint(b, v);
}

static void pb_field_always(struct pbuf *b, unsigned field, uint64_t v)
{
	pb_key(b, field, WT_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pbuf *b, unsigned field, const void *data, size_t n)
{
	pb_key(b, field, WT_LEN);
	pb_varint(b, n);
	pb_raw(b, data, n);
}

/* Appends a finished submessage and empties the scratch buffer. */
static void pb_message(struct pbuf *b, unsigned field, struct pbuf *sub)
{
	pb_bytes(b, field, sub->d, sub->len);
	sub->len = 0;
}

/* --- string table --- */

/* Strings are encoded straight into the string_table field bytes as they
 * are first seen; the hash only remembers where each one lies, so the
 * table holds no second copy. */
struct strtab {
	struct pbuf enc;      /* repeated string_table fields, in index order */
	size_t *off, *len;    /* of each string's bytes inside enc */
	size_t n, cap;
	uint32_t *slots;      /* open addressing: index + 1, 0 empty */
	size_t nslots;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static size_t strtab_slot(const struct strtab *t, const char *s, size_t n)
{
	size_t i = (size_t)hash_bytes(s, n) & (t->nslots - 1);
	while (t->slots[i]) {
		size_t k = t->slots[i] - 1;
		if (t->len[k] == n && memcmp(t->enc.d + t->off[k], s, n) == 0)
			break;
		i = (i + 1) & (t->nslots - 1);
	}
	return i;
}

static uint64_t strtab_add_len(struct strtab *t, const char *s, size_t n)
{
	size_t i = strtab_slot(t, s, n);
	if (t->slots[i])
		return t->slots[i] - 1;
	if ((t->n + 1) * 2 > t->nslots) {
		size_t nslots = t->nslots * 2;
		uint32_t *slots = xcalloc(nslots, sizeof(uint32_t));
		uint32_t *old = t->slots;
		size_t nold = t->nslots;
		t->slots = slots;
		t->nslots = nslots;
		for (size_t k = 0; k < nold; k++)
			if (old[k])
				slots[strtab_slot(t, (const char *)t->enc.d + t->off[old[k] - 1],
						  t->len[old[k] - 1])] = old[k];
		free(old);
		i = strtab_slot(t, s, n);
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->off = xrealloc(t->off, t->cap * sizeof(size_t));
		t->len = xrealloc(t->len, t->cap * sizeof(size_t));
	}
	pb_key(&t->enc, PROFILE_STRING_TABLE, WT_LEN);
	pb_varint(&t->enc, n);
	t->off[t->n] = t->enc.len;
	t->len[t->n] = n;
	pb_raw(&t->enc, s, n);
	t->slots[i] = (uint32_t)(t->n + 1);
	return t->n++;
}

static uint64_t strtab_add(struct strtab *t, const char *s)
{
	return s ? strtab_add_len(t, s, strlen(s)) : 0;
}

static void strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
	t->nslots = 1024;
	t->slots = xcalloc(t->nslots, sizeof(uint32_t));
	/* Index 0 must be "": readers reject the profile otherwise, and
	 * every unset string field means index 0. */
	strtab_add_len(t, "", 0);
}

static void strtab_free(struct strtab *t)
{
	free(t->enc.d);
	free(t->off);
	free(t->len);
	free(t->slots);
}

/* --- the profile --- */

struct encoder {
	const struct profile *p;
	struct strtab strs;
	struct pbuf out;     /* every Profile field but string_table */
	struct pbuf sub;     /* one submessage at a time */
	struct pbuf subsub;  /* one message nested in sub */
	uint64_t period;
	uint8_t *mapping_info; /* per mapping: MAPPING_INFO_* bits */
};

/* What the locations of a mapping carry, for its has_* flags. */
#define MAPPING_INFO_LINES 1
#define MAPPING_INFO_INLINES 2

static void encode_value_type(struct encoder *e, unsigned field, const char *type,
			      const char *unit)
{
	pb_field(&e->sub, VALUE_TYPE_TYPE, strtab_add(&e->strs, type));
	pb_field(&e->sub, VALUE_TYPE_UNIT, strtab_add(&e->strs, unit));
	pb_message(&e->out, field, &e->sub);
}

static int cmp_sample(const void *a, const void *b, void *arg)
{
	const struct profile_sample *s = arg;
	const struct profile_sample *x = &s[*(const size_t *)a], *y = &s[*(const size_t *)b];
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	if (x->labels != y->labels)
		return x->labels < y->labels ? -1 : 1;
	return 0;
}

/* A label set's labels, each key once (the innermost push of a key
 * hides the outer ones, as profile_labels_have() reads them). */
static void encode_labels(struct encoder *e, uint32_t set)
{
	const struct profile *p = e->p;
	for (uint32_t i = set, depth = 0; i && i < p->nlabel_sets && depth < p->nlabel_sets;
	     i = p->label_sets[i].parent, depth++) {
		const struct profile_label_set *ls = &p->label_sets[i];
		bool hidden = false;
		for (uint32_t j = set; j != i && !hidden; j = p->label_sets[j].parent)
			hidden = !strcmp(p->label_sets[j].key, ls->key);
		if (hidden || !ls->key || !ls->value)
			continue;
		pb_field(&e->subsub, LABEL_KEY, strtab_add(&e->strs, ls->key));
		pb_field(&e->subsub, LABEL_STR, strtab_add(&e->strs, ls->value));
		pb_message(&e->sub, SAMPLE_LABEL, &e->subsub);
	}
}

static void encode_sample(struct encoder *e, uint32_t stack, uint32_t thread, uint32_t labels,
			  const uint64_t *values, size_t nvalues)
{
	const struct profile *p = e->p;
	const struct profile_stack *s = &p->stacks[stack];

	/* Packed repeated location_id, leaf first as the model stores it. */
	if (s->n && s->locations) {
		for (uint32_t f = 0; f < s->n; f++)
			pb_varint(&e->subsub, (uint64_t)s->locations[f] + 1);
		pb_message(&e->sub, SAMPLE_LOCATION_ID, &e->subsub);
	}
	/* Every value, even zero: one per sample_type. */
	for (size_t i = 0; i < nvalues; i++)
		pb_varint(&e->subsub, values[i]);
	pb_message(&e->sub, SAMPLE_VALUE, &e->subsub);

	if (thread < p->nthreads) {
		const struct profile_thread *t = &p->threads[thread];
		/* pprof drops empty string labels and zero numeric ones when
		 * reading anyway; leaving them out keeps files small. */
		if (t->name && *t->name) {
			pb_field(&e->subsub, LABEL_KEY, strtab_add(&e->strs, "thread"));
			pb_field(&e->subsub, LABEL_STR, strtab_add(&e->strs, t->name));
			pb_message(&e->sub, SAMPLE_LABEL, &e->subsub);
		}
		if (t->tid) {
			pb_field(&e->subsub, LABEL_KEY, strtab_add(&e->strs, "tid"));
			pb_field(&e->subsub, LABEL_NUM, t->tid);
			pb_message(&e->sub, SAMPLE_LABEL, &e->subsub);
		}
		/* Which process, so that pprof -tagfocus pid=... and
		 * -tagroot pid split a capture of several. */
		const struct profile_process *pr = profile_thread_process(p, t);
		if (pr && pr->pid) {
			pb_field(&e->subsub, LABEL_KEY, strtab_add(&e->strs, "pid"));
			pb_field(&e->subsub, LABEL_NUM, pr->pid);
			pb_message(&e->sub, SAMPLE_LABEL, &e->subsub);
		}
		if (pr && p->nprocesses > 1 && pr->name && *pr->name) {
			pb_field(&e->subsub, LABEL_KEY, strtab_add(&e->strs, "process"));
			pb_field(&e->subsub, LABEL_STR, strtab_add(&e->strs, pr->name));
			pb_message(&e->sub, SAMPLE_LABEL, &e->subsub);
		}
	}
	encode_labels(e, labels);
	pb_message(&e->out, PROFILE_SAMPLE, &e->sub);
}

/* One Sample per (stack, thread): a capture writes one record per
 * timer tick, and pprof has no use for the time order. Values: count
 * and time, or (value_only) the time field alone. */
static void encode_samples(struct encoder *e, bool value_only)
{
	const struct profile *p = e->p;
	size_t *order = xmalloc(p->nsamples * sizeof(size_t));
	size_t n = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].stack < p->nstacks)
			order[n++] = i;
	qsort_r(order, n, sizeof(size_t), cmp_sample, p->samples);
	for (size_t i = 0; i < n;) {
		const struct profile_sample *first = &p->samples[order[i]];
		uint64_t count = 0, cpu_ns = 0;
		size_t j = i;
		for (; j < n && cmp_sample(&order[i], &order[j], p->samples) == 0; j++) {
			count += p->samples[order[j]].count;
			cpu_ns += p->samples[order[j]].cpu_ns;
		}
		uint64_t v[2] = { count, cpu_ns };
		if (value_only)
			encode_sample(e, first->stack, first->thread, first->labels, &v[1], 1);
		else
			encode_sample(e, first->stack, first->thread, first->labels, v, 2);
		i = j;
	}
	free(order);
}

/* A heap capture as Go writes heap profiles: what was allocated, and
 * what was still in use (at the end: the leaks), per call site. */
static const enum heap_metric heap_types[4] = { HEAP_ALLOC_COUNT, HEAP_ALLOC_BYTES,
						HEAP_LEAK_COUNT, HEAP_LEAK_BYTES };

static void encode_heap_samples(struct encoder *e)
{
	const struct profile_heap *h = e->p->heap;
	for (size_t i = 0; i < h->nsites; i++) {
		uint64_t v[4];
		bool any = false;
		for (int k = 0; k < 4; k++) {
			v[k] = (uint64_t)llround(heap_site_value(&h->sites[i], heap_types[k]));
			any |= v[k] != 0;
		}
		if (any)
			encode_sample(e, h->sites[i].stack, h->sites[i].thread, h->sites[i].labels, v,
				      4);
	}
}

/* A profile read from another tool whose values are not a time. */
static bool foreign_not_time(const struct profile *p)
{
	return p->pprof && !(p->heap && p->heap_view) && profile_kind(p) == PROFILE_KIND_OTHER;
}

size_t export_pprof_types(const struct profile *p, struct export_value_type *out)
{
	if (p->heap && p->heap_view) {
		const struct profile_heap *h = p->heap;
		for (int k = 0; k < 4; k++) {
			out[k] = (struct export_value_type){ heap_metric_pprof_name(heap_types[k]),
							     heap_metric_unit(heap_types[k]), 0 };
			for (size_t i = 0; i < h->nsites; i++)
				out[k].total += (uint64_t)llround(
					heap_site_value(&h->sites[i], heap_types[k]));
		}
		return 4;
	}
	size_t n = 0;
	if (foreign_not_time(p)) {
		/* Its own type, beside samples/count where counts are real. */
		if (p->import.has_count && strcmp(p->pprof_type, "samples"))
			out[n++] = (struct export_value_type){ "samples", "count", p->total_count };
		out[n++] = (struct export_value_type){ p->pprof_type, p->pprof_unit,
						       p->total_cpu_ns };
		return n;
	}
	out[n++] = (struct export_value_type){ "samples", "count", p->total_count };
	/* A time read from elsewhere keeps its name (wall, cpu, ...); a
	 * count with a time period is CPU time. */
	const char *type = p->pprof && p->pprof_type && p->pprof_unit &&
					   strcmp(p->pprof_unit, "count")
				   ? p->pprof_type
				   : "cpu";
	out[n++] = (struct export_value_type){ type, "nanoseconds", p->total_cpu_ns };
	return n;
}

static void encode_mapping(struct encoder *e, size_t i)
{
	const struct profile_mapping *m = &e->p->mappings[i];
	char hex[2 * sizeof(m->build_id) + 1];
	size_t blen = m->build_id_len < sizeof(m->build_id) ? m->build_id_len : sizeof(m->build_id);
	for (size_t k = 0; k < blen; k++)
		snprintf(hex + 2 * k, 3, "%02x", m->build_id[k]);
	hex[2 * blen] = '\0';

	pb_field(&e->sub, MAPPING_ID, i + 1);
	pb_field(&e->sub, MAPPING_MEMORY_START, m->start);
	pb_field(&e->sub, MAPPING_MEMORY_LIMIT, m->end);
	pb_field(&e->sub, MAPPING_FILE_OFFSET, m->offset);
	pb_field(&e->sub, MAPPING_FILENAME, strtab_add(&e->strs, m->path));
	pb_field(&e->sub, MAPPING_BUILD_ID, strtab_add(&e->strs, hex));
	/* Names were resolved when the profile was built: tell pprof not to
	 * symbolize again from whatever binaries it finds locally, and what
	 * the debug info gave beyond names. */
	pb_field(&e->sub, MAPPING_HAS_FUNCTIONS, 1);
	if (e->mapping_info[i] & MAPPING_INFO_LINES) {
		pb_field(&e->sub, MAPPING_HAS_FILENAMES, 1);
		pb_field(&e->sub, MAPPING_HAS_LINE_NUMBERS, 1);
	}
	if (e->mapping_info[i] & MAPPING_INFO_INLINES)
		pb_field(&e->sub, MAPPING_HAS_INLINE_FRAMES, 1);
	pb_message(&e->out, PROFILE_MAPPING, &e->sub);
}

static void encode_mappings(struct encoder *e)
{
	const struct profile *p = e->p;
	e->mapping_info = xcalloc(p->nmappings ? p->nmappings : 1, 1);
	for (size_t i = 0; i < p->nlocations; i++) {
		const struct profile_location *l = &p->locations[i];
		if (l->mapping < 0 || (size_t)l->mapping >= p->nmappings || !l->lines)
			continue;
		for (uint32_t k = 0; k < l->nlines; k++)
			if (l->lines[k].line)
				e->mapping_info[l->mapping] |= MAPPING_INFO_LINES;
		if (l->nlines > 1)
			e->mapping_info[l->mapping] |= MAPPING_INFO_INLINES;
	}
	/* pprof takes the first mapping as the main binary (it names the
	 * profile after it), so the executable's goes first; ids stay
	 * index + 1 whatever the order. */
	size_t first = p->nmappings;
	const char *exe = p->hdr.exe.s;
	if (exe && *exe)
		for (size_t i = 0; i < p->nmappings && first == p->nmappings; i++)
			if (p->mappings[i].path && strcmp(p->mappings[i].path, exe) == 0)
				first = i;
	if (first < p->nmappings)
		encode_mapping(e, first);
	for (size_t i = 0; i < p->nmappings; i++)
		if (i != first)
			encode_mapping(e, i);
}

static void encode_locations(struct encoder *e)
{
	const struct profile *p = e->p;
	for (size_t i = 0; i < p->nlocations; i++) {
		const struct profile_location *l = &p->locations[i];
		pb_field(&e->sub, LOCATION_ID, i + 1);
		/* A mapping index out of range would be a dangling id, which
		 * pprof silently treats as none: say none outright. */
		if (l->mapping >= 0 && (size_t)l->mapping < p->nmappings)
			pb_field(&e->sub, LOCATION_MAPPING_ID, (uint64_t)l->mapping + 1);
		pb_field(&e->sub, LOCATION_ADDRESS, l->address);
		/* The inline chain, innermost first: pprof reads the last Line
		 * as the caller the preceding ones were inlined into. */
		if (l->nlines && l->lines) {
			for (uint32_t k = 0; k < l->nlines; k++) {
				if (l->lines[k].function >= p->nfunctions)
					continue;
				pb_field(&e->subsub, LINE_FUNCTION_ID, (uint64_t)l->lines[k].function + 1);
				pb_field(&e->subsub, LINE_LINE, l->lines[k].line);
				pb_message(&e->sub, LOCATION_LINE, &e->subsub);
			}
		} else if (l->function < p->nfunctions) {
			pb_field(&e->subsub, LINE_FUNCTION_ID, (uint64_t)l->function + 1);
			pb_message(&e->sub, LOCATION_LINE, &e->subsub);
		}
		pb_message(&e->out, PROFILE_LOCATION, &e->sub);
	}
}

static void encode_functions(struct encoder *e)
{
	const struct profile *p = e->p;
	for (size_t i = 0; i < p->nfunctions; i++) {
		uint64_t name = strtab_add(&e->strs, p->functions[i].name);
		pb_field(&e->sub, FUNCTION_ID, i + 1);
		pb_field(&e->sub, FUNCTION_NAME, name);
		/* No mangled name is kept: the readable one stands for both. */
		pb_field(&e->sub, FUNCTION_SYSTEM_NAME, name);
		const char *file = p->functions[i].file;
		if (file && *file)
			pb_field(&e->sub, FUNCTION_FILENAME, strtab_add(&e->strs, file));
		pb_field(&e->sub, FUNCTION_START_LINE, p->functions[i].start_line);
		pb_message(&e->out, PROFILE_FUNCTION, &e->sub);
	}
}

/* The command line as one comment: argv is stored NUL-separated. */
static void encode_comment(struct encoder *e)
{
	const struct capture_text *c = &e->p->hdr.cmdline;
	if (!c->s || !c->len)
		return;
	char *s = xstrndup(c->s, c->len);
	size_t len = c->len;
	while (len && s[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0')
			s[i] = ' ';
	if (len)
		pb_field(&e->out, PROFILE_COMMENT, strtab_add_len(&e->strs, s, len));
	free(s);
}

/* A merged profile's inputs, as a second comment the reader knows. */
static void encode_merged_from(struct encoder *e)
{
	const char *from = e->p->merged_from;
	if (!from)
		return;
	size_t n = strlen(PPROF_MERGED_COMMENT) + strlen(from) + 1;
	char *s = xmalloc(n);
	snprintf(s, n, "%s%s", PPROF_MERGED_COMMENT, from);
	pb_field(&e->out, PROFILE_COMMENT, strtab_add(&e->strs, s));
	free(s);
}

static void encode_profile(struct encoder *e)
{
	const struct profile *p = e->p;

	bool heap = p->heap && p->heap_view;
	if (heap) {
		for (int k = 0; k < 4; k++)
			encode_value_type(e, PROFILE_SAMPLE_TYPE, heap_metric_pprof_name(heap_types[k]),
					  heap_metric_unit(heap_types[k]));
		encode_heap_samples(e);
	} else {
		struct export_value_type t[EXPORT_PPROF_MAX_TYPES];
		size_t n = export_pprof_types(p, t);
		for (size_t i = 0; i < n; i++)
			encode_value_type(e, PROFILE_SAMPLE_TYPE, t[i].type, t[i].unit);
		encode_samples(e, n == 1);
	}
	encode_mappings(e);
	encode_locations(e);
	encode_functions(e);

	uint64_t duration = p->duration_ns;
	if (!duration) /* killed before its END record: the last sample bounds it */
		duration = p->samples_end_ns;
	/* Exactly once: a second time_nanos reads as concatenated profiles. */
	pb_field_always(&e->out, PROFILE_TIME_NANOS, p->hdr.start_realtime_ns);
	pb_field(&e->out, PROFILE_DURATION_NANOS, duration);
	if (heap) {
		/* Go's convention: the mean bytes between samples (1: every one). */
		encode_value_type(e, PROFILE_PERIOD_TYPE, "space", "bytes");
		pb_field(&e->out, PROFILE_PERIOD, p->heap->sampled ? p->heap->sample_rate : 1);
		/* What pprof shows first: the metric asked for, else in-use space. */
		enum heap_metric def = HEAP_LEAK_BYTES;
		for (int k = 0; k < 4; k++)
			if (heap_types[k] == p->heap_metric)
				def = p->heap_metric;
		pb_field(&e->out, PROFILE_DEFAULT_SAMPLE_TYPE,
			 strtab_add(&e->strs, heap_metric_pprof_name(def)));
	} else if (!foreign_not_time(p)) {
		encode_value_type(e, PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
		pb_field(&e->out, PROFILE_PERIOD, e->period);
	}
	encode_comment(e);
	encode_merged_from(e);
}

/* --- gzip --- */

static int deflate_to(z_stream *zs, const void *data, size_t n, int flush, FILE *out,
		      char *err, size_t errlen)
{
	uint8_t buf[1 << 16];
	zs->next_in = (Bytef *)data;
	/* avail_in is 32 bits: feed large inputs in slices. */
	size_t left = n;
	for (;;) {
		size_t slice = left > (1u << 30) ? (1u << 30) : left;
		zs->avail_in = (uInt)slice;
		left -= slice;
		int f = left ? Z_NO_FLUSH : flush;
		int rc;
		do {
			zs->next_out = buf;
			zs->avail_out = sizeof(buf);
			rc = deflate(zs, f);
			/* Z_BUF_ERROR only means no progress was possible. */
			if (rc == Z_STREAM_ERROR) {
				snprintf(err, errlen, "cannot compress pprof output: zlib error %d%s%s",
					 rc, zs->msg ? ": " : "", zs->msg ? zs->msg : "");
				return -1;
			}
			size_t have = sizeof(buf) - zs->avail_out;
			if (have && fwrite(buf, 1, have, out) != have) {
				snprintf(err, errlen, "cannot write pprof output: %s",
					 errno ? strerror(errno) : "write error");
				return -1;
			}
		} while (zs->avail_out == 0);
		if (left)
			continue;
		if (f == Z_FINISH && rc != Z_STREAM_END) {
			snprintf(err, errlen, "cannot compress pprof output: zlib did not finish (%d)",
				 rc);
			return -1;
		}
		return 0;
	}
}

static int pprof_write(const struct profile *p, FILE *out, char *err, size_t errlen)
{
	struct encoder e = { .p = p };
	uint64_t hz = p->hdr.hz ? p->hdr.hz : DEFAULT_HZ;
	e.period = (1000000000ull + hz / 2) / hz;
	strtab_init(&e.strs);
	encode_profile(&e);

	int rc = -1;
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: a 32 KiB window with a gzip header and trailer, which is
	 * what pprof and every profile upload API expect. */
	int zrc = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			       Z_DEFAULT_STRATEGY);
	if (zrc != Z_OK) {
		snprintf(err, errlen, "cannot start gzip compression for pprof output: zlib error %d",
			 zrc);
		goto out;
	}
	errno = 0;
	/* Field order does not matter to readers; the string table goes
	 * last because only then is it complete. */
	if (deflate_to(&zs, e.out.d, e.out.len, Z_NO_FLUSH, out, err, errlen) < 0 ||
	    deflate_to(&zs, e.strs.enc.d, e.strs.enc.len, Z_FINISH, out, err, errlen) < 0) {
		deflateEnd(&zs);
		goto out;
	}
	deflateEnd(&zs);
	rc = 0;
out:
	free(e.out.d);
	free(e.sub.d);
	free(e.subsub.d);
	free(e.mapping_info);
	strtab_free(&e.strs);
	return rc;
}

const struct exporter export_pprof = {
	.name = "pprof",
	.extension = ".pb.gz",
	.description = "pprof protobuf, gzipped (go tool pprof, Pyroscope, Parca)",
	.binary = true,
	.write = pprof_write,
};
