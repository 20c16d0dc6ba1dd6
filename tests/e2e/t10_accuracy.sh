# CPU accuracy against ground truth: tests/progs/split.c runs a known
# 50/30/20 split on two threads. The report must be within 3 percentage
# points for each function, and the sample count within 10% of
# rate x CPU time (CPU time as the program itself measured it).
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -F 99 -o "$TMP/split.opf" -- "$PROGS/split" >"$TMP/out" 2>"$TMP/rec"
"$ONEPROF" report "$TMP/split.opf" >"$TMP/report" 2>&1
cat "$TMP/report"
cpu_ns=$(awk '/^cpu_ns/ { print $2 }' "$TMP/out")
samples=$(awk '/^Samples:/ { print $2 }' "$TMP/report")
echo "program CPU time: $cpu_ns ns, samples: $samples"

split_ok() {
	for pair in work_50:50 work_30:30 work_20:20; do
		f=${pair%:*} want=${pair#*:}
		got=$(flat_pct "$TMP/report" "$f")
		echo "$f: ${got:-missing}% (truth $want%)"
		[ -n "$got" ] && within "$got" "$want" 3 || return 1
	done
}
check "split 50/30/20 within 3 points" split_ok

count_ok() {
	expect=$(awk -v c="$cpu_ns" 'BEGIN { printf "%.1f", c / 1e9 * 99 }')
	echo "samples $samples, rate x CPU time $expect"
	within "$samples" "$expect" "$(awk -v e="$expect" 'BEGIN { print e * 0.10 }')"
}
check "sample count within 10% of rate x CPU time" count_ok

threads_ok() {
	grep -Eq '^Threads: +2 ' "$TMP/report"
}
check "both threads sampled" threads_ok

callers_ok() {
	# Every work function has a frame, so its caller is known.
	"$ONEPROF" report --sort cum -n 0 "$TMP/split.opf" | awk '$6 == "thread_main" { sub("%", "", $5); exit !($5 + 0 > 97) }'
}
check "callers found through frame pointers (thread_main cum > 97%)" callers_ok
finish
