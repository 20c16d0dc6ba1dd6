# Wall-clock mode (--wall): time spent blocked is sampled where it was
# spent, with the thread's state, and no blocking call is cut short
# (tests/progs/wallsplit.c: known stretches of computing, nanosleep, read
# and poll).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# cum_pct REPORT FUNCTION: the cum% column of FUNCTION.
cum_pct() {
	awk -v f="$2" '$6 == f { sub("%", "", $5); print $5; exit }' "$1"
}

wall() {
	"$ONEPROF" record --wall -F "$1" -o w.opf -- "$PROGS/wallsplit" 300 >out 2>err || { cat err; return 1; }
	"$ONEPROF" report -n 0 w.opf >r 2>&1 || { cat r; return 1; }
	grep -E '^(Duration|Samples|States)' r
	n=$(awk '$1 == "interrupted" { print $2 }' out)
	[ "$n" = 0 ] || { echo "$n blocking calls returned EINTR"; return 1; }
	total=$(awk '/^Duration:/ { print $0 }' r | sed -E 's/.*wall-clock time ([0-9.]+)(m?s).*/\1 \2/' |
		awk '{ print ($2 == "ms") ? $1 / 1000 : $1 }')
	for phase in cpu_phase sleep_phase read_phase poll_phase; do
		secs=$(awk -v p="$phase" '$1 == p { print $2 }' out)
		want=$(awk -v s="$secs" -v t="$total" 'BEGIN { printf "%.1f", 100 * s / t }')
		got=$(cum_pct r "$phase")
		echo "$phase: ${got:-missing}% of sampled wall time (truth $want%)"
		[ -n "$got" ] && within "$got" "$want" 3 || return 1
	done
	# Computing is the only running time.
	running=$(sed -nE 's/^States: +running ([0-9.]+)%.*/\1/p' r)
	want=$(awk -v s="$(awk '$1 == "cpu_phase" { print $2 }' out)" -v t="$total" 'BEGIN { printf "%.1f", 100 * s / t }')
	echo "running $running% (truth $want%)"
	within "$running" "$want" 4 || return 1
	# Every stack is whole: blocked ones from the interposed calls or the
	# handler, never the one-frame fallback.
	grep -q '^Stacks: .* 0 unknown stack bounds' r
}
check "--wall at 99 Hz: blocked time where it was spent, no EINTR" wall 99
check "--wall at 999 Hz: blocked time where it was spent, no EINTR" wall 999

idle() {
	# 64 threads parked in pthread_cond_wait for a second: each is read
	# once per tick and signalled only when it ran.
	"$ONEPROF" record --wall -F 999 -o idle.opf -- "$PROGS/wallsplit" idle 64 1000 >out 2>err || { cat err; return 1; }
	"$ONEPROF" report idle.opf >r 2>&1 || { cat r; return 1; }
	grep -E '^(Samples|States|Threads)' r
	threads=$(awk '/^Threads:/ { print $2 }' r)
	[ "$threads" -ge 65 ] || { echo "$threads threads"; return 1; }
	# Nearly all that time is parked, in the condition wait.
	sleeping=$(sed -nE 's/^States: .*sleeping ([0-9.]+)%.*/\1/p' r)
	awk -v s="$sleeping" 'BEGIN { exit !(s >= 90) }' || { echo "sleeping $sleeping%"; return 1; }
	grep -q 'pthread_cond_wait' r
}
check "--wall with 64 idle threads" idle
finish
