/* Checks that being profiled does not change a program's behaviour:
 *   - errno is the same after every sample (the handler restores it),
 *   - the SIGPROF handler was installed with SA_RESTART,
 *   - blocking system calls are never interrupted with EINTR,
 *   - stdout, stderr and the exit status pass through (exit code argv[1]).
 * Prints one line per check; exits with argv[1] when all hold, 99 if not. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];
static volatile uint64_t sink;

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes one byte at a time after burning a little CPU, so the reader
 * blocks often and samples land around its read() calls. */
static void *feeder(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3000; i++) {
		for (int k = 0; k < 20000; k++)
			sink = sink * 31 + (uint64_t)k;
		if (write(pipefd[1], "x", 1) != 1)
			break;
	}
	close(pipefd[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 0;
	int bad = 0;

	struct sigaction sa;
	sigaction(SIGPROF, NULL, &sa);
	int has_handler = (sa.sa_flags & SA_SIGINFO) ? sa.sa_sigaction != NULL
						     : (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
	printf("sigprof handler: %s, SA_RESTART: %s\n", has_handler ? "yes" : "no",
	       (sa.sa_flags & SA_RESTART) ? "yes" : "no");
	if (has_handler && !(sa.sa_flags & SA_RESTART))
		bad = 1;

	/* errno must survive every signal that lands in this loop. */
	long changed = 0;
	double until = cpu_seconds() + 0.5;
	while (cpu_seconds() < until) {
		errno = EDOM;
		for (int k = 0; k < 1000; k++)
			sink = sink * 33 + (uint64_t)k;
		if (errno != EDOM)
			changed++;
	}
	printf("errno changed under sampling: %ld times\n", changed);
	if (changed)
		bad = 1;

	/* Blocking reads while both threads use CPU. */
	if (pipe(pipefd) != 0)
		return 98;
	pthread_t t;
	pthread_create(&t, NULL, feeder, NULL);
	long eintr = 0, got = 0;
	char c;
	for (;;) {
		for (int k = 0; k < 5000; k++)
			sink = sink * 7 + (uint64_t)k;
		ssize_t n = read(pipefd[0], &c, 1);
		if (n == 1)
			got++;
		else if (n < 0 && errno == EINTR)
			eintr++;
		else
			break;
	}
	pthread_join(t, NULL);
	printf("blocking reads: %ld bytes, %ld EINTR\n", got, eintr);
	if (eintr || got != 3000)
		bad = 1;

	fprintf(stderr, "behave: to stderr\n");
	return bad ? 99 : code;
}
