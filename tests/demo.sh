#!/bin/sh
# make demo: profile the bundled demo program (tests/progs/demo.c, an
# "image pipeline" on two threads), print the report, write the exports.
set -e
cd "$(dirname "$0")/.."
B=${B:-build}
out=$B/demo
mkdir -p "$out"

echo "\$ oneprof record -o $out/demo.opf -- $B/tests/progs/demo"
"$B/oneprof" record -o "$out/demo.opf" -- "$B/tests/progs/demo"
echo
echo "\$ oneprof report $out/demo.opf"
"$B/oneprof" report "$out/demo.opf"
echo
"$B/oneprof" export "$out/demo.opf" -f folded -o "$out/demo.folded"
"$B/oneprof" export "$out/demo.opf" -f pprof -o "$out/demo.pb.gz"
if "$B/oneprof" help export | grep -q '^  svg '; then
	"$B/oneprof" export "$out/demo.opf" -f svg -o "$out/demo.svg"
fi
echo
echo "Capture:       $out/demo.opf"
echo "Folded stacks: $out/demo.folded   (flamegraph.pl, speedscope)"
echo "pprof:         $out/demo.pb.gz    (go tool pprof, Pyroscope)"
if [ -f "$out/demo.svg" ]; then
	echo "Flame graph:   $out/demo.svg      (open it in a browser)"
fi
