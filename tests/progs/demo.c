/* The demo program: a tiny "image pipeline" whose functions have names a
 * reader recognises in the report. Two worker threads; decode_rows does
 * about half the work, blur_pixels about a third, checksum_block the rest. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static volatile uint64_t sink;

/* A call makes each function a non-leaf, so GCC gives it a frame and the
 * frame-pointer walk sees its caller. */
__attribute__((noinline)) void enter(void) { __asm__ volatile("" ::: "memory"); }

static inline void spin(uint64_t n)
{
	uint64_t x = sink;
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	sink = x;
}

__attribute__((noinline)) void decode_rows(uint64_t n) { enter(); spin(5 * n); }
__attribute__((noinline)) void blur_pixels(uint64_t n) { enter(); spin(3 * n); }
__attribute__((noinline)) void checksum_block(uint64_t n) { enter(); spin(2 * n); }

__attribute__((noinline)) void process_image(uint64_t n)
{
	decode_rows(n);
	blur_pixels(n);
	checksum_block(n);
}

static void *worker(void *arg)
{
	uint64_t rounds = (uint64_t)(uintptr_t)arg;
	for (uint64_t r = 0; r < rounds; r++)
		process_image(20000);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 8000;
	pthread_t t;
	pthread_create(&t, NULL, worker, (void *)(uintptr_t)rounds);
	worker((void *)(uintptr_t)rounds);
	pthread_join(t, NULL);
	printf("demo: processed %llu images on 2 threads\n", (unsigned long long)(2 * rounds));
	return 0;
}
