/* The PerfView XML exporter on the known profile: dense IDs, callers
 * before callees, process and thread frames, samples with times and
 * metrics in milliseconds; and the shared XML escaper. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util/escape.h"
#include "test_report_util.h"
#include "unit.h"

TEST(perfview_xml_escape)
{
	FILE *f = tmpfile();
	esc_xml(f, "a<b>&\"c'\n\t\x01\x7f\xff\xc3\xa9\xef\xbf\xbe");
	char *s = rt_slurp(f);
	CHECK_STR(s, "a&lt;b&gt;&amp;&quot;c&apos;&#10;&#9;\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		     "\xc3\xa9\xef\xbf\xbd");
	free(s);
}

TEST(perfview_stacks_and_samples)
{
	struct profile *p = rt_profile();
	char *out = rt_export(&export_perfview, p);
	CHECK(out != NULL);
	if (!out)
		return;
	CHECK(strncmp(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<StackWindow>\n<StackSource>\n",
		      66) == 0);
	CHECK(strstr(out, "<Frame ID=\"0\">Process prog (42)</Frame>") != NULL);
	CHECK(strstr(out, "<Frame ID=\"1\">Thread (100) one</Frame>") != NULL);
	CHECK(strstr(out, "q&quot;\\&lt;&amp;&gt;;&#10;&#9;\xef\xbf\xbd end</Frame>") != NULL);
	/* Frames and stacks: dense IDs from 0, each stack's caller earlier. */
	int frames = rt_count(out, "<Frame ID="), stacks = rt_count(out, "<Stack ID=");
	char count[64];
	snprintf(count, sizeof(count), "<Frames Count=\"%d\">", frames);
	CHECK(strstr(out, count) != NULL);
	snprintf(count, sizeof(count), "<Stacks Count=\"%d\">", stacks);
	CHECK(strstr(out, count) != NULL);
	int id = 0;
	for (const char *s = out; (s = strstr(s, "<Stack ID=")); s++, id++) {
		int sid, caller, frame;
		CHECK_EQ_INT(sscanf(s, "<Stack ID=\"%d\" CallerID=\"%d\" FrameID=\"%d\"", &sid, &caller,
				    &frame),
			     3);
		CHECK_EQ_INT(sid, id);
		CHECK(caller >= -1 && caller < sid);
		CHECK(frame >= 0 && frame < frames);
	}
	CHECK_EQ_INT(rt_count(out, "CallerID=\"-1\""), 1); /* the process */
	/* 11 sample records; metrics add up to 120 ms; times in ms. */
	CHECK(strstr(out, "<Samples Count=\"11\">") != NULL);
	CHECK(strstr(out, "<Sample ID=\"0\" Time=\"10.000\" StackID=\"4\" Metric=\"10.000\"/>") != NULL);
	double metric = 0;
	for (const char *s = out; (s = strstr(s, "Metric=\"")); s++)
		metric += strtod(s + 8, NULL);
	CHECK(metric > 119.999 && metric < 120.001);
	free(out);
	profile_free(p);
}
