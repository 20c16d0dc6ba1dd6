/* Internal interface of src/unwind/: the compact row format shared by the
 * table builder (eh_frame.c) and the walker (walk.c), and the parser entry
 * points that tests call on copies of real tables. */
#ifndef UNWIND_INTERNAL_H
#define UNWIND_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* How to find the caller's frame from a row. */
enum uw_cfa_rule {
	UW_NONE = 0,      /* no usable CFI here: one frame-pointer step */
	UW_CFA_RSP,       /* cfa = rsp + cfa_off */
	UW_CFA_RBP,       /* cfa = rbp + cfa_off */
	UW_CFA_PLT,       /* lazy PLT entry: cfa = rsp + cfa_off + ((pc & 15) >= arg ? 8 : 0) */
	UW_CFA_DEREF_RSP, /* cfa = *(rsp + cfa_off) + arg (hand-written code, saved rsp) */
	UW_CFA_DEREF_RBP, /* cfa = *(rbp + cfa_off) + arg (GCC's stack realignment, DRAP) */
	UW_OUTERMOST,     /* return address undefined (_start, clone): the walk is complete */
	UW_SIGNAL,        /* signal trampoline ('S' augmentation): stop, ucontext not parsed */
};

/* Where the caller's rbp is. */
enum uw_rbp_rule {
	UW_RBP_SAME = 0, /* unchanged by this frame */
	UW_RBP_AT_CFA,   /* saved at cfa + rbp_off */
	UW_RBP_AT_RBP,   /* saved at rbp + rbp_off (DRAP frames: DW_OP_breg6) */
	UW_RBP_AT_RSP,   /* saved at rsp + rbp_off (DW_OP_breg7) */
	UW_RBP_LOST,     /* some rule we do not follow: unknown from here on */
};

/* One row: the rule from pc up to the next row's pc. 16 bytes. */
struct uw_row {
	uint32_t pc;      /* offset from the module's text start */
	int32_t cfa_off;
	int16_t rbp_off;
	int16_t ra_off;   /* return address at cfa + ra_off, normally -8 */
	int16_t arg;      /* UW_CFA_PLT threshold, or the constant added after a deref */
	uint8_t cfa_rule; /* enum uw_cfa_rule */
	uint8_t rbp_rule; /* enum uw_rbp_rule */
};

/* The rows of one module, sorted by pc, owned by the caller (free(rows)). */
struct uw_table {
	struct uw_row *rows;
	size_t nrows;
	size_t unsupported_fdes;
};

/* Decodes eh_frame_ptr of the .eh_frame_hdr at hdr (hdr_len bytes, at
 * address hdr_addr in the process). Returns 0 or -EINVAL. */
int unwind__eh_frame_ptr(const uint8_t *hdr, size_t hdr_len, uintptr_t hdr_addr,
			 uintptr_t *eh_addr);

/* Builds the rows of the FDEs covering [text_lo, text_hi) from a copy of
 * .eh_frame_hdr (its bytes at hdr, its process address hdr_addr) and of the
 * memory from .eh_frame to the end of its segment (eh, eh_addr). Every read
 * stays inside the two buffers whatever they contain. Returns 0 (out
 * filled, possibly with no rows) or -EINVAL (malformed: out empty) or
 * -ENOMEM. */
int unwind__parse_eh_frame(const uint8_t *hdr, size_t hdr_len, uintptr_t hdr_addr,
			   const uint8_t *eh, size_t eh_len, uintptr_t eh_addr,
			   uintptr_t text_lo, uintptr_t text_hi, struct uw_table *out);

/* The row in effect at offset off, or NULL before the first row. */
const struct uw_row *unwind__find_row(const struct uw_row *rows, size_t n, uint32_t off);

#endif
