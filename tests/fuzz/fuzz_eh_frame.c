/* libFuzzer target for the .eh_frame parser and table builder
 * (src/unwind/eh_frame.c), the code that reads every loaded module's CFI
 * inside the profiled process.
 *
 * The input is an .eh_frame section. The seeds in tests/fuzz/eh_frame_seeds/
 * are real ones, `objcopy -O binary --only-section=.eh_frame` of Debian 12's
 * /bin/true, libz.so.1, ld-linux-x86-64.so.2 ("zRS" signal frame, rbp
 * expressions), libprofiler.so.0 ("zPLR", C++), libgcc_s.so.1, of
 * build/tests/progs/split-nofp and of a one-function library that
 * realigns its stack with alloca (GCC's DRAP: def_cfa_expression with
 * deref, cfa in r10). Each input is parsed
 * five ways, always from exactly-sized heap buffers so any overread is an
 * ASan report:
 *   1. as an .eh_frame_hdr alone (unwind__eh_frame_ptr);
 *   2. as both .eh_frame_hdr and .eh_frame at the same address;
 *   3. as .eh_frame behind a header without a search table (the scan path);
 *   4. as .eh_frame behind a header whose search table lists every record
 *      this harness finds by walking the lengths (the table path, with the
 *      parser's FDE and CIE checks doing the rejecting);
 *   5. as .eh_frame behind a header whose count and table encodings are
 *      data[0] and data[1] and whose table is the input from data[2]: every
 *      pointer encoding, with arbitrary values.
 * .eh_frame sits at EH_ADDR and the text covers EH_ADDR +- 2 GiB, so the
 * pc-relative FDE addresses of a real section land in it. Every table that
 * parses is checked: rows strictly increasing inside the text, with known
 * rules; then addresses (every row's pc and its neighbours, and some taken
 * from the input) are looked up with unwind__find_row and the answer
 * checked against a linear search. A violated invariant aborts.
 *
 * Build: make fuzz; run: build/fuzz/fuzz-eh-frame tests/fuzz/eh_frame_seeds
 * -max_total_time=180 (copy the seeds to a scratch corpus directory first
 * to keep new inputs out of the tree). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/capture/encoding.h"
#include "../../src/unwind/unwind_internal.h"

#define EH_ADDR ((uintptr_t)0x100000000ull)
#define HDR_ADDR ((uintptr_t)0x0ff000000ull)
#define TEXT_LO (EH_ADDR - 0x7fffffffu)
#define TEXT_HI (EH_ADDR + 0x80000000u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_eh_frame: invariant broken: %s\n", what);
		abort();
	}
}

static uint8_t *copy_of(const uint8_t *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);
	if (!d)
		abort();
	if (len)
		memcpy(d, p, len);
	return d;
}

/* The row a correct binary search must return for off: the last with
 * pc <= off, or NULL. */
static const struct uw_row *linear_row(const struct uw_table *t, uint32_t off)
{
	const struct uw_row *r = NULL;
	for (size_t i = 0; i < t->nrows && t->rows[i].pc <= off; i++)
		r = &t->rows[i];
	return r;
}

static void check_lookup(const struct uw_table *t, uint32_t off)
{
	check(unwind__find_row(t->rows, t->nrows, off) == linear_row(t, off), "find_row");
}

static void check_table(const struct uw_table *t, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < t->nrows; i++) {
		const struct uw_row *r = &t->rows[i];
		check(!i || r->pc > t->rows[i - 1].pc, "rows strictly increasing");
		check(r->pc <= TEXT_HI - TEXT_LO, "row inside the text");
		check(r->cfa_rule <= UW_SIGNAL && r->rbp_rule <= UW_RBP_LOST, "known rules");
	}
	/* Linear checks are O(rows): only a bounded number of them. */
	size_t step = t->nrows > 64 ? t->nrows / 64 : 1;
	for (size_t i = 0; i < t->nrows; i += step) {
		uint32_t pc = t->rows[i].pc;
		check_lookup(t, pc);
		check_lookup(t, pc - 1);
		check_lookup(t, pc + 1);
		check(unwind__find_row(t->rows, t->nrows, pc) == &t->rows[i], "row at its pc");
	}
	check_lookup(t, 0);
	check_lookup(t, UINT32_MAX);
	struct cursor c = cursor_make(data, size);
	for (int k = 0; k < 8 && cursor_left(&c) >= 4; k++)
		check_lookup(t, cursor_le32(&c));
}

static void parse(const uint8_t *hdr, size_t hdr_len, uintptr_t hdr_addr, const uint8_t *eh,
		  size_t eh_len, uintptr_t eh_addr, const uint8_t *data, size_t size)
{
	struct uw_table t;
	int rc = unwind__parse_eh_frame(hdr, hdr_len, hdr_addr, eh, eh_len, eh_addr, TEXT_LO,
					TEXT_HI, &t);
	check(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "return code");
	if (rc != 0) {
		check(t.rows == NULL && t.nrows == 0, "failure leaves the table empty");
		return;
	}
	check_table(&t, data, size);
	free(t.rows);
}

/* A header: version 1, eh_frame_ptr as pcrel sdata4 (pointing at EH_ADDR),
 * then the count and table encodings; the table follows at byte 8. */
static void put_hdr_start(uint8_t *h, uint8_t count_enc, uint8_t table_enc)
{
	h[0] = 1;
	h[1] = 0x1b; /* pcrel | sdata4 */
	h[2] = count_enc;
	h[3] = table_enc;
	put_le32(h + 4, (uint32_t)(EH_ADDR - (HDR_ADDR + 4)));
}

/* Offsets of the records of the section, found by their lengths alone;
 * the last one may be cut off or run past the end (the parser must
 * refuse it). */
static size_t find_records(const uint8_t *eh, size_t len, uint32_t *offs, size_t max)
{
	size_t n = 0, off = 0;
	while (n < max && len - off >= 4) {
		offs[n++] = (uint32_t)off;
		uint32_t rlen = get_le32(eh + off);
		if (rlen == 0 || rlen == 0xffffffffu || rlen > len - off - 4)
			break;
		off += 4 + (size_t)rlen;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	uint8_t *eh = copy_of(data, size);

	/* 1, 2: the raw bytes as a header, and as both sections, .eh_frame
	 * where the header says it is. */
	uintptr_t eh_addr;
	if (unwind__eh_frame_ptr(eh, size, EH_ADDR, &eh_addr) == 0)
		parse(eh, size, EH_ADDR, eh, size, eh_addr, data, size);

	/* 3: no search table. */
	uint8_t *hdr = malloc(8);
	if (!hdr)
		abort();
	put_hdr_start(hdr, 0xff, 0xff);
	parse(hdr, 8, HDR_ADDR, eh, size, EH_ADDR, data, size);
	free(hdr);

	/* 4: a search table of every record (datarel sdata4 entries). */
	static uint32_t offs[1 << 16];
	size_t n = find_records(eh, size, offs, sizeof(offs) / sizeof(offs[0]));
	size_t hlen = 12 + 8 * n;
	hdr = malloc(hlen);
	if (!hdr)
		abort();
	put_hdr_start(hdr, 0x03 /* udata4 */, 0x3b /* datarel | sdata4 */);
	put_le32(hdr + 8, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		/* initial_location is not used by the parser: the record's
		 * offset keeps the table sorted. */
		put_le32(hdr + 12 + 8 * i, (uint32_t)(EH_ADDR + offs[i] - HDR_ADDR));
		put_le32(hdr + 16 + 8 * i, (uint32_t)(EH_ADDR + offs[i] - HDR_ADDR));
	}
	parse(hdr, hlen, HDR_ADDR, eh, size, EH_ADDR, data, size);
	free(hdr);

	/* 5: encodings and table from the input. */
	if (size >= 2) {
		hlen = 8 + size - 2;
		hdr = malloc(hlen);
		if (!hdr)
			abort();
		put_hdr_start(hdr, data[0], data[1]);
		memcpy(hdr + 8, data + 2, size - 2);
		parse(hdr, hlen, HDR_ADDR, eh, size, EH_ADDR, data, size);
		free(hdr);
	}
	free(eh);
	return 0;
}
