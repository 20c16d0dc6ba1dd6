/* Thread registry: every thread of the process gets a ring and a CPU-time
 * timer. The main thread registers at start; later threads register from
 * an interposed pthread_create before their start routine runs, and a
 * thread-specific-data destructor unregisters them at exit (normal return
 * or pthread_exit alike). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../unwind/unwind.h"
#include "agent.h"

static pthread_key_t exit_key;

static void thread_exit(void *arg)
{
	struct agent_thread *t = arg;
	/* Stop the timer first, then detach the ring from the handler; the
	 * writer frees both after draining. */
	sampler_thread_stop(t);
	agent_set_self(NULL);
	spans_thread_exit();
	atomic_signal_fence(memory_order_seq_cst);
	/* A name set by prctl(PR_SET_NAME), which we do not interpose. */
	char name[sizeof(t->name)] = "";
	prctl(PR_GET_NAME, name, 0, 0, 0);
	/* The heap totals leave the TLS block, which goes with the thread.
	 * (Not locked in a forked child that is not followed: the lock may
	 * have been held at the fork, and no writer reads there.) */
	bool locked = getpid() == agent.pid;
	if (locked)
		pthread_mutex_lock(&agent.threads_lock);
	t->heap_final = agent_tls.heap;
	t->tls = NULL;
	if (strcmp(name, t->name) != 0) {
		memcpy(t->name, name, sizeof(name));
		atomic_store(&t->name_dirty, true);
	}
	if (locked)
		pthread_mutex_unlock(&agent.threads_lock);
	t->end_ns = agent_now_ns() - agent.start_ns;
	t->cpu_ns = thread_cpu_ns();
	atomic_store_explicit(&t->exited, true, memory_order_release);
}

void threads_init(void)
{
	pthread_key_create(&exit_key, thread_exit);
}

static struct ring *ring_new(uint64_t bytes, size_t extra)
{
	void *mem = mmap(NULL, sizeof(struct ring) + bytes + extra, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	struct ring *r = mem;
	r->words = bytes / sizeof(uint64_t);
	return r;
}

static struct stream_ring *stream_ring_new(uint64_t size)
{
	void *mem = mmap(NULL, stream_ring_bytes(size), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	struct stream_ring *r = mem;
	r->size = size;
	return r;
}

/* Side records are rare (a stack's first event, a new label set): a
 * quarter of the stream ring's room, at least 16 KiB (the setting's least
 * is 64 KiB), holds many of the longest. */
#define HEAP_SIDE_BYTES (agent.cfg.heap_ring_bytes / 4)

#define HEAP_SEEN_BYTES \
	(HEAP_SEEN * sizeof(uint64_t) + HEAP_STACK_CACHE_BYTES + UNWIND_ROW_CACHE_BYTES)

void threads_free(struct agent_thread *t)
{
	if (t->ring)
		munmap(t->ring, sizeof(struct ring) + agent.cfg.ring_bytes);
	if (t->heap_ring)
		munmap(t->heap_ring, sizeof(struct ring) + HEAP_SIDE_BYTES + HEAP_SEEN_BYTES);
	if (t->heap_stream)
		munmap(t->heap_stream, stream_ring_bytes(agent.cfg.heap_ring_bytes));
	spans_thread_free(t);
	free(t);
}

static struct agent_thread *register_self(void)
{
	struct agent_thread *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ring = ring_new(agent.cfg.ring_bytes, 0);
	if (t->ring && agent.cfg.heap) {
		t->heap_stream = stream_ring_new(agent.cfg.heap_ring_bytes);
		/* The cache of stacks sent lives after the side ring's data. */
		t->heap_ring = ring_new(HEAP_SIDE_BYTES, HEAP_SEEN_BYTES);
		if (t->heap_ring)
			t->heap_seen = (uint64_t *)((char *)t->heap_ring + sizeof(struct ring) +
						    HEAP_SIDE_BYTES);
	}
	if (!t->ring || (agent.cfg.heap && (!t->heap_ring || !t->heap_stream))) {
		threads_free(t);
		return NULL;
	}
	t->tid = (pid_t)syscall(SYS_gettid);
	t->self = pthread_self();
	t->start_ns = agent_now_ns() - agent.start_ns;
	t->last_cpu_ns = thread_cpu_ns();
	prctl(PR_GET_NAME, t->name, 0, 0, 0);
	t->tls = &agent_tls;
	agent_tls.heap = (struct heap_counts){ 0 };
	heap_thread_init(t);

	pthread_attr_t attr;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		void *addr;
		size_t size;
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			t->stack_lo = (uintptr_t)addr;
			t->stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}

	agent_set_self(t);
	pthread_setspecific(exit_key, t);
	/* Under the lock, so a pause or resume cannot slip in between. */
	pthread_mutex_lock(&agent.threads_lock);
	t->next = agent.threads;
	agent.threads = t;
	int rc = sampler_thread_start(t);
	pthread_mutex_unlock(&agent.threads_lock);
	if (rc != 0) {
		static _Atomic bool warned;
		if (!atomic_exchange(&warned, true))
			fprintf(stderr, "oneprof: cannot create a CPU-time timer for thread %d: %s; "
					"that thread is not sampled\n", (int)t->tid, strerror(-rc));
	}
	return t;
}

static void ring_reset_if(struct ring *r)
{
	if (r)
		ring_reset(r);
}

/* A thread's heap rings, both there or neither, empty again. */
static void heap_rings_reset(struct agent_thread *t)
{
	if (t->heap_ring) {
		ring_reset(t->heap_ring);
		stream_ring_reset(t->heap_stream);
	}
}

/* The agent's own allocations (pthread_getattr_np reads /proc with
 * stdio) are not the program's. */
struct agent_thread *threads_register_self(void)
{
	if (atomic_load(&agent.state) != AGENT_RUNNING)
		return NULL;
	heap_busy_enter();
	struct agent_thread *t = register_self();
	heap_busy_leave();
	return t;
}

void threads_adopt_self(struct agent_thread *t)
{
	ring_reset_if(t->ring);
	heap_rings_reset(t);
	t->tls = &agent_tls;
	agent_tls.heap = (struct heap_counts){ 0 };
	t->heap_totals_sent = 0;
	t->next = NULL;
	t->tid = (pid_t)syscall(SYS_gettid);
	t->self = pthread_self();
	t->start_ns = 0;
	t->last_cpu_ns = thread_cpu_ns();
	t->announced = false;
	t->wall_seen = t->wall_signalled = false;
	atomic_store(&t->wall_pending, 0);
	atomic_store(&t->exited, false);
	agent.threads = t;
	agent_set_self(t);
	sampler_thread_start(t);
}

void threads_session_reset(void)
{
	bool child = getpid() != agent.pid; /* a fork child: only this thread exists */
	pthread_mutex_lock(&agent.threads_lock);
	struct agent_thread **link = &agent.threads;
	while (*link) {
		struct agent_thread *t = *link;
		if (atomic_load(&t->exited) || (child && t != agent_tls.self)) {
			*link = t->next;
			threads_free(t);
			continue;
		}
		sampler_thread_stop(t);
		ring_reset_if(t->ring);
		heap_rings_reset(t);
		*thread_heap_counts(t) = (struct heap_counts){ 0 };
		t->heap_totals_sent = 0;
		if (child)
			t->tid = (pid_t)syscall(SYS_gettid);
		t->start_ns = 0;
		t->announced = false;
		t->wall_seen = t->wall_signalled = false;
		t->wall_last_stack = 0;
		atomic_store(&t->wall_pending, 0);
		atomic_store(&t->name_dirty, false);
		atomic_store(&t->labels, 0);
		link = &t->next;
	}
	pthread_mutex_unlock(&agent.threads_lock);
}

/* Each live thread's CPU time counts from now: its clock, read from
 * here, is the base of its first sample. */
void threads_rearm(void)
{
	pthread_mutex_lock(&agent.threads_lock);
	for (struct agent_thread *t = agent.threads; t; t = t->next) {
		clockid_t clock;
		struct timespec ts = { 0, 0 };
		if (pthread_getcpuclockid(t->self, &clock) == 0)
			clock_gettime(clock, &ts);
		t->last_cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		if (t->tls)
			heap_thread_init(t);
		sampler_thread_start(t);
	}
	pthread_mutex_unlock(&agent.threads_lock);
}

void threads_stop_all(void)
{
	pthread_mutex_lock(&agent.threads_lock);
	for (struct agent_thread *t = agent.threads; t; t = t->next)
		sampler_thread_stop(t);
	pthread_mutex_unlock(&agent.threads_lock);
}

/* --- interposed pthread functions --- */

struct start_args {
	void *(*fn)(void *);
	void *arg;
};

static void *thread_start(void *p)
{
	struct start_args a = *(struct start_args *)p;
	heap_busy_enter();
	free(p);
	heap_busy_leave();
	threads_register_self();
	return a.fn(a.arg);
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static pthread_create_fn real_pthread_create(void)
{
	static _Atomic(pthread_create_fn) real;
	pthread_create_fn create = atomic_load(&real);
	if (!create) {
		create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
		atomic_store(&real, create);
	}
	return create;
}

/* The agent's own threads (writer, ticker, monitor...) record no spans:
 * an observer callback that makes one runs on the writer. Their CPU
 * clocks are kept so the agent can report its own CPU time. */
#define OWN_THREADS_MAX 8
static struct {
	_Atomic bool used;
	clockid_t clock;
} own[OWN_THREADS_MAX];
static _Atomic uint64_t own_exited_ns; /* CPU time of own threads that ended */

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t threads_own_cpu_ns(void)
{
	uint64_t ns = atomic_load(&own_exited_ns);
	for (int i = 0; i < OWN_THREADS_MAX; i++)
		if (atomic_load(&own[i].used))
			ns += clock_ns(own[i].clock);
	return ns;
}

/* In a fork child: none of the parent's own threads exists here. */
void threads_own_forget(void)
{
	for (int i = 0; i < OWN_THREADS_MAX; i++)
		atomic_store(&own[i].used, false);
	atomic_store(&own_exited_ns, 0);
}

static void *unprofiled_start(void *p)
{
	struct start_args a = *(struct start_args *)p;
	heap_busy_enter();
	free(p);
	heap_busy_leave();
	spans_ignore_thread();
	int slot = -1;
	clockid_t clock;
	if (pthread_getcpuclockid(pthread_self(), &clock) == 0)
		for (int i = 0; i < OWN_THREADS_MAX && slot < 0; i++) {
			bool expected = false;
			if (atomic_compare_exchange_strong(&own[i].used, &expected, true)) {
				own[i].clock = clock;
				slot = i;
			}
		}
	void *ret = a.fn(a.arg);
	if (slot >= 0) {
		atomic_fetch_add(&own_exited_ns, clock_ns(CLOCK_THREAD_CPUTIME_ID));
		atomic_store(&own[slot].used, false);
	}
	return ret;
}

int threads_create_unprofiled(pthread_t *th, void *(*fn)(void *), void *arg)
{
	pthread_create_fn create = real_pthread_create();
	if (!create)
		return EAGAIN;
	heap_busy_enter();
	struct start_args *a = malloc(sizeof(*a));
	heap_busy_leave();
	if (!a)
		return EAGAIN;
	a->fn = fn;
	a->arg = arg;
	/* They take no samples and must never run a signal handler of the
	 * program: every signal is blocked in them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = create(th, NULL, unprofiled_start, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		heap_busy_enter();
		free(a);
		heap_busy_leave();
	}
	return rc;
}

__attribute__((visibility("default"))) int pthread_create(pthread_t *th,
							  const pthread_attr_t *attr,
							  void *(*fn)(void *), void *arg)
{
	pthread_create_fn create = real_pthread_create();
	if (!create)
		return EAGAIN;
	if (atomic_load(&agent.state) != AGENT_RUNNING)
		return create(th, attr, fn, arg);
	heap_busy_enter();
	struct start_args *a = malloc(sizeof(*a));
	heap_busy_leave();
	if (!a)
		return create(th, attr, fn, arg);
	a->fn = fn;
	a->arg = arg;
	int rc = create(th, attr, thread_start, a);
	if (rc != 0) {
		heap_busy_enter();
		free(a);
		heap_busy_leave();
	}
	return rc;
}

typedef int (*setname_fn)(pthread_t, const char *);

/* Names set after start reach the capture without polling /proc. */
__attribute__((visibility("default"))) int pthread_setname_np(pthread_t th, const char *name)
{
	static _Atomic(setname_fn) real;
	setname_fn setname = atomic_load(&real);
	if (!setname) {
		setname = (setname_fn)dlsym(RTLD_NEXT, "pthread_setname_np");
		if (!setname)
			return ENOSYS;
		atomic_store(&real, setname);
	}
	int rc = setname(th, name);
	if (rc == 0 && atomic_load(&agent.state) == AGENT_RUNNING) {
		pthread_mutex_lock(&agent.threads_lock);
		for (struct agent_thread *t = agent.threads; t; t = t->next) {
			if (!atomic_load(&t->exited) && pthread_equal(t->self, th)) {
				snprintf(t->name, sizeof(t->name), "%s", name);
				atomic_store(&t->name_dirty, true);
				break;
			}
		}
		pthread_mutex_unlock(&agent.threads_lock);
	}
	return rc;
}
