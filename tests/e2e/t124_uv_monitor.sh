# The libuv loop monitor (include/oneprof_uv.h) on a real loop
# (tests/progs/uv/uvloop.c): 7 referenced handles and one work request at
# the start, a callback that blocks the loop 250 ms, a monitor every 50 ms.
# The counters it sets reach the capture's series and 'report --metrics'.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# metric NAME COLUMN: 3 samples, 4 min, 5 mean, 6 max, 7 last.
metric() {
	awk -v n="$1" -v c="$2" '$1 == n { print $c }' rep
}

uv_loop() {
	"$ONEPROF" record -o u.opf -- "$PROGS/uvloop" >out 2>err || { cat err; return 1; }
	"$ONEPROF" report --metrics u.opf >rep 2>err || { cat err; return 1; }
	grep '^  uv_' rep
	handles=$(awk '$1 == "active_handles" { print $2 }' out)
	lag=$(awk '$1 == "min_lag_ns" { print $2 }' out)
	[ "$(metric uv_loop_active_handles 6)" = "$handles" ] ||
		{ echo "active handles: want max $handles"; return 1; }
	[ "$(metric uv_loop_active_requests 6)" = 1 ] || { echo "want 1 request in flight"; return 1; }
	[ "$(metric uv_loop_active_requests 4)" = 0 ] || { echo "want 0 once it is done"; return 1; }
	# The 250 ms block: the monitor's timer fired at least 200 ms late.
	max=$(metric uv_loop_lag_max_ns 7)
	[ "$max" -ge "$lag" ] || { echo "lag max $max ns, want >= $lag"; return 1; }
	# Idle time grows: the loop waits most of its 1.2 s.
	idle=$(metric uv_loop_idle_ns 7)
	[ "$idle" -gt 100000000 ] || { echo "idle $idle ns"; return 1; }
	echo "lag max $max ns, idle $idle ns"
}
check "uv loop: handles, requests, lag >= the block, idle time" uv_loop

# Without the agent the weak calls do nothing and the program runs.
uv_plain() {
	"$PROGS/uvloop" >out 2>err || { cat err; return 1; }
	grep -q '^active_handles 7$' out
}
check "uv loop without the agent runs normally" uv_plain

finish
