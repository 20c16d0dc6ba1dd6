/* Counters (oneprof_counter_add/set): process-wide named values the
 * writer records as time series, once per drain and at the end.
 *
 * A counter is found by its name's content, so two copies of one name
 * are one counter. The table never moves or shrinks: lookups take no
 * lock (a slot's hash is published after its name), only adding a name
 * does. Updates are one atomic add or store. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../capture/encoding.h"
#include "../capture/format.h"
#include "../capture/writer.h"
#include "agent.h"
#include "oneprof.h"

#define COUNTERS_MAX 1024 /* slots; at most half are used */
#define COUNTER_NAME_MAX 255

static struct counter {
	_Atomic uint64_t hash; /* 0: free */
	char *name;
	_Atomic int64_t value;
	_Atomic uint64_t updates; /* bumped by every call */
	_Atomic bool level;       /* last call was a set */
	uint64_t written;         /* writer: updates when last written */
	uint64_t name_id;         /* writer: string id in the capture */
} counters[COUNTERS_MAX];
/* The used slots in the order names were added, so the writer's drain
 * visits only those: published entry before count. */
static struct counter *used[COUNTERS_MAX / 2];
static _Atomic unsigned nused;
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t counters_refused;
static uint64_t refused_reported;

/* The slot holding the name (hash h), or the free slot where it would
 * go: at most half the slots are used, so there always is one. */
static struct counter *probe(uint64_t h, const char *name, size_t len)
{
	for (size_t i = (size_t)h & (COUNTERS_MAX - 1);; i = (i + 1) & (COUNTERS_MAX - 1)) {
		struct counter *c = &counters[i];
		uint64_t sh = atomic_load_explicit(&c->hash, memory_order_acquire);
		if (!sh || (sh == h && strncmp(c->name, name, len) == 0 && !c->name[len]))
			return c;
	}
}

static struct counter *find(const char *name)
{
	if (agent_tls.heap_busy ||
	    atomic_load_explicit(&agent.state, memory_order_relaxed) != AGENT_RUNNING)
		return NULL;
	if (!name)
		name = "(null)";
	size_t len = strnlen(name, COUNTER_NAME_MAX);
	uint64_t h = XXH3_64bits(name, len) | 1;
	struct counter *c = probe(h, name, len);
	if (atomic_load_explicit(&c->hash, memory_order_relaxed))
		return c;
	/* New: add it under the lock, looking again (another thread may
	 * have added it meanwhile). */
	heap_busy_enter();
	pthread_mutex_lock(&counters_lock);
	c = probe(h, name, len);
	if (!atomic_load_explicit(&c->hash, memory_order_relaxed)) {
		unsigned n = atomic_load_explicit(&nused, memory_order_relaxed);
		char *copy = n < COUNTERS_MAX / 2 ? malloc(len + 1) : NULL;
		if (copy) {
			memcpy(copy, name, len);
			copy[len] = '\0';
			c->name = copy;
			atomic_store_explicit(&c->hash, h, memory_order_release);
			used[n] = c;
			atomic_store_explicit(&nused, n + 1, memory_order_release);
		} else {
			c = NULL;
		}
	}
	pthread_mutex_unlock(&counters_lock);
	heap_busy_leave();
	if (!c)
		atomic_fetch_add(&counters_refused, 1);
	return c;
}

void oneprof_counter_add(const char *name, long long delta)
{
	struct counter *c = find(name);
	if (!c)
		return;
	atomic_fetch_add_explicit(&c->value, delta, memory_order_relaxed);
	atomic_store_explicit(&c->level, false, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->updates, 1, memory_order_release);
}

void oneprof_counter_set(const char *name, long long value)
{
	struct counter *c = find(name);
	if (!c)
		return;
	atomic_store_explicit(&c->value, value, memory_order_relaxed);
	atomic_store_explicit(&c->level, true, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->updates, 1, memory_order_release);
}

/* Writer: a COUNTER record for each counter that changed since the last
 * call, at `time` (ns since the capture start). */
void counters_write(uint64_t time)
{
	struct capture_writer *cw = writer_capture();
	unsigned n = atomic_load_explicit(&nused, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		struct counter *c = used[i];
		uint64_t updates = atomic_load_explicit(&c->updates, memory_order_acquire);
		if (updates == c->written)
			continue;
		if (!c->name_id)
			c->name_id = writer_string_id(c->name);
		int64_t v = atomic_load_explicit(&c->value, memory_order_relaxed);
		bool level = atomic_load_explicit(&c->level, memory_order_relaxed);
		uint64_t f[4] = { time, c->name_id, zigzag_encode(v), level };
		capture_write_varints(cw, CAPTURE_REC_COUNTER, f, 4);
		c->written = updates;
	}
	uint64_t refused = atomic_load(&counters_refused);
	if (refused > refused_reported) {
		writer_lost(CAPTURE_LOST_COUNTER, CAPTURE_LOST_TABLE_FULL, refused - refused_reported);
		refused_reported = refused;
	}
}

void counters_each(void (*fn)(const char *name, int64_t value, void *arg), void *arg)
{
	unsigned n = atomic_load_explicit(&nused, memory_order_acquire);
	for (unsigned i = 0; i < n; i++)
		fn(used[i]->name, atomic_load_explicit(&used[i]->value, memory_order_relaxed), arg);
}

/* In a followed fork child: names are defined again in its capture, and
 * every counter's value is written there once. */
void counters_forget(void)
{
	pthread_mutex_init(&counters_lock, NULL);
	unsigned n = atomic_load_explicit(&nused, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		used[i]->name_id = 0;
		used[i]->written = 0;
	}
	refused_reported = atomic_load(&counters_refused);
}
