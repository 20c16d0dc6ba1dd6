#define _GNU_SOURCE
/* Thread churn under the profiler: 1,000 short-lived threads, a thread
 * started late, one that exits early. Prints the number of open file
 * descriptors before and after (the agent must not leak its per-thread
 * timers or perf fds), then exits 0. */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline __attribute__((always_inline)) void spin_for(double seconds)
{
	double until = thread_cpu() + seconds;
	while (thread_cpu() < until)
		for (int i = 0; i < 10000; i++)
			sink = sink * 31 + (uint64_t)i;
}

__attribute__((noinline)) void short_work(void) { spin_for(0.0005); }
__attribute__((noinline)) void late_work(void) { spin_for(0.4); }
__attribute__((noinline)) void early_work(void) { spin_for(0.1); }

static void *short_main(void *arg)
{
	char name[16];
	snprintf(name, sizeof(name), "churn-%d", (int)(intptr_t)arg);
	pthread_setname_np(pthread_self(), name);
	short_work();
	return NULL;
}

static void *late_main(void *arg)
{
	(void)arg;
	late_work();
	return NULL;
}

static void *early_main(void *arg)
{
	(void)arg;
	early_work();
	return NULL;
}

int main(void)
{
	int before = count_fds();
	pthread_t early, late;
	pthread_create(&early, NULL, early_main, NULL);
	pthread_setname_np(early, "early-exit");
	pthread_join(early, NULL);

	for (int batch = 0; batch < 20; batch++) {
		pthread_t t[50];
		for (int i = 0; i < 50; i++)
			pthread_create(&t[i], NULL, short_main, (void *)(intptr_t)(batch * 50 + i));
		for (int i = 0; i < 50; i++)
			pthread_join(t[i], NULL);
	}

	pthread_create(&late, NULL, late_main, NULL);
	pthread_setname_np(late, "late-worker");
	pthread_join(late, NULL);
	printf("fds before %d after %d\n", before, count_fds());
	return 0;
}
