#!/bin/sh
# Monitor overhead (oneprof record --monitor): the CPU the monitor adds
# to the profiled process, as a share of one core. The workload is
# `sleep SECONDS`: the program itself uses no CPU, so the process's CPU
# time (the capture's END record: CLOCK_PROCESS_CPUTIME_ID at exit) is the
# agent's own: the writer thread alone without --monitor, the writer and
# the monitor with it. Pairs of runs without and with --monitor at
# INTERVAL (default 1s, the default interval), the order alternating;
# printed per pair and as the median:
#   base-ms   process CPU without --monitor (ms)
#   mon-ms    process CPU with --monitor (ms)
#   added     (mon - base) / wall time, in percent of one core
#   agent     the capture's own figure: oneprof_agent_cpu_ns_total (every
#             agent thread) over its series' span, percent of one core
# Usage: bench/monitor-overhead.sh [PAIRS] [SECONDS] [INTERVAL]
set -eu
pairs=${1:-5}
secs=${2:-10}
interval=${3:-1s}
root=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$root" all build/tests/capture-tool >/dev/null
oneprof=$root/build/oneprof
ct=$root/build/tests/capture-tool
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# end_cpu CAPTURE: "duration_ns process_cpu_ns" from the END record.
end_cpu() {
	"$ct" records "$1" | awk '$1 == 7 { print $2, $3 }'
}

run() { # OUT [--monitor=...]
	out=$1
	shift
	"$oneprof" record "$@" -o "$out" -- sleep "$secs" 2>/dev/null
}

echo "pair  base-ms   mon-ms   added(%core)  agent(%core)"
i=0
: >"$tmp/added"
: >"$tmp/agent"
while [ $i -lt "$pairs" ]; do
	i=$((i + 1))
	if [ $((i % 2)) = 1 ]; then
		run "$tmp/b.opf"
		run "$tmp/m.opf" --monitor="$interval"
	else
		run "$tmp/m.opf" --monitor="$interval"
		run "$tmp/b.opf"
	fi
	set -- $(end_cpu "$tmp/b.opf")
	base=$2
	set -- $(end_cpu "$tmp/m.opf")
	wall=$1 mon=$2
	agent=$("$oneprof" report --metrics "$tmp/m.opf" 2>/dev/null |
		sed -n 's/^Profiler overhead: \([0-9.]*\)%.*/\1/p')
	awk -v i=$i -v b="$base" -v m="$mon" -v w="$wall" -v a="$agent" 'BEGIN {
		printf "%4d %8.2f %8.2f %13.4f %13s\n", i, b / 1e6, m / 1e6, 100 * (m - b) / w, a }'
	awk -v b="$base" -v m="$mon" -v w="$wall" 'BEGIN { printf "%.6f\n", 100 * (m - b) / w }' \
		>>"$tmp/added"
	echo "$agent" >>"$tmp/agent"
done
median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "median: monitor adds $(median "$tmp/added")% of one core at --monitor=$interval;" \
	"the agent in all (writer and monitor) $(median "$tmp/agent")%"
