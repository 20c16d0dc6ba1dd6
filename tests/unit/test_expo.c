/* The Prometheus exposition writer and the metrics address parser. */
#include <stdlib.h>
#include <string.h>

#include "../../src/agent/expo.h"
#include "../../src/agent/httpd.h"
#include "unit.h"

static const double bounds[] = { 0.001, 0.01, 0.1 };

TEST(expo_label_escaping)
{
	char out[64];
	CHECK(expo_escape_label(out, sizeof(out), "a\"b\\c\nd"));
	CHECK_STR(out, "a\\\"b\\\\c\\nd");
	/* Bytes that are not UTF-8 become '?'; UTF-8 stays. */
	CHECK(expo_escape_label(out, sizeof(out), "\xff\xc3\xa9x"));
	CHECK_STR(out, "?\xc3\xa9x");
	/* Cut short: never half an escape. */
	CHECK(!expo_escape_label(out, 3, "a\"b"));
	CHECK_STR(out, "a");
}

TEST(expo_text_format)
{
	char buf[4096];
	struct expo e;
	expo_init(&e, buf, sizeof(buf), EXPO_TEXT);
	expo_family(&e, "x_requests", EXPO_COUNTER, NULL, "help with \\ and\nnewline \"kept\"");
	expo_sample(&e, (const char *const[]){ "route", "/a\"b", NULL }, 3);
	expo_family(&e, "x_seconds", EXPO_HISTOGRAM, "seconds", "durations");
	uint64_t counts[] = { 1, 0, 2, 4 };
	expo_histogram(&e, (const char *const[]){ "name", "n", NULL }, bounds, counts, 3, 0.5);
	size_t len = expo_finish(&e);
	CHECK_EQ_INT(len, strlen(buf));
	CHECK_STR(buf,
		  "# HELP x_requests_total help with \\\\ and\\nnewline \"kept\"\n"
		  "# TYPE x_requests_total counter\n"
		  "x_requests_total{route=\"/a\\\"b\"} 3\n"
		  "# HELP x_seconds durations\n"
		  "# TYPE x_seconds histogram\n"
		  "x_seconds_bucket{name=\"n\",le=\"0.001\"} 1\n"
		  "x_seconds_bucket{name=\"n\",le=\"0.01\"} 1\n"
		  "x_seconds_bucket{name=\"n\",le=\"0.1\"} 3\n"
		  "x_seconds_bucket{name=\"n\",le=\"+Inf\"} 7\n"
		  "x_seconds_sum{name=\"n\"} 0.5\n"
		  "x_seconds_count{name=\"n\"} 7\n");
}

TEST(expo_openmetrics_format)
{
	char buf[4096];
	struct expo e;
	expo_init(&e, buf, sizeof(buf), EXPO_OPENMETRICS);
	expo_family(&e, "x_cpu_seconds", EXPO_COUNTER, "seconds", "cpu");
	expo_sample(&e, NULL, 1.25);
	expo_finish(&e);
	CHECK_STR(buf,
		  "# HELP x_cpu_seconds cpu\n"
		  "# TYPE x_cpu_seconds counter\n"
		  "# UNIT x_cpu_seconds seconds\n"
		  "x_cpu_seconds_total 1.25\n"
		  "# EOF\n");
}

TEST(expo_negotiation)
{
	CHECK_EQ_INT(expo_negotiate(NULL), EXPO_TEXT);
	CHECK_EQ_INT(expo_negotiate("text/plain;version=0.0.4"), EXPO_TEXT);
	CHECK_EQ_INT(expo_negotiate("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
		     EXPO_OPENMETRICS);
	CHECK(strstr(expo_content_type(EXPO_TEXT), "version=0.0.4"));
	CHECK(strstr(expo_content_type(EXPO_OPENMETRICS), "application/openmetrics-text"));
}

/* A family that does not fit is taken back whole and counted; the
 * output stays well-formed and says what was dropped. */
TEST(expo_overflow)
{
	char buf[EXPO_RESERVE + 120];
	struct expo e;
	expo_init(&e, buf, sizeof(buf), EXPO_OPENMETRICS);
	expo_family(&e, "a", EXPO_GAUGE, NULL, "fits");
	expo_sample(&e, NULL, 1);
	expo_family(&e, "b", EXPO_GAUGE, NULL, "does not fit");
	for (int i = 0; i < 20; i++)
		expo_sample(&e, (const char *const[]){ "k", "some long label value", NULL }, i);
	expo_family(&e, "c", EXPO_GAUGE, NULL, "fits");
	expo_sample(&e, NULL, 3);
	expo_finish(&e);
	CHECK_EQ_INT(e.dropped, 1);
	CHECK(strstr(buf, "a 1\n"));
	CHECK(!strstr(buf, "\nb{"));
	CHECK(strstr(buf, "c 3\n"));
	CHECK(strstr(buf, "oneprof_metrics_families_dropped 1\n# EOF\n"));
}

TEST(metrics_address_parse)
{
	struct httpd_addr a;
	char why[256], text[96];
	CHECK_EQ_INT(httpd_parse_addr("9464", &a, why, sizeof(why)), 0);
	httpd_addr_text(&a, text, sizeof(text));
	CHECK_STR(text, "127.0.0.1:9464");
	CHECK_EQ_INT(httpd_parse_addr("0.0.0.0:0", &a, why, sizeof(why)), 0);
	httpd_addr_text(&a, text, sizeof(text));
	CHECK_STR(text, "0.0.0.0:0");
	CHECK_EQ_INT(httpd_parse_addr("[::1]:80", &a, why, sizeof(why)), 0);
	httpd_addr_text(&a, text, sizeof(text));
	CHECK_STR(text, "[::1]:80");
	CHECK_EQ_INT(httpd_parse_addr("localhost:1", &a, why, sizeof(why)), 0);
	httpd_addr_text(&a, text, sizeof(text));
	CHECK_STR(text, "127.0.0.1:1");
	static const char *const bad[] = { "", "65536", "x", "1.2.3:4", "::1:80", "[::1]80",
					   "host:", "example.com:80", "-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		CHECK(httpd_parse_addr(bad[i], &a, why, sizeof(why)) != 0);
		CHECK(why[0] != '\0');
	}
}
