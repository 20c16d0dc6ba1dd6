#!/bin/sh
# CPU profiler overhead and sample yield, side by side in one run:
# the same workload plain, under oneprof, perf record and gperftools.
# Prints ratios to the plain run (wall and CPU time) and how many samples
# each tool kept against rate x CPU time. Absolute times mean nothing on a
# shared machine: compare the ratios within one run.
#
# Usage: bench/cpu-overhead.sh [HZ] [ROUNDS] [REPEATS]
#   (defaults: 99 Hz; split.c with 10 rounds a thread; best of 3)
# Needs: make (build/), linux-perf, google-perftools (libprofiler.so,
# google-pprof). Missing peers are skipped with a note.
set -u
cd "$(dirname "$0")/.."
HZ=${1:-99}
ROUNDS=${2:-10}
REPEATS=${3:-3}
B=build
W="$B/tests/progs/split $ROUNDS"
make -s all "$B/tests/progs/split" >/dev/null || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

LIBPROFILER=$(ls /usr/lib/*/libprofiler.so.0 2>/dev/null | head -n 1)

# run NAME COMMAND...: best-of-REPEATS wall and CPU seconds into $T/NAME.
run() {
	name=$1
	shift
	best=""
	for i in $(seq "$REPEATS"); do
		/usr/bin/time -f "%e %U %S" -o "$T/time" "$@" >/dev/null 2>"$T/$name.err" || {
			echo "$name failed: $(tail -n 3 "$T/$name.err")" >&2
			return 1
		}
		line=$(awk '{ printf "%s %.3f", $1, $2 + $3 }' "$T/time")
		if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[1] < y[1]) }'; then
			best=$line
		fi
	done
	echo "$best" >"$T/$name"
}

samples_oneprof() { "$B/oneprof" report "$T/o.opf" | awk '/^Samples:/ { print $2 }'; }
samples_perf() { perf script -i "$T/perf.data" -F tid 2>/dev/null | grep -c .; }
samples_gperf() { google-pprof --text "$B/tests/progs/split" "$T/g.prof" 2>/dev/null | awk '/^Total:/ { print $2 }'; }

run plain $W
run oneprof "$B/oneprof" record -F "$HZ" -o "$T/o.opf" -- $W
have_perf=0
if command -v perf >/dev/null && run perf perf record -q -F "$HZ" -g -o "$T/perf.data" -- $W; then
	have_perf=1
fi
have_gperf=0
if [ -n "$LIBPROFILER" ] && command -v google-pprof >/dev/null; then
	run gperftools env LD_PRELOAD="$LIBPROFILER" CPUPROFILE="$T/g.prof" CPUPROFILE_FREQUENCY="$HZ" $W &&
		have_gperf=1
else
	echo "gperftools skipped: install google-perftools (libprofiler.so, google-pprof)" >&2
fi

read pw pc <"$T/plain"
expect=$(awk -v c="$pc" -v hz="$HZ" 'BEGIN { printf "%.0f", c * hz }')
printf 'workload: %s at %s Hz; plain run %.2fs wall, %.2fs CPU; rate x CPU = %s samples\n' \
	"$W" "$HZ" "$pw" "$pc" "$expect"
printf '%-12s %10s %10s %10s %10s\n' tool wall-ratio cpu-ratio samples yield
row() {
	read w c <"$T/$1"
	awk -v n="$1" -v w="$w" -v c="$c" -v pw="$pw" -v pc="$pc" -v s="$2" -v e="$expect" \
		'BEGIN { printf "%-12s %10.3f %10.3f %10s %9.0f%%\n", n, w / pw, c / pc, s, 100 * s / e }'
}
row oneprof "$(samples_oneprof)"
[ "$have_perf" = 1 ] && row perf "$(samples_perf)"
[ "$have_gperf" = 1 ] && row gperftools "$(samples_gperf)"
