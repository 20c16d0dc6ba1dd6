# oneprof record --system: every CPU. Two test programs running at the
# same time both show up, with their functions, their thread names and a
# PROCESS record each (pid and name). A third program, dd copying
# /dev/zero to /dev/null, spends its time in the kernel, so kernel frames
# are sampled whatever else the machine is doing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collect_lib.sh"
if collect_skip; then
	finish
	exit
fi
TOOL=$B/tests/capture-tool

start_bg "$TMP/a.out" "$PROGS/attachsplit" 1 30
A=$BG_PID
start_bg "$TMP/s.out" "$PROGS/spin"
S=$BG_PID
dd if=/dev/zero of=/dev/null bs=1M 2>/dev/null &
D=$!
"$ONEPROF" record --system -F 199 --duration 1.5 -o "$TMP/s.opf" >"$TMP/s.rec" 2>&1
rc=$?
kill "$A" "$S" "$D"
wait 2>/dev/null
cat "$TMP/s.rec"
"$ONEPROF" report -n 0 "$TMP/s.opf" >"$TMP/s.report" 2>&1
head -24 "$TMP/s.report"
check "system: recorded (rc $rc)" test "$rc" = 0
has_fn() {
	awk -v f="$2" '$6 == f { print f, $1, $2; found = 1 } END { exit !found }' "$1"
}
check "system: attachsplit's work_50 sampled" has_fn "$TMP/s.report" work_50
check "system: spin's burn_forever sampled" has_fn "$TMP/s.report" burn_forever
n=$(thread_samples "$TMP/s.report" split-0)
check "system: thread split-0 sampled (${n:-no} samples)" test "${n:-0}" -gt 10
check "system: thread spin sampled" grep -Eq "^ +$S +spin +[0-9]" "$TMP/s.report"
"$TOOL" records "$TMP/s.opf" >"$TMP/s.records" 2>&1
process_name() {
	awk -v p="$2" '$1 == 1 { s[$2] = $3 } $1 == 56 && $2 == p { print s[$3]; exit }' "$1"
}
check "system: PROCESS record of attachsplit ($A)" test "$(process_name "$TMP/s.records" "$A")" = attachsplit
check "system: PROCESS record of spin ($S)" test "$(process_name "$TMP/s.records" "$S")" = spin
check "system: header config says target=system" grep -qa 'target=system' "$TMP/s.opf"
check "system: kernel symbols written" sh -c 'awk "\$1 == 59 { n++ } END { print n + 0, \"KERNEL_SYMBOL records\"; exit !(n > 0) }" "$1"' sh "$TMP/s.records"
finish
