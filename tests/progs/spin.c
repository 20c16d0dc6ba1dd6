/* Burns CPU in burn_forever until killed; used to check that a capture
 * of a program killed mid-run is still readable. */
#include <stdint.h>
#include <stdio.h>

static volatile uint64_t sink;

__attribute__((noinline)) void burn_forever(void)
{
	for (;;)
		sink = sink * 6364136223846793005ull + 1;
}

int main(void)
{
	printf("spinning\n");
	fflush(stdout);
	burn_forever();
}
