# The overhead budget (--max-overhead): with a budget no profiler can keep
# (0.0001% of one core) the monitor halves the sampling rate at each
# check, the capture records it (oneprof_sample_hz), 'record' and
# 'report --metrics' say so, and far fewer samples are taken; with a
# budget of a whole core the rate stays.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

tiny_budget() {
	"$ONEPROF" record --max-overhead=0.0001 --monitor=100ms -o o.opf -- "$PROGS/split" 10 2 \
		>out 2>err || { cat err; return 1; }
	cat err
	grep -q "^oneprof: the overhead budget lowered the sampling rate from 99 Hz to [0-9]* Hz" err ||
		return 1
	"$ONEPROF" report --metrics o.opf >rep 2>&1 || { cat rep; return 1; }
	grep "LOWERED" rep || { echo "report does not say the rate was lowered"; return 1; }
	to=$(sed -n 's/.*LOWERED.* to \([0-9]*\) Hz.*/\1/p' rep)
	last=$(awk '$1 == "oneprof_sample_hz" { print $7 }' rep)
	echo "lowered to $to Hz, series ends at $last Hz"
	[ "$to" -lt 99 ] && [ "$to" = "$last" ] || return 1
	# Samples against what 99 Hz would have taken of the CPU time used.
	cpu=$(awk '$1 == "cpu_ns" { print $2 }' out)
	samples=$(sed -n 's/^Samples: *\([0-9]*\) .*/\1/p' rep)
	echo "$samples samples for $cpu ns of CPU"
	awk -v s="$samples" -v c="$cpu" 'BEGIN { exit !(s < 99 * c / 1e9 / 4) }'
}
check "budget 0.0001%: rate lowered, said twice, under a quarter of the samples" tiny_budget

whole_core() {
	"$ONEPROF" record --max-overhead=100 -o w.opf -- "$PROGS/split" 2 2 >out 2>err ||
		{ cat err; return 1; }
	if grep -q "lowered" err; then cat err; return 1; fi
	"$ONEPROF" report --metrics w.opf >rep 2>&1 || { cat rep; return 1; }
	grep "^Overhead budget: 100% of one core, never exceeded; sampling rate kept at 99 Hz" rep
}
check "budget 100%: never exceeded, the report says so" whole_core

finish
