/* Labels (oneprof_label_push/pop): which unit of work a thread serves.
 *
 * A thread's labels are one id: a label set, interned process-wide as
 * (parent set, key, value). A push looks its set up or adds it, under a
 * lock (pushes are per request, not per sample); a pop goes back to the
 * parent. The signal handler and the heap hooks copy the thread's current
 * id into their records, one word, so labels cost nothing on the sampling
 * path. The writer defines each set in the capture (LABEL_SET) before the
 * first record that names it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../capture/format.h"
#include "../capture/writer.h"
#include "agent.h"
#include "oneprof.h"

#define LABEL_SETS_MAX 65536u
#define LABEL_TEXT_MAX 255 /* bytes kept of a key or a value */

static struct label_set {
	uint32_t parent;
	char *key, *value;
} *sets;
static _Atomic uint32_t nsets = 1; /* set 0: no labels */
static uint32_t *slots;             /* hash -> set id + 1, open addressing */
static pthread_mutex_t sets_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t sets_refused; /* pushes past LABEL_SETS_MAX */
static uint32_t sets_written = 1;     /* writer: sets defined in the capture */
static uint64_t refused_reported;

/* Pushes beyond the table's limit: popped without changing the set. */
static __thread unsigned overflow_depth __attribute__((tls_model("initial-exec")));

static uint64_t set_hash(uint32_t parent, const char *key, size_t klen, const char *value,
			 size_t vlen)
{
	uint64_t h = XXH3_64bits_withSeed(key, klen, parent);
	return XXH3_64bits_withSeed(value, vlen, h);
}

static char *copy(const char *s, size_t len)
{
	char *c = malloc(len + 1);
	if (c) {
		memcpy(c, s, len);
		c[len] = '\0';
	}
	return c;
}

/* The id of (parent, key, value), added when new; 0 when the table is
 * full or memory ran out. sets_lock held. */
static uint32_t set_get(uint32_t parent, const char *key, const char *value)
{
	size_t klen = strnlen(key, LABEL_TEXT_MAX), vlen = strnlen(value, LABEL_TEXT_MAX);
	uint32_t n = atomic_load_explicit(&nsets, memory_order_relaxed);
	if (!sets) {
		sets = calloc(LABEL_SETS_MAX, sizeof(*sets));
		slots = calloc(2 * LABEL_SETS_MAX, sizeof(*slots));
		if (!sets || !slots) {
			free(sets);
			free(slots);
			sets = NULL;
			slots = NULL;
			return 0;
		}
	}
	size_t mask = 2 * LABEL_SETS_MAX - 1;
	size_t i = (size_t)set_hash(parent, key, klen, value, vlen) & mask;
	for (; slots[i]; i = (i + 1) & mask) {
		const struct label_set *s = &sets[slots[i] - 1];
		if (s->parent == parent && strncmp(s->key, key, klen) == 0 && !s->key[klen] &&
		    strncmp(s->value, value, vlen) == 0 && !s->value[vlen])
			return slots[i] - 1;
	}
	if (n >= LABEL_SETS_MAX)
		return 0;
	struct label_set *s = &sets[n];
	s->parent = parent;
	s->key = copy(key, klen);
	s->value = copy(value, vlen);
	if (!s->key || !s->value) {
		free(s->key);
		free(s->value);
		return 0;
	}
	slots[i] = n + 1;
	/* Release: the writer reads the set once it sees the count. */
	atomic_store_explicit(&nsets, n + 1, memory_order_release);
	return n;
}

/* The calling thread, registered on its first label when it started
 * before the agent; NULL on the agent's own threads and when off. */
static struct agent_thread *self(void)
{
	if (agent_tls.heap_busy)
		return NULL; /* the agent's threads, or inside a hook */
	struct agent_thread *t = agent_tls.self;
	if (!t)
		t = threads_register_self();
	return t;
}

void oneprof_label_push(const char *key, const char *value)
{
	struct agent_thread *t = self();
	if (!t)
		return;
	if (overflow_depth) {
		overflow_depth++;
		atomic_fetch_add(&sets_refused, 1);
		return;
	}
	heap_busy_enter(); /* the table's allocations are the agent's */
	pthread_mutex_lock(&sets_lock);
	uint32_t cur = atomic_load_explicit(&t->labels, memory_order_relaxed);
	uint32_t id = set_get(cur, key ? key : "(null)", value ? value : "(null)");
	pthread_mutex_unlock(&sets_lock);
	heap_busy_leave();
	if (id)
		atomic_store_explicit(&t->labels, id, memory_order_relaxed);
	else {
		overflow_depth = 1;
		atomic_fetch_add(&sets_refused, 1);
	}
}

void oneprof_label_pop(void)
{
	struct agent_thread *t = agent_tls.heap_quick; /* NULL inside the agent */
	if (!t)
		return;
	if (overflow_depth) {
		overflow_depth--;
		return;
	}
	uint32_t cur = atomic_load_explicit(&t->labels, memory_order_relaxed);
	if (cur) /* a pop without a push is ignored */
		atomic_store_explicit(&t->labels, sets[cur].parent, memory_order_relaxed);
}

/* Writer: defines every set up to `id` not defined yet. */
void labels_define(uint32_t id)
{
	uint32_t n = atomic_load_explicit(&nsets, memory_order_acquire);
	if (id >= n)
		id = n - 1;
	struct capture_writer *cw = writer_capture();
	for (; sets_written <= id; sets_written++) {
		const struct label_set *s = &sets[sets_written];
		uint64_t f[4] = { sets_written, s->parent, writer_string_id(s->key),
				  writer_string_id(s->value) };
		capture_write_varints(cw, CAPTURE_REC_LABEL_SET, f, 4);
	}
	uint64_t refused = atomic_load(&sets_refused);
	if (refused > refused_reported) {
		writer_lost(CAPTURE_LOST_LABEL_SET, CAPTURE_LOST_TABLE_FULL, refused - refused_reported);
		refused_reported = refused;
	}
}

/* In a forked child followed into its own capture: every set must be
 * defined again there. */
void labels_forget(void)
{
	pthread_mutex_init(&sets_lock, NULL);
	sets_written = 1;
	refused_reported = atomic_load(&sets_refused);
}
