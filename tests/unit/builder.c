/* Building small profiles by hand for the unit tests: see builder.h. */
#include "builder.h"

#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/capture/writer.h"
#include "../../src/model/profile.h"
#include "../../src/symbolize/sym_internal.h"
#include "../../src/util/util.h"

struct profile *tb_empty_profile(void)
{
	struct profile *p = xcalloc(1, sizeof(*p));
	p->intern = intern_new();
	p->name = profile_intern(p, "test.opf", 8);
	return p;
}

void tb_add_mapping(struct profile *p, uint64_t start, uint64_t end, const char *path,
		    const uint8_t *bid, size_t bidlen)
{
	GROW(p->mappings, p->cap_mappings, p->nmappings + 1);
	struct profile_mapping *m = &p->mappings[p->nmappings++];
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->path = profile_intern(p, path, strlen(path));
	if (bidlen)
		memcpy(m->build_id, bid, bidlen);
	m->build_id_len = bidlen;
}

void tb_add_function(struct profile *p, const char *name)
{
	GROW(p->functions, p->cap_functions, p->nfunctions + 1);
	p->functions[p->nfunctions].name = profile_intern(p, name, strlen(name));
	p->functions[p->nfunctions].module = "";
	p->functions[p->nfunctions].file = "";
	p->functions[p->nfunctions].start_line = 0;
	p->nfunctions++;
}

void tb_add_location(struct profile *p, uint64_t addr, int32_t mapping, uint32_t function)
{
	GROW(p->locations, p->cap_locations, p->nlocations + 1);
	struct profile_location *l = &p->locations[p->nlocations++];
	memset(l, 0, sizeof(*l));
	l->address = addr;
	l->mapping = mapping;
	l->function = function;
}

void tb_add_stack(struct profile *p, const uint32_t *locs, uint32_t n)
{
	GROW(p->stacks, p->cap_stacks, p->nstacks + 1);
	struct profile_stack *s = &p->stacks[p->nstacks++];
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->pcs = profile_alloc(p, n * sizeof(uint64_t));
	s->locations = profile_alloc(p, n * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		s->locations[i] = locs[i];
		s->pcs[i] = p->locations[locs[i]].address;
	}
}

void tb_add_thread(struct profile *p, uint64_t tid, const char *name)
{
	GROW(p->threads, p->cap_threads, p->nthreads + 1);
	struct profile_thread *t = &p->threads[p->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->name = profile_intern(p, name, strlen(name));
}

void tb_add_sample(struct profile *p, uint32_t thread, uint32_t stack, uint64_t count,
		   uint64_t time_ns)
{
	GROW(p->samples, p->cap_samples, p->nsamples + 1);
	struct profile_sample *s = &p->samples[p->nsamples++];
	memset(s, 0, sizeof(*s));
	s->time_ns = time_ns;
	s->thread = thread;
	s->stack = stack;
	s->count = count;
	s->cpu_ns = count * 10000000; /* 100 Hz */
	p->total_count += count;
	p->total_cpu_ns += s->cpu_ns;
	if (time_ns > p->samples_end_ns)
		p->samples_end_ns = time_ns;
}

struct tb_capture {
	FILE *f;
	struct capture_writer *w;
};

struct tb_capture *tb_capture_new(void)
{
	return tb_capture_new_config(NULL);
}

struct tb_capture *tb_capture_new_config(const char *config)
{
	struct tb_capture *c = xcalloc(1, sizeof(*c));
	c->f = tmpfile();
	if (!c->f)
		return c; /* every call below does nothing; the load fails */
	struct capture_buf h = { 0 };
	capture_header_u64(&h, CAPTURE_HDR_PID, 1);
	capture_header_u64(&h, CAPTURE_HDR_HZ, 100);
	if (config)
		capture_header_str(&h, CAPTURE_HDR_CONFIG, config);
	c->w = capture_writer_new(fileno(c->f), 0, 0);
	if (c->w && capture_writer_begin(c->w, &h) != 0) {
		capture_writer_free(c->w);
		c->w = NULL;
	}
	capture_buf_free(&h);
	return c;
}

void tb_capture_string(struct tb_capture *c, uint64_t id, const char *s)
{
	if (c->w)
		capture_write_string(c->w, id, s, strlen(s));
}

void tb_capture_stack(struct tb_capture *c, uint64_t id, const uint64_t *pcs, size_t n)
{
	if (c->w)
		capture_write_stack(c->w, id, CAPTURE_STACK_COMPLETE, pcs, n);
}

void tb_capture_stack_pid(struct tb_capture *c, uint64_t id, const uint64_t *pcs, size_t n,
			  uint64_t pid)
{
	if (c->w)
		capture_write_stack_pid(c->w, id, CAPTURE_STACK_COMPLETE, pcs, n, pid);
}

void tb_capture_mapping_pid(struct tb_capture *c, uint64_t id, uint64_t start, uint64_t end,
			    uint64_t offset, uint64_t path_id, uint64_t pid)
{
	if (c->w)
		capture_write_mapping_pid(c->w, id, start, end, offset, path_id, NULL, 0,
					  5 /* r-x */, pid);
}

int tb_self_exec_mapping(uint64_t inside, uint64_t *start, uint64_t *end, uint64_t *offset,
			 char *path, size_t len)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = n > 0 ? fopen("/proc/self/maps", "r") : NULL;
	if (!f)
		return -1;
	exe[n] = '\0';
	char line[8192];
	int found = -1;
	while (found && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &lo, &hi, perms, &off, &pos) != 4)
			continue;
		char *p = line + pos;
		while (*p == ' ')
			p++;
		p[strcspn(p, "\n")] = '\0';
		if (strcmp(p, exe) || !strchr(perms, 'x') || inside < lo || inside >= hi)
			continue;
		*start = lo;
		*end = hi;
		*offset = off;
		snprintf(path, len, "%s", p);
		found = 0;
	}
	fclose(f);
	return found;
}

void tb_capture_body(struct tb_capture *c, unsigned kind, const void *body, size_t len)
{
	if (c->w)
		capture_write_body(c->w, kind, body, len);
}

void tb_capture_rec(struct tb_capture *c, unsigned kind, const uint64_t *fields, size_t n)
{
	if (c->w)
		capture_write_varints(c->w, kind, fields, n);
}

struct profile *tb_capture_load(struct tb_capture *c, char *err, size_t errlen)
{
	return tb_capture_load_with(c, PROFILE_SAMPLE_TIMES, err, errlen);
}

struct profile *tb_capture_load_with(struct tb_capture *c, unsigned flags, char *err,
				     size_t errlen)
{
	struct profile *p = NULL;
	snprintf(err, errlen, "could not write the test capture");
	if (c->w && capture_writer_free(c->w) == 0) {
		rewind(c->f);
		p = profile_read_with(c->f, "test.opf", flags, err, errlen);
	}
	if (c->f)
		fclose(c->f);
	free(c);
	return p;
}

/* Read from the executable's file by the symbolizer's reader, apart from
 * the agent's own walk of the loaded notes it is checked against. */
size_t tb_self_build_id(uint8_t out[64])
{
	size_t len = 0;
	elf_version(EV_CURRENT);
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	if (elf)
		sym_elf_build_id(elf, out, &len);
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return len;
}
