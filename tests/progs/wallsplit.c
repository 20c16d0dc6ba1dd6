/* Wall-clock ground truth: one thread spends known stretches of real time
 *   cpu_phase    computing (running),
 *   sleep_phase  in nanosleep (cut short by a signal: never signalled),
 *   read_phase   in read() of a timerfd (restarted after a signal),
 *   poll_phase   in poll() with a timeout (cut short by a signal),
 * and prints the wall time of each, and how many calls a signal cut
 * short (EINTR). Usage: wallsplit MILLISECONDS (per
 * phase; the sleep phase takes half as long again).
 *
 * wallsplit idle THREADS MILLISECONDS: THREADS threads park in
 * pthread_cond_wait while the main thread sleeps, then all end. */
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;
static int interrupted; /* calls that returned EINTR: profiling must cause none */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void cpu_phase(double seconds)
{
	double end = now() + seconds;
	while (now() < end)
		for (int i = 0; i < 10000; i++)
			sink = sink * 6364136223846793005u + (uint64_t)i;
}

__attribute__((noinline)) static void sleep_phase(double seconds)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
	while (nanosleep(&ts, &ts) != 0)
		interrupted++;
}

__attribute__((noinline)) static void read_phase(double seconds)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = { { 0, 0 }, { (time_t)seconds,
					      (long)((seconds - (time_t)seconds) * 1e9) } };
	timerfd_settime(fd, 0, &its, NULL);
	uint64_t expirations;
	if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		perror("read_phase");
	close(fd);
}

__attribute__((noinline)) static void poll_phase(double seconds)
{
	double end = now() + seconds;
	int left;
	while ((left = (int)((end - now()) * 1000)) > 0)
		if (poll(NULL, 0, left) < 0)
			interrupted++;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int released;

static void *parked(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!released)
		pthread_cond_wait(&wake, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static int idle(int threads, double seconds)
{
	pthread_t th[1024];
	if (threads > 1024)
		threads = 1024;
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, parked, NULL);
	sleep_phase(seconds);
	pthread_mutex_lock(&lock);
	released = 1;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("interrupted %d\n", interrupted);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 3 && !strcmp(argv[1], "idle"))
		return idle(atoi(argv[2]), atof(argv[3]) / 1000);
	double s = (argc > 1 ? atof(argv[1]) : 200) / 1000;
	double t0 = now();
	cpu_phase(s);
	double t1 = now();
	sleep_phase(s * 1.5);
	double t2 = now();
	read_phase(s);
	double t3 = now();
	poll_phase(s);
	double t4 = now();
	printf("cpu_phase %.4f\nsleep_phase %.4f\nread_phase %.4f\npoll_phase %.4f\n"
	       "interrupted %d\n",
	       t1 - t0, t2 - t1, t3 - t2, t4 - t3, interrupted);
	return 0;
}
