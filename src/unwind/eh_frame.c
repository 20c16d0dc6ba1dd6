/* .eh_frame parser and table builder, run outside the signal handler.
 *
 * Hand-written on purpose (see unwind.h): the agent may not link
 * libunwind, libelf or libgcc's unwinder. It reads .eh_frame_hdr for the
 * list of FDEs (or scans .eh_frame when the header has no table), runs
 * each FDE's CFA program (the CIE's initial instructions, then the FDE's)
 * and keeps only what the walker needs per address range: how to compute
 * the CFA, where the return address and the caller's rbp are.
 *
 * The input is process memory but is treated as hostile: every read goes
 * through a cursor of ../capture/encoding.h bounded by the buffer it
 * belongs to (the one cursor of the project), so a malformed
 * table can fail an FDE or the module, never crash the builder. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/encoding.h"
#include "unwind_internal.h"

/* Pointer encodings (DW_EH_PE_*). */
#define PE_OMIT 0xff
#define PE_FORMAT 0x0f
#define PE_APPL 0x70
#define PE_INDIRECT 0x80
#define PE_PCREL 0x10
#define PE_DATAREL 0x30

#define REG_RBP 6
#define REG_RSP 7

/* Nesting of DW_CFA_remember_state; compilers use one or two levels. */
#define STATE_STACK 8

/* Bytes of process memory: its copy at buf, its address in the process at
 * addr. In the agent buf == (void *)addr; tests pass copies. */
struct region {
	const uint8_t *buf;
	size_t len;
	uintptr_t addr;
};

/* Readers are the cursors of ../capture/encoding.h: a read past the end
 * sets bad and yields zeros. A cursor always points into one region, so
 * the process address of its position (for pc-relative pointers) is the
 * region's address plus the offset. */

/* A cursor over [addr, addr+len) of r; bad (and empty) if that is not
 * inside r. */
static struct cursor cur_at(const struct region *r, uintptr_t addr, uint64_t len)
{
	if (addr < r->addr || addr - r->addr > r->len || len > r->len - (addr - r->addr)) {
		struct cursor bad = { r->buf, r->buf, true };
		return bad;
	}
	return cursor_make(r->buf + (addr - r->addr), (size_t)len);
}

/* The process address of c's position; c points into r. */
static uintptr_t cur_addr(const struct region *r, const struct cursor *c)
{
	return r->addr + (uintptr_t)(c->p - r->buf);
}

/* Decodes a pointer of encoding enc at c, which points into r (pcrel
 * pointers are relative to their own address). datarel is relative to
 * data_base (the .eh_frame_hdr start), refused where data_base is 0;
 * indirect pointers would need a load through an address we cannot check,
 * so they are refused too. */
static bool rd_ptr(const struct region *r, struct cursor *c, uint8_t enc, uintptr_t data_base,
		   uint64_t *out)
{
	if (enc == PE_OMIT || (enc & PE_INDIRECT) || c->bad)
		return false;
	uintptr_t field = cur_addr(r, c);
	uint64_t v;
	switch (enc & PE_FORMAT) {
	case 0x00: /* absptr */
	case 0x04: /* udata8 */
	case 0x0c: /* sdata8 */
		v = cursor_le64(c);
		break;
	case 0x01: v = cursor_varint(c); break;
	case 0x02: v = cursor_le16(c); break;
	case 0x03: v = cursor_le32(c); break;
	case 0x09: v = (uint64_t)cursor_svarint(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)cursor_le16(c); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)cursor_le32(c); break;
	default: return false;
	}
	switch (enc & PE_APPL) {
	case 0:
		break;
	case PE_PCREL:
		v += field;
		break;
	case PE_DATAREL:
		if (!data_base)
			return false;
		v += data_base;
		break;
	default: /* textrel, funcrel, aligned: not emitted on x86-64 Linux */
		return false;
	}
	*out = v;
	return !c->bad;
}

int unwind__eh_frame_ptr(const uint8_t *hdr, size_t hdr_len, uintptr_t hdr_addr,
			 uintptr_t *eh_addr)
{
	struct region h = { hdr, hdr_len, hdr_addr };
	struct cursor c = cur_at(&h, hdr_addr, hdr_len);
	uint8_t version = cursor_u8(&c), ptr_enc = cursor_u8(&c);
	cursor_skip(&c, 2); /* fde_count and table encodings */
	uint64_t v;
	if (c.bad || version != 1 || !rd_ptr(&h, &c, ptr_enc, hdr_addr, &v))
		return -EINVAL;
	*eh_addr = (uintptr_t)v;
	return 0;
}

/* ---- CIEs and FDEs ---- */

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc; /* 'R': encoding of FDE addresses, absptr by default */
	bool aug_z;      /* 'z': FDEs carry augmentation data after a length */
	bool signal;     /* 'S': a signal trampoline */
	struct cursor insns;
};

struct fde {
	uintptr_t begin, end, addr;
	struct cie cie;
	struct cursor insns;
};

/* The body of the record at addr: after its 32-bit length. 64-bit
 * lengths (0xffffffff) never occur in .eh_frame and are refused, as by
 * libgcc. */
static struct cursor record_at(const struct region *eh, uintptr_t addr)
{
	struct cursor c = cur_at(eh, addr, 4);
	uint32_t len = cursor_le32(&c);
	if (c.bad || len == 0 || len == 0xffffffffu) {
		c.bad = true;
		return c;
	}
	return cur_at(eh, addr + 4, len);
}

static int parse_cie(const struct region *eh, uintptr_t addr, struct cie *cie)
{
	memset(cie, 0, sizeof(*cie));
	struct cursor c = record_at(eh, addr);
	if (cursor_le32(&c) != 0) /* CIE id */
		return -1;
	uint8_t version = cursor_u8(&c);
	if (version != 1 && version != 3)
		return -1;
	char aug[8];
	size_t n = 0;
	for (;;) {
		uint8_t ch = cursor_u8(&c);
		if (c.bad || n == sizeof(aug) - 1)
			return -1;
		if (!ch)
			break;
		aug[n++] = (char)ch;
	}
	aug[n] = '\0';
	const char *a = aug;
	if (a[0] == 'e' && a[1] == 'h') { /* old GCC: an EH data pointer */
		cursor_skip(&c, 8);
		a += 2;
	}
	cie->code_align = cursor_varint(&c);
	cie->data_align = cursor_svarint(&c);
	cie->ra_reg = version == 1 ? cursor_u8(&c) : cursor_varint(&c);
	if (c.bad || cie->code_align == 0 || cie->ra_reg == REG_RBP || cie->ra_reg == REG_RSP)
		return -1;
	if (*a == 'z') {
		cie->aug_z = true;
		uint64_t alen = cursor_varint(&c);
		struct cursor d = cursor_sub(&c, alen);
		for (a++; *a; a++) {
			uint8_t enc;
			uint64_t ignored;
			switch (*a) {
			case 'R':
				cie->fde_enc = cursor_u8(&d);
				break;
			case 'P': /* personality: skipped, never dereferenced */
				enc = cursor_u8(&d);
				if (!rd_ptr(eh, &d, enc & (uint8_t)~PE_INDIRECT, 0, &ignored))
					return -1;
				break;
			case 'L': /* LSDA encoding: FDEs skip their LSDA by length */
				cursor_skip(&d, 1);
				break;
			case 'S':
				cie->signal = true;
				break;
			default: /* unknown: its data could hide the 'R' byte */
				return -1;
			}
		}
		if (d.bad)
			return -1;
	} else {
		for (; *a; a++) {
			if (*a != 'S')
				return -1;
			cie->signal = true;
		}
	}
	if (c.bad)
		return -1;
	cie->insns = c;
	return 0;
}

static int parse_fde(const struct region *eh, uintptr_t addr, struct fde *f)
{
	memset(f, 0, sizeof(*f));
	struct cursor c = record_at(eh, addr);
	uintptr_t id_addr = cur_addr(eh, &c);
	uint32_t delta = cursor_le32(&c);
	if (c.bad || delta == 0) /* 0: a CIE, not an FDE */
		return -1;
	if (parse_cie(eh, id_addr - delta, &f->cie) != 0)
		return -1;
	uint64_t begin, range;
	if (!rd_ptr(eh, &c, f->cie.fde_enc, 0, &begin) ||
	    !rd_ptr(eh, &c, f->cie.fde_enc & PE_FORMAT, 0, &range))
		return -1;
	if (f->cie.aug_z)
		cursor_skip(&c, cursor_varint(&c));
	if (c.bad || begin + range < begin)
		return -1;
	f->begin = (uintptr_t)begin;
	f->end = (uintptr_t)(begin + range);
	f->addr = addr;
	f->insns = c;
	return 0;
}

/* ---- CFA programs ---- */

enum { CFA_BAD, CFA_REG, CFA_PLT, CFA_DEREF };
enum { R_SAME, R_AT_CFA, R_AT_RBP, R_AT_RSP, R_UNDEF, R_LOST };

struct rule {
	uint8_t how;
	int64_t off;
};

/* The rules we track at one location: the CFA, rbp and the return
 * address. Other registers' rules are parsed and dropped. */
struct state {
	uint8_t cfa_how;
	uint64_t cfa_reg;
	int64_t cfa_off, cfa_arg;
	struct rule rbp, ra;
};

struct rowvec {
	struct uw_row *v;
	size_t n, cap;
};

struct run {
	const struct region *eh; /* the FDE's and CIE's programs point into it */
	const struct cie *cie;
	struct state init; /* after the CIE's instructions: DW_CFA_restore */
	struct state stack[STATE_STACK];
	unsigned depth;
	uintptr_t loc, limit; /* rows are emitted for [FDE start, limit) */
	uintptr_t text_lo;
	bool emit;            /* false while running the CIE's instructions */
	bool unsupported;     /* a row fell back to UW_NONE */
	struct rowvec *out;
};

static int64_t factor(uint64_t v, int64_t f)
{
	return (int64_t)(v * (uint64_t)f); /* wraps, never UB; a wrong value only */
}

static bool fits16(int64_t v)
{
	return v >= INT16_MIN && v <= INT16_MAX;
}

static bool fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static struct uw_row make_row(const struct state *s, const struct run *r)
{
	struct uw_row row;
	memset(&row, 0, sizeof(row));
	row.pc = (uint32_t)(r->loc - r->text_lo);
	if (r->cie->signal) {
		row.cfa_rule = UW_SIGNAL;
		return row;
	}
	if (s->ra.how == R_UNDEF) {
		row.cfa_rule = UW_OUTERMOST;
		return row;
	}
	uint8_t rule = UW_NONE;
	switch (s->cfa_how) {
	case CFA_REG:
		rule = s->cfa_reg == REG_RSP ? UW_CFA_RSP : s->cfa_reg == REG_RBP ? UW_CFA_RBP : UW_NONE;
		break;
	case CFA_PLT:
		rule = UW_CFA_PLT;
		break;
	case CFA_DEREF:
		rule = s->cfa_reg == REG_RSP ? UW_CFA_DEREF_RSP : UW_CFA_DEREF_RBP;
		break;
	}
	if (rule == UW_NONE || !fits32(s->cfa_off) || !fits16(s->cfa_arg) ||
	    s->ra.how != R_AT_CFA || !fits16(s->ra.off))
		return row; /* UW_NONE: the caller notes it unsupported */
	row.cfa_rule = rule;
	row.cfa_off = (int32_t)s->cfa_off;
	row.arg = (int16_t)s->cfa_arg;
	row.ra_off = (int16_t)s->ra.off;
	switch (s->rbp.how) {
	case R_SAME: row.rbp_rule = UW_RBP_SAME; break;
	case R_AT_CFA: row.rbp_rule = UW_RBP_AT_CFA; break;
	case R_AT_RBP: row.rbp_rule = UW_RBP_AT_RBP; break;
	case R_AT_RSP: row.rbp_rule = UW_RBP_AT_RSP; break;
	default: row.rbp_rule = UW_RBP_LOST; break;
	}
	if (row.rbp_rule != UW_RBP_SAME && row.rbp_rule != UW_RBP_LOST) {
		if (fits16(s->rbp.off))
			row.rbp_off = (int16_t)s->rbp.off;
		else
			row.rbp_rule = UW_RBP_LOST;
	}
	return row;
}

static bool same_rule(const struct uw_row *a, const struct uw_row *b)
{
	return a->cfa_off == b->cfa_off && a->rbp_off == b->rbp_off && a->ra_off == b->ra_off &&
	       a->arg == b->arg && a->cfa_rule == b->cfa_rule && a->rbp_rule == b->rbp_rule;
}

/* Appends a row; a row with the rule already in effect adds nothing, one
 * at the pc of the last row replaces it. */
static int push_row(struct rowvec *v, const struct uw_row *row)
{
	if (v->n) {
		struct uw_row *last = &v->v[v->n - 1];
		if (last->pc == row->pc) {
			*last = *row;
			return 0;
		}
		if (same_rule(last, row))
			return 0;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		struct uw_row *nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = *row;
	return 0;
}

static int push_none(struct rowvec *v, uintptr_t pc, uintptr_t text_lo)
{
	struct uw_row row;
	memset(&row, 0, sizeof(row));
	row.pc = (uint32_t)(pc - text_lo);
	return push_row(v, &row);
}

static int emit(struct run *r, const struct state *s)
{
	if (!r->emit || r->loc >= r->limit)
		return 0;
	struct uw_row row = make_row(s, r);
	if (row.cfa_rule == UW_NONE)
		r->unsupported = true;
	return push_row(r->out, &row);
}

/* The rules at loc hold until `to`. */
static int advance_to(struct run *r, const struct state *s, uintptr_t to)
{
	if (!r->emit || to < r->loc)
		return -1; /* no locations in a CIE; set_loc going back */
	if (to == r->loc)
		return 0;
	int err = emit(r, s);
	r->loc = to;
	return err;
}

static int advance(struct run *r, const struct state *s, uint64_t delta)
{
	uint64_t d = delta * r->cie->code_align;
	if (r->cie->code_align && d / r->cie->code_align != delta)
		return -1;
	/* Past the limit nothing more is emitted: clamp rather than wrap. */
	uintptr_t to = d >= (uint64_t)(r->limit - r->loc) && r->limit > r->loc ? r->limit
									    : r->loc + (uintptr_t)d;
	return advance_to(r, s, to);
}

static void set_rule(const struct run *r, struct state *s, uint64_t reg, uint8_t how, int64_t off)
{
	struct rule *t = reg == REG_RBP ? &s->rbp : reg == r->cie->ra_reg ? &s->ra : NULL;
	if (!t)
		return;
	/* The return address must be at CFA+off or undefined; anything else
	 * makes the row unusable (R_LOST). */
	if (t == &s->ra && how != R_AT_CFA && how != R_UNDEF)
		how = R_LOST;
	t->how = how;
	t->off = off;
}

static void restore_rule(const struct run *r, struct state *s, uint64_t reg)
{
	if (reg == REG_RBP)
		s->rbp = r->init.rbp;
	else if (reg == r->cie->ra_reg)
		s->ra = r->init.ra;
}

/* The CFA expressions compilers and linkers emit on x86-64 that we can
 * evaluate with stack loads only:
 *   lazy PLT entries: breg7 OFF; breg16 0; lit15; and; litN; ge; lit3; shl; plus
 *   saved stack pointer (DRAP, hand-written code): breg6|breg7 OFF; deref [; plus_uconst K]
 * Anything else makes the CFA unknown at these locations. */
static void cfa_expression(struct state *s, struct cursor e)
{
	s->cfa_how = CFA_BAD;
	uint8_t op = cursor_u8(&e);
	if (op != 0x70 + REG_RBP && op != 0x70 + REG_RSP)
		return;
	int64_t off = cursor_svarint(&e);
	uint8_t next = cursor_u8(&e);
	if (op == 0x70 + REG_RSP && next == 0x80 /* breg16 */) {
		if (cursor_svarint(&e) != 0 || cursor_u8(&e) != 0x3f /* lit15 */ ||
		    cursor_u8(&e) != 0x1a /* and */)
			return;
		uint8_t lit = cursor_u8(&e);
		if (lit < 0x30 || lit > 0x4f || cursor_u8(&e) != 0x2a /* ge */ ||
		    cursor_u8(&e) != 0x33 /* lit3 */ || cursor_u8(&e) != 0x24 /* shl */ ||
		    cursor_u8(&e) != 0x22 /* plus */ || !cursor_done(&e))
			return;
		s->cfa_how = CFA_PLT;
		s->cfa_reg = REG_RSP;
		s->cfa_off = off;
		s->cfa_arg = lit - 0x30;
	} else if (next == 0x06 /* deref */) {
		int64_t add = 0;
		if (!cursor_done(&e)) {
			if (cursor_u8(&e) != 0x23 /* plus_uconst */)
				return;
			uint64_t k = cursor_varint(&e);
			if (k > INT16_MAX)
				return;
			add = (int64_t)k;
		}
		if (!cursor_done(&e))
			return;
		s->cfa_how = CFA_DEREF;
		s->cfa_reg = op - 0x70;
		s->cfa_off = off;
		s->cfa_arg = add;
	}
}

/* DW_CFA_expression for rbp: only "saved at rbp+OFF / rsp+OFF" is kept. */
static void rbp_expression(struct state *s, struct cursor e)
{
	s->rbp.how = R_LOST;
	uint8_t op = cursor_u8(&e);
	int64_t off = cursor_svarint(&e);
	if (!cursor_done(&e))
		return;
	if (op == 0x70 + REG_RBP)
		s->rbp.how = R_AT_RBP;
	else if (op == 0x70 + REG_RSP)
		s->rbp.how = R_AT_RSP;
	s->rbp.off = off;
}

/* Runs a CFA program. Returns 0, -1 when it cannot be followed (unknown
 * opcode, malformed operand, state stack misuse) or -ENOMEM. */
static int exec(struct run *r, struct state *s, struct cursor c)
{
	const struct cie *cie = r->cie;
	int err = 0;
	while (!err && !c.bad && c.p < c.end && !(r->emit && r->loc >= r->limit)) {
		uint8_t op = cursor_u8(&c), low = op & 0x3f;
		uint64_t reg, v;
		switch (op >> 6) {
		case 1: /* advance_loc */
			err = advance(r, s, low);
			continue;
		case 2: /* offset */
			v = cursor_varint(&c);
			set_rule(r, s, low, R_AT_CFA, factor(v, cie->data_align));
			continue;
		case 3: /* restore */
			restore_rule(r, s, low);
			continue;
		}
		switch (op) {
		case 0x00: /* nop */
			break;
		case 0x01: /* set_loc */
			if (!rd_ptr(r->eh, &c, cie->fde_enc, 0, &v))
				return -1;
			err = advance_to(r, s, v > r->limit ? r->limit : (uintptr_t)v);
			break;
		case 0x02: err = advance(r, s, cursor_u8(&c)); break;
		case 0x03: err = advance(r, s, cursor_le16(&c)); break;
		case 0x04: err = advance(r, s, cursor_le32(&c)); break;
		case 0x05: /* offset_extended */
			reg = cursor_varint(&c);
			v = cursor_varint(&c);
			set_rule(r, s, reg, R_AT_CFA, factor(v, cie->data_align));
			break;
		case 0x06: /* restore_extended */
			restore_rule(r, s, cursor_varint(&c));
			break;
		case 0x07: /* undefined */
			set_rule(r, s, cursor_varint(&c), R_UNDEF, 0);
			break;
		case 0x08: /* same_value */
			set_rule(r, s, cursor_varint(&c), R_SAME, 0);
			break;
		case 0x09: /* register: saved in another register we do not track */
			reg = cursor_varint(&c);
			cursor_varint(&c);
			set_rule(r, s, reg, R_LOST, 0);
			break;
		case 0x0a: /* remember_state: the CFA rule too, as GCC expects */
			if (r->depth == STATE_STACK)
				return -1;
			r->stack[r->depth++] = *s;
			break;
		case 0x0b: /* restore_state */
			if (r->depth == 0)
				return -1;
			*s = r->stack[--r->depth];
			break;
		case 0x0c: /* def_cfa */
			s->cfa_reg = cursor_varint(&c);
			s->cfa_off = (int64_t)cursor_varint(&c);
			s->cfa_how = CFA_REG;
			s->cfa_arg = 0;
			break;
		case 0x0d: /* def_cfa_register: valid after a register rule only */
			s->cfa_reg = cursor_varint(&c);
			if (s->cfa_how != CFA_REG)
				s->cfa_how = CFA_BAD;
			break;
		case 0x0e: /* def_cfa_offset */
			s->cfa_off = (int64_t)cursor_varint(&c);
			if (s->cfa_how != CFA_REG)
				s->cfa_how = CFA_BAD;
			break;
		case 0x0f: /* def_cfa_expression */
			v = cursor_varint(&c);
			cfa_expression(s, cursor_sub(&c, v));
			break;
		case 0x10: /* expression */
			reg = cursor_varint(&c);
			v = cursor_varint(&c);
			if (reg == REG_RBP)
				rbp_expression(s, cursor_sub(&c, v));
			else {
				cursor_skip(&c, v);
				set_rule(r, s, reg, R_LOST, 0);
			}
			break;
		case 0x11: /* offset_extended_sf */
			reg = cursor_varint(&c);
			set_rule(r, s, reg, R_AT_CFA, factor((uint64_t)cursor_svarint(&c), cie->data_align));
			break;
		case 0x12: /* def_cfa_sf */
			s->cfa_reg = cursor_varint(&c);
			s->cfa_off = factor((uint64_t)cursor_svarint(&c), cie->data_align);
			s->cfa_how = CFA_REG;
			s->cfa_arg = 0;
			break;
		case 0x13: /* def_cfa_offset_sf */
			s->cfa_off = factor((uint64_t)cursor_svarint(&c), cie->data_align);
			if (s->cfa_how != CFA_REG)
				s->cfa_how = CFA_BAD;
			break;
		case 0x14: /* val_offset */
			reg = cursor_varint(&c);
			cursor_varint(&c);
			set_rule(r, s, reg, R_LOST, 0);
			break;
		case 0x15: /* val_offset_sf */
			reg = cursor_varint(&c);
			cursor_svarint(&c);
			set_rule(r, s, reg, R_LOST, 0);
			break;
		case 0x16: /* val_expression */
			reg = cursor_varint(&c);
			cursor_skip(&c, cursor_varint(&c));
			set_rule(r, s, reg, R_LOST, 0);
			break;
		case 0x2e: /* GNU_args_size: only matters for exception landing pads */
			cursor_varint(&c);
			break;
		case 0x2f: /* GNU_negative_offset_extended */
			reg = cursor_varint(&c);
			v = cursor_varint(&c);
			set_rule(r, s, reg, R_AT_CFA, (int64_t)(0 - (uint64_t)factor(v, cie->data_align)));
			break;
		default:
			return -1;
		}
		if (c.bad)
			return -1;
	}
	if (c.bad)
		return -1;
	return err;
}

/* Appends the rows of one FDE, limited to [f->begin, limit). An FDE whose
 * program cannot be followed becomes one "no rule" row, so the rows of the
 * previous FDE never spill over its range. */
static int build_fde(struct rowvec *out, const struct region *eh, const struct fde *f,
		     uintptr_t limit, uintptr_t text_lo, size_t *unsupported)
{
	size_t mark = out->n;
	struct run r;
	memset(&r, 0, sizeof(r));
	r.eh = eh;
	r.cie = &f->cie;
	r.loc = f->begin;
	r.limit = limit;
	r.text_lo = text_lo;
	r.out = out;
	struct state s;
	memset(&s, 0, sizeof(s));
	s.cfa_how = CFA_BAD;
	s.rbp.how = R_SAME;
	s.ra.how = R_LOST;
	r.init = s;
	int err = exec(&r, &s, f->cie.insns);
	if (!err) {
		r.init = s;
		r.emit = true;
		err = exec(&r, &s, f->insns);
	}
	if (!err)
		err = emit(&r, &s);
	if (err == -ENOMEM)
		return err;
	if (err || r.unsupported)
		(*unsupported)++;
	if (err) {
		out->n = mark;
		if (f->begin < limit)
			return push_none(out, f->begin, text_lo);
	}
	return 0;
}

/* ---- the module ---- */

struct fdevec {
	struct fde *v;
	size_t n, cap;
};

static int add_fde(struct fdevec *fv, const struct fde *f, uintptr_t text_lo, uintptr_t text_hi)
{
	/* FDEs of discarded or foreign code are dropped without a word. */
	if (f->begin < text_lo || f->end > text_hi || f->begin >= f->end)
		return 0;
	if (fv->n == fv->cap) {
		size_t cap = fv->cap ? fv->cap * 2 : 64;
		struct fde *nv = realloc(fv->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		fv->v = nv;
		fv->cap = cap;
	}
	fv->v[fv->n++] = *f;
	return 0;
}

/* FDEs listed in the .eh_frame_hdr search table. */
static int collect_from_table(const struct region *h, struct cursor *c, uint8_t count_enc,
			      uint8_t table_enc, const struct region *eh, uintptr_t text_lo,
			      uintptr_t text_hi, struct fdevec *fv, size_t *unsupported)
{
	uint64_t count;
	if (!rd_ptr(h, c, count_enc, h->addr, &count))
		return -EINVAL;
	/* Each entry takes at least two bytes: a count the header cannot
	 * hold is corrupt, and never sizes an allocation. */
	if (count > (uint64_t)(c->end - c->p) / 2)
		return -EINVAL;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t loc, addr;
		if (!rd_ptr(h, c, table_enc, h->addr, &loc) || !rd_ptr(h, c, table_enc, h->addr, &addr))
			return -EINVAL;
		struct fde f;
		if (parse_fde(eh, (uintptr_t)addr, &f) != 0) {
			(*unsupported)++;
			continue;
		}
		int err = add_fde(fv, &f, text_lo, text_hi);
		if (err)
			return err;
	}
	return 0;
}

/* Without a search table: every record of .eh_frame up to its zero
 * terminator. A record running past the segment fails the module. */
static int collect_by_scan(const struct region *eh, uintptr_t text_lo, uintptr_t text_hi,
			   struct fdevec *fv, size_t *unsupported)
{
	size_t off = 0;
	while (eh->len - off >= 8) {
		struct cursor c = cur_at(eh, eh->addr + off, 8);
		uint32_t len = cursor_le32(&c), id = cursor_le32(&c);
		if (len == 0)
			break;
		if (len == 0xffffffffu || len < 4 || len > eh->len - off - 4)
			return -EINVAL;
		if (id != 0) {
			struct fde f;
			if (parse_fde(eh, eh->addr + off, &f) != 0)
				(*unsupported)++;
			else {
				int err = add_fde(fv, &f, text_lo, text_hi);
				if (err)
					return err;
			}
		}
		off += 4 + (size_t)len;
	}
	return 0;
}

static int cmp_fde(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int unwind__parse_eh_frame(const uint8_t *hdr, size_t hdr_len, uintptr_t hdr_addr,
			   const uint8_t *eh, size_t eh_len, uintptr_t eh_addr,
			   uintptr_t text_lo, uintptr_t text_hi, struct uw_table *out)
{
	memset(out, 0, sizeof(*out));
	/* Row pcs are 32-bit offsets from text_lo. */
	if (text_hi <= text_lo || text_hi - text_lo > UINT32_MAX)
		return -EINVAL;
	struct region h = { hdr, hdr_len, hdr_addr }, e = { eh, eh_len, eh_addr };
	struct cursor c = cur_at(&h, hdr_addr, hdr_len);
	uint8_t version = cursor_u8(&c), ptr_enc = cursor_u8(&c), count_enc = cursor_u8(&c),
		table_enc = cursor_u8(&c);
	uint64_t ptr;
	if (c.bad || version != 1 || !rd_ptr(&h, &c, ptr_enc, hdr_addr, &ptr) || ptr != eh_addr)
		return -EINVAL;

	struct fdevec fv = { NULL, 0, 0 };
	struct rowvec rv = { NULL, 0, 0 };
	size_t unsupported = 0;
	int err;
	if (count_enc != PE_OMIT && table_enc != PE_OMIT)
		err = collect_from_table(&h, &c, count_enc, table_enc, &e, text_lo, text_hi,
					 &fv, &unsupported);
	else
		err = collect_by_scan(&e, text_lo, text_hi, &fv, &unsupported);
	if (err)
		goto fail;
	if (fv.n)
		qsort(fv.v, fv.n, sizeof(*fv.v), cmp_fde);
	for (size_t i = 0; i < fv.n && !err; i++) {
		const struct fde *f = &fv.v[i], *next = i + 1 < fv.n ? &fv.v[i + 1] : NULL;
		/* Overlapping FDEs: the later one wins from its start. */
		uintptr_t limit = next && next->begin < f->end ? next->begin : f->end;
		err = build_fde(&rv, &e, f, limit, text_lo, &unsupported);
		if (!err && (!next || f->end < next->begin))
			err = push_none(&rv, f->end, text_lo);
	}
	if (err)
		goto fail;
	free(fv.v);
	if (rv.n && rv.n < rv.cap) {
		struct uw_row *shrunk = realloc(rv.v, rv.n * sizeof(*rv.v));
		if (shrunk)
			rv.v = shrunk;
	}
	out->rows = rv.v;
	out->nrows = rv.n;
	out->unsupported_fdes = unsupported;
	return 0;
fail:
	free(fv.v);
	free(rv.v);
	return err;
}
