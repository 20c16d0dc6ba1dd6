/* The Chrome Trace Event exporter on the known profile: metadata, one
 * instant per sample on its thread with its stack, the stackFrames tree
 * and the samples array, microsecond timestamps, escaping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_report_util.h"
#include "unit.h"

TEST(chrome_events_and_samples)
{
	struct profile *p = rt_profile();
	char *out = rt_export(&export_chrome, p);
	CHECK(out != NULL);
	if (!out)
		return;
	CHECK(strncmp(out, "{\"traceEvents\":[\n", 17) == 0);
	CHECK(strstr(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":42,\"tid\":42,"
			  "\"args\":{\"name\":\"prog\"}}") != NULL);
	CHECK(strstr(out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":42,\"tid\":101,"
			  "\"args\":{\"name\":\"two\"}}") != NULL);
	/* One instant per sample record: 11, and 11 entries in "samples". */
	CHECK_EQ_INT(rt_count(out, "\"ph\":\"i\",\"s\":\"t\""), 11);
	CHECK_EQ_INT(rt_count(out, "\"name\":\"cpu\",\"sf\":"), 11);
	/* The first sample: 10 ms in, thread one, stack main;run;work_a,
	 * leaf first in args, its node in stackFrames. */
	CHECK(strstr(out, "{\"name\":\"work_a\",\"cat\":\"cpu\",\"ph\":\"i\",\"s\":\"t\","
			  "\"ts\":10000.000,\"pid\":42,\"tid\":100,\"sf\":3,\"args\":{\"samples\":1,"
			  "\"cpu_ns\":10000000,\"stack\":[\"work_a\",\"run\",\"main\"]}}") != NULL);
	CHECK(strstr(out, "\"1\":{\"name\":\"main\",\"category\":\"unknown\"}") != NULL);
	CHECK(strstr(out, "\"3\":{\"name\":\"work_a\",\"category\":\"unknown\",\"parent\":\"2\"}") !=
	      NULL);
	/* The stack with two samples weighs 2; the empty stack is [unknown]. */
	CHECK(strstr(out, "\"name\":\"cpu\",\"sf\":7,\"weight\":2}") != NULL);
	CHECK(strstr(out, "{\"name\":\"[unknown]\",\"cat\":\"cpu\"") != NULL);
	CHECK(strstr(out, "\"stack\":[\"q\\\"\\\\<&>;\\n\\t\xef\xbf\xbd end\",\"main\"]") != NULL);
	CHECK(strstr(out, "\"displayTimeUnit\":\"ms\"") != NULL);
	/* Weights add up to the profile's samples. */
	uint64_t total = 0;
	for (const char *s = out; (s = strstr(s, "\"weight\":")); s++)
		total += strtoull(s + 9, NULL, 10);
	CHECK_EQ_INT(total, RT_TOTAL);
	free(out);
	profile_free(p);
}
