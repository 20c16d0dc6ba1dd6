/* Reads a pprof profile (perftools.profiles.Profile, gzipped or raw) into
 * the profile model, so profiles written by other tools report, diff and
 * export like captures. Field numbers: google/pprof proto/profile.proto.
 *
 * Decoded by hand like the encoder (src/export/pprof.c): the schema is
 * small and frozen. The input is untrusted: every length is checked
 * against what is left, every id reference is looked up, and the whole
 * decompressed message is bounded (PPROF_MAX_BYTES). */
#include "profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zlib.h>

#include "../capture/encoding.h"
#include "../util/util.h"

/* A profile larger than this once decompressed is refused rather than
 * read: it would not fit the model in memory anyway. */
#define PPROF_MAX_BYTES (1ull << 30)

/* Wire types. */
#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define WT_I32 5

/* Profile fields. */
#define P_SAMPLE_TYPE 1
#define P_SAMPLE 2
#define P_MAPPING 3
#define P_LOCATION 4
#define P_FUNCTION 5
#define P_STRING_TABLE 6
#define P_TIME_NANOS 9
#define P_DURATION_NANOS 10
#define P_PERIOD_TYPE 11
#define P_PERIOD 12
#define P_COMMENT 13
#define P_DEFAULT_SAMPLE_TYPE 14

/* One protobuf field: its number, wire type, and value (varint or the
 * bytes of a length-delimited field). */
struct field {
	unsigned num, wt;
	uint64_t v;
	struct cursor sub;
};

/* The next field of c; false at the end or on malformed bytes (then
 * c->bad). Fixed-width values are skipped, groups are refused. */
static bool next_field(struct cursor *c, struct field *f)
{
	if (c->bad || cursor_left(c) == 0)
		return false;
	uint64_t key = cursor_varint(c);
	f->num = (unsigned)(key >> 3);
	f->wt = (unsigned)(key & 7);
	f->v = 0;
	f->sub = cursor_make(c->p, 0); /* empty unless length-delimited */
	if (key >> 3 > UINT32_MAX)
		c->bad = true;
	switch (f->wt) {
	case WT_VARINT: f->v = cursor_varint(c); break;
	case WT_I64: cursor_skip(c, 8); break;
	case WT_I32: cursor_skip(c, 4); break;
	case WT_LEN: f->sub = cursor_sub(c, cursor_varint(c)); break;
	default: c->bad = true; break;
	}
	return !c->bad;
}

/* Calls each(value) for a repeated integer field, packed or not. */
#define FOR_EACH_INT(f, var, body)                                   \
	do {                                                         \
		if ((f)->wt == WT_VARINT) {                          \
			uint64_t var = (f)->v;                       \
			body;                                        \
		} else if ((f)->wt == WT_LEN) {                      \
			struct cursor pk_ = (f)->sub;                \
			while (cursor_left(&pk_)) {                  \
				uint64_t var = cursor_varint(&pk_); \
				if (pk_.bad)                         \
					break;                       \
				body;                                \
			}                                            \
			if (pk_.bad)                                 \
				r->bad = true;                       \
		}                                                    \
	} while (0)

struct id_index {
	uint64_t id;
	uint32_t index;
};

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = ((const struct id_index *)a)->id, y = ((const struct id_index *)b)->id;
	return (x > y) - (x < y);
}

/* Index of id in a sorted table, or -1. */
static long id_lookup(const struct id_index *t, size_t n, uint64_t id)
{
	struct id_index key = { id, 0 };
	const struct id_index *hit = id && n ? bsearch(&key, t, n, sizeof(*t), cmp_id) : NULL;
	return hit ? (long)hit->index : -1;
}

struct str {
	const char *s;
	size_t len;
};

struct pprof_reader {
	struct profile *p;
	struct cursor top;
	bool bad;
	const char *why; /* what was malformed */
	struct str *strs;
	size_t nstrs, cap_strs;
	struct id_index *mapping_ids, *function_ids, *location_ids;
	size_t nmapping_ids, nfunction_ids, nlocation_ids;
	size_t cap_mapping_ids, cap_function_ids, cap_location_ids;
	/* sample types, as string indexes */
	uint64_t *types, *units;
	size_t ntypes, cap_types, cap_units;
	uint64_t period_type, period_unit, period;
	uint64_t default_type;
	long value_index; /* the sample type reports show */
	long count_index; /* a samples/count type, or -1 */
	uint64_t ns_scale; /* value to ns; 0: not a time */
	uint64_t *thread_keys; /* per thread: the string index of its name label */
	uint64_t *thread_inputs; /* per thread: of its "input" label (merged profiles) */
	size_t cap_thread_keys, cap_thread_inputs;
	/* Label sets by (parent, key, value string indexes). */
	struct label_slot {
		uint64_t key, str;
		uint32_t parent, set; /* set 0: empty slot */
	} *label_slots;
	size_t label_cap;
};

static const char *str_at(struct pprof_reader *r, uint64_t i)
{
	if (i >= r->nstrs) {
		r->bad = true;
		r->why = "a string index past the string table";
		return "";
	}
	return profile_intern(r->p, r->strs[i].s, r->strs[i].len);
}

/* A string by index, "" when past the table (no error: for messages). */
static struct str str_or_empty(const struct pprof_reader *r, uint64_t i)
{
	return i < r->nstrs ? r->strs[i] : (struct str){ "", 0 };
}

static bool str_is(const struct pprof_reader *r, uint64_t i, const char *s)
{
	return i < r->nstrs && r->strs[i].len == strlen(s) && !memcmp(r->strs[i].s, s, r->strs[i].len);
}

/* The label set of `parent` plus key=str, added when new. */
static uint32_t label_set_get(struct pprof_reader *r, uint32_t parent, uint64_t key, uint64_t str)
{
	struct profile *p = r->p;
	if (!p->nlabel_sets) {
		GROW(p->label_sets, p->cap_label_sets, 1);
		p->label_sets[p->nlabel_sets++] = (struct profile_label_set){ 0, NULL, NULL };
	}
	if ((p->nlabel_sets + 1) * 2 > r->label_cap) {
		size_t cap = r->label_cap ? r->label_cap * 2 : 256;
		struct label_slot *slots = xcalloc(cap, sizeof(*slots));
		for (size_t i = 0; i < r->label_cap; i++) {
			if (!r->label_slots[i].set)
				continue;
			const struct label_slot *o = &r->label_slots[i];
			uint64_t k[3] = { o->parent, o->key, o->str };
			size_t j = (size_t)XXH3_64bits(k, sizeof(k)) & (cap - 1);
			while (slots[j].set)
				j = (j + 1) & (cap - 1);
			slots[j] = *o;
		}
		free(r->label_slots);
		r->label_slots = slots;
		r->label_cap = cap;
	}
	uint64_t k[3] = { parent, key, str };
	size_t j = (size_t)XXH3_64bits(k, sizeof(k)) & (r->label_cap - 1);
	for (; r->label_slots[j].set; j = (j + 1) & (r->label_cap - 1)) {
		const struct label_slot *o = &r->label_slots[j];
		if (o->parent == parent && o->key == key && o->str == str)
			return o->set;
	}
	GROW(p->label_sets, p->cap_label_sets, p->nlabel_sets + 1);
	p->label_sets[p->nlabel_sets] =
		(struct profile_label_set){ parent, str_at(r, key), str_at(r, str) };
	r->label_slots[j] = (struct label_slot){ key, str, parent, (uint32_t)p->nlabel_sets };
	return (uint32_t)p->nlabel_sets++;
}

static int cmp_label(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Nanoseconds per unit of a time unit string, 0 for anything else. */
static uint64_t unit_ns(const struct pprof_reader *r, uint64_t unit)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = { { "nanoseconds", 1 }, { "ns", 1 }, { "microseconds", 1000 },
		      { "us", 1000 }, { "milliseconds", 1000000 }, { "ms", 1000000 },
		      { "seconds", 1000000000 }, { "s", 1000000000 } };
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (str_is(r, unit, units[i].name))
			return units[i].ns;
	return 0;
}

/* Pass 1: the string table and the scalars everything else refers to. */
static void read_header(struct pprof_reader *r)
{
	struct cursor c = r->top;
	struct field f;
	while (next_field(&c, &f)) {
		if (f.num == P_STRING_TABLE && f.wt == WT_LEN) {
			GROW(r->strs, r->cap_strs, r->nstrs + 1);
			r->strs[r->nstrs++] = (struct str){ (const char *)f.sub.p, cursor_left(&f.sub) };
		} else if (f.num == P_SAMPLE_TYPE || f.num == P_PERIOD_TYPE) {
			uint64_t type = 0, unit = 0;
			struct field g;
			struct cursor s = f.sub;
			while (next_field(&s, &g))
				if (g.num == 1)
					type = g.v;
				else if (g.num == 2)
					unit = g.v;
			if (s.bad || f.wt != WT_LEN)
				r->bad = true;
			if (f.num == P_PERIOD_TYPE) {
				r->period_type = type;
				r->period_unit = unit;
			} else {
				GROW(r->types, r->cap_types, r->ntypes + 1);
				GROW(r->units, r->cap_units, r->ntypes + 1);
				r->types[r->ntypes] = type;
				r->units[r->ntypes++] = unit;
			}
		} else if (f.num == P_PERIOD) {
			r->period = f.v;
		} else if (f.num == P_TIME_NANOS) {
			r->p->hdr.start_realtime_ns = f.v;
		} else if (f.num == P_DURATION_NANOS) {
			r->p->duration_ns = f.v;
		} else if (f.num == P_DEFAULT_SAMPLE_TYPE) {
			r->default_type = f.v;
		} else if (f.num == 0 || f.num > P_DEFAULT_SAMPLE_TYPE) {
			/* Newer than profile.proto as we know it: ignored,
			 * counted for 'oneprof import'. */
			r->p->import.unknown_fields++;
		}
	}
	if (c.bad) {
		r->bad = true;
		r->why = "a field runs past the end of the message";
	}
	if (r->nstrs == 0 || r->strs[0].len != 0) {
		r->bad = true;
		r->why = "the string table does not start with the empty string";
	}
}

static void add_id(struct id_index **t, size_t *n, size_t *cap, uint64_t id, size_t index)
{
	GROW(*t, *cap, *n + 1);
	(*t)[(*n)++] = (struct id_index){ id, (uint32_t)index };
}

static void sort_ids(struct pprof_reader *r, struct id_index *t, size_t n, const char *what)
{
	if (n == 0)
		return; /* t may be NULL: qsort must not see it */
	qsort(t, n, sizeof(*t), cmp_id);
	for (size_t i = 1; i < n; i++)
		if (t[i].id == t[i - 1].id) {
			r->bad = true;
			r->why = what;
		}
}

/* Pass 2: mappings and functions (locations refer to both). */
static void read_mappings_functions(struct pprof_reader *r)
{
	struct profile *p = r->p;
	struct cursor c = r->top;
	struct field f, g;
	while (next_field(&c, &f) && !r->bad) {
		if (f.wt != WT_LEN || (f.num != P_MAPPING && f.num != P_FUNCTION))
			continue;
		struct cursor s = f.sub;
		if (f.num == P_MAPPING) {
			struct profile_mapping m = { .path = "" };
			uint64_t id = 0;
			while (next_field(&s, &g)) {
				switch (g.num) {
				case 1: id = g.v; break;
				case 2: m.start = g.v; break;
				case 3: m.end = g.v; break;
				case 4: m.offset = g.v; break;
				case 5: m.path = str_at(r, g.v); break;
				case 6: {
					const char *bid = str_at(r, g.v);
					/* Build ids are hex text in pprof, bytes in the model. */
					size_t len = strlen(bid);
					for (size_t i = 0; i + 1 < len &&
							   m.build_id_len < sizeof(m.build_id); i += 2) {
						unsigned byte;
						if (sscanf(bid + i, "%2x", &byte) != 1)
							break;
						m.build_id[m.build_id_len++] = (uint8_t)byte;
					}
					break;
				}
				}
			}
			if (m.end < m.start)
				m.end = m.start;
			add_id(&r->mapping_ids, &r->nmapping_ids, &r->cap_mapping_ids, id, p->nmappings);
			GROW(p->mappings, p->cap_mappings, p->nmappings + 1);
			p->mappings[p->nmappings++] = m;
		} else {
			struct profile_function fn = { "", "", "", 0 };
			uint64_t id = 0;
			while (next_field(&s, &g)) {
				switch (g.num) {
				case 1: id = g.v; break;
				case 2: fn.name = str_at(r, g.v); break;
				case 4: fn.file = str_at(r, g.v); break;
				case 5: fn.start_line = g.v > UINT32_MAX ? 0 : (uint32_t)g.v; break;
				}
			}
			add_id(&r->function_ids, &r->nfunction_ids, &r->cap_function_ids, id,
			       p->nfunctions);
			GROW(p->functions, p->cap_functions, p->nfunctions + 1);
			p->functions[p->nfunctions++] = fn;
		}
		if (s.bad) {
			r->bad = true;
			r->why = "a malformed mapping or function";
		}
	}
	sort_ids(r, r->mapping_ids, r->nmapping_ids, "two mappings with one id");
	sort_ids(r, r->function_ids, r->nfunction_ids, "two functions with one id");
}

/* A function for a location without lines: its address in its module. */
static uint32_t address_function(struct pprof_reader *r, int32_t mapping, uint64_t addr)
{
	struct profile *p = r->p;
	char name[512];
	if (mapping >= 0) {
		const struct profile_mapping *m = &p->mappings[mapping];
		const char *base = path_basename(m->path);
		snprintf(name, sizeof(name), "%s+0x%" PRIx64, *base ? base : "[anon]",
			 addr - m->start + m->offset);
	} else {
		snprintf(name, sizeof(name), "0x%" PRIx64, addr);
	}
	GROW(p->functions, p->cap_functions, p->nfunctions + 1);
	p->functions[p->nfunctions] =
		(struct profile_function){ profile_intern(p, name, strlen(name)), "", "", 0 };
	return (uint32_t)p->nfunctions++;
}

/* Pass 3: locations and their line (inline) entries. */
static void read_locations(struct pprof_reader *r)
{
	struct profile *p = r->p;
	struct cursor c = r->top;
	struct field f, g, h;
	size_t *first = NULL, cap_first = 0;
	while (next_field(&c, &f) && !r->bad) {
		if (f.num != P_LOCATION || f.wt != WT_LEN)
			continue;
		struct cursor s = f.sub;
		uint64_t id = 0, addr = 0;
		int32_t mapping = -1;
		size_t line0 = p->nlines;
		while (next_field(&s, &g) && !r->bad) {
			if (g.num == 1) {
				id = g.v;
			} else if (g.num == 2) {
				long m = id_lookup(r->mapping_ids, r->nmapping_ids, g.v);
				if (g.v && m < 0) {
					r->bad = true;
					r->why = "a location refers to a mapping id that is not defined";
				}
				mapping = (int32_t)m;
			} else if (g.num == 3) {
				addr = g.v;
			} else if (g.num == 4 && g.wt == WT_LEN) {
				struct profile_line line = { UINT32_MAX, 0 };
				struct cursor ls = g.sub;
				while (next_field(&ls, &h)) {
					if (h.num == 1) {
						long fn = id_lookup(r->function_ids, r->nfunction_ids, h.v);
						if (fn < 0) {
							r->bad = true;
							r->why = "a line refers to a function id that is not defined";
						}
						line.function = (uint32_t)fn;
					} else if (h.num == 2) {
						line.line = h.v > UINT32_MAX ? 0 : (uint32_t)h.v;
					}
				}
				if (ls.bad || line.function == UINT32_MAX) {
					r->bad = true;
					r->why = "a malformed line entry";
					break;
				}
				GROW(p->lines, p->cap_lines, p->nlines + 1);
				p->lines[p->nlines++] = line;
			}
		}
		if (s.bad) {
			r->bad = true;
			r->why = "a malformed location";
		}
		if (r->bad)
			break;
		/* pprof's lines run innermost first, the caller last: the
		 * model's order. */
		struct profile_location l = { .address = addr, .mapping = mapping };
		l.nlines = (uint32_t)(p->nlines - line0);
		/* pprof has no module per function: the mapping's file names
		 * it, as a capture's symbolizer would have, so a function reads
		 * the same from a capture and from its pprof. */
		const char *module = mapping >= 0 ? path_basename(p->mappings[mapping].path) : "";
		if (*module) {
			module = profile_intern(p, module, strlen(module));
			for (size_t k = line0; k < p->nlines; k++)
				if (!*p->functions[p->lines[k].function].module)
					p->functions[p->lines[k].function].module = module;
		}
		l.function = l.nlines ? p->lines[p->nlines - 1].function
				      : address_function(r, mapping, addr);
		GROW(first, cap_first, p->nlocations + 1);
		first[p->nlocations] = line0;
		add_id(&r->location_ids, &r->nlocation_ids, &r->cap_location_ids, id, p->nlocations);
		GROW(p->locations, p->cap_locations, p->nlocations + 1);
		p->locations[p->nlocations++] = l;
	}
	/* p->lines has stopped moving: point each location at its chain. */
	for (size_t i = 0; i < p->nlocations; i++)
		p->locations[i].lines = p->locations[i].nlines ? &p->lines[first[i]] : NULL;
	free(first);
	sort_ids(r, r->location_ids, r->nlocation_ids, "two locations with one id");
}

/* The thread a sample's labels name (one thread for unlabelled samples). */
static uint32_t sample_thread(struct pprof_reader *r, uint64_t name_key, uint64_t tid,
			      uint64_t input)
{
	struct profile *p = r->p;
	/* Threads of different inputs of a merged profile stay apart even
	 * where their names and tids agree. */
	for (size_t i = p->nthreads; i-- > 0;)
		if (r->thread_keys[i] == name_key && p->threads[i].tid == tid &&
		    r->thread_inputs[i] == input)
			return (uint32_t)i;
	GROW(p->threads, p->cap_threads, p->nthreads + 1);
	GROW(r->thread_keys, r->cap_thread_keys, p->nthreads + 1);
	GROW(r->thread_inputs, r->cap_thread_inputs, p->nthreads + 1);
	r->thread_inputs[p->nthreads] = input;
	struct profile_thread *t = &p->threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->name = name_key ? str_at(r, name_key) : "all";
	r->thread_keys[p->nthreads] = name_key;
	return (uint32_t)p->nthreads++;
}

/* Pass 4: samples, one stack each. */
static void read_samples(struct pprof_reader *r)
{
	struct profile *p = r->p;
	struct cursor c = r->top;
	struct field f, g, h;
	uint64_t *locs = NULL;
	size_t nlocs, cap_locs = 0;
	uint64_t (*labels)[2] = NULL; /* string labels: key, value */
	size_t nlabels, cap_labels = 0;
	while (next_field(&c, &f) && !r->bad) {
		if (f.num != P_SAMPLE || f.wt != WT_LEN)
			continue;
		struct cursor s = f.sub;
		uint64_t value = 0, count = 0, name_key = 0, tid = 0, input = 0;
		long nvalues = 0;
		nlocs = nlabels = 0;
		while (next_field(&s, &g) && !r->bad) {
			if (g.num == 1) {
				FOR_EACH_INT(&g, id, {
					long loc = id_lookup(r->location_ids, r->nlocation_ids, id);
					if (loc < 0) {
						r->bad = true;
						r->why = "a sample refers to a location id that is not defined";
						break;
					}
					GROW(locs, cap_locs, nlocs + 1);
					locs[nlocs++] = (uint64_t)loc;
				});
			} else if (g.num == 2) {
				FOR_EACH_INT(&g, v, {
					/* Negative values (diff profiles) count as none. */
					uint64_t u = (int64_t)v < 0 ? 0 : v;
					if (nvalues == r->value_index)
						value = u;
					if (nvalues == r->count_index)
						count = u;
					nvalues++;
				});
			} else if (g.num == 3 && g.wt == WT_LEN) {
				uint64_t key = 0, str = 0, num = 0;
				struct cursor ls = g.sub;
				while (next_field(&ls, &h))
					if (h.num == 1)
						key = h.v;
					else if (h.num == 2)
						str = h.v;
					else if (h.num == 3)
						num = h.v;
				if (str_is(r, key, "thread") || str_is(r, key, "thread_name"))
					name_key = str;
				else if (str_is(r, key, "tid") || str_is(r, key, "thread_id"))
					tid = num;
				else if (key && str && key < r->nstrs && str < r->nstrs) {
					/* Other string labels become the sample's label
					 * set (--tag-focus); numeric ones are not kept. */
					if (str_is(r, key, "input"))
						input = str;
					GROW(labels, cap_labels, nlabels + 1);
					labels[nlabels][0] = key;
					labels[nlabels++][1] = str;
				}
			}
		}
		if (s.bad || (!r->bad && (size_t)nvalues != r->ntypes)) {
			r->bad = true;
			r->why = "a sample whose values do not match the sample types";
		}
		if (r->bad)
			break;
		p->import.records++;
		if (value == 0) {
			p->import.zero++;
			continue; /* adds nothing to the type shown */
		}
		struct profile_stack st = { .n = (uint32_t)nlocs,
					    .end_reason = CAPTURE_STACK_COMPLETE };
		st.pcs = profile_alloc(p, nlocs * sizeof(uint64_t));
		st.locations = profile_alloc(p, nlocs * sizeof(uint32_t));
		for (size_t i = 0; i < nlocs; i++) {
			st.pcs[i] = p->locations[locs[i]].address;
			st.locations[i] = (uint32_t)locs[i];
		}
		GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
		p->stacks[p->nstacks++] = st;

		struct profile_sample sm = { 0 };
		sm.stack = (uint32_t)(p->nstacks - 1);
		sm.thread = sample_thread(r, name_key, tid, input);
		/* One order for every sample, so equal sets are one set. */
		if (nlabels)
			qsort(labels, nlabels, sizeof(*labels), cmp_label);
		for (size_t i = 0; i < nlabels; i++)
			sm.labels = label_set_get(r, sm.labels, labels[i][0], labels[i][1]);
		sm.count = r->count_index >= 0 ? count : value;
		/* The model adds up time: a time value is converted, a
		 * count becomes count x period when the period is a time,
		 * anything else (bytes, objects) is carried as is. */
		sm.cpu_ns = r->ns_scale ? value * r->ns_scale : value;
		struct profile_thread *t = &p->threads[sm.thread];
		t->samples += sm.count;
		t->sampled_cpu_ns += sm.cpu_ns;
		p->total_count += sm.count;
		p->total_cpu_ns += sm.cpu_ns;
		p->stack_ends[CAPTURE_STACK_COMPLETE] += sm.count;
		GROW(p->samples, p->cap_samples, p->nsamples + 1);
		p->samples[p->nsamples++] = sm;
	}
	free(locs);
	free(labels);
	if (c.bad && !r->bad) {
		r->bad = true;
		r->why = "a field runs past the end of the message";
	}
}

/* Picks the sample type to show: by name, by number, else the default
 * type the profile names, else the last (pprof's rule). */
static bool pick_type(struct pprof_reader *r, const char *want, char *err, size_t errlen)
{
	if (r->ntypes == 0) {
		snprintf(err, errlen, "no sample types");
		return false;
	}
	r->value_index = (long)r->ntypes - 1;
	if (want && *want) {
		r->value_index = -1;
		for (size_t i = 0; i < r->ntypes; i++)
			if (str_is(r, r->types[i], want))
				r->value_index = (long)i;
		char *end;
		unsigned long n = strtoul(want, &end, 10);
		if (r->value_index < 0 && *want >= '0' && *want <= '9' && !*end && n < r->ntypes)
			r->value_index = (long)n;
		if (r->value_index < 0) {
			int off = snprintf(err, errlen, "no sample type '%s'; it has", want);
			for (size_t i = 0; i < r->ntypes && off > 0 && (size_t)off < errlen; i++)
				off += snprintf(err + off, errlen - (size_t)off, "%s '%s'",
						i ? "," : "", str_at(r, r->types[i]));
			return false;
		}
	} else if (r->default_type) {
		for (size_t i = 0; i < r->ntypes; i++)
			if (r->types[i] == r->default_type)
				r->value_index = (long)i;
	}
	r->count_index = -1;
	for (size_t i = 0; i < r->ntypes; i++)
		if (str_is(r, r->units[i], "count") &&
		    (str_is(r, r->types[i], "samples") || r->ntypes == 1))
			r->count_index = (long)i;
	uint64_t unit = r->units[r->value_index];
	r->ns_scale = unit_ns(r, unit);
	if (!r->ns_scale && str_is(r, unit, "count") && r->period)
		r->ns_scale = r->period * unit_ns(r, r->period_unit);
	return true;
}

bool profile_is_pprof(const uint8_t *data, size_t len)
{
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		return true;
	/* A raw Profile starts with a sample_type (field 1, length-
	 * delimited) whose first field is its type (field 1, varint). */
	return len >= 3 && data[0] == 0x0a && data[1] < 0x80 && data[2] == 0x08;
}

/* Gunzips data into a new buffer; NULL and a message when it is not
 * gzip or is over the bound. */
static uint8_t *gunzip(const uint8_t *data, size_t len, size_t *out_len, char *err, size_t errlen)
{
	z_stream z = { 0 };
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		snprintf(err, errlen, "cannot start zlib");
		return NULL;
	}
	size_t cap = len * 4 + 1024, n = 0;
	uint8_t *out = xmalloc(cap);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	int rc = Z_OK;
	while (rc == Z_OK) {
		if (n == cap) {
			if (cap >= PPROF_MAX_BYTES) {
				snprintf(err, errlen, "over %llu MiB once decompressed",
					 PPROF_MAX_BYTES >> 20);
				goto fail;
			}
			cap = cap * 2 > PPROF_MAX_BYTES ? PPROF_MAX_BYTES : cap * 2;
			out = xrealloc(out, cap);
		}
		z.next_out = out + n;
		z.avail_out = (uInt)(cap - n > UINT32_MAX ? UINT32_MAX : cap - n);
		uInt before = z.avail_out;
		rc = inflate(&z, Z_NO_FLUSH);
		n += before - z.avail_out;
	}
	if (rc != Z_STREAM_END) {
		snprintf(err, errlen, "bad gzip data (%s)", z.msg ? z.msg : "truncated");
		goto fail;
	}
	inflateEnd(&z);
	*out_len = n;
	return out;
fail:
	inflateEnd(&z);
	free(out);
	return NULL;
}

struct profile *profile_read_pprof(const uint8_t *data, size_t len, const char *name,
				   const char *sample_index, char *err, size_t errlen)
{
	char why[256] = "";
	uint8_t *raw = NULL;
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		raw = gunzip(data, len, &len, why, sizeof(why));
		if (!raw) {
			snprintf(err, errlen,
				 "cannot read pprof profile '%s': %s; is the file complete?", name, why);
			return NULL;
		}
		data = raw;
	}
	struct profile *p = xcalloc(1, sizeof(*p));
	p->intern = intern_new();
	p->name = profile_intern(p, name, strlen(name));
	struct pprof_reader r = { .p = p, .top = cursor_make(data, len) };

	read_header(&r);
	bool ok = !r.bad && pick_type(&r, sample_index, why, sizeof(why));
	if (!r.bad && ok) {
		read_mappings_functions(&r);
		if (!r.bad)
			read_locations(&r);
		if (!r.bad)
			read_samples(&r);
	}
	if (r.bad || !ok) {
		if (!ok && !r.bad)
			snprintf(err, errlen,
				 "cannot read pprof profile '%s': %s; choose one with --sample-index",
				 name, why);
		else
			snprintf(err, errlen,
				 "cannot read pprof profile '%s': %s; is it a perftools.profiles."
				 "Profile written by pprof or a compatible tool?",
				 name, r.why ? r.why : "malformed protobuf");
		profile_free(p);
		p = NULL;
	} else {
		/* The header a capture would have: a comment (pprof's own
		 * exporter writes the command line there) and the rate. */
		struct capture_header h = { 0 };
		h.producer = (struct capture_text){ (char *)"pprof", 5 };
		h.sampler = (struct capture_text){ (char *)"pprof import", 12 };
		h.start_realtime_ns = p->hdr.start_realtime_ns;
		struct cursor c = r.top;
		struct field f;
		const size_t mlen = strlen(PPROF_MERGED_COMMENT);
		while (next_field(&c, &f)) {
			if (f.num != P_COMMENT)
				continue;
			/* Repeated int64: packed by most encoders, or not. */
			struct cursor pk = f.wt == WT_LEN ? f.sub : (struct cursor){ NULL, NULL, false };
			for (bool one = f.wt == WT_VARINT; one || cursor_left(&pk); one = false) {
				uint64_t v = one ? f.v : cursor_varint(&pk);
				if (pk.bad)
					break;
				if (!v || v >= r.nstrs)
					continue;
				const struct str *cs = &r.strs[v];
				if (cs->len >= mlen && !memcmp(cs->s, PPROF_MERGED_COMMENT, mlen))
					p->merged_from = profile_intern(p, cs->s + mlen, cs->len - mlen);
				else if (!h.cmdline.s)
					h.cmdline = (struct capture_text){ (char *)cs->s, cs->len };
			}
		}
		if (p->nmappings && *p->mappings[0].path)
			h.exe = (struct capture_text){ (char *)p->mappings[0].path,
						       strlen(p->mappings[0].path) };
		uint64_t pns = r.period * unit_ns(&r, r.period_unit);
		h.hz = pns && pns <= 1000000000ull ? (1000000000ull + pns / 2) / pns : 0;
		capture_header_copy(&p->hdr, &h);
		p->has_end = true;
		p->status = CAPTURE_READ_END;
		p->good_bytes = len;
		p->pprof = true;
		p->pprof_type = str_at(&r, r.types[r.value_index]);
		p->pprof_unit = str_at(&r, r.units[r.value_index]);
		p->unit = p->pprof_unit;
		p->import.format = "pprof";
		p->import.has_count = r.count_index >= 0;
		/* Every type of the file, for the import summary: the model
		 * holds the one shown. */
		size_t tl = 1;
		for (size_t i = 0; i < r.ntypes; i++)
			tl += str_or_empty(&r, r.types[i]).len + str_or_empty(&r, r.units[i]).len + 3;
		char *types = xmalloc(tl), *o = types;
		for (size_t i = 0; i < r.ntypes; i++) {
			struct str t = str_or_empty(&r, r.types[i]), u = str_or_empty(&r, r.units[i]);
			o += sprintf(o, "%s%.*s/%.*s", i ? ", " : "", (int)t.len, t.s, (int)u.len, u.s);
		}
		*o = '\0';
		p->import.input_types = profile_intern(p, types, (size_t)(o - types));
		free(types);
	}
	free(r.strs);
	free(r.mapping_ids);
	free(r.function_ids);
	free(r.location_ids);
	free(r.types);
	free(r.units);
	free(r.thread_keys);
	free(r.thread_inputs);
	free(r.label_slots);
	free(raw);
	return p;
}
