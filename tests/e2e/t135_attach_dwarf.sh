# --call-graph dwarf for the perf_event collector: programs built without
# frame pointers (frameless leaf work functions) get whole stacks, unwound
# by the collector from each sample's copied user stack.
# - attached (-p) to attachsplit-nofp: the 50/30/20 split within 2 points,
#   and thread_main, the work functions' caller, in (nearly) every sample
#   of each thread; with --call-graph fp the same program loses it (the
#   unwinder is what finds it);
# - launched (--perf) split-nofp: the split, and thread_main/run_round;
# - a 64-byte copy: stacks end truncated, the report says so, nothing
#   breaks;
# - the capture holds pcs, not stack copies: a few bytes per sample;
# - bad sizes and modes are refused with one clear line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collect_lib.sh"
if collect_skip; then
	finish
	exit
fi

# thread_cum REPORT FUNCTION: "TID CUM" per thread section of a
# 'report --threads': FUNCTION's cum% in that thread (0 when absent).
thread_cum() {
	awk -v f="$2" '
	/^=== Thread / { if (tid != "") print tid, cum + 0; tid = $3; cum = 0; next }
	tid != "" && $6 == f { c = $5; sub("%", "", c); cum = c }
	END { if (tid != "") print tid, cum + 0 }' "$1"
}
# callers_per_thread REPORT FUNCTION MIN MAX: in every thread, FUNCTION's
# cum% is within [MIN, MAX]; at least two threads.
callers_per_thread() {
	thread_cum "$1" "$2" >"$TMP/cum"
	cat "$TMP/cum"
	awk -v lo="$3" -v hi="$4" '{ n++; if ($2 < lo || $2 > hi) bad++ }
		END { exit !(n >= 2 && !bad) }' "$TMP/cum"
}
# stack_ends REPORT KIND: the count of the Stacks: line's KIND ("complete",
# "depth limit", ...).
stack_ends() {
	sed -n 's/^Stacks: *//p' "$1" | tr ',' '\n' |
		awk -v k="$2" '{ n = $1; sub(/^ *[0-9]+ /, ""); if ($0 == k) print n }'
}

# Attached, DWARF.
start_bg "$TMP/a.out" "$PROGS/attachsplit-nofp" 2 30
"$ONEPROF" record -F 999 -p "$BG_PID" --call-graph dwarf --duration 2 -o "$TMP/d.opf" \
	>"$TMP/d.rec" 2>&1
drc=$?
# The same process, frame pointers: the contrast.
"$ONEPROF" record -F 999 -p "$BG_PID" --call-graph fp --duration 2 -o "$TMP/f.opf" \
	>"$TMP/f.rec" 2>&1
kill "$BG_PID"
wait "$BG_PID" 2>/dev/null
cat "$TMP/d.rec"
"$ONEPROF" report "$TMP/d.opf" >"$TMP/d.report" 2>&1
"$ONEPROF" report --threads "$TMP/d.opf" >"$TMP/d.threads" 2>&1
"$ONEPROF" report --threads "$TMP/f.opf" >"$TMP/f.threads" 2>&1
head -24 "$TMP/d.report"
check "dwarf attach: record exits 0 (rc $drc)" test "$drc" = 0
check "dwarf attach: split 50/30/20 within 2 points" split_within "$TMP/d.report" 2
check "dwarf attach: thread_main in >= 95% of each thread's samples" \
	callers_per_thread "$TMP/d.threads" thread_main 95 100
check "fp attach, same program: thread_main in <= 5% (no frame pointers to follow)" \
	callers_per_thread "$TMP/f.threads" thread_main 0 5
check "dwarf attach: stacks complete (>= 95%)" sh -c '
	c=$(sed -n "s/^Stacks: *\([0-9]*\) complete.*/\1/p" "$1")
	s=$(awk "/^Samples:/ { print \$2 }" "$1")
	echo "$c complete of $s"
	[ "$c" -ge $((s * 95 / 100)) ]' sh "$TMP/d.report"
check "dwarf attach: header says call_graph=dwarf, dwarf_stack_bytes=8192" sh -c '
	grep -qa "call_graph=dwarf" "$1" && grep -qa "dwarf_stack_bytes=8192" "$1"' sh "$TMP/d.opf"
check "dwarf attach: unwind tables were read" grep -Eq 'DWARF unwinding: [1-9][0-9]* module files? read' "$TMP/d.rec"
# perf.data holds ~8 KB per sample in this mode; the capture holds pcs
# only: the whole file under 64 bytes a sample.
check "dwarf attach: capture under 64 bytes a sample" sh -c '
	b=$(wc -c <"$1")
	s=$(awk "/^Samples:/ { print \$2 }" "$2")
	echo "$b bytes, $s samples"
	[ "$s" -gt 1000 ] && [ "$b" -lt $((s * 64)) ]' sh "$TMP/d.opf" "$TMP/d.report"

# Launched, DWARF.
"$ONEPROF" record --perf -F 499 --call-graph dwarf -o "$TMP/p.opf" -- \
	"$PROGS/split-nofp" 3 2 >"$TMP/p.out" 2>"$TMP/p.rec"
prc=$?
cat "$TMP/p.rec"
"$ONEPROF" report "$TMP/p.opf" >"$TMP/p.report" 2>&1
head -30 "$TMP/p.report"
check "dwarf --perf: record exits 0 (rc $prc)" test "$prc" = 0
check "dwarf --perf: split 50/30/20 within 2 points" split_within "$TMP/p.report" 2
check "dwarf --perf: callers thread_main and run_round in >= 95%" \
	callers_found "$TMP/p.report" 95 thread_main run_round

# A copy too small for the stack: truncated stacks, right leaves.
"$ONEPROF" record --perf -F 499 --call-graph dwarf,64 -o "$TMP/t.opf" -- \
	"$PROGS/split-nofp" 2 2 >"$TMP/t.out" 2>"$TMP/t.rec"
trc=$?
cat "$TMP/t.rec"
"$ONEPROF" report "$TMP/t.opf" >"$TMP/t.report" 2>&1
grep '^Stacks:' "$TMP/t.report"
check "dwarf,64: record exits 0 (rc $trc)" test "$trc" = 0
check "dwarf,64: most stacks end at the depth limit" sh -c '
	s=$(awk "/^Samples:/ { print \$2 }" "$1")
	echo "$2 truncated of $s"
	[ "$s" -gt 100 ] && [ "${2:-0}" -ge $((s * 9 / 10)) ]' sh "$TMP/t.report" \
	"$(stack_ends "$TMP/t.report" "depth limit")"
check "dwarf,64: the record says so and suggests a larger SIZE" \
	grep -q 'cut at the end of their 64-byte copy; raise it with --call-graph dwarf,SIZE' "$TMP/t.rec"
check "dwarf,64: leaves still right (split within 3 points)" split_within "$TMP/t.report" 3

# Bad sizes and modes.
check "error: dwarf,7 (not a multiple of 8)" expect_error \
	"record: --call-graph dwarf,7: the stack size '7' is not a multiple of 8 from 8 to 65528 bytes" \
	"$ONEPROF" record --perf --call-graph dwarf,7 -o "$TMP/e.opf" -- true
check "error: dwarf,100000 (too large)" expect_error \
	"record: --call-graph dwarf,100000: the stack size '100000' is not a multiple of 8 from 8 to 65528" \
	"$ONEPROF" record --perf --call-graph dwarf,100000 -o "$TMP/e.opf" -- true
check "error: dwarf,abc (not a number)" expect_error \
	"record: --call-graph dwarf,abc: the stack size 'abc' is not" \
	"$ONEPROF" record -p $$ --call-graph dwarf,abc -o "$TMP/e.opf"
check "error: --call-graph nonsense" expect_error \
	"record: --call-graph nonsense is not a call-graph mode; use fp .* or dwarf\[,SIZE\]" \
	"$ONEPROF" record -p $$ --call-graph nonsense -o "$TMP/e.opf"
finish
