#!/bin/sh
# Symbolization speed, on one run of this machine (ratios, not absolute
# times, mean something on a shared machine):
#   1. 150,000 distinct instruction addresses of a big binary with DWARF
#      (120,000 of the smaller debug build below),
#      symbolized by oneprof (load + resolve, as 'oneprof report' does) and
#      by 'addr2line -f -i -e' over the same addresses: in one process, and
#      per address (one process each, timed on a sample, extrapolated).
#      Binaries: a generated C program (bench/gen_bigprog.sh: thousands of
#      functions with inlined helpers, one 2 MB unit), oneprof itself
#      built -O0 -g (a debug build: 67 units, 125,000
#      instructions, so 120,000 of them are taken) and, when 'go' is
#      installed, the Go compiler built from the local toolchain (8 MB of
#      text, hundreds of units, compressed DWARF).
#      On 2,000 of those addresses, oneprof's answers are compared with
#      addr2line's: the innermost and the outermost frame, function and
#      file:line, must both agree (the share that does is printed).
#   2. 'oneprof report' on an 'oneprof record -F 999' capture of the C
#      program against 'perf report' on a 'perf record -F 999 -g' capture
#      of the same workload, plain and with source lines (-s sym,srcline).
#
# Usage: bench/symbolize.sh [FUNCTIONS] [SECONDS]
#   FUNCTIONS  size of the generated program (default 4000)
#   SECONDS    length of each recorded run (default 5)
# Needs: make bench (build/), binutils, linux-perf for part 2.
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
N=${1:-4000}
SECS=${2:-5}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# Runs of each tool on the same addresses, the best kept: a first run of
# either pays for a cold page cache and (oneprof) for the kernel making
# huge pages ready, which the later runs do not show. The two tools take
# turns, so a busy moment of the shared machine falls on both.
ROUNDS="1 2 3 4 5 6 7"
make --no-print-directory B="$B" all "$B/bench/sym-capture" >/dev/null

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
now() { date +%s.%N; }
# addresses BIN N OUT: N distinct instruction addresses of BIN, at random.
# Padding (nop, int3) is left out: it lies between functions, is never
# run, and oneprof names it module+offset on purpose where addr2line
# gives it the previous line-table row.
addresses() {
	objdump -d --no-show-raw-insn "$1" |
		awk -F'\t' '/^ +[0-9a-f]+:/ && $2 !~ /nop|^int3|^xchg +%ax,%ax/ {
			a = $1; gsub(/[ :]/, "", a); print a }' |
		shuf -n "$2" >"$3"
}

bench_binary() {
	bin=$1 name=$2 count=${3:-150000}
	addresses "$bin" "$count" "$W/addrs"
	"$B/bench/sym-capture" make "$bin" "$W/addrs" "$W/s.opf" >/dev/null
	best= a2l=
	for i in $ROUNDS; do
		t=$("$B/bench/sym-capture" time "$W/s.opf" | awk '{ gsub(",", ""); print $2 + $5 }')
		best=$(awk -v a="$t" -v b="${best:-$t}" 'BEGIN { print (a < b ? a : b) }')
		t0=$(now)
		addr2line -f -i -e "$bin" <"$W/addrs" >/dev/null
		t=$(secs "$t0" "$(now)")
		a2l=$(awk -v a="$t" -v b="${a2l:-$t}" 'BEGIN { print (a < b ? a : b) }')
	done
	"$B/bench/sym-capture" time "$W/s.opf" | sed "s/^/  $name oneprof: /"
	head -n 100 "$W/addrs" >"$W/a100"
	t0=$(now)
	while read -r a; do addr2line -f -i -e "$bin" "$a" >/dev/null; done <"$W/a100"
	per=$(secs "$t0" "$(now)")
	awk -v o="$best" -v a="$a2l" -v p="$per" -v n="$name" -v c="$count" 'BEGIN {
		printf "  %s: oneprof %.3f s, addr2line %.3f s in one process (%.1fx), ", n, o, a, a / o
		printf "~%.0f s one process per address (%.0fx)\n", p * c / 100, p * c / 100 / o }'
	agreement "$bin" "$name"
}

# agreement BIN NAME: oneprof's and addr2line's answers for 2,000 of the
# addresses: the innermost frame's and the outermost frame's function
# and file:line must both agree.
agreement() {
	base=0
	readelf -h "$1" | grep -q 'Type: *DYN' && base=555555554000
	"$B/bench/sym-capture" dump "$W/s.opf" "$base" >"$W/dump"
	head -n 2000 "$W/addrs" >"$W/a2000"
	addr2line -a -f -i -e "$1" <"$W/a2000" >"$W/a2l"
	awk -v name="$2" '
		function key(a) { sub(/^0x/, "", a); sub(/^0+/, "", a); return a }
		function loc(l) { sub(/ \(discriminator [0-9]+\)$/, "", l); sub(/:\?$/, ":0", l); return l }
		FNR == NR { n = split($0, f, "\t"); a = key(f[1])
			inner[a] = f[2]; outer[a] = f[n]; next }
		function done() { if (cur == "") return
			total++
			ok += (cur in inner) && inner[cur] == first && outer[cur] == last }
		/^0x/ { done(); cur = key($0); first = ""; k = 0; next }
		{ if (k % 2 == 0) fn = $0; else { last = fn " " loc($0); if (first == "") first = last }
		  k++ }
		END { done(); printf "  %s: %d of %d sampled addresses agree with addr2line (innermost and outermost function and file:line): %.1f %%\n",
			name, ok, total, 100 * ok / total }' "$W/dump" "$W/a2l"
}

echo "== distinct addresses (150,000; 120,000 of oneprof): oneprof vs addr2line -f -i -e (best of 7 each, taking turns)"
bench/gen_bigprog.sh "$N" >"$W/big.c"
cc -O2 -g -fno-omit-frame-pointer -o "$W/big" "$W/big.c"
bench_binary "$W/big" "C program ($N functions)"
make --no-print-directory -s B="$W/dbg" CFLAGS="-O0 -g" "$W/dbg/oneprof" >/dev/null 2>&1 &&
	bench_binary "$W/dbg/oneprof" "oneprof -O0 -g" 120000
if command -v go >/dev/null 2>&1 &&
	GOCACHE=$W/gocache GOPATH=$W/gopath go build -o "$W/gocompile" cmd/compile 2>/dev/null; then
	bench_binary "$W/gocompile" "Go compiler"
else
	echo "  (Go compiler skipped: 'go' not installed or the build failed)"
fi

echo "== report on an equivalent capture: oneprof report vs perf report (best of 3)"
if ! command -v perf >/dev/null 2>&1 || ! perf record -o "$W/probe.data" true >/dev/null 2>&1; then
	echo "  (skipped: perf missing or not allowed to record)"
	exit 0
fi
"$B/oneprof" record -F 999 -o "$W/rec.opf" -- "$W/big" "$SECS" >/dev/null 2>&1
perf record -F 999 -g -o "$W/rec.data" -- "$W/big" "$SECS" >/dev/null 2>&1
best_of() {
	best=
	for i in 1 2 3; do
		t0=$(now)
		"$@" >/dev/null 2>&1
		t=$(secs "$t0" "$(now)")
		best=$(awk -v a="$t" -v b="${best:-$t}" 'BEGIN { print (a < b ? a : b) }')
	done
	echo "$best"
}
o=$(best_of "$B/oneprof" report "$W/rec.opf")
p=$(best_of perf report -i "$W/rec.data" --stdio)
ps=$(best_of perf report -i "$W/rec.data" --stdio -s sym,srcline)
awk -v o="$o" -v p="$p" -v s="$ps" 'BEGIN {
	printf "  oneprof report (functions, inlined frames, file:line): %.3f s\n", o
	printf "  perf report (functions only):                          %.3f s (%.1fx oneprof)\n", p, p / o
	printf "  perf report -s sym,srcline (file:line via addr2line):  %.3f s (%.1fx oneprof)\n", s, s / o }'
