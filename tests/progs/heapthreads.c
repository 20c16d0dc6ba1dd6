/* Heap ground truth across many threads, a library loaded and unloaded
 * mid-run, and a fork.
 *
 * Usage: heapthreads [fork] [LIB]
 *   NTHREADS short-lived threads, WAVE of them alive at a time. Each one
 *   makes THREAD_TEMPS allocations of TEMP_SIZE bytes in work_thread, each
 *   freed at once, and leaks one block of THREAD_LEAK_SIZE bytes from
 *   thread_leak: NTHREADS blocks, NTHREADS * THREAD_LEAK_SIZE bytes.
 *   LIB     a path to libheapdl.so (tests/progs/lib/libheapdl.c). While the
 *           threads of wave LIB_WAVE run, work_lib dlopens it, calls its
 *           lib_alloc LIB_CALLS times for LIB_SIZE bytes, frees all blocks
 *           but the last and dlcloses it: one leaked block whose allocating
 *           function lives in a library unloaded before exit.
 *   fork    after all that, fork. Just before, the parent allocates and
 *           frees a block of SHARED_SIZE bytes from shared_site, and the
 *           child makes the same call again, from the same call site (one
 *           stack in both), and leaks it: the parent's profiler sent that
 *           stack before the fork, the child's capture must name it too.
 *           The child then leaks CHILD_BLOCKS blocks of CHILD_SIZE bytes
 *           from child_leak, prints its own line and exits; the parent
 *           waits for it, then leaks PARENT_BLOCKS blocks of PARENT_SIZE
 *           bytes from parent_leak.
 *
 * Output: the child's line (fork only), then the parent's, key=value pairs.
 * Counts are of this program's own calls: allocations are successful calls
 * of malloc (lib_alloc's included), frees are free() calls with non-NULL
 * pointers, bytes are requested sizes. The child's own_* keys count what
 * the child did after fork; its inherited_* keys are the blocks it got live
 * from the parent with its copy of the heap (all the parent's leaks so far),
 * which a profiler may or may not report for the child.
 *
 * What glibc adds, which a profiler sees besides (glibc 2.36, x86-64):
 *   - pthread_create calls calloc once in ld.so for the DTV of each thread
 *     that gets a new stack (allocate_dtv <- _dl_allocate_tls <-
 *     allocate_stack): (TLS modules + 16) * 16 bytes, 272 for this program
 *     alone. Threads get small stacks (STACK_SIZE), so glibc's stack cache
 *     keeps all WAVE of them and every later wave reuses them, DTV and
 *     all: exactly WAVE such callocs, never freed (leaked at exit).
 *   - dlopen and dlclose allocate and free in ld.so (link map, scope and
 *     search lists, the path): measured, 7 allocation calls from dlopen and
 *     6 free() calls from dlclose for a path of 21 bytes (sizes grow with
 *     the path). The one never freed is a 2304-byte calloc for the
 *     _dl_find_object mappings segment (_dlfo_mappings_segment_allocate),
 *     which ld.so keeps for later loads: a leak from dlopen at exit.
 *   - nothing at stdout: it is unbuffered (setvbuf _IONBF, which allocates
 *     nothing), so stdio mallocs no buffer, in the parent or the child. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS		1000
#define WAVE			50
#define STACK_SIZE		(128 * 1024)
#define THREAD_TEMPS		10
#define TEMP_SIZE		200
#define THREAD_LEAK_SIZE	100
#define LIB_WAVE		10
#define LIB_CALLS		5
#define LIB_SIZE		555
#define CHILD_BLOCKS		7
#define CHILD_SIZE		777
#define PARENT_BLOCKS		3
#define PARENT_SIZE		333
#define SHARED_SIZE		4321

_Static_assert(NTHREADS % WAVE == 0, "whole waves");
_Static_assert(LIB_WAVE < NTHREADS / WAVE, "the library is loaded mid-run");

/* Every block's address is written here, so the compiler must really
 * allocate it; cleared afterwards so no leak stays reachable. */
static void *volatile sink;

/* Leak n blocks of size bytes, each written to. Expanded inside each
 * leaking function so that function itself calls malloc. The fill is never
 * zero: GCC turns malloc + memset(0) into calloc. */
#define LEAK(n, size)							\
	do {								\
		for (int i_ = 0; i_ < (n); i_++) {			\
			char *p_ = malloc(size);			\
			if (!p_)					\
				exit(1);				\
			memset(p_, 0x40 + i_, (size));			\
			sink = p_;					\
		}							\
		sink = NULL;						\
		__asm__ volatile("" ::: "memory");			\
	} while (0)

__attribute__((noinline)) void work_thread(void)
{
	for (int i = 0; i < THREAD_TEMPS; i++) {
		char *p = malloc(TEMP_SIZE);
		if (!p)
			exit(1);
		memset(p, 0x40 + i, TEMP_SIZE);
		sink = p;
		free(p);
	}
	sink = NULL;
	__asm__ volatile("" ::: "memory"); /* keep free() from being a tail call */
}

__attribute__((noinline)) void thread_leak(void)
{
	LEAK(1, THREAD_LEAK_SIZE);
}

__attribute__((noinline)) void child_leak(void)
{
	LEAK(CHILD_BLOCKS, CHILD_SIZE);
}

__attribute__((noinline)) void parent_leak(void)
{
	LEAK(PARENT_BLOCKS, PARENT_SIZE);
}

__attribute__((noinline)) void *shared_site(void)
{
	char *p = malloc(SHARED_SIZE);
	if (!p)
		exit(1);
	memset(p, 0x41, SHARED_SIZE);
	sink = p;
	sink = NULL;
	__asm__ volatile("" ::: "memory");
	return p;
}

static void *thread_main(void *arg)
{
	(void)arg;
	work_thread();
	thread_leak();
	return NULL;
}

/* dlopen LIB, allocate through its lib_alloc, free all but the last block,
 * dlclose. Returns 0, or -1 when the library cannot be used. */
__attribute__((noinline)) int work_lib(const char *lib)
{
	void *(*lib_alloc)(size_t);
	void *blocks[LIB_CALLS];
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);

	if (!h || !(*(void **)&lib_alloc = dlsym(h, "lib_alloc"))) {
		fprintf(stderr, "heapthreads: %s\n", dlerror());
		return -1;
	}
	for (int i = 0; i < LIB_CALLS; i++) {
		blocks[i] = lib_alloc(LIB_SIZE);
		if (!blocks[i])
			exit(1);
	}
	for (int i = 0; i < LIB_CALLS - 1; i++)
		free(blocks[i]);
	sink = blocks[LIB_CALLS - 1];
	sink = NULL;
	if (dlclose(h) != 0) {
		fprintf(stderr, "heapthreads: dlclose: %s\n", dlerror());
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);

	int do_fork = 0;
	const char *lib = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "fork") == 0)
			do_fork = 1;
		else if (!lib && argv[i][0] != '-')
			lib = argv[i];
		else {
			fprintf(stderr, "usage: heapthreads [fork] [LIB]\n");
			return 2;
		}
	}

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (int w = 0; w < NTHREADS / WAVE; w++) {
		pthread_t t[WAVE];

		for (int i = 0; i < WAVE; i++) {
			int err = pthread_create(&t[i], &attr, thread_main, NULL);
			if (err) {
				fprintf(stderr, "heapthreads: pthread_create: %s\n", strerror(err));
				return 1;
			}
		}
		/* The library comes and goes while a wave of threads runs. */
		if (w == LIB_WAVE && lib && work_lib(lib) != 0)
			return 1;
		for (int i = 0; i < WAVE; i++)
			pthread_join(t[i], NULL);
	}
	pthread_attr_destroy(&attr);

	long allocs = (long)NTHREADS * (THREAD_TEMPS + 1);
	long frees = (long)NTHREADS * THREAD_TEMPS;
	long leaked = (long)NTHREADS * THREAD_LEAK_SIZE;
	long blocks = NTHREADS;
	if (lib) {
		allocs += LIB_CALLS;
		frees += LIB_CALLS - 1;
		leaked += LIB_SIZE;
		blocks += 1;
	}

	int child_status = -1;
	if (do_fork) {
		/* One call of shared_site for both: a loop whose volatile
		 * counter keeps the compiler from copying its body. The
		 * parent frees its block and leaves the loop; the child goes
		 * round again and keeps its block. */
		pid_t pid = -1;
		for (volatile int round = 0; round < 2; round++) {
			void *p = shared_site();
			if (round == 1)
				break;
			free(p);
			pid = fork();
			if (pid != 0)
				break;
		}
		if (pid < 0) {
			perror("heapthreads: fork");
			return 1;
		}
		if (pid == 0) {
			child_leak();
			printf("role=child pid=%d ppid=%d own_allocations=%d own_frees=0 "
			       "own_leaked_bytes=%d own_leaked_blocks=%d leak_function=child_leak "
			       "shared_leaked_bytes=%d "
			       "inherited_leaked_bytes=%ld inherited_leaked_blocks=%ld "
			       "leaked_bytes=%ld leaked_blocks=%ld\n",
			       (int)getpid(), (int)getppid(), CHILD_BLOCKS + 1,
			       CHILD_BLOCKS * CHILD_SIZE + SHARED_SIZE, CHILD_BLOCKS + 1,
			       SHARED_SIZE, leaked, blocks,
			       leaked + CHILD_BLOCKS * CHILD_SIZE + SHARED_SIZE,
			       blocks + CHILD_BLOCKS + 1);
			exit(0);
		}
		allocs += 1;
		frees += 1;
		int status;
		if (waitpid(pid, &status, 0) != pid)
			return 1;
		child_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		parent_leak();
		allocs += PARENT_BLOCKS;
		leaked += PARENT_BLOCKS * PARENT_SIZE;
		blocks += PARENT_BLOCKS;
	}

	printf("role=parent pid=%d threads=%d allocations=%ld frees=%ld leaked_bytes=%ld "
	       "leaked_blocks=%ld thread_leak_bytes=%d thread_leak_blocks=%d "
	       "leak_function=thread_leak work_thread_allocations=%d work_thread_frees=%d "
	       "work_thread_bytes=%ld lib=%s lib_function=lib_alloc lib_allocations=%d "
	       "lib_frees=%d lib_leaked_bytes=%d lib_leaked_blocks=%d "
	       "parent_leak_bytes=%d parent_leak_blocks=%d child_status=%d "
	       "glibc_dtv_callocs=%d\n",
	       (int)getpid(), NTHREADS, allocs, frees, leaked, blocks,
	       NTHREADS * THREAD_LEAK_SIZE, NTHREADS,
	       NTHREADS * THREAD_TEMPS, NTHREADS * THREAD_TEMPS,
	       (long)NTHREADS * THREAD_TEMPS * TEMP_SIZE,
	       lib ? "yes" : "no", lib ? LIB_CALLS : 0, lib ? LIB_CALLS - 1 : 0,
	       lib ? LIB_SIZE : 0, lib ? 1 : 0,
	       do_fork ? PARENT_BLOCKS * PARENT_SIZE : 0, do_fork ? PARENT_BLOCKS : 0,
	       child_status, WAVE);
	return child_status > 0;
}
