/* Fork ground truth: the parent forks CHILDREN children that do not exec;
 * each burns CPU in child_work() and ends (one through exit, the rest
 * through _exit). A last child forks and execs 'true' at once. The parent
 * itself burns CPU in parent_work(), with a helper thread running at the
 * time of each fork so the child inherits a thread it does not have.
 * Usage: forker ROUNDS CHILDREN. Prints each child's pid and CPU time. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

__attribute__((noinline)) static void spin(long n)
{
	for (long i = 0; i < n; i++)
		sink = sink * 6364136223846793005u + (uint64_t)i;
}

__attribute__((noinline)) static void child_work(long rounds)
{
	spin(rounds * 4000000);
}

__attribute__((noinline)) static void parent_work(long rounds)
{
	spin(rounds * 2000000);
}

static void *helper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10;
	int children = argc > 2 ? atoi(argv[2]) : 2;
	pthread_t th;
	pthread_create(&th, NULL, helper, NULL);
	for (int i = 0; i < children; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			child_work(rounds);
			printf("child %d cpu %.3f\n", (int)getpid(), cpu_seconds());
			fflush(stdout);
			if (i == 0)
				exit(0);
			_exit(0);
		}
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("true", "true", (char *)NULL);
		_exit(127);
	}
	parent_work(rounds);
	int status, bad = 0;
	while (wait(&status) > 0)
		bad |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	printf("parent %d cpu %.3f\n", (int)getpid(), cpu_seconds());
	return bad;
}
