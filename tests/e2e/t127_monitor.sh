# oneprof monitor: the live view's numbers against /proc for a program
# with a known thread count, the agent's own metrics when it serves
# them, --prometheus serving another process's process_* metrics until
# it exits, and clear errors for a PID that does not exist or exits.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
cd "$TMP" || exit 1
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# Five threads, no agent.
"$PROGS/metricsprog" 0 60 5 >plain.out 2>&1 &
PLAIN=$!
PIDS="$PIDS $PLAIN"

view() {
	wait_for plain.out ready || return 1
	"$ONEPROF" monitor -p "$PLAIN" --count 2 --interval 0.3 >view.txt 2>view.err || { cat view.err; return 1; }
	cat view.txt
	equal "snapshots" "$(grep -c '^process ' view.txt)" 2 || return 1
	equal "threads" "$(awk '$1 == "threads" { v = $2 } END { print v }' view.txt)" 5 || return 1
	rss_kib=$(awk '$1 == "memory" { v = $3 } END { print v }' view.txt)
	proc_kib=$(($(rss_now "$PLAIN") / 1024))
	echo "rss: monitor $rss_kib KiB, /proc $proc_kib KiB"
	awk -v a="$rss_kib" -v b="$proc_kib" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1 * b) }' || return 1
	equal "fds" "$(awk '$1 == "fds" { v = $2 } END { print v }' view.txt)" "$(ls "/proc/$PLAIN/fd" | wc -l | tr -d ' ')" || return 1
	equal "max fds" "$(awk '$1 == "fds" { v = $4 } END { print v }' view.txt)" \
		"$(awk '/^Max open files/ { print $4 }' "/proc/$PLAIN/limits")" || return 1
	grep -q '^agent       none (the process has no ONEPROF_METRICS_ADDR)' view.txt
}
check "monitor --count 2: threads, RSS, fds as in /proc" view

with_agent() {
	port=$(free_port)
	start_prog ag ONEPROF_METRICS_ADDR="127.0.0.1:$port" -- 100 60 2
	PIDS="$PIDS $PROG_PID"
	wait_for ag.out ready || return 1
	"$ONEPROF" monitor -p "$PROG_PID" --count 1 --interval 0.2 >ag.txt 2>&1 || { cat ag.txt; return 1; }
	cat ag.txt
	grep -q "^agent       http://127.0.0.1:$port/metrics" ag.txt || return 1
	grep -q '^  oneprof_samples_total ' ag.txt || return 1
	equal "threads (2 + the agent's writer and metrics server)" \
		"$(awk '$1 == "threads" { print $2 }' ag.txt)" "$(awk '{ print $20 }' "/proc/$PROG_PID/stat")"
}
check "monitor shows the agent's oneprof_* metrics when it serves them" with_agent

prometheus_mode() {
	"$ONEPROF" monitor -p "$PLAIN" --prometheus 127.0.0.1:0 >serve.out 2>serve.err &
	MON=$!
	PIDS="$PIDS $MON"
	wait_for serve.err 'metrics of process' || return 1
	port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' serve.err)
	curl -s "http://127.0.0.1:$port/metrics" >serve.txt || return 1
	promtool check metrics <serve.txt || return 1
	equal "process_threads" "$(value serve.txt process_threads)" 5 || return 1
	equal "process_open_fds" "$(value serve.txt process_open_fds)" "$(ls "/proc/$PLAIN/fd" | wc -l | tr -d ' ')" || return 1
	got=$(value serve.txt process_resident_memory_bytes)
	proc=$(rss_now "$PLAIN")
	echo "rss: served $got, /proc $proc"
	awk -v a="$got" -v b="$proc" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1 * b) }' || return 1
	# The process exits: so does the monitor, saying why.
	kill "$PLAIN"
	n=0
	while kill -0 "$MON" 2>/dev/null && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	wait "$MON"
	rc=$?
	cat serve.err
	equal "monitor exit status" "$rc" 0 || return 1
	grep -q "process $PLAIN exited (/proc/$PLAIN/stat); metrics endpoint stopped" serve.err
}
check "monitor --prometheus serves another process's metrics until it exits" prometheus_mode

check "monitor -p of a PID that does not exist: clear error" \
	expect_error "monitor: cannot read /proc/[0-9]+/stat: no such process; is PID [0-9]+ running\?" \
	"$ONEPROF" monitor -p 2147483646 --count 1

exits() {
	"$PROGS/metricsprog" 0 1 1 >short.out 2>&1 &
	short=$!
	wait_for short.out ready || return 1
	"$ONEPROF" monitor -p "$short" --count 20 --interval 0.2 >short.txt 2>short.err
	rc=$?
	cat short.err
	[ "$rc" != 0 ] || { echo "exited 0"; return 1; }
	grep -Eq "monitor: process $short exited \\(/proc/$short/stat(: No such file or directory| says it is a zombie)\\)" short.err
}
check "monitor of a process that exits: says so, non-zero status" exits

finish
