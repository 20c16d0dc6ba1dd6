# A real Prometheus server scrapes a profiled program's metrics endpoint,
# once negotiating OpenMetrics (its default) and once forced to the text
# format (?format=text): both targets up, every sample stored, RSS within
# 10% of /proc at the same moment, and the span histogram's count equal
# to the spans the program made. Prometheus is always stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
cd "$TMP" || exit 1
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; wait; rm -rf "$TMP"' EXIT

SPANS=500
start_prog p ONEPROF_METRICS_ADDR=0 -- $SPANS 120 3
PIDS="$PIDS $PROG_PID"
P=$PROG_PID
PORT=$(endpoint_port p)
PROM_PORT=$(free_port)

cat >prom.yml <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: openmetrics
    static_configs:
      - targets: ['127.0.0.1:$PORT']
  - job_name: text
    params:
      format: [text]
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML

# query EXPR: the first result's value ("" when none).
query() {
	curl -sG "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}

started() {
	[ -n "$PORT" ] || { cat p.err; return 1; }
	wait_metric "$PORT" "oneprof_span_duration_seconds_count{name=\"work\"} $SPANS" || return 1
	prometheus --config.file=prom.yml --web.listen-address="127.0.0.1:$PROM_PORT" \
		--storage.tsdb.path="$TMP/tsdb" >prom.log 2>&1 &
	PROM=$!
	PIDS="$PIDS $PROM"
	echo "$PROM" >prom.pid
	# Two scrapes of each target.
	n=0
	while [ "$n" -lt 300 ]; do
		a=$(query 'count_over_time(up{job="openmetrics"}[5m])')
		b=$(query 'count_over_time(up{job="text"}[5m])')
		[ "${a:-0}" -ge 2 ] 2>/dev/null && [ "${b:-0}" -ge 2 ] 2>/dev/null && { echo "scrapes: $a and $b"; return 0; }
		sleep 0.1
		n=$((n + 1))
	done
	echo "fewer than 2 scrapes each after 30 s ($a, $b):"
	tail -n 20 prom.log
	return 1
}
check "Prometheus scraped the endpoint twice in each format" started
PIDS="$PIDS $(cat prom.pid 2>/dev/null)"

up() {
	equal "up (OpenMetrics)" "$(query 'up{job="openmetrics"}')" 1 || return 1
	equal "up (text)" "$(query 'up{job="text"}')" 1 || return 1
	# Every sample of the exposition stored, in both formats.
	want=$(curl -s "http://127.0.0.1:$PORT/metrics" | grep -vc '^#')
	equal "samples (OpenMetrics)" "$(query 'scrape_samples_scraped{job="openmetrics"}')" "$want" || return 1
	equal "samples (text)" "$(query 'scrape_samples_scraped{job="text"}')" "$want" || return 1
	! grep -i 'error' prom.log | grep -i 'pars' || return 1
}
check "both targets up, every sample parsed (no parse errors)" up

formats() {
	# The Accept header Prometheus 2.42 sends.
	curl -s -D om.h -o /dev/null -H 'Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' \
		"http://127.0.0.1:$PORT/metrics"
	grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0' om.h || { cat om.h; return 1; }
	curl -s -D text.h -o /dev/null -H 'Accept: application/openmetrics-text;version=1.0.0' \
		"http://127.0.0.1:$PORT/metrics?format=text"
	grep -qi '^Content-Type: text/plain; version=0.0.4' text.h || { cat text.h; return 1; }
	echo "Prometheus got OpenMetrics from job openmetrics and text 0.0.4 from job text"
}
check "each job got the format it was meant to (Content-Type)" formats

rss() {
	got=$(query 'process_resident_memory_bytes{job="openmetrics"}')
	proc=$(rss_now "$P")
	echo "Prometheus: $got bytes, /proc/$P/statm: $proc bytes"
	[ -n "$got" ] && awk -v a="$got" -v b="$proc" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1 * b) }'
}
check "process_resident_memory_bytes within 10% of /proc" rss

spans() {
	equal "work spans" "$(query 'oneprof_span_duration_seconds_count{job="openmetrics",name="work"}')" $SPANS || return 1
	equal "work spans (text)" "$(query 'oneprof_span_duration_seconds_count{job="text",name="work"}')" $SPANS || return 1
	equal "+Inf bucket" "$(query 'oneprof_span_duration_seconds_bucket{job="openmetrics",name="work",le="+Inf"}')" $SPANS || return 1
	# The oddly named span's label came back as it was written.
	curl -sG "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode 'query=oneprof_span_duration_seconds_count{job="openmetrics",name=~"(?s)we.*"}' |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
assert len(r) == 1, r
assert r[0]["metric"]["name"] == "we\"ird\\name\nline", r[0]["metric"]["name"]
assert r[0]["value"][1] == "3", r
print("name round trip:", repr(r[0]["metric"]["name"]))'
}
check "span histogram: _count equals the spans made, odd name round trip" spans

threads() {
	equal "process_threads" "$(query 'process_threads{job="openmetrics"}')" \
		"$(awk '{ print $20 }' "/proc/$P/stat")"
}
check "process_threads as in /proc" threads

finish
