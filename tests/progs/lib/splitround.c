/* libsplitround.so: the round of split.c's work, in a shared library built
 * without frame pointers, so stacks must be unwound through a library the
 * frame-pointer chain cannot cross. */
void run_round(void (*a)(void), void (*b)(void), void (*c)(void));

void run_round(void (*a)(void), void (*b)(void), void (*c)(void))
{
	a();
	b();
	c();
	__asm__ volatile("" ::: "memory"); /* keep c() from being a tail call */
}
