/* Memory in steps, for the monitor's RSS and heap series: STEPS blocks of
 * MB megabytes (default 10 of 10), each allocated with malloc, touched
 * page by page (so it is resident) and held HOLD_MS (default 300) before
 * the next; all freed at the end.
 *
 * Usage: memsteps [STEPS [MB [HOLD_MS]]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	int steps = argc > 1 ? atoi(argv[1]) : 10;
	size_t mb = argc > 2 ? (size_t)atol(argv[2]) : 10;
	long hold_ms = argc > 3 ? atol(argv[3]) : 300;
	if (steps < 1 || steps > 100 || mb < 1 || mb > 1024) {
		fprintf(stderr, "usage: memsteps [STEPS (1-100) [MB (1-1024) [HOLD_MS]]]\n");
		return 2;
	}
	char **blocks = calloc((size_t)steps, sizeof(char *));
	struct timespec hold = { hold_ms / 1000, hold_ms % 1000 * 1000000L };
	for (int i = 0; i < steps; i++) {
		blocks[i] = malloc(mb << 20);
		if (!blocks[i])
			return 1;
		memset(blocks[i], i + 1, mb << 20);
		nanosleep(&hold, NULL);
	}
	for (int i = 0; i < steps; i++)
		free(blocks[i]);
	free(blocks);
	printf("step_bytes %zu\nsteps %d\n", mb << 20, steps);
	return 0;
}
