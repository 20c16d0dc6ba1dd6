/* exec: a profiling signal that is pending when exec completes reaches the
 * new program, whose handler is back to the default action (terminate),
 * and setitimer timers even survive exec. So every exec function of libc
 * is interposed: before the real call the capture is completed, every
 * timer stopped and any pending profiling signal consumed. (execvp and
 * friends call execve inside libc, not through its PLT, which is why each
 * one is wrapped.) */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../unwind/unwind.h"
#include "agent.h"

#define EXPORT __attribute__((visibility("default")))

/* Completes the capture before an exec: the new image starts an agent of
 * its own (LD_PRELOAD is inherited), which writes its own capture. Pending
 * profiling signals are consumed so the new image never sees one. If the
 * exec fails the process goes on unprofiled. */
static void exec_prepare(void)
{
	/* A vfork child shares our memory but not our timers: hands off. */
	if (atomic_load(&agent.state) != AGENT_RUNNING || getpid() != agent.pid)
		return;
	int signo = agent.cfg.signo;
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, signo);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	agent_finish();
	if (!agent.cfg.descendant && getenv("ONEPROF_ROOT_PID") && access(agent.path, F_OK) == 0) {
		/* The new image takes FILE; this one's capture moves aside. */
		char aside[sizeof(agent.path)];
		int fd = agent_free_name(agent.path, aside, sizeof(aside));
		if (fd >= 0) {
			close(fd);
			if (rename(agent.path, aside) != 0)
				unlink(aside);
		}
	}
	const struct timespec zero = { 0, 0 };
	while (sigtimedwait(&block, NULL, &zero) == signo)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	AGENT_REAL(execve);
	exec_prepare();
	return real(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	AGENT_REAL(execv);
	exec_prepare();
	return real(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	AGENT_REAL(execvp);
	exec_prepare();
	return real(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	AGENT_REAL(execvpe);
	exec_prepare();
	return real(file, argv, envp);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	AGENT_REAL(fexecve);
	exec_prepare();
	return real(fd, argv, envp);
}

/* The execl family: collect the variadic arguments (bounded by the
 * kernel's own limit on argument count in practice) and call the
 * matching array form above. */
#define MAX_EXECL_ARGS 4096

static int collect(const char *arg0, va_list ap, char **argv, char ***envp)
{
	int n = 0;
	argv[n++] = (char *)arg0;
	while (arg0 && n < MAX_EXECL_ARGS) {
		char *a = va_arg(ap, char *);
		argv[n++] = a;
		if (!a)
			break;
	}
	if (n == MAX_EXECL_ARGS) {
		errno = E2BIG;
		return -1;
	}
	if (envp)
		*envp = va_arg(ap, char **);
	return 0;
}

EXPORT int execl(const char *path, const char *arg, ...)
{
	char *argv[MAX_EXECL_ARGS];
	va_list ap;
	va_start(ap, arg);
	int rc = collect(arg, ap, argv, NULL);
	va_end(ap);
	return rc ? rc : execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *argv[MAX_EXECL_ARGS];
	va_list ap;
	va_start(ap, arg);
	int rc = collect(arg, ap, argv, NULL);
	va_end(ap);
	return rc ? rc : execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	char *argv[MAX_EXECL_ARGS];
	char **envp;
	va_list ap;
	va_start(ap, arg);
	int rc = collect(arg, ap, argv, &envp);
	va_end(ap);
	return rc ? rc : execve(path, argv, envp);
}

/* _exit skips atexit handlers and destructors (shells end this way): the
 * capture is completed here instead, so it keeps its last samples and its
 * END record. */
typedef void (*exit_fn)(int);

__attribute__((noreturn)) static void finish_then(const char *name, int status)
{
	static exit_fn real_exit, real_Exit;
	exit_fn *slot = name[1] == 'e' ? &real_exit : &real_Exit;
	if (!*slot)
		*slot = (exit_fn)dlsym(RTLD_NEXT, name);
	agent_finish();
	if (*slot)
		(*slot)(status);
	for (;;) /* no libc _exit found: end the process the kernel's way */
		syscall(SYS_exit_group, status);
}

EXPORT void _exit(int status)
{
	finish_then("_exit", status);
}

EXPORT void _Exit(int status)
{
	finish_then("_Exit", status);
}

/* dlopen and dlclose: unwind tables follow the modules at once, so the
 * first samples in a new library already walk through it. */
typedef void *(*dlopen_fn)(const char *, int);

EXPORT void *dlopen(const char *file, int mode)
{
	static dlopen_fn real;
	if (!real)
		real = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
	if (!real)
		return NULL;
	void *h = real(file, mode);
	if (h && atomic_load(&agent.state) == AGENT_RUNNING) {
		int saved = errno;
		unwind_rebuild();
		errno = saved;
	}
	return h;
}

EXPORT int dlclose(void *handle)
{
	AGENT_REAL(dlclose);
	/* Samples and allocations in the library name their module while it
	 * is still there to be recorded. The wait ends when the writer is
	 * done; the bound only matters when it is stuck, and a writer
	 * draining a thousand threads' rings on a loaded machine can take
	 * more than a second. */
	writer_sync(5000);
	int rc = real(handle);
	if (atomic_load(&agent.state) == AGENT_RUNNING) {
		int saved = errno;
		unwind_rebuild();
		errno = saved;
	}
	return rc;
}
