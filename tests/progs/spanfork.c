/* Spans across fork: the parent opens "outer" and forks inside it. The
 * child, whose copy of "outer" began in the parent's capture, makes
 * "child" x3, ends its "outer" and exits; the parent waits, makes
 * "parent" x2 and ends "outer". Neither side misuses the API, so neither
 * capture may count an end without a begin. */
#define ONEPROF_OPTIONAL
#include <oneprof.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void spans(const char *name, int n)
{
	for (int i = 0; i < n; i++) {
		oneprof_span_begin(name);
		oneprof_span_end();
	}
}

int main(void)
{
	if (!&oneprof_spans_on || !oneprof_spans_on) {
		fprintf(stderr, "spanfork: run it under 'oneprof record'\n");
		return 1;
	}
	oneprof_span_begin("outer");
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		spans("child", 3);
		oneprof_span_end();
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	spans("parent", 2);
	oneprof_span_end();
	printf("child %d exited %d\n", (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}
