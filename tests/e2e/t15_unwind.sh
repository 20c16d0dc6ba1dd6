# Accuracy without frame pointers: split.c built -O2 -fomit-frame-pointer
# with frameless leaf work functions (split-nofp), and with its round
# function in a shared library without frame pointers (split-lib). Stacks
# come from .eh_frame unwinding. Truth: 50/30/20; each function within 2
# points, samples within 5% of rate x CPU time, callers all found.
. "$(dirname "$0")/lib.sh"

# run NAME PROG HZ ROUNDS THREADS
run() {
	"$ONEPROF" record -F "$3" -o "$TMP/$1.opf" -- "$PROGS/$2" "$4" "$5" >"$TMP/$1.out" 2>/dev/null &&
		"$ONEPROF" report -n 0 "$TMP/$1.opf" >"$TMP/$1.report" 2>&1
}

# verify NAME HZ CALLER: the split, the count, the callers.
verify() {
	r=$TMP/$1.report
	sed -n '1,/^Stacks:/p' "$r"
	for pair in work_50:50 work_30:30 work_20:20; do
		f=${pair%:*} want=${pair#*:}
		got=$(flat_pct "$r" "$f")
		echo "$f: ${got:-missing}% (truth $want%)"
		[ -n "$got" ] && within "$got" "$want" 2 || return 1
	done
	cpu_ns=$(awk '/^cpu_ns/ { print $2 }' "$TMP/$1.out")
	samples=$(awk '/^Samples:/ { print $2 }' "$r")
	expect=$(awk -v c="$cpu_ns" -v hz="$2" 'BEGIN { printf "%.1f", c / 1e9 * hz }')
	echo "samples $samples, rate x CPU time $expect"
	within "$samples" "$expect" "$(awk -v e="$expect" 'BEGIN { print e * 0.05 }')" || return 1
	for caller in thread_main $3; do
		cum=$(awk -v f="$caller" '$6 ~ "^" f { sub("%", "", $5); print $5 + 0; exit }' "$r")
		echo "$caller cum ${cum:-missing}%"
		[ -n "$cum" ] && awk -v c="$cum" 'BEGIN { exit !(c >= 98) }' || return 1
	done
}

run nofp-1t-99 split-nofp 99 20 1
check "no frame pointers, 1 thread, 99 Hz" verify nofp-1t-99 99 run_round
run nofp-2t-99 split-nofp 99 10 2
check "no frame pointers, 2 threads, 99 Hz" verify nofp-2t-99 99 run_round
run nofp-4t-99 split-nofp 99 5 4
check "no frame pointers, 4 threads, 99 Hz" verify nofp-4t-99 99 run_round
run nofp-2t-999 split-nofp 999 5 2
check "no frame pointers, 2 threads, 999 Hz" verify nofp-2t-999 999 run_round
run lib-2t-999 split-lib 999 5 2
check "through a shared library without frame pointers, 999 Hz" verify lib-2t-999 999 run_round

complete() {
	awk '/^Stacks:/ { c = $2; t = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) t += $i; exit !(c >= 0.99 * t) }' "$TMP/lib-2t-999.report"
}
check "99% of walks reach the outermost frame" complete
finish
