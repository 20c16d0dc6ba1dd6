/* The symbolization benchmark's helper (bench/symbolize.sh).
 *
 *   sym-capture make BIN ADDRS OUT.opf   a capture whose stacks hold every
 *       address of ADDRS (ELF addresses of BIN, hex, one a line), in stacks
 *       of 8, with BIN's executable segments as the mappings (loaded at a
 *       fixed base when BIN is position-independent)
 *   sym-capture time OUT.opf [--no-inlines]
 *       loads the capture, then symbolizes it as 'oneprof report' does,
 *       and prints the seconds each took and how many distinct addresses
 *       and frames came out
 *   sym-capture dump OUT.opf BASE
 *       symbolizes it and prints each address (minus BASE, hex: the ELF
 *       address) with its frames, innermost first, as
 *       "ADDR<TAB>function file:line<TAB>..." (bench/symbolize.sh compares
 *       them with addr2line's) */
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/capture/format.h"
#include "../src/capture/writer.h"
#include "../src/model/profile.h"
#include "../src/symbolize/symbolize.h"

#define PIE_BASE 0x555555554000ull
#define FRAMES 8

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int make(const char *bin, const char *addrs, const char *out)
{
	elf_version(EV_CURRENT);
	int fd = open(bin, O_RDONLY);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	GElf_Ehdr eh;
	if (!elf || !gelf_getehdr(elf, &eh)) {
		fprintf(stderr, "sym-capture: cannot read '%s' as ELF\n", bin);
		return 1;
	}
	uint64_t base = eh.e_type == ET_DYN ? PIE_BASE : 0;
	uint8_t bid[64];
	size_t bid_len = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn)) && !bid_len) {
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(d = elf_getdata(scn, NULL)))
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_descsz <= 64) {
				memcpy(bid, (char *)d->d_buf + desc_off, nh.n_descsz);
				bid_len = nh.n_descsz;
			}
	}
	int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	FILE *in = fopen(addrs, "r");
	if (ofd < 0 || !in) {
		fprintf(stderr, "sym-capture: cannot open '%s' or '%s'\n", out, addrs);
		return 1;
	}
	struct capture_buf h = { 0 };
	capture_header_u64(&h, CAPTURE_HDR_PID, 1);
	capture_header_u64(&h, CAPTURE_HDR_HZ, 999);
	capture_header_str(&h, CAPTURE_HDR_CMDLINE, bin);
	capture_header_str(&h, CAPTURE_HDR_EXE, bin);
	struct capture_writer *w = capture_writer_new(ofd, 0, 3);
	capture_writer_begin(w, &h);
	capture_buf_free(&h);
	capture_write_string(w, 1, bin, strlen(bin));
	size_t nphdr, nmaps = 0;
	elf_getphdrnum(elf, &nphdr);
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			capture_write_mapping(w, ++nmaps, base + ph.p_vaddr,
					      base + ph.p_vaddr + ph.p_memsz, ph.p_offset, 1, bid,
					      bid_len, 5);
	}
	uint64_t pcs[FRAMES];
	size_t n = 0, stacks = 0, total = 0;
	unsigned long long a;
	for (;;) {
		int got = fscanf(in, "%llx", &a);
		if (got == 1)
			/* Callers are return addresses, looked up one byte back:
			 * store them one past so each frame names its address. */
			pcs[n] = base + a + (n ? 1 : 0), n++, total++;
		if (n == FRAMES || (got != 1 && n)) {
			capture_write_stack(w, ++stacks, CAPTURE_STACK_COMPLETE, pcs, n);
			const uint64_t s[] = { stacks, 1, stacks, 1, 1001001 };
			capture_write_varints(w, CAPTURE_REC_CPU_SAMPLE, s, 5);
			n = 0;
		}
		if (got != 1)
			break;
	}
	const uint64_t end[] = { stacks * 1001001, stacks * 1001001, stacks, 0 };
	capture_write_varints(w, CAPTURE_REC_END, end, 4);
	capture_writer_free(w);
	close(ofd);
	fclose(in);
	elf_end(elf);
	close(fd);
	printf("%zu addresses in %zu stacks\n", total, stacks);
	return 0;
}

static int time_it(const char *path, bool no_inlines)
{
	char err[512];
	double t0 = now();
	struct profile *p = profile_load(path, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "sym-capture: %s\n", err);
		return 1;
	}
	double t1 = now();
	struct sym_options o = { .no_inlines = no_inlines };
	struct symbolizer *s = sym_new_with(&o);
	profile_resolve(p, s);
	double t2 = now();
	const char *const *lines;
	size_t nw = sym_warnings(s, &lines);
	for (size_t i = 0; i < nw; i++)
		fprintf(stderr, "warning: %s\n", lines[i]);
	sym_free(s);
	size_t with_line = 0;
	for (size_t i = 0; i < p->nlocations; i++)
		with_line += p->locations[i].nlines && p->locations[i].lines[0].line;
	printf("load %.4f s, symbolize %.4f s: %zu addresses, %zu frames (%zu inlined), "
	       "%zu with a line, %zu functions\n",
	       t1 - t0, t2 - t1, p->nlocations, p->nlines, p->nlines - p->nlocations, with_line,
	       p->nfunctions);
	profile_free(p);
	return 0;
}

static int dump(const char *path, uint64_t base)
{
	char err[512];
	struct profile *p = profile_load(path, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "sym-capture: %s\n", err);
		return 1;
	}
	struct symbolizer *s = sym_new();
	profile_resolve(p, s);
	for (size_t i = 0; i < p->nlocations; i++) {
		const struct profile_location *l = &p->locations[i];
		printf("%llx", (unsigned long long)(l->address - base));
		for (uint32_t k = 0; k < l->nlines; k++) {
			const struct profile_function *f = &p->functions[l->lines[k].function];
			printf("\t%s %s:%u", f->name, *f->file ? f->file : "??", l->lines[k].line);
		}
		printf("\n");
	}
	sym_free(s);
	profile_free(p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "dump") == 0)
		return dump(argv[2], strtoull(argv[3], NULL, 16));
	if (argc == 5 && strcmp(argv[1], "make") == 0)
		return make(argv[2], argv[3], argv[4]);
	if (argc >= 3 && strcmp(argv[1], "time") == 0)
		return time_it(argv[2], argc > 3 && strcmp(argv[3], "--no-inlines") == 0);
	fprintf(stderr, "usage: sym-capture make BIN ADDRS OUT.opf | time OUT.opf [--no-inlines] | "
			"dump OUT.opf BASE\n");
	return 2;
}
