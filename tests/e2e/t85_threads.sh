# Thread churn: 1,000 short-lived threads, a late thread, an early one.
# Every thread is registered with its name, samples land on the right
# thread, and no timer or perf fd leaks.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/churn.opf" -- "$PROGS/churn" >"$TMP/out" 2>"$TMP/err"
rc=$?
cat "$TMP/out" "$TMP/err"
"$B/tests/capture-tool" stats "$TMP/churn.opf" >"$TMP/stats"
grep -v ' churn-' "$TMP/stats"

check "program ran to the end" test "$rc" = 0
check "no file descriptor leaked" sh -c "awk '/^fds/ { exit !(\$3 == \$5) }' '$TMP/out'"
check "all 1,003 threads registered" sh -c "awk '\$1 == \"threads\" { exit !(\$2 == 1003) }' '$TMP/stats'"
check "short-lived threads keep the names they set" \
	sh -c "[ \$(grep -c '^thread [0-9]* churn-[0-9]* ' '$TMP/stats') = 1000 ]"
check "late thread's samples are its own" grep -Eq '^thread [0-9]+ late-worker [1-9][0-9]* late_work$' "$TMP/stats"
check "early thread's samples are its own" grep -Eq '^thread [0-9]+ early-exit [1-9][0-9]* early_work$' "$TMP/stats"
finish
