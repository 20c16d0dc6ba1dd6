/* The JSON exporter on the known profile (functions by self time, the
 * call tree, the session), and the shared JSON string escaper. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util/escape.h"
#include "test_report_util.h"
#include "unit.h"

static char *json_of(const char *s)
{
	FILE *f = tmpfile();
	esc_json(f, s);
	return rt_slurp(f);
}

TEST(json_escape_strings)
{
	char *s = json_of("plain");
	CHECK_STR(s, "\"plain\"");
	free(s);
	s = json_of("q\"b\\s/n\nt\tc\x01\x1f d\x7f");
	CHECK_STR(s, "\"q\\\"b\\\\s/n\\nt\\tc\\u0001\\u001f d\\u007f\"");
	free(s);
	/* Valid UTF-8 passes; invalid bytes (a lone continuation, a cut
	 * sequence, an overlong '/', a surrogate) become U+FFFD. */
	s = json_of("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80");
	CHECK_STR(s, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
		     "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	free(s);
	s = json_of(NULL);
	CHECK_STR(s, "\"\"");
	free(s);
}

TEST(json_functions_and_tree)
{
	struct profile *p = rt_profile();
	char *out = rt_export(&export_json, p);
	CHECK(out != NULL);
	if (!out)
		return;
	CHECK(strncmp(out, "{\"schema_version\":1,\n", 21) == 0);
	CHECK(strstr(out, "\"command\":[\"/usr/bin/prog\",\"--fast\"]") != NULL);
	CHECK(strstr(out, "\"samples\":12,\n\"sampled_cpu_ns\":120000000") != NULL);
	/* By self time, then total: work_a, work_b, the hostile name, then
	 * main (total 11), run (8), rec (2, recursion counted once). */
	CHECK(strstr(out, "{\"id\":0,\"name\":\"work_a\",\"module\":\"\",\"self_samples\":7,"
			  "\"total_samples\":7,\"self_ns\":70000000,\"total_ns\":70000000}") != NULL);
	CHECK(strstr(out, "{\"id\":1,\"name\":\"work_b\"") != NULL);
	CHECK(strstr(out, "{\"id\":2,\"name\":\"q\\\"\\\\<&>;\\n\\t\xef\xbf\xbd end\"") != NULL);
	CHECK(strstr(out, "{\"id\":3,\"name\":\"main\",\"module\":\"\",\"self_samples\":0,"
			  "\"total_samples\":11,") != NULL);
	CHECK(strstr(out, "{\"id\":4,\"name\":\"run\"") != NULL);
	CHECK(strstr(out, "{\"id\":5,\"name\":\"rec\",\"module\":\"\",\"self_samples\":0,"
			  "\"total_samples\":2,") != NULL);
	/* The tree: the root holds all 12; main (id 3) 11, the empty stack
	 * (function null) 1; under main, run (id 4) 8 then rec (id 5) 2. */
	CHECK(strstr(out, "\"call_tree\":{\"function\":null,\"self_samples\":0,\"total_samples\":12,") !=
	      NULL);
	CHECK(strstr(out, "\n{\"function\":3,\"self_samples\":0,\"total_samples\":11,") != NULL);
	CHECK(strstr(out, "\n{\"function\":null,\"self_samples\":1,\"total_samples\":1,") != NULL);
	const char *run = strstr(out, "{\"function\":4,\"self_samples\":0,\"total_samples\":8,");
	const char *rec = strstr(out, "{\"function\":5,\"self_samples\":0,\"total_samples\":2,");
	CHECK(run && rec && run < rec);
	/* rec under rec, then work_a: the recursion is a path in the tree. */
	CHECK(rec && strstr(rec, "\n{\"function\":5,\"self_samples\":0,\"total_samples\":2,") != NULL);
	free(out);
	profile_free(p);
}
