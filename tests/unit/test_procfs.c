/* The /proc readers behind the monitor, the metrics endpoint and
 * 'oneprof monitor', checked against what this process knows of itself. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/agent/procfs.h"
#include "unit.h"

TEST(procfs_process_self)
{
	struct procfs_process before, after;
	char failed[64] = "";
	CHECK_EQ_INT(procfs_read_process(0, &before, failed, sizeof(failed)), 0);
	CHECK_EQ_INT(before.have, PROCFS_STAT | PROCFS_STATUS | PROCFS_FDS);

	/* Two more descriptors, 64 MiB more resident memory. */
	int p[2];
	CHECK(pipe(p) == 0);
	size_t big = 64u << 20;
	/* volatile: the compiler may not drop writes that are never read */
	volatile char *mem = malloc(big);
	CHECK(mem != NULL);
	for (size_t i = 0; i < big; i += 4096)
		mem[i] = 1;
	CHECK_EQ_INT(procfs_read_process(getpid(), &after, failed, sizeof(failed)), 0);
	CHECK_EQ_INT(after.open_fds, before.open_fds + 2);
	CHECK(after.resident_bytes >= before.resident_bytes + big * 9 / 10);
	CHECK(after.peak_resident_bytes >= after.resident_bytes);
	CHECK(after.virtual_bytes >= after.resident_bytes);
	CHECK(after.threads >= 1);
	CHECK(after.voluntary_switches + after.involuntary_switches > 0);
	CHECK(after.minor_faults >= before.minor_faults + big / 4096 / 2);

	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK_EQ_INT(after.max_fds, rl.rlim_cur == RLIM_INFINITY ? 0 : rl.rlim_cur);

	/* Started in the past, not before the machine booted. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	CHECK(after.start_time_ns > 0 && after.start_time_ns <= now_ns + 1000000000u);

	/* CPU time advances with work. */
	volatile uint64_t x = 0;
	for (uint64_t i = 0; i < 200000000u; i++)
		x += i;
	struct procfs_process later;
	CHECK_EQ_INT(procfs_read_process(0, &later, NULL, 0), 0);
	CHECK(later.user_ns + later.system_ns > after.user_ns + after.system_ns);
	free((void *)mem);
	close(p[0]);
	close(p[1]);
}

TEST(procfs_process_missing)
{
	struct procfs_process p;
	char failed[64] = "";
	/* Beyond pid_max: never a process. */
	CHECK_EQ_INT(procfs_read_process(0x7ffffff0, &p, failed, sizeof(failed)), -ENOENT);
	CHECK_STR(failed, "/proc/2147483632/stat");
	CHECK_EQ_INT(p.have, 0);
}

TEST(procfs_system)
{
	struct procfs_system s;
	CHECK_EQ_INT(procfs_read_system(&s, NULL, 0), 0);
	CHECK_EQ_INT(s.have, PROCFS_LOADAVG | PROCFS_CPU | PROCFS_MEMINFO);
	CHECK(s.cpus >= 1 && s.cpus == (uint64_t)sysconf(_SC_NPROCESSORS_CONF));
	CHECK(s.cpu_total_ns >= s.cpu_busy_ns && s.cpu_busy_ns > 0);
	CHECK(s.mem_total_bytes >= s.mem_available_bytes && s.mem_available_bytes > 0);
	CHECK_EQ_INT(s.mem_total_bytes, (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE));
	CHECK(s.boot_time_ns > 1000000000ull * 1500000000u); /* after 2017 */
	double load[3];
	CHECK(getloadavg(load, 3) == 3);
	for (int i = 0; i < 3; i++) /* it can move between the two reads */
		CHECK(s.load_milli[i] + 500 >= (uint64_t)(load[i] * 1000) &&
		      s.load_milli[i] <= (uint64_t)(load[i] * 1000) + 500);
}

/* Context switches of every thread, not the main thread's alone: of this
 * process (getrusage) and of another one (its threads' status files). */
static void *nap_50(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	return NULL;
}

static int ready_fd[2];

static void *nap_then_wait(void *arg)
{
	nap_50(arg);
	if (write(ready_fd[1], "x", 1) != 1)
		_exit(1);
	pause();
	return NULL;
}

TEST(procfs_switches_of_every_thread)
{
	struct procfs_process before, after;
	CHECK_EQ_INT(procfs_read_process(0, &before, NULL, 0), 0);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, nap_50, NULL) == 0);
	pthread_join(t, NULL);
	CHECK_EQ_INT(procfs_read_process(0, &after, NULL, 0), 0);
	CHECK(after.voluntary_switches >= before.voluntary_switches + 50);

	CHECK(pipe(ready_fd) == 0);
	pid_t child = fork();
	if (child == 0) {
		pthread_t ct;
		pthread_create(&ct, NULL, nap_then_wait, NULL);
		pause();
		_exit(0);
	}
	char c;
	CHECK(read(ready_fd[0], &c, 1) == 1);
	struct procfs_process other;
	CHECK_EQ_INT(procfs_read_process(child, &other, NULL, 0), 0);
	/* The second thread's 50 naps: its main thread alone made a few. */
	CHECK_EQ_INT(other.threads, 2);
	CHECK(other.voluntary_switches >= 50);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(ready_fd[0]);
	close(ready_fd[1]);
}
