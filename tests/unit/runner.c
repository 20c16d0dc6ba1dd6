/* Runs every registered unit test (or those whose name contains argv[1])
 * and prints one line per test, then "N passed, N failed". */
#include <stdarg.h>
#include <stdlib.h>

#include "unit.h"

static struct unit_test *tests;
static int current_failed;

void unit_register(struct unit_test *t)
{
	t->next = tests;
	tests = t;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	current_failed = 1;
}

int main(int argc, char **argv)
{
	/* Registration order is reversed by the list: restore file order. */
	struct unit_test *rev = NULL;
	while (tests) {
		struct unit_test *t = tests;
		tests = t->next;
		t->next = rev;
		rev = t;
	}
	int passed = 0, failed = 0;
	for (struct unit_test *t = rev; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		current_failed = 0;
		t->fn();
		printf("%s %s\n", current_failed ? "FAIL" : "ok  ", t->name);
		fflush(stdout);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
