/* The library tests/progs/dlhot.c loads twice: one hot function. */
__attribute__((noinline)) unsigned long lib_hot(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + i;
	return x;
}
