# Attaching to running processes with the perf_event collector
# (oneprof record -p PID): a known 50/30/20 split, built with frame
# pointers, within 2 percentage points; the threads' names; the header
# names the collector; and every thread of a many-threaded program.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collect_lib.sh"
if collect_skip; then
	finish
	exit
fi

start_bg "$TMP/a.out" "$PROGS/attachsplit" 2 30
"$ONEPROF" record -F 499 -p "$BG_PID" --duration 2 -o "$TMP/a.opf" >"$TMP/a.rec" 2>&1
kill "$BG_PID"
wait "$BG_PID" 2>/dev/null
cat "$TMP/a.rec"
"$ONEPROF" report "$TMP/a.opf" >"$TMP/a.report" 2>&1
cat "$TMP/a.report"
check "attach: split 50/30/20 within 2 points" split_within "$TMP/a.report" 2
check "attach: both threads, by name" sh -c '
	for n in split-0 split-1; do
		s=$(awk -v n=$n '\''$2 == n { print $3 }'\'' "$1")
		echo "$n: ${s:-missing} samples"
		[ "${s:-0}" -gt 100 ] || exit 1
	done' sh "$TMP/a.report"
check "attach: sampler is perf_event(cpu-clock)" grep -q 'perf_event(cpu-clock)' "$TMP/a.report"
check "attach: header names the collector" grep -qa 'oneprof-collector' "$TMP/a.opf"
check "attach: header config says target=pid" grep -qa 'target=pid' "$TMP/a.opf"
check "attach: capture is complete" sh -c '! grep -qi "incomplete\|damaged\|cut short" "$1"' sh "$TMP/a.report"
# 2 s at 499 Hz on 2 busy threads: far above 200 samples unless sampling broke.
check "attach: sample count plausible" awk '/^Samples:/ { exit !($2 > 200) }' "$TMP/a.report"

# Eight threads: every one is sampled (per-thread events on each).
start_bg "$TMP/m.out" "$PROGS/attachsplit" 8 30
"$ONEPROF" record -F 199 -p "$BG_PID" --duration 2 -o "$TMP/m.opf" >"$TMP/m.rec" 2>&1
kill "$BG_PID"
wait "$BG_PID" 2>/dev/null
"$ONEPROF" report "$TMP/m.opf" >"$TMP/m.report" 2>&1
cat "$TMP/m.report" | head -20
every_thread() {
	for i in 0 1 2 3 4 5 6 7; do
		s=$(thread_samples "$1" "split-$i")
		echo "split-$i: ${s:-missing} samples"
		[ "${s:-0}" -gt 5 ] || return 1
	done
}
check "attach: all 8 threads sampled" every_thread "$TMP/m.report"
check "attach: 8 threads listed" grep -Eq '^Threads: +8 ' "$TMP/m.report"

# A target that exits ends the recording by itself.
start_bg "$TMP/e.out" "$PROGS/attachsplit" 1 1
"$ONEPROF" record -p "$BG_PID" -o "$TMP/e.opf" >"$TMP/e.rec" 2>&1
rc=$?
wait "$BG_PID" 2>/dev/null
check "attach: stops when the target exits (rc $rc)" test "$rc" = 0
check "attach: that capture has samples" sh -c '"$1" report "$2" | awk "/^Samples:/ { exit !(\$2 > 10) }"' sh "$ONEPROF" "$TMP/e.opf"
finish
