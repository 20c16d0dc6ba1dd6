/* A chain of functions built without frame pointers (see the unwind block
 * of the Makefile) for the unwinder tests: unwind_chain_a -> _b -> _c ->
 * _leaf (captures its own rip/rsp/rbp and calls ctx->probe) or _leaf_spin
 * (frameless, spins until *ctx->stop so a signal can interrupt it). */
#ifndef UNWIND_CHAIN_H
#define UNWIND_CHAIN_H

#include "../../src/unwind/unwind.h"

struct unwind_chain_ctx {
	void (*probe)(const struct unwind_regs *regs, void *arg);
	void *arg;
	int spin;
	volatile int *ready, *stop;
};

int unwind_chain_a(struct unwind_chain_ctx *ctx);
int unwind_chain_b(struct unwind_chain_ctx *ctx);
int unwind_chain_c(struct unwind_chain_ctx *ctx);
int unwind_chain_leaf(struct unwind_chain_ctx *ctx);
void unwind_chain_leaf_spin(volatile int *ready, volatile int *stop);

#endif
