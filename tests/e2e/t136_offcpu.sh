# Off-CPU time with the perf_event collector (record --off-cpu): a
# program that waits in offcpu_sleep 70% of its wall time and spins in
# offcpu_burn 30% shows that split within 5 points under --perf, -p and
# --system; the blocking stack's leaf user frame is the waiting function;
# a vfork parent waits in state D; without tracefs the error says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collect_lib.sh"
if collect_skip; then
	finish
	exit
fi

# TF: how to run oneprof so it finds the sched_switch tracepoint. Where
# tracefs is not mounted, it is mounted in a private mount namespace
# (unshare -m), which leaves the machine's mounts alone.
TF=""
if [ ! -r /sys/kernel/tracing/events/sched/sched_switch/format ] &&
	[ ! -r /sys/kernel/debug/tracing/events/sched/sched_switch/format ]; then
	if ! grep -qw tracefs /proc/filesystems; then
		echo "skip: the kernel has no tracefs (no sched:sched_switch tracepoint)"
		finish
		exit
	fi
	if ! unshare -m sh -c 'mount -t tracefs nodev /sys/kernel/tracing' 2>/dev/null; then
		echo "skip: tracefs is not mounted and cannot be mounted here (not root?)"
		finish
		exit
	fi
	TF=tracefs
fi
tf() {
	if [ -n "$TF" ]; then
		unshare -m sh -c 'mount -t tracefs nodev /sys/kernel/tracing && exec "$@"' sh "$@"
	else
		"$@"
	fi
}
if [ ! -e /sys/kernel/tracing/events/sched/sched_switch ] &&
	! tf sh -c 'test -e /sys/kernel/tracing/events/sched/sched_switch'; then
	echo "skip: this kernel has no sched:sched_switch tracepoint"
	finish
	exit
fi

# ns REPORT FUNCTION COLUMN: a --top time column (4 cum, 6 off-CPU) of
# FUNCTION in ns.
ns() {
	awk -v f="$2" -v c="$3" '$8 == f {
		v = $c; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		m = u == "s" ? 1e9 : u == "ms" ? 1e6 : u == "us" ? 1e3 : 1
		printf "%.0f\n", v * m; exit }' "$1"
}
# share REPORT: offcpu_sleep's off-CPU time and offcpu_burn's time, in
# percent of offcpu_loop's (the thread's whole wall time in the loop).
share() {
	loop=$(ns "$1" offcpu_loop 4)
	slp=$(ns "$1" offcpu_sleep 6)
	burn=$(ns "$1" offcpu_burn 4)
	awk -v l="${loop:-0}" -v s="${slp:-0}" -v b="${burn:-0}" \
		'BEGIN { if (l > 0) printf "%.1f %.1f\n", 100 * s / l, 100 * b / l; else print "0 0" }'
}
# split_ok REPORT OUT: the wait's and the burn's shares within 5 points
# of the split the program measured itself ("wait W% burn B%": 70/30
# on an idle machine; a wait lasts longer on a loaded one, until the
# thread gets a CPU back, and off-CPU time rightly includes that).
split_ok() {
	set -- $(share "$1") $(sed -n 's/^wait \([0-9.]*\)% burn \([0-9.]*\)%$/\1 \2/p' "$2")
	echo "offcpu_sleep off-CPU ${1}% of the loop's wall time, offcpu_burn ${2}%; the program measured ${3:-?}% / ${4:-?}%"
	[ $# = 4 ] && within "$1" "$3" 5 && within "$2" "$4" 5
}
# state_pct REPORT NAME: a state's percentage on the States: line.
state_pct() {
	sed -n 's/^States: *//p' "$1" | tr ',' '\n' | awk -v n="$2" 'index($0, n) { sub("%", "", $NF); print $NF; exit }'
}
# state_in REPORT NAME LO HI: that state's percentage is in [LO, HI].
state_in() {
	v=$(state_pct "$1" "$2")
	echo "$2 ${v:-missing}%"
	awk -v v="${v:--1}" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v >= lo && v <= hi) }'
}
# leaf_ok REPORT FUNCTION: in the hottest --traces stack, FUNCTION is the
# first user frame (a kernel syscall entry above it), offcpu_loop below.
leaf_ok() {
	awk -v f="$2" '/^-+\+/ { if (n) exit; next } /\|/ { sub(/^ *\| /, ""); s[++n] = $0 }
		END { for (i = 1; i <= n; i++) if (s[i] == f) {
			print "above: " s[i-1] "; " f "; below: " s[i+1]
			exit !(i > 1 && s[i-1] ~ /entry_SYSCALL|syscall/ && s[i+1] == "offcpu_loop") }
		print "no " f " in the hottest stack"; exit 1 }' "$1"
}

# --perf: the command from its exec.
tf "$ONEPROF" record --perf --off-cpu -o "$TMP/p.opf" -- "$PROGS/offcpu" 3 >"$TMP/p.rec" 2>"$TMP/p.err"
cat "$TMP/p.err"
rc=$?
cat "$TMP/p.rec"
"$ONEPROF" report "$TMP/p.opf" >"$TMP/p.report" 2>&1
"$ONEPROF" report --traces -n 2 "$TMP/p.opf" >"$TMP/p.traces" 2>&1
head -30 "$TMP/p.report"
sed -n '/^Showing/,$p' "$TMP/p.traces"
check "perf: recorded (rc $rc)" test "$rc" = 0
check "perf: 70% off-CPU in offcpu_sleep, 30% in offcpu_burn (5 points)" split_ok "$TMP/p.report" "$TMP/p.rec"
check "perf: the summary shows on/off-CPU time" grep -q '^On/off: .*off-CPU' "$TMP/p.report"
w=$(sed -n 's/^wait \([0-9.]*\)%.*/\1/p' "$TMP/p.rec")
lo=$(awk -v w="${w:-70}" 'BEGIN { print w - 5 }')
hi=$(awk -v w="${w:-70}" 'BEGIN { print w + 5 }')
check "perf: sleeping ${w:-?}% of the states (5 points)" state_in "$TMP/p.report" sleeping "$lo" "$hi"
lo=$(awk -v w="${w:-70}" 'BEGIN { print 95 - w }')
hi=$(awk -v w="${w:-70}" 'BEGIN { print 105 - w }')
check "perf: running (on-CPU or preempted) the rest (5 points)" state_in "$TMP/p.report" running "$lo" "$hi"
check "perf: offcpu_sleep is the blocking stack's leaf user frame" leaf_ok "$TMP/p.traces" offcpu_sleep
# 3 s of 100 ms rounds: about 30 sleeps, each one interval.
check "perf: interval count" awk '/^oneprof: off-CPU:/ { n = $3 } END { print n " intervals"; exit !(n >= 25) }' "$TMP/p.err"
check "perf: every interval's end seen" sh -c '! grep -q "intervals without their end" "$1"' sh "$TMP/p.err"
check "perf: header config says off_cpu=1" grep -qa 'off_cpu=1' "$TMP/p.opf"

# -p: attached to a running instance.
start_bg "$TMP/a.out" "$PROGS/offcpu" 4
tf "$ONEPROF" record -p "$BG_PID" --off-cpu --duration 2 -o "$TMP/a.opf" >"$TMP/a.rec" 2>&1
rc=$?
wait "$BG_PID" 2>/dev/null
cat "$TMP/a.rec"
"$ONEPROF" report "$TMP/a.opf" >"$TMP/a.report" 2>&1
"$ONEPROF" report --traces -n 1 "$TMP/a.opf" >"$TMP/a.traces" 2>&1
grep -E '^(On/off|States)|offcpu_' "$TMP/a.report"
check "attach: recorded (rc $rc)" test "$rc" = 0
check "attach: 70% off-CPU in offcpu_sleep, 30% in offcpu_burn (5 points)" split_ok "$TMP/a.report" "$TMP/a.out"
check "attach: offcpu_sleep is the blocking stack's leaf user frame" leaf_ok "$TMP/a.traces" offcpu_sleep
check "attach: every interval's end seen" sh -c '! grep -q "intervals without their end" "$1"' sh "$TMP/a.rec"

# --system: the same program among everything else.
start_bg "$TMP/s.out" "$PROGS/offcpu" 3
tf "$ONEPROF" record --system --off-cpu --duration 1.5 -o "$TMP/s.opf" >"$TMP/s.rec" 2>&1
rc=$?
wait "$BG_PID" 2>/dev/null
cat "$TMP/s.rec"
"$ONEPROF" report --pid "$BG_PID" "$TMP/s.opf" >"$TMP/s.report" 2>&1
grep -E 'offcpu_' "$TMP/s.report"
check "system: recorded (rc $rc)" test "$rc" = 0
check "system: 70% off-CPU in offcpu_sleep, 30% in offcpu_burn (5 points)" split_ok "$TMP/s.report" "$TMP/s.out"

# State D: a vfork parent waits uninterruptibly while its child sleeps.
tf "$ONEPROF" record --perf --off-cpu -o "$TMP/d.opf" -- "$PROGS/offcpu" 2 vfork >"$TMP/d.rec" 2>&1
rc=$?
"$ONEPROF" report "$TMP/d.opf" >"$TMP/d.report" 2>&1
parent=$(sed -n 's/^Command:.*(pid \([0-9]*\).*/\1/p' "$TMP/d.report")
"$ONEPROF" report --traces -n 1 --pid "$parent" "$TMP/d.opf" >"$TMP/d.traces" 2>&1
grep -E '^(On/off|States)' "$TMP/d.report"
sed -n '/^Showing/,$p' "$TMP/d.traces"
check "vfork: recorded (rc $rc)" test "$rc" = 0
# The parent waits 70 of every 100 ms in D, each child sleeps as long in
# S: D is about 70 / 170 of the wall time of all of them.
check "vfork: state D about 41% (30 at least)" state_in "$TMP/d.report" "disk I/O" 30 100
check "vfork: the parent's blocking stack ends in offcpu_vfork_wait" leaf_ok "$TMP/d.traces" offcpu_vfork_wait

# Without tracefs: one error naming it, and no capture.
expect_tracefs_error() {
	unshare -m sh -c '
		for m in $(awk "\$3 == \"tracefs\" || \$3 == \"debugfs\" { print \$2 }" /proc/mounts | sort -r); do
			umount "$m" || exit 99
		done
		exec "$@"' sh "$ONEPROF" record --perf --off-cpu -o "$TMP/none.opf" -- true >"$TMP/out" 2>"$TMP/err"
	rc=$?
	cat "$TMP/err"
	[ "$rc" != 0 ] && [ "$rc" != 99 ] && [ "$(wc -l <"$TMP/err")" = 1 ] &&
		grep -q "tracefs is not mounted.*mount -t tracefs" "$TMP/err" && [ ! -e "$TMP/none.opf" ]
}
if unshare -m true 2>/dev/null; then
	check "no tracefs: one error naming it and the fix, no capture" expect_tracefs_error
fi
check "--off-cpu needs the collector" expect_error 'off-cpu needs the perf_event collector' \
	"$ONEPROF" record --off-cpu -- true
finish
