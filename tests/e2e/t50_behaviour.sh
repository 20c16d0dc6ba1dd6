# The profiled program behaves as without the profiler: exit status,
# stdout and stderr, errno around samples, no EINTR from blocking calls.
. "$(dirname "$0")/lib.sh"

"$PROGS/behave" 3 >"$TMP/plain.out" 2>"$TMP/plain.err"
plain_rc=$?
"$ONEPROF" record -F 997 -o "$TMP/b.opf" -- "$PROGS/behave" 3 >"$TMP/prof.out" 2>"$TMP/prof.err"
prof_rc=$?
cat "$TMP/prof.out"

check "exit status passed through" test "$plain_rc" = 3 -a "$prof_rc" = 3
check "stdout unchanged" sh -c "sed 's/yes, SA_RESTART: yes/-/;s/no, SA_RESTART: no/-/' '$TMP/plain.out' >'$TMP/a'; sed 's/yes, SA_RESTART: yes/-/' '$TMP/prof.out' >'$TMP/b'; cmp '$TMP/a' '$TMP/b'"
# oneprof's own summary line is the only addition on stderr.
check "stderr unchanged" sh -c "grep -v '^oneprof: wrote' '$TMP/prof.err' | cmp - '$TMP/plain.err'"
check "handler installed with SA_RESTART" grep -q "sigprof handler: yes, SA_RESTART: yes" "$TMP/prof.out"
check "errno preserved across samples" grep -q "errno changed under sampling: 0 times" "$TMP/prof.out"
check "no EINTR in blocking reads" grep -q "blocking reads: 3000 bytes, 0 EINTR" "$TMP/prof.out"
check "samples were taken meanwhile" sh -c "'$B/tests/capture-tool' stats '$TMP/b.opf' | awk '\$1 == \"samples\" { exit !(\$2 > 100) }'"

killed_by_signal() {
	"$ONEPROF" record -o "$TMP/sig.opf" -- sh -c 'kill -TERM $$' 2>"$TMP/err"
	rc=$?
	cat "$TMP/err"
	[ "$rc" = 143 ] && grep -q "killed by signal 15" "$TMP/err"
}
check "death by signal becomes 128+N" killed_by_signal

stdin_ok() {
	out=$(echo hello | "$ONEPROF" record -o "$TMP/cat.opf" -- cat 2>/dev/null)
	[ "$out" = hello ]
}
check "stdin passed through" stdin_ok
finish
