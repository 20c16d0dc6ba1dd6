/* A small unit-test framework: TEST(name) { ... } registers itself; the
 * CHECK macros record a failure and keep going within the test. */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	const char *file;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST(name)                                                              \
	static void test_##name(void);                                          \
	static struct unit_test unit_##name = { #name, __FILE__, test_##name, 0 }; \
	__attribute__((constructor)) static void register_##name(void)         \
	{                                                                       \
		unit_register(&unit_##name);                                    \
	}                                                                       \
	static void test_##name(void)

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond))                                                    \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);     \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                      \
	do {                                                                    \
		long long a_ = (long long)(a), b_ = (long long)(b);             \
		if (a_ != b_)                                                   \
			unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, \
				  #b, a_, b_);                                  \
	} while (0)

#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *a_ = (a), *b_ = (b);                                \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                          \
			unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
				  #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

#endif
