/* perf_event plumbing: see perf.h. */
#include "perf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

void perf_attr_cpu_clock(struct perf_event_attr *attr, unsigned hz)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	/* Hardware counters are often missing (virtual machines); the
	 * software CPU clock exists everywhere and measures CPU time, which
	 * is what the in-process sampler measures too. */
	attr->type = PERF_TYPE_SOFTWARE;
	attr->config = PERF_COUNT_SW_CPU_CLOCK;
	attr->freq = 1;
	attr->sample_freq = hz;
	attr->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			    PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
	attr->disabled = 1;
	attr->mmap = 1; /* with mmap2: MMAP2 records, with device and inode */
	attr->mmap2 = 1;
	attr->comm = 1;
	attr->comm_exec = 1;
	attr->task = 1;
	attr->sample_id_all = 1;
	/* The capture's clock: record times line up with the header's. */
	attr->use_clockid = 1;
	attr->clockid = CLOCK_MONOTONIC;
	attr->wakeup_events = 0;
}

void perf_attr_dwarf(struct perf_event_attr *attr, uint32_t stack_bytes)
{
	attr->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	attr->sample_regs_user = PERF_DWARF_REGS_MASK;
	attr->sample_stack_user = stack_bytes;
	/* Kernel frames still come from the kernel's walk; user frames from
	 * the copy, so the kernel's frame-pointer guess is not wanted. */
	attr->exclude_callchain_user = 1;
}

static bool take_u64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	if (end - *p < 8)
		return false;
	memcpy(v, *p, 8);
	*p += 8;
	return true;
}

bool perf_parse_user_stack(const uint8_t *p, const uint8_t *end, struct perf_user_stack *out)
{
	memset(out, 0, sizeof(*out));
	if (!take_u64(&p, end, &out->abi))
		return false;
	if (out->abi != PERF_SAMPLE_REGS_ABI_NONE) {
		/* One value per mask bit, lowest bit first: BP, SP, IP. */
		if (!take_u64(&p, end, &out->bp) || !take_u64(&p, end, &out->sp) ||
		    !take_u64(&p, end, &out->ip))
			return false;
	}
	if (!take_u64(&p, end, &out->size))
		return false;
	if (out->size == 0)
		return true; /* no data and no dyn_size follow */
	if (out->size > (uint64_t)(end - p) || (uint64_t)(end - p) - out->size < 8)
		return false;
	out->stack = p;
	p += out->size;
	take_u64(&p, end, &out->dyn_size);
	return out->dyn_size <= out->size;
}

long perf_sysctl(const char *path, long def)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return def;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return def;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	return end == buf ? def : v;
}

void perf_open_error(int err, const char *what, char *msg, size_t cap)
{
	long paranoid = perf_sysctl("/proc/sys/kernel/perf_event_paranoid", 99);
	switch (err) {
	case EACCES:
	case EPERM:
		snprintf(msg, cap,
			 "cannot profile %s: permission denied (kernel.perf_event_paranoid is %ld); "
			 "run as root or with CAP_PERFMON (and CAP_SYS_PTRACE for another user's "
			 "process), or allow it with 'sysctl kernel.perf_event_paranoid=-1'",
			 what, paranoid);
		break;
	case ESRCH:
		snprintf(msg, cap, "cannot profile %s: no such process; check the pid (it may "
			 "have exited)", what);
		break;
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
		snprintf(msg, cap,
			 "cannot profile %s: the kernel does not support the software cpu-clock "
			 "sampling event (%s); a kernel with CONFIG_PERF_EVENTS is needed",
			 what, strerror(err));
		break;
	case ENOSYS:
		snprintf(msg, cap, "cannot profile %s: this kernel has no perf_event_open "
			 "(built without CONFIG_PERF_EVENTS, or blocked by a seccomp filter); "
			 "use 'oneprof record -- COMMAND' (the in-process agent) instead", what);
		break;
	case EMFILE:
	case ENFILE:
		snprintf(msg, cap,
			 "cannot profile %s: too many open files (one per CPU or thread profiled); "
			 "raise the limit with 'ulimit -n' (now %ld)", what,
			 sysconf(_SC_OPEN_MAX));
		break;
	case EINVAL:
		snprintf(msg, cap,
			 "cannot profile %s: the kernel refused the event settings (invalid "
			 "argument); the rate may be above kernel.perf_event_max_sample_rate "
			 "(%ld): lower it with -F", what,
			 perf_sysctl("/proc/sys/kernel/perf_event_max_sample_rate", 0));
		break;
	default:
		snprintf(msg, cap, "cannot profile %s: perf_event_open failed: %s", what,
			 strerror(err));
		break;
	}
}

int perf_ring_attach(struct perf_ring *r, struct perf_event_mmap_page *meta, uint8_t *data,
		     uint64_t size)
{
	memset(r, 0, sizeof(*r));
	if (!size || (size & (size - 1)))
		return -EINVAL;
	r->copy = malloc(PERF_RECORD_MAX);
	if (!r->copy)
		return -ENOMEM;
	r->meta = meta;
	r->data = data;
	r->size = size;
	return 0;
}

int perf_ring_map(struct perf_ring *r, int fd, unsigned pages)
{
	memset(r, 0, sizeof(*r));
	if (!pages || (pages & (pages - 1)))
		return -EINVAL;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = page * (1 + (size_t)pages);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	int rc = perf_ring_attach(r, m, (uint8_t *)m + page, (uint64_t)page * pages);
	if (rc != 0) {
		munmap(m, len);
		return rc;
	}
	r->map_len = len;
	return 0;
}

void perf_ring_unmap(struct perf_ring *r)
{
	if (r->map_len)
		munmap(r->meta, r->map_len);
	free(r->copy);
	memset(r, 0, sizeof(*r));
}

/* Copies len bytes starting at ring offset off, wrapping at the end. */
static void ring_copy(const struct perf_ring *r, uint64_t off, void *out, size_t len)
{
	uint64_t at = off & (r->size - 1);
	size_t first = (size_t)(r->size - at) < len ? (size_t)(r->size - at) : len;
	memcpy(out, r->data + at, first);
	memcpy((uint8_t *)out + first, r->data, len - first);
}

size_t perf_ring_drain(struct perf_ring *r, perf_record_fn fn, void *arg, uint64_t *bad)
{
	/* Acquire: the records' bytes are visible once the head that covers
	 * them is (the kernel writes them first). */
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	size_t n = 0;
	while (head - tail >= sizeof(struct perf_event_header)) {
		struct perf_event_header h;
		ring_copy(r, tail, &h, sizeof(h));
		if (h.size < sizeof(h) || h.size > head - tail) {
			(*bad)++;
			tail = head;
			break;
		}
		uint64_t at = tail & (r->size - 1);
		const struct perf_event_header *rec;
		if (at + h.size <= r->size) {
			rec = (const struct perf_event_header *)(r->data + at);
		} else {
			ring_copy(r, tail, r->copy, h.size);
			rec = (const struct perf_event_header *)r->copy;
		}
		fn(arg, rec);
		tail += h.size;
		n++;
	}
	if (head != tail && head - tail < sizeof(struct perf_event_header)) {
		(*bad)++; /* a partial header the kernel would never leave */
		tail = head;
	}
	/* Release: the kernel may reuse the space only after we read it. */
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}
