/* The speedscope exporter on the known profile: shared frames, one
 * sampled profile per thread in time order, runs of a stack merged,
 * weights in nanoseconds, escaping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_report_util.h"
#include "unit.h"

TEST(speedscope_profiles_per_thread)
{
	struct profile *p = rt_profile();
	char *out = rt_export(&export_speedscope, p);
	CHECK(out != NULL);
	if (!out)
		return;
	CHECK(strncmp(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"", 62) ==
	      0);
	CHECK(strstr(out, "\"name\":\"/usr/bin/prog --fast\"") != NULL);
	/* Frames in function order, "[unknown]" for the stack with none. */
	CHECK(strstr(out, "\"shared\":{\"frames\":[\n{\"name\":\"main\"},\n{\"name\":\"run\"},\n"
			  "{\"name\":\"work_a\"},\n{\"name\":\"work_b\"},\n{\"name\":\"rec\"},\n"
			  "{\"name\":\"q\\\"\\\\<&>;\\n\\t\xef\xbf\xbd end\"},\n"
			  "{\"name\":\"[unknown]\"}]}") != NULL);
	/* Thread one: five samples of stack 0 as one entry, then 2 and 4. */
	CHECK(strstr(out, "{\"type\":\"sampled\",\"name\":\"one (tid 100)\",\"unit\":\"nanoseconds\","
			  "\"startValue\":0,\"endValue\":80000000,\n"
			  "\"samples\":[[0,1,2],[0,4,4,2],[6]],\n"
			  "\"weights\":[50000000,20000000,10000000]}") != NULL);
	CHECK(strstr(out, "{\"type\":\"sampled\",\"name\":\"two (tid 101)\",\"unit\":\"nanoseconds\","
			  "\"startValue\":0,\"endValue\":40000000,\n"
			  "\"samples\":[[0,1,3],[0,5]],\n"
			  "\"weights\":[30000000,10000000]}") != NULL);
	CHECK(strstr(out, "\"activeProfileIndex\":0") != NULL);
	free(out);
	profile_free(p);
}

TEST(speedscope_empty_profile)
{
	struct profile *p = tb_empty_profile();
	char *out = rt_export(&export_speedscope, p);
	CHECK(out && strstr(out, "\"shared\":{\"frames\":[]},\n\"profiles\":[]}") != NULL);
	free(out);
	profile_free(p);
}
