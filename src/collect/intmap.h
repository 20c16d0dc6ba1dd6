/* A map of pids or tids (any integer key) to index + 1 into an array,
 * 0 meaning absent; a reused id points at the latest entry. Shared by the
 * collector's thread and process tables and the off-CPU tracker. */
#ifndef COLLECT_INTMAP_H
#define COLLECT_INTMAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../util/util.h"

struct intmap {
	int64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

static inline size_t intmap_slot(const struct intmap *m, int64_t key)
{
	size_t k = (size_t)XXH3_64bits(&key, sizeof(key)) & (m->cap - 1);
	while (m->vals[k] && m->keys[k] != key)
		k = (k + 1) & (m->cap - 1);
	return k;
}

static inline uint32_t intmap_get(const struct intmap *m, int64_t key)
{
	return m->cap ? m->vals[intmap_slot(m, key)] : 0;
}

static inline void intmap_put(struct intmap *m, int64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct intmap old = *m;
		m->cap = old.cap ? old.cap * 2 : 256;
		m->keys = xcalloc(m->cap, sizeof(*m->keys));
		m->vals = xcalloc(m->cap, sizeof(*m->vals));
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.vals[i]) {
				size_t k = intmap_slot(m, old.keys[i]);
				m->keys[k] = old.keys[i];
				m->vals[k] = old.vals[i];
				m->n++;
			}
		free(old.keys);
		free(old.vals);
	}
	size_t k = intmap_slot(m, key);
	if (!m->vals[k])
		m->n++;
	m->keys[k] = key;
	m->vals[k] = val;
}

static inline void intmap_free(struct intmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

#endif
