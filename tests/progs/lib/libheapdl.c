/* libheapdl.so: the library tests/progs/heapthreads.c dlopens and unloads
 * again. It allocates through lib_alloc, so a heap profiler must name a
 * function in a library that is gone by the time it writes its report. */
#include <stdlib.h>
#include <string.h>

void *lib_alloc(size_t n);

__attribute__((noinline)) void *lib_alloc(size_t n)
{
	char *p = malloc(n);

	if (p)
		memset(p, 0x6c, n);
	__asm__ volatile("" ::: "memory"); /* keep malloc's caller this frame */
	return p;
}
