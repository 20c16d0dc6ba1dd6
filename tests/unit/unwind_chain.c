/* Test helper for test_unwind.c, compiled with -fomit-frame-pointer (the
 * Makefile's unwind block): the unwinder must get through these from CFI
 * alone. Each function does a little work around its call so it cannot be
 * folded, inlined or turned into a tail call, and each shapes its frame
 * differently: no frame at all, a stack array, rbp used as a plain
 * callee-saved register. */
#include "unwind_chain.h"

volatile int unwind_chain_sink;

__attribute__((noinline)) void unwind_chain_leaf_spin(volatile int *ready, volatile int *stop)
{
	*ready = 1;
	while (!*stop)
		unwind_chain_sink = (unwind_chain_sink + 1) & 0xffff;
}

__attribute__((noinline)) int unwind_chain_leaf(struct unwind_chain_ctx *ctx)
{
	struct unwind_regs r;
	/* rip of the next instruction, rsp and rbp, at one point of this
	 * function: the CFI row there describes exactly this stack. */
	__asm__ volatile("lea 0(%%rip), %0\n\t"
			 "mov %%rsp, %1\n\t"
			 "mov %%rbp, %2"
			 : "=&r"(r.pc), "=&r"(r.sp), "=&r"(r.fp));
	ctx->probe(&r, ctx->arg);
	return (unwind_chain_sink + 1) & 0xffff;
}

/* Seven values live across the call: more than the five callee-saved
 * registers other than rbp, so GCC saves and uses rbp as a plain register. */
__attribute__((noinline)) int unwind_chain_c(struct unwind_chain_ctx *ctx)
{
	unsigned a = (unsigned)unwind_chain_sink, b = a * 3, c = a ^ 5, d = a + 7, e = a * 11,
		 f = a - 13, g = a | 17, r;
	if (ctx->spin) {
		unwind_chain_leaf_spin(ctx->ready, ctx->stop);
		r = 1;
	} else {
		r = unwind_chain_leaf(ctx);
	}
	return (int)((r + a + b * c + d * e + f * g + (a ^ b ^ c ^ d ^ e ^ f ^ g)) & 0xffff);
}

__attribute__((noinline)) int unwind_chain_b(struct unwind_chain_ctx *ctx)
{
	volatile int buf[40];
	for (int i = 0; i < 40; i++)
		buf[i] = unwind_chain_sink + i;
	int r = unwind_chain_c(ctx);
	return (r + buf[unwind_chain_sink & 31]) & 0xffff;
}

__attribute__((noinline)) int unwind_chain_a(struct unwind_chain_ctx *ctx)
{
	int r = unwind_chain_b(ctx);
	unwind_chain_sink = (unwind_chain_sink + r) & 0xffff;
	return r + 1;
}
