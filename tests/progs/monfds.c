/* Known threads and open files, for the monitor's process_threads and
 * process_open_fds: starts THREADS threads (default 4) and opens FILES
 * files (default 20) of /dev/null, then counts what /proc says it has
 * (every thread and fd of the process, the profiler's included), prints
 * "threads N" and "fds N", and holds still HOLD_MS (default 500) so the
 * monitor sees that state.
 *
 * Usage: monfds [THREADS [FILES [HOLD_MS]]] */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_barrier_t start, end;

static void *worker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	pthread_barrier_wait(&end);
	return NULL;
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	int files = argc > 2 ? atoi(argv[2]) : 20;
	long hold_ms = argc > 3 ? atol(argv[3]) : 500;
	if (threads < 0 || threads > 64 || files < 0 || files > 512) {
		fprintf(stderr, "usage: monfds [THREADS (0-64) [FILES (0-512) [HOLD_MS]]]\n");
		return 2;
	}
	pthread_t th[64];
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&end, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	pthread_barrier_wait(&start);
	for (int i = 0; i < files; i++)
		if (open("/dev/null", O_RDONLY) < 0)
			return 1;
	/* opendir holds one more fd while it counts: not ours afterwards. */
	int fds = entries("/proc/self/fd") - 1;
	int tasks = entries("/proc/self/task");
	printf("threads %d\nfds %d\n", tasks, fds);
	fflush(stdout);
	struct timespec hold = { hold_ms / 1000, hold_ms % 1000 * 1000000L };
	nanosleep(&hold, NULL);
	pthread_barrier_wait(&end);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return 0;
}
