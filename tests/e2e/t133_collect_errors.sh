# The perf_event collector's failures: one clear line each (a dead pid, a
# ring size that is not a power of two, no permission, a DWARF stack size
# that is not a multiple of 8, bad mode combinations); and a ring that overflows
# under a deliberately tiny buffer: the exact lost count, the same in the
# collector's summary and in the report, and an undamaged capture.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collect_lib.sh"
if collect_skip; then
	finish
	exit
fi

sleep 0 &
dead=$!
wait "$dead"
check "error: dead pid" expect_error "cannot profile process $dead: no such process" \
	"$ONEPROF" record -p "$dead" -o "$TMP/d.opf"
check "error: ring size not a power of two" expect_error "ring-pages '3' is not a power of two" \
	"$ONEPROF" record -p $$ --ring-pages 3 -o "$TMP/r.opf"
check "error: dwarf stack size not a multiple of 8" expect_error \
	"call-graph dwarf,8196: the stack size '8196' is not a multiple of 8" \
	"$ONEPROF" record -p $$ --call-graph dwarf,8196 -o "$TMP/c.opf"
check "error: -p with --system" expect_error "exclude each other" \
	"$ONEPROF" record -p $$ --system -o "$TMP/c.opf"
check "error: agent option with -p" expect_error "record: --heap needs the in-process agent" \
	"$ONEPROF" record --heap -p $$ -o "$TMP/c.opf"
check "error: bad pid list" expect_error "record: -p '12x' is not a list of process ids" \
	"$ONEPROF" record -p 12x -o "$TMP/c.opf"

paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
if [ "$paranoid" -ge 2 ] && command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	# As nobody, with kernel.perf_event_paranoid 2 or more, the whole
	# machine is out of reach: the message names the setting and the fix.
	check "error: no permission (paranoid $paranoid, as nobody)" expect_error \
		"cannot profile CPU 0: permission denied \(kernel.perf_event_paranoid is $paranoid\).*CAP_PERFMON.*sysctl kernel.perf_event_paranoid=-1" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$ONEPROF" record --system --duration 0.1 -o /tmp/never-written.opf
else
	echo "skip permission check: needs root, setpriv and kernel.perf_event_paranoid >= 2 (it is $paranoid)"
fi

# One page per ring at 10 kHz with four busy threads on every CPU: the
# kernel drops records, and says how many (PERF_RECORD_LOST).
"$ONEPROF" record --perf -F 10000 --ring-pages 1 -o "$TMP/o.opf" -- \
	"$PROGS/attachsplit" 4 2 >/dev/null 2>"$TMP/o.rec"
cat "$TMP/o.rec"
printed=$(sed -n 's/.*perf ring overflowed: \([0-9]*\) records lost.*/\1/p' "$TMP/o.rec")
"$ONEPROF" report "$TMP/o.opf" >"$TMP/o.report" 2>"$TMP/o.err"
head -6 "$TMP/o.report"
reported=$(sed -n 's/.*(\([0-9]*\) kernel ring overflow.*/\1/p' "$TMP/o.report")
check "overflow: records lost (${printed:-none} printed)" test "${printed:-0}" -gt 0
check "overflow: report's lost count ${reported:-none} equals the printed ${printed:-none}" \
	test "${reported:-x}" = "${printed:-y}"
check "overflow: the report reads it without warnings" test ! -s "$TMP/o.err"
"$ONEPROF" export --format json -o "$TMP/o.json" "$TMP/o.opf" >/dev/null 2>&1
check "overflow: capture complete (END record read)" grep -q '"complete":true' "$TMP/o.json"
check "overflow: split still within 5 points" split_within "$TMP/o.report" 5

# A collector killed mid-run (SIGKILL) leaves a readable capture: chunks
# reach the file at least once a second.
start_bg "$TMP/k.out" "$PROGS/attachsplit" 1 30
"$ONEPROF" record -p "$BG_PID" -o "$TMP/k.opf" >/dev/null 2>&1 &
rec=$!
sleep 2.5
kill -9 "$rec"
wait "$rec" 2>/dev/null
kill "$BG_PID"
wait "$BG_PID" 2>/dev/null
"$ONEPROF" report "$TMP/k.opf" >"$TMP/k.report" 2>"$TMP/k.err"
cat "$TMP/k.err"
check "killed collector: capture readable with samples" \
	awk '/^Samples:/ { print; exit !($2 > 50) }' "$TMP/k.report"
check "killed collector: the report says the recording did not finish" \
	grep -q "has no end record" "$TMP/k.err"
finish
