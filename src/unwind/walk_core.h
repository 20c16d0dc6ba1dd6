/* The row interpreter shared by the in-process walker (walk.c, live stack
 * in a signal handler) and the offline one (space.c, a copy of a stack
 * taken by the kernel).
 *
 * One body, two instances: uw_walk_rows() is always inlined into each
 * caller with its lookup and slot-read functions and the `copy` flag as
 * constants, so each instance is the specialised loop it would be if
 * written by hand (direct, inlined calls; no test of `copy` left at run
 * time). Nothing here allocates, locks or calls the system: the in-process
 * instance stays async-signal-safe.
 *
 * Stack reads go through read(w, addr, &out), which must succeed only for
 * an aligned slot inside the window [w->lo, w->hi). A failed read ends the
 * walk: with BAD_FRAME (or NO_UNWIND_INFO in the frame-pointer step), or,
 * when the copy's reader says the slot lay beyond the copy's end, with
 * TRUNCATED, since the caller's frames are then simply outside what was
 * copied. */
#ifndef UNWIND_WALK_CORE_H
#define UNWIND_WALK_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "unwind.h"
#include "unwind_internal.h"

/* The readable stack: [lo, hi). copy holds the bytes of [lo, hi) when the
 * walk reads a copy; NULL for the live stack. */
struct uw_window {
	uintptr_t lo, hi;
	const uint8_t *copy;
};

/* x86-64 user addresses lie below 2^47: a slot beyond the copy but above
 * this came from a garbage CFA (a wrap), not from a deep stack. */
#define UW_USER_TOP ((uintptr_t)1 << 47)

/* What a slot read gave: OK, BAD (outside the window, or misaligned), or
 * PAST_END (a copy's reader only: an aligned user address at or beyond the
 * copy's end). The live reader never says PAST_END, so its instance
 * folds that case away. */
enum uw_read { UW_READ_OK = 0, UW_READ_BAD, UW_READ_PAST_END };

typedef const struct uw_row *(*uw_lookup_fn)(const void *ctx, uintptr_t pc);
typedef enum uw_read (*uw_read_fn)(const struct uw_window *w, uintptr_t addr, uintptr_t *out);
/* A traced walk's note of a slot whose value the walk depends on. */
typedef void (*uw_note_fn)(const struct uw_window *w, uintptr_t addr, uintptr_t val);

static inline uintptr_t uw_plus(uintptr_t base, int64_t off)
{
	return base + (uintptr_t)off; /* wraps; the bounds check catches it */
}

/* The end reason of a failed read: the copy was too short, or `other`. */
static inline unsigned uw_failed(enum uw_read r, unsigned other)
{
	return r == UW_READ_PAST_END ? CAPTURE_STACK_TRUNCATED : other;
}

/* Walks from (pc, sp, fp), appending to pcs[n..max); pcs[0] (regs->pc) is
 * already stored by the caller, n >= 1. Returns the new count and sets
 * *end_reason (see unwind_walk and unwind_space_walk).
 *
 * A traced walk (note not NULL) reads saved rbp values with read_fp,
 * which records nothing, and notes such a slot only once the fp read
 * from it is used (a CFA or a slot address computed from it); *fp_used
 * says whether the fp it started from was. Code built without frame
 * pointers keeps any value in rbp and saves it in its frames: a walk
 * that never uses those values gives the same frames whatever they hold,
 * so a caller replaying it need not compare them. Untraced walks pass
 * read for read_fp and NULL for note and fp_used. */
static inline __attribute__((always_inline)) unsigned
uw_walk_rows(uintptr_t pc, uintptr_t sp, uintptr_t fp, const struct uw_window *w,
	     uw_lookup_fn lookup, const void *ctx, uw_read_fn read, bool copy, uint64_t *pcs,
	     unsigned n, unsigned max, unsigned *end_reason, uw_read_fn read_fp, uw_note_fn note,
	     bool *fp_used)
{
	unsigned reason;
	bool fp_ok = true;
	/* Where fp came from: the walk's start, or the slot at fp_slot. */
	bool fp_initial = true, fp_noted = false;
	uintptr_t fp_slot = 0;
#define UW_USE_FP()                                                  \
	do {                                                         \
		if (note && fp_initial)                              \
			*fp_used = true;                             \
		else if (note && !fp_noted) {                        \
			note(w, fp_slot, fp);                        \
			fp_noted = true;                             \
		}                                                    \
	} while (0)
	enum uw_read rr;
	for (bool first = true;; first = false) {
		const struct uw_row *row = lookup(ctx, first ? pc : pc - 1);
		uintptr_t cfa, ra, nfp = fp, v;
		uintptr_t nfp_slot = 0; /* where nfp was read; 0: not read */
		bool nfp_ok = fp_ok;
		switch (row ? row->cfa_rule : UW_NONE) {
		case UW_OUTERMOST:
		case UW_SIGNAL: /* the interrupted context is in a ucontext we do not parse */
			reason = CAPTURE_STACK_COMPLETE;
			goto out;
		case UW_NONE: /* no CFI: one frame-pointer step */
			if (!fp_ok) {
				reason = UNWIND_STACK_NO_UNWIND_INFO;
				goto out;
			}
			UW_USE_FP();
			nfp_slot = fp;
			if ((rr = read_fp(w, fp, &nfp)) != UW_READ_OK ||
			    (rr = read(w, fp + 8, &ra)) != UW_READ_OK) {
				reason = uw_failed(rr, UNWIND_STACK_NO_UNWIND_INFO);
				goto out;
			}
			cfa = fp + 16;
			break;
		default:
			if (row->cfa_rule == UW_CFA_RBP || row->cfa_rule == UW_CFA_DEREF_RBP ||
			    row->rbp_rule == UW_RBP_AT_RBP)
				UW_USE_FP();
			switch (row->cfa_rule) {
			case UW_CFA_RSP:
				cfa = uw_plus(sp, row->cfa_off);
				break;
			case UW_CFA_RBP:
				cfa = uw_plus(fp, row->cfa_off);
				break;
			case UW_CFA_PLT:
				cfa = uw_plus(sp, row->cfa_off) +
				      ((pc & 15) >= (uintptr_t)row->arg ? 8 : 0);
				break;
			case UW_CFA_DEREF_RSP:
			case UW_CFA_DEREF_RBP:
				rr = read(w, uw_plus(row->cfa_rule == UW_CFA_DEREF_RSP ? sp : fp,
						     row->cfa_off),
					  &v);
				if (rr != UW_READ_OK) {
					reason = uw_failed(rr, CAPTURE_STACK_BAD_FRAME);
					goto out;
				}
				cfa = uw_plus(v, row->arg);
				break;
			default:
				reason = CAPTURE_STACK_BAD_FRAME;
				goto out;
			}
			if ((row->cfa_rule == UW_CFA_RBP || row->cfa_rule == UW_CFA_DEREF_RBP) && !fp_ok) {
				reason = CAPTURE_STACK_BAD_FRAME;
				goto out;
			}
			if ((rr = read(w, uw_plus(cfa, row->ra_off), &ra)) != UW_READ_OK) {
				reason = uw_failed(rr, CAPTURE_STACK_BAD_FRAME);
				goto out;
			}
			rr = UW_READ_OK;
			switch (row->rbp_rule) {
			case UW_RBP_SAME:
				break;
			case UW_RBP_AT_CFA:
				nfp_slot = uw_plus(cfa, row->rbp_off);
				rr = read_fp(w, nfp_slot, &nfp);
				break;
			case UW_RBP_AT_RBP: /* rbp unknown: a bad frame, not a short copy */
				nfp_slot = uw_plus(fp, row->rbp_off);
				rr = fp_ok ? read_fp(w, nfp_slot, &nfp) : UW_READ_BAD;
				break;
			case UW_RBP_AT_RSP:
				nfp_slot = uw_plus(sp, row->rbp_off);
				rr = read_fp(w, nfp_slot, &nfp);
				break;
			default:
				nfp_ok = false;
				break;
			}
			if (rr != UW_READ_OK) {
				reason = uw_failed(rr, CAPTURE_STACK_BAD_FRAME);
				goto out;
			}
		}
		if (ra == 0) { /* the outermost frame by convention */
			reason = CAPTURE_STACK_COMPLETE;
			goto out;
		}
		/* Callers live higher: no progress is a bad frame. A CFA beyond a
		 * copy's end means the caller's frame was not copied. */
		if (cfa <= sp) {
			reason = CAPTURE_STACK_BAD_FRAME;
			goto out;
		}
		if (cfa > w->hi) {
			reason = copy && cfa < UW_USER_TOP ? CAPTURE_STACK_TRUNCATED
							   : CAPTURE_STACK_BAD_FRAME;
			goto out;
		}
		if (n >= max) {
			reason = CAPTURE_STACK_TRUNCATED;
			goto out;
		}
		pcs[n++] = ra;
		pc = ra;
		sp = cfa;
		if (nfp_slot) { /* read from the stack */
			fp_initial = false;
			fp_noted = false;
			fp_slot = nfp_slot;
		} else if (!nfp_ok) { /* unknown: no use of it can succeed */
			fp_initial = false;
			fp_noted = true;
		}
		fp = nfp;
		fp_ok = nfp_ok;
	}
out:
	*end_reason = reason;
	return n;
#undef UW_USE_FP
}

#endif
