# oneprof record --perf -- COMMAND: a command launched without the agent,
# sampled with perf_event, following the processes it forks and the
# programs they exec: their functions, thread names and PROCESS records
# (pid, name, parent) are in the capture.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collect_lib.sh"
if collect_skip; then
	finish
	exit
fi
TOOL=$B/tests/capture-tool

"$ONEPROF" record --perf -F 199 -o "$TMP/p.opf" -- \
	sh -c "\"$PROGS/split\" 3 1 & \"$PROGS/spin\" & sleep 1.5; kill \$!; wait" \
	>"$TMP/p.out" 2>"$TMP/p.rec"
rc=$?
cat "$TMP/p.rec"
"$ONEPROF" report -n 0 "$TMP/p.opf" >"$TMP/p.report" 2>&1
head -30 "$TMP/p.report"
check "perf: sh's exit status passed through (rc $rc)" test "$rc" = 0
check "perf: forked+exec'd split sampled (work_50, work_30, work_20)" sh -c '
	for f in work_50 work_30 work_20; do
		awk -v f=$f '\''$6 == f { found = 1 } END { exit !found }'\'' "$1" || { echo "$f missing"; exit 1; }
	done' sh "$TMP/p.report"
check "perf: forked+exec'd spin sampled (burn_forever > 30%)" sh -c '
	p=$(awk '\''$6 == "burn_forever" { sub("%", "", $2); print $2 }'\'' "$1")
	echo "burn_forever ${p:-missing}%"
	awk -v p="${p:-0}" "BEGIN { exit !(p > 30) }"' sh "$TMP/p.report"
check "perf: thread names split and spin" sh -c '
	grep -Eq "^ +[0-9]+ +split " "$1" && grep -Eq "^ +[0-9]+ +spin " "$1"' sh "$TMP/p.report"
# PROCESS records (kind 56: pid, name, time, ppid, cmdline): the
# children by name, with sh (the launched command, the header's pid) as
# their parent. sh itself used no CPU to speak of: no samples, so no
# record (processes are written when first sampled).
"$TOOL" records "$TMP/p.opf" >"$TMP/p.records" 2>&1
processes() {
	awk '$1 == 1 { s[$2] = $3 } $1 == 56 { print $2, s[$3], $5 }' "$1"
}
processes "$TMP/p.records" >"$TMP/p.procs"
cat "$TMP/p.procs"
sh_pid=$(sed -n 's/^Command:.*(pid \([0-9]*\),.*/\1/p' "$TMP/p.report")
check "perf: PROCESS records for split and spin, children of sh ($sh_pid)" sh -c '
	awk -v p="$2" '\''$2 == "split" && $3 == p { a = 1 } $2 == "spin" && $3 == p { b = 1 }
		END { exit !(a && b) }'\'' "$1"' sh "$TMP/p.procs" "${sh_pid:-none}"
check "perf: mappings carry their process's pid" sh -c '
	awk '\''$1 == 2 && NF >= 9 { n++ } END { print n " MAPPING records with a pid"; exit !(n > 3) }'\'' "$1"' \
	sh "$TMP/p.records"

"$ONEPROF" record --perf -o "$TMP/x.opf" -- sh -c 'exit 3' >/dev/null 2>&1
check "perf: exit status 3 passed through" test $? = 3
check "perf: a missing command" expect_error "command '/nonexistent/prog' not found" \
	"$ONEPROF" record --perf -o "$TMP/y.opf" -- /nonexistent/prog
finish
