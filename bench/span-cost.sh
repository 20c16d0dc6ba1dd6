#!/bin/bash
# Span instrumentation cost, side by side in one run.
#
# Part 1, the cost of one begin/end pair (bench/span_cost.c times REPS
# rounds of PAIRS pairs against the same loop without spans, medians):
#   no library       the program alone: the macros' inline test of a weak
#                    symbol
#   loaded, off      liboneprof preloaded, ONEPROF_SPANS=0: the inline
#                    test of oneprof_spans_on
#   recording        under 'oneprof record' (drop mode, a ring big enough
#                    for a drain interval), and in flight-recorder mode
#   For the recordings: span events written, events dropped (ring full:
#   the loop makes events faster than any writer drains them), and capture
#   bytes per span event (on disk, compressed; samples included).
#
# Part 2, per-call cost on a call-heavy program (bench/calls.c, fib(N),
# every call traced): uftrace recording the -pg build, and oneprof
# recording the build with an ONEPROF_FUNCTION() span per call, each as
# PAIRS2 interleaved pairs with the plain build; (traced wall - plain
# wall) / calls, median of the pairs.
#
# Usage: bench/span-cost.sh [PAIRS] [REPS] [FIB_N] [PAIRS2]
#   defaults 1000000 21 32 5. Needs: make (build/), uftrace (skipped
#   with a note when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
PAIRS=${1:-1000000}
REPS=${2:-21}
FIB=${3:-32}
PAIRS2=${4:-5}
make --no-print-directory -s all $B/bench/span-cost $B/bench/calls $B/bench/calls-pg \
	$B/bench/calls-oneprof $B/tests/capture-tool >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Span events, dropped span events and bytes per event of a capture.
capture_stats() {
	$B/tests/capture-tool records "$1" | awk -v size="$(stat -c %s "$1")" '
		$1 == 33 || $1 == 34 { events++ }
		$1 == 6 && $2 == 3 { dropped += $4 }
		END { printf "  span events written %d, dropped %d, %.2f capture bytes per event\n",
			events, dropped, events ? size / events : 0 }'
}

echo "== cost per begin/end pair ($PAIRS pairs x $REPS rounds, medians)"
echo "-- no library"
$B/bench/span-cost "$PAIRS" "$REPS" | grep -v '^pairs'
echo "-- liboneprof loaded, spans off (ONEPROF_SPANS=0)"
ONEPROF_SPANS=0 ONEPROF_OUTPUT=$TMP/off.opf LD_PRELOAD=$PWD/$B/liboneprof.so \
	$B/bench/span-cost "$PAIRS" "$REPS" | grep -v '^pairs'
echo "-- recording, drop mode (ring 256M)"
ONEPROF_SPAN_RING_SIZE=256M $B/oneprof record -o "$TMP/on.opf" -- \
	$B/bench/span-cost "$PAIRS" "$REPS" | grep -v '^pairs'
capture_stats "$TMP/on.opf"
echo "-- recording, flight-recorder mode (ring 256M, window 1 s)"
$B/oneprof record --spans=flight --span-window=1 -o "$TMP/flight.opf" -- \
	$B/bench/span-cost "$PAIRS" "$REPS" | grep -v '^pairs'
capture_stats "$TMP/flight.opf"

echo
echo "== per-call cost on fib($FIB), $PAIRS2 pairs each"
wall() { # wall ns of a command, its output to $TMP/out
	local t0 t1
	t0=$(date +%s%N)
	"$@" >"$TMP/out" 2>>"$TMP/err"
	t1=$(date +%s%N)
	echo $((t1 - t0))
}
calls=$($B/bench/calls "$FIB" | awk '{print $4}')
per_call() { # NAME COMMAND...: median (traced - plain) / calls over pairs
	local name=$1 i plain traced
	shift
	: >"$TMP/ratios"
	for i in $(seq "$PAIRS2"); do
		if [ $((i % 2)) = 1 ]; then
			plain=$(wall $B/bench/calls "$FIB")
			traced=$(wall "$@")
		else
			traced=$(wall "$@")
			plain=$(wall $B/bench/calls "$FIB")
		fi
		echo "$plain $traced" >>"$TMP/ratios"
	done
	awk -v calls="$calls" '{ printf "%.3f\n", ($2 - $1) / calls }' "$TMP/ratios" | sort -g |
		awk -v calls="$calls" -v name="$name" '
		{ d[NR] = $1 }
		END {
			m = NR % 2 ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2
			printf "  %-22s %7.1f ns per call (%d calls; range %.1f..%.1f)\n", name, m, calls, d[1], d[NR]
		}'
}
if command -v uftrace >/dev/null; then
	per_call "uftrace record (-pg)" uftrace record -d "$TMP/uftrace.data" $B/bench/calls-pg "$FIB"
else
	echo "  uftrace: not installed (apt-get install uftrace), skipped"
fi
# The agent preloaded directly, as 'oneprof record' does, without the
# CLI's own start and its summary of the capture at the end.
per_call "oneprof agent (span)" env ONEPROF_SPAN_RING_SIZE=256M ONEPROF_OUTPUT="$TMP/calls.opf" \
	LD_PRELOAD="$PWD/$B/liboneprof.so" $B/bench/calls-oneprof "$FIB"
capture_stats "$TMP/calls.opf"
