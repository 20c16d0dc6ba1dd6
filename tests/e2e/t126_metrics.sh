# The agent's metrics endpoint (ONEPROF_METRICS_ADDR, doc/metrics.md):
# both exposition formats by content negotiation, promtool's parser and
# linter, label escaping, HTTP request metrics from known simulated
# requests and the route cap, 404/405, and the failures that must leave
# the program running: a port in use, an invalid address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
cd "$TMP" || exit 1
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# metricsprog: 200 "work" spans, 3 oddly named, the HTTP table of
# tests/progs/metricsprog.c, 6 routes /r1../r6 past a cap of 5 routes.
start_prog a ONEPROF_METRICS_ADDR=0 ONEPROF_HTTP_ROUTES=5 -- 200 30 2 6
PIDS="$PIDS $PROG_PID"
A=$PROG_PID
PORT=$(endpoint_port a)

formats() {
	[ -n "$PORT" ] || { cat a.err; return 1; }
	wait_metric "$PORT" 'oneprof_span_duration_seconds_count{name="work"} 200' || return 1
	curl -s -D text.h -o text.txt "http://127.0.0.1:$PORT/metrics" || return 1
	curl -s -D om.h -o om.txt -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' \
		"http://127.0.0.1:$PORT/metrics" || return 1
	grep -qi '^Content-Type: text/plain; version=0.0.4' text.h || { cat text.h; return 1; }
	grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0' om.h || { cat om.h; return 1; }
	promtool check metrics <text.txt || return 1
	# OpenMetrics: counter families without _total, samples with it, # EOF last.
	grep -qx '# TYPE oneprof_samples counter' om.txt || return 1
	grep -q '^oneprof_samples_total ' om.txt || return 1
	grep -qx '# TYPE oneprof_samples_total counter' text.txt || return 1
	[ "$(tail -n 1 om.txt)" = "# EOF" ] || { echo "no # EOF at the end"; return 1; }
	! grep -q '# EOF' text.txt || return 1
	# The same samples in both.
	equal "samples, text vs OpenMetrics" "$(grep -vc '^#' text.txt)" "$(grep -vc '^#' om.txt)"
}
check "endpoint: text 0.0.4 and OpenMetrics by Accept, promtool passes" formats

escaping() {
	equal "span name" "$(value text.txt 'oneprof_span_duration_seconds_count{name="we\"ird\\name\nline"}')" 3 || return 1
	equal "route" "$(value text.txt 'http_server_requests_total{http_request_method="GET",http_route="/q\"uote\\back\nline",http_response_status_class="3xx"}')" 1 || return 1
	equal "counter name" "$(value text.txt 'oneprof_user_value{name="jobs\"done\\"}')" 7 || return 1
	equal "counter with a space" "$(value text.txt 'oneprof_user_value{name="queue depth"}')" 42
}
check "endpoint: quotes, backslashes and newlines escaped in label values" escaping

req() { # METHOD ROUTE CLASS
	value text.txt "http_server_requests_total{http_request_method=\"$1\",http_route=\"$2\",http_response_status_class=\"$3\"}"
}
dur() { # METHOD ROUTE STATUS LE
	value text.txt "http_server_request_duration_seconds_bucket{http_request_method=\"$1\",http_route=\"$2\",http_response_status_code=\"$3\",le=\"$4\"}"
}
http_metrics() {
	equal "GET /users 2xx" "$(req GET '/users/{id}' 2xx)" 4 || return 1
	equal "GET /users 4xx" "$(req GET '/users/{id}' 4xx)" 1 || return 1
	equal "POST /orders 2xx" "$(req POST /orders 2xx)" 2 || return 1
	equal "POST /orders 5xx" "$(req POST /orders 5xx)" 1 || return 1
	equal "unknown method" "$(req _OTHER /teapot 4xx)" 1 || return 1
	equal "errors POST /orders" "$(value text.txt 'http_server_errors_total{http_request_method="POST",http_route="/orders"}')" 1 || return 1
	equal "errors GET /users" "$(value text.txt 'http_server_errors_total{http_request_method="GET",http_route="/users/{id}"}')" "" || return 1
	# 3 ms requests: all in le=0.005; 60 ms: none by 0.05, all by 0.075; 1.5 s: by 2.5.
	equal "3ms le=0.005" "$(dur GET '/users/{id}' 200 0.005)" 4 || return 1
	equal "60ms le=0.05" "$(dur POST /orders 201 0.05)" 0 || return 1
	equal "60ms le=0.075" "$(dur POST /orders 201 0.075)" 2 || return 1
	equal "1.5s le=1" "$(dur POST /orders 503 1)" 0 || return 1
	equal "1.5s le=2.5" "$(dur POST /orders 503 2.5)" 1 || return 1
	equal "1.5s sum" "$(value text.txt 'http_server_request_duration_seconds_sum{http_request_method="POST",http_route="/orders",http_response_status_code="503"}')" 1.5 || return 1
	equal "sizes le=100" "$(value text.txt 'http_server_response_body_size_bytes_bucket{http_request_method="GET",http_route="/users/{id}",http_response_status_code="200",le="100"}')" 0 || return 1
	equal "sizes le=1000" "$(value text.txt 'http_server_response_body_size_bytes_bucket{http_request_method="GET",http_route="/users/{id}",http_response_status_code="200",le="1000"}')" 4 || return 1
	equal "sizes sum" "$(value text.txt 'http_server_response_body_size_bytes_sum{http_request_method="GET",http_route="/users/{id}",http_response_status_code="200"}')" 2000
}
check "HTTP metrics: counts, status classes, errors, bucket counts of known durations" http_metrics

route_cap() {
	# Routes in order: /users/{id}, /orders, /teapot, /q..., /r1; /r2../r6 overflow.
	equal "route r1 kept" "$(req GET /r1 2xx)" 1 || return 1
	equal "route r2 folded" "$(req GET /r2 2xx)" "" || return 1
	equal "route other" "$(req GET other 2xx)" 5 || return 1
	equal "overflow counted" "$(value text.txt oneprof_http_routes_overflow_total)" 5
}
check "HTTP metrics: routes past ONEPROF_HTTP_ROUTES count as other, overflow counted" route_cap

other_requests() {
	code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
	equal "GET /" "$(code "http://127.0.0.1:$PORT/")" 404 || return 1
	equal "POST /metrics" "$(code -X POST "http://127.0.0.1:$PORT/metrics")" 405 || return 1
	equal "HEAD /metrics" "$(code -I "http://127.0.0.1:$PORT/metrics")" 200 || return 1
	# A client that connects and says nothing does not stop the endpoint.
	python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.close()' "$PORT"
	equal "still serving" "$(code "http://127.0.0.1:$PORT/metrics")" 200
}
check "endpoint: 404 and 405 for other paths and methods" other_requests

port_in_use() {
	start_prog busy ONEPROF_METRICS_ADDR="127.0.0.1:$PORT" -- 50 0 1
	wait "$PROG_PID" || { echo "exited $?"; cat busy.err; return 1; }
	cat busy.err
	grep -q "cannot serve metrics on 127.0.0.1:$PORT (ONEPROF_METRICS_ADDR=127.0.0.1:$PORT): Address already in use; metrics disabled; profiling continues" busy.err || return 1
	equal "program ran" "$(cat busy.out)" ready || return 1
	# Profiling went on: the capture holds its spans.
	"$ONEPROF" report --spans busy.opf >busy.rep 2>&1 || { cat busy.rep; return 1; }
	grep -q work busy.rep
}
check "port in use: one clear message, the program runs and is profiled" port_in_use

bad_address() {
	start_prog bad ONEPROF_METRICS_ADDR=example.com:9464 -- 10 0 1
	wait "$PROG_PID" || { echo "exited $?"; cat bad.err; return 1; }
	cat bad.err
	equal "messages" "$(wc -l <bad.err | tr -d ' ')" 1 || return 1
	grep -q "ONEPROF_METRICS_ADDR='example.com:9464' has host 'example.com', which is not a numeric" bad.err || return 1
	equal "program ran" "$(cat bad.out)" ready
}
check "invalid ONEPROF_METRICS_ADDR: the loader's message, the program runs" bad_address

check "record --metrics-addr with an invalid address: usage error" \
	expect_error "record: --metrics-addr '1:2:3' is not HOST:PORT" "$ONEPROF" record --metrics-addr 1:2:3 -- true

record_flag() {
	"$ONEPROF" record -o r.opf --metrics-addr 127.0.0.1:0 -- "$PROGS/metricsprog" 10 0 1 >r.out 2>r.err || { cat r.err; return 1; }
	grep -Eq '^oneprof: metrics on http://127\.0\.0\.1:[0-9]+/metrics$' r.err || { cat r.err; return 1; }
	equal "program ran" "$(cat r.out)" ready
}
check "record --metrics-addr: the agent says where the endpoint is" record_flag

finish
