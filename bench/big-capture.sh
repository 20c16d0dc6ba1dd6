#!/bin/sh
# Reading and reporting a large capture: peak memory and time of 'oneprof
# report', 'export -f pprof' and 'export -f folded' on a synthetic capture
# of MB megabytes (default 1024; big_capture.c: 16 threads, 50,000
# stacks). Reports and exports without a timeline sum the samples of one
# thread and stack as they read, so memory follows the distinct stacks,
# not the length of the recording.
#   bench/big-capture.sh [MB]
set -eu
cd "$(dirname "$0")/.."
MB=${1:-1024}
make -s build/bench/big-capture all >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
build/bench/big-capture "$MB" "$dir/big.opf"
echo "capture: $(du -m "$dir/big.opf" | cut -f1) MB"
run() {
	name=$1
	shift
	/usr/bin/time -f "$name: %e s wall, %U s user, peak RSS %M KB" "$@" >/dev/null 2>"$dir/time" ||
		{ cat "$dir/time"; exit 1; }
	tail -n 1 "$dir/time"
}
run "report" build/oneprof report "$dir/big.opf"
run "export pprof" build/oneprof export "$dir/big.opf" -f pprof -o "$dir/big.pb.gz"
run "export folded" build/oneprof export "$dir/big.opf" -f folded -o "$dir/big.folded"
