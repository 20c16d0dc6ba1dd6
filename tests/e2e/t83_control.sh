# Runtime control: oneprof_stop()/oneprof_start() and the toggle signal
# sample exactly the window asked for (tests/progs/window.c: three equal
# phases, only work_b sampled).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

window() {
	"$ONEPROF" record "$@" -F 999 -o w.opf -- "$PROGS/window" "$mode" >out 2>err || { cat err; return 1; }
	"$ONEPROF" report w.opf >r 2>&1 || { cat r; return 1; }
	grep -E '^(Paused|Samples)' r
	for f in work_a work_c; do
		! grep -q "$f" r || { echo "$f sampled while paused"; return 1; }
	done
	callers_found r 99 work_b || return 1
	# The window's samples match its CPU time, and only its CPU time.
	cpu=$(awk '$1 == "work_b" { print $2 }' out)
	samples=$(awk '/^Samples:/ { print $2 }' r)
	expect=$(awk -v c="$cpu" 'BEGIN { printf "%.0f", c * 999 }')
	echo "samples $samples, 999 Hz x work_b's ${cpu}s = $expect"
	within "$samples" "$expect" "$(awk -v e="$expect" 'BEGIN { print e * 0.05 + 2 }')" || return 1
	grep -q '^Paused: .*(2 pauses)' r
}
mode=api
check "oneprof_stop/oneprof_start sample only the window" window
mode=signal
check "--paused --toggle-signal USR2 samples only the window" window --paused --toggle-signal USR2

bad_toggle() {
	"$ONEPROF" record --toggle-signal KILL -o k.opf -- "$PROGS/window" signal >out 2>err
	cat err
	grep -q "ONEPROF_TOGGLE_SIGNAL='KILL' is not a usable signal" err
}
check "a bad toggle signal is refused with a message" bad_toggle
finish
