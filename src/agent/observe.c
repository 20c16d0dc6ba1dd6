/* Observers (oneprof_observe): callbacks the writer thread runs for the
 * events it writes out. Adding and removing take a lock, from any thread;
 * the writer copies the list under that lock and calls the copy without
 * it, so a callback may add or remove observers itself. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "agent.h"
#include "oneprof.h"

#define OBSERVERS_MAX 16
#define EVENT_KINDS 4 /* enum oneprof_event_kind is 1..3 */

static struct observer {
	int kind;
	oneprof_observer fn;
	void *user;
} observers[OBSERVERS_MAX];
static unsigned nobservers;
static pthread_mutex_t observers_lock = PTHREAD_MUTEX_INITIALIZER;
/* Observers per kind: the writer's test before it builds an event, and
 * the heap hooks' before they keep an allocation's fields for it. */
_Atomic unsigned observe_count[EVENT_KINDS];
_Static_assert(ONEPROF_EVENT_ALLOC == 3, "observe_allocs_wanted() reads observe_count[3]");

static bool kind_ok(int kind)
{
	return kind >= ONEPROF_EVENT_SPAN_END && kind <= ONEPROF_EVENT_ALLOC;
}

int oneprof_observe(int kind, oneprof_observer fn, void *user)
{
	if (!kind_ok(kind) || !fn)
		return -EINVAL;
	int rc = -ENOSPC;
	pthread_mutex_lock(&observers_lock);
	if (nobservers < OBSERVERS_MAX) {
		observers[nobservers++] = (struct observer){ kind, fn, user };
		atomic_fetch_add(&observe_count[kind], 1);
		rc = 0;
	}
	pthread_mutex_unlock(&observers_lock);
	return rc;
}

int oneprof_unobserve(int kind, oneprof_observer fn, void *user)
{
	if (!kind_ok(kind) || !fn)
		return -EINVAL;
	int rc = -ENOENT;
	pthread_mutex_lock(&observers_lock);
	for (unsigned i = 0; i < nobservers; i++) {
		struct observer *o = &observers[i];
		if (o->kind == kind && o->fn == fn && o->user == user) {
			*o = observers[--nobservers];
			atomic_fetch_sub(&observe_count[kind], 1);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&observers_lock);
	return rc;
}

bool observe_wanted(int kind)
{
	return kind_ok(kind) && atomic_load_explicit(&observe_count[kind], memory_order_relaxed) != 0;
}

void observe_emit(const struct oneprof_event *ev)
{
	struct observer copy[OBSERVERS_MAX];
	unsigned n = 0;
	pthread_mutex_lock(&observers_lock);
	for (unsigned i = 0; i < nobservers; i++)
		if (observers[i].kind == ev->kind)
			copy[n++] = observers[i];
	pthread_mutex_unlock(&observers_lock);
	for (unsigned i = 0; i < n; i++)
		copy[i].fn(ev, copy[i].user);
}
