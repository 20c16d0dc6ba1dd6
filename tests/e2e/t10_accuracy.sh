# CPU accuracy against ground truth: tests/progs/split.c runs a known
# 50/30/20 split on two threads. The report must be within 3 percentage
# points for each function, and the sample count within 10% of
# rate x CPU time (CPU time as the program itself measured it).
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -F 99 -o "$TMP/split.opf" -- "$PROGS/split" >"$TMP/out" 2>"$TMP/rec"
"$ONEPROF" report "$TMP/split.opf" >"$TMP/report" 2>&1
cat "$TMP/report"
check "split 50/30/20 within 3 points" split_within "$TMP/report" 3
check "sample count within 10% of rate x CPU time" count_within "$TMP/out" "$TMP/report" 99 10
check "both threads sampled" grep -Eq '^Threads: +2 ' "$TMP/report"
"$ONEPROF" report -n 0 "$TMP/split.opf" >"$TMP/all" 2>&1
check "callers found (thread_main cum > 97%)" callers_found "$TMP/all" 97 thread_main
finish
