/* Heap ground truth: THREADS workers make a known number of allocations
 * through one allocation function, reach a known global peak together and
 * leak a known number of bytes from leak_here().
 *
 * Usage: heapleak FUNC THREADS
 *   FUNC     malloc, calloc, realloc, posix_memalign or aligned_alloc
 *   THREADS  1..8; the main thread is worker 0, THREADS-1 more are created
 *
 * Each worker, in order:
 *   work_temps()  TEMPS allocations of TEMP_SIZE bytes, each freed at once
 *   barrier       so no temporary is live while any worker builds its peak
 *   work_peak()   PEAK_BLOCKS blocks of PEAK_SIZE bytes, all live at once;
 *                 a barrier inside, so every worker holds all of its blocks
 *                 at the same moment; then frees them
 *   barrier       so no leak exists before every peak is torn down
 *   leak_here()   LEAK_BLOCKS blocks of LEAK_SIZE bytes, never freed. With
 *                 realloc each block is realloc(NULL, LEAK_SIZE / 2) grown
 *                 by realloc(p, LEAK_SIZE): two allocations, one live block
 *                 of LEAK_SIZE bytes.
 *
 * Definitions of what is printed (all counts over the whole process, all
 * bytes as requested by the caller, never malloc_usable_size):
 *   allocations  successful calls of an allocation function made by this
 *                program's own code: every realloc counts as one, including
 *                realloc(NULL, n); calloc(n, s) counts once, n * s bytes
 *   frees        free() calls with a non-NULL pointer made by this program
 *   peak_bytes   the most bytes live at once from the program's own
 *                allocations: THREADS * PEAK_BLOCKS * PEAK_SIZE, reached at
 *                the barrier in work_peak (leaks come after it and are
 *                smaller than it, see the static asserts)
 *   leaked_*     live at exit: THREADS * LEAK_BLOCKS blocks of LEAK_SIZE
 * Per-function counts follow (<fn>_allocations, <fn>_frees, <fn>_bytes),
 * where <fn> is the function whose frame calls the allocator directly (no
 * helper frame, not even an inlined one, sits between them and malloc) and
 * <fn>_bytes is the sum of the sizes requested by its calls (for realloc,
 * the new size of each call, so leak_here_bytes counts both the small and
 * the grown size).
 *
 * What the program cannot control, and a profiler will see besides:
 *   - stdout is made unbuffered (setvbuf _IONBF) before anything else, so
 *     stdio never mallocs its buffer: printf then formats through a buffer
 *     on the stack. With _IONBF, setvbuf itself does not allocate.
 *   - each pthread_create that cannot reuse a cached stack allocates the new
 *     thread's DTV with one calloc inside ld.so (allocate_dtv, called from
 *     _dl_allocate_tls <- allocate_stack <- pthread_create): THREADS - 1
 *     callocs, live until exit (glibc keeps the stack and its DTV in its
 *     stack cache, which the threads' small stacks all fit in), so a
 *     profiler sees them as leaked and inside the peak, and no free.
 *     Each is (modules with TLS + 14 + 2) * 16 bytes: 272 bytes for this
 *     program alone, 16 more for each preloaded library with TLS (under
 *     heaptrack they are 320). THREADS = 1 creates no thread and has none.
 *   - nothing else: glibc 2.36 makes no other allocation for this program,
 *     before main, in it or at exit (valgrind counts exactly allocations +
 *     THREADS - 1). A preloaded library may add its own: heaptrack's brings
 *     libstdc++, whose constructor mallocs a 72704-byte exception pool.
 * The per-function counts exclude all of this and are exact. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sizes are multiples of 64, as aligned_alloc wants a multiple of its
 * alignment. glibc's usable size for each is larger than requested (by 8
 * for malloc), so a profiler that counts usable sizes gets other numbers. */
#define ALIGN		64
#define TEMPS		100
#define TEMP_SIZE	320
#define PEAK_BLOCKS	50
#define PEAK_SIZE	1088
#define LEAK_BLOCKS	10
#define LEAK_SIZE	4224
#define MAX_THREADS	8
#define STACK_SIZE	(256 * 1024)

/* The leak phase (with realloc's smaller first block still live during the
 * grow) must stay under the peak, or the peak would not be the barrier. */
_Static_assert(LEAK_BLOCKS * LEAK_SIZE + LEAK_SIZE / 2 < PEAK_BLOCKS * PEAK_SIZE,
	       "leaks must stay below the peak");
_Static_assert(TEMP_SIZE < PEAK_BLOCKS * PEAK_SIZE, "temporaries below the peak");
_Static_assert(TEMP_SIZE % ALIGN == 0 && PEAK_SIZE % ALIGN == 0 &&
	       LEAK_SIZE % ALIGN == 0 && (LEAK_SIZE / 2) % ALIGN == 0,
	       "aligned_alloc sizes must be multiples of the alignment");

enum func { F_MALLOC, F_CALLOC, F_REALLOC, F_POSIX_MEMALIGN, F_ALIGNED_ALLOC };

static const char *const func_names[] = {
	"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc",
};

static enum func func;
static int nthreads;
static pthread_barrier_t barrier;
/* Written with every block's address so the compiler must really allocate;
 * cleared at the end so no leaked block stays reachable from it. */
static void *volatile sink;
/* NULL, read through a volatile: GCC turns a literal realloc(NULL, n) into
 * malloc(n), and the realloc case must really call realloc. */
static void *volatile null_ptr;

/* One allocation of n bytes with the chosen function, into p. A macro, not
 * an inline function: the allocator must be called from the work_* or
 * leak_here frame itself, with no inlined frame in the debug info either
 * (a symbolizer that expands inlines would otherwise name the helper). */
#define ALLOC_ONE(p, n)								\
	do {									\
		size_t n_ = (n);						\
		(p) = NULL;							\
		switch (func) {							\
		case F_MALLOC:							\
			(p) = malloc(n_);					\
			break;							\
		case F_CALLOC:							\
			/* Two factors, so the profiler must multiply. */	\
			(p) = calloc(n_ / 16, 16);				\
			break;							\
		case F_REALLOC:							\
			(p) = realloc(null_ptr, n_);				\
			break;							\
		case F_POSIX_MEMALIGN:						\
			if (posix_memalign((void **)&(p), ALIGN, n_) != 0)	\
				(p) = NULL;					\
			break;							\
		case F_ALIGNED_ALLOC:						\
			(p) = aligned_alloc(ALIGN, n_);				\
			break;							\
		}								\
		if (!(p))							\
			alloc_failed(n_);					\
		/* Touch the block so it is really used. */			\
		memset((p), 0x5a, n_);						\
		sink = (p);							\
	} while (0)

__attribute__((noinline, noreturn)) static void alloc_failed(size_t n)
{
	fprintf(stderr, "heapleak: %s(%zu) failed\n", func_names[func], n);
	exit(1);
}

__attribute__((noinline)) void work_temps(void)
{
	for (int i = 0; i < TEMPS; i++) {
		void *p;

		ALLOC_ONE(p, TEMP_SIZE);
		free(p);
	}
	__asm__ volatile("" ::: "memory"); /* keep free() from being a tail call */
}

__attribute__((noinline)) void work_peak(void)
{
	void *blocks[PEAK_BLOCKS];

	for (int i = 0; i < PEAK_BLOCKS; i++)
		ALLOC_ONE(blocks[i], PEAK_SIZE);
	/* Every worker holds all of its blocks here: the global peak. */
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < PEAK_BLOCKS; i++)
		free(blocks[i]);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void leak_here(void)
{
	for (int i = 0; i < LEAK_BLOCKS; i++) {
		char *p;

		if (func == F_REALLOC) {
			p = realloc(null_ptr, LEAK_SIZE / 2);
			if (!p)
				exit(1);
			memset(p, 0x11, LEAK_SIZE / 2);
			sink = p;
			/* Grows; may move, which frees the old block inside
			 * realloc (not a free() call of ours). */
			p = realloc(p, LEAK_SIZE);
			if (!p)
				exit(1);
			memset(p + LEAK_SIZE / 2, 0x22, LEAK_SIZE / 2);
			sink = p;
		} else {
			ALLOC_ONE(p, LEAK_SIZE);
		}
		p[0] = (char)i;
	}
	__asm__ volatile("" ::: "memory");
}

static void *worker(void *arg)
{
	(void)arg;
	work_temps();
	pthread_barrier_wait(&barrier);
	work_peak();
	pthread_barrier_wait(&barrier);
	leak_here();
	return NULL;
}

int main(int argc, char **argv)
{
	/* First: no stdio buffer is ever malloc'ed (see the top). */
	setvbuf(stdout, NULL, _IONBF, 0);

	if (argc != 3) {
		fprintf(stderr, "usage: heapleak FUNC THREADS\n");
		return 2;
	}
	int found = 0;
	for (unsigned i = 0; i < sizeof(func_names) / sizeof(func_names[0]); i++) {
		if (strcmp(argv[1], func_names[i]) == 0) {
			func = (enum func)i;
			found = 1;
		}
	}
	nthreads = atoi(argv[2]);
	if (!found || nthreads < 1 || nthreads > MAX_THREADS) {
		fprintf(stderr, "usage: heapleak FUNC THREADS (1..%d)\n", MAX_THREADS);
		return 2;
	}

	pthread_t t[MAX_THREADS];
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* Small stacks: glibc's stack cache (40 MiB) keeps every joined one,
	 * DTV included. With default 8 MiB stacks it would free the DTVs of
	 * those beyond the cache at pthread_join, and how many would depend on
	 * ulimit -s. */
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	for (int i = 1; i < nthreads; i++) {
		int err = pthread_create(&t[i], &attr, worker, NULL);
		if (err) {
			fprintf(stderr, "heapleak: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	worker(NULL);
	for (int i = 1; i < nthreads; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
	pthread_attr_destroy(&attr);
	sink = NULL;

	long n = nthreads;
	long leak_allocs = (func == F_REALLOC ? 2 : 1) * LEAK_BLOCKS;
	long leak_bytes_req = func == F_REALLOC ? LEAK_SIZE / 2 + LEAK_SIZE : LEAK_SIZE;
	long temps = n * TEMPS, peaks = n * PEAK_BLOCKS, leaks = n * leak_allocs;

	printf("func=%s threads=%ld allocations=%ld frees=%ld leaked_bytes=%ld "
	       "leaked_blocks=%ld peak_bytes=%ld leak_function=leak_here "
	       "work_temps_allocations=%ld work_temps_frees=%ld work_temps_bytes=%ld "
	       "work_peak_allocations=%ld work_peak_frees=%ld work_peak_bytes=%ld "
	       "leak_here_allocations=%ld leak_here_frees=0 leak_here_bytes=%ld "
	       "total_bytes=%ld glibc_thread_callocs=%ld\n",
	       func_names[func], n, temps + peaks + leaks, temps + peaks,
	       n * LEAK_BLOCKS * LEAK_SIZE, n * LEAK_BLOCKS,
	       n * PEAK_BLOCKS * PEAK_SIZE,
	       temps, temps, temps * TEMP_SIZE,
	       peaks, peaks, peaks * PEAK_SIZE,
	       leaks, n * LEAK_BLOCKS * leak_bytes_req,
	       temps * TEMP_SIZE + peaks * PEAK_SIZE + n * LEAK_BLOCKS * leak_bytes_req,
	       n - 1);
	return 0;
}
