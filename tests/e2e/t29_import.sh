#!/bin/sh
# pprof import: every command that takes a capture also reads a pprof
# profile. A profile written by another tool (pprof-format's encoder,
# tests/node/make-pprof.js) must report its known functions and shares
# exactly; oneprof's own pprof export read back must give the capture's
# top; damaged files fail with one clear line.
. "$(dirname "$0")/lib.sh"

if ! node -e "require('$ROOT/tests/node/node_modules/pprof-format')" 2>/dev/null; then
	echo "node or pprof-format missing: run 'make deps'"
	FAILED=1
	finish
	exit 1
fi
node "$ROOT/tests/node/make-pprof.js" "$TMP/other.pb.gz"
node "$ROOT/tests/node/make-pprof.js" "$TMP/other.pb" raw

# Names and flat/cum shares as the encoder wrote them: 50/30/20, the
# inlined frame its own function under hot_a.
shares() {
	r=$1
	shift
	for want in "$@"; do
		f=${want%%:*} rest=${want#*:}
		flat=${rest%%:*} cum=${rest#*:}
		got=$(awk -v f="$f" '$6 == f { print $2, $5; exit }' "$r")
		echo "$f: ${got:-missing} (want $flat% $cum%)"
		[ "$got" = "$flat% $cum%" ] || return 1
	done
}
"$ONEPROF" report "$TMP/other.pb.gz" >"$TMP/r1" 2>"$TMP/r1.err"
check "gzip pprof: 50/30/20 with inlined_leaf under hot_a" shares "$TMP/r1" \
	inlined_leaf:50.0:50.0 hot_b:30.0:30.0 hot_c:20.0:20.0 hot_a:0.0:50.0 main:0.0:100.0
check "gzip pprof: no warnings" test ! -s "$TMP/r1.err"
check "gzip pprof: header names the sample type, command and rate" sh -c '
	grep -q "^Profile:  pprof, sample type cpu/nanoseconds" "$0" &&
	grep -q "^Command:  app --serve" "$0" && grep -q "^Samples:  100 at 100 Hz" "$0"' "$TMP/r1"
"$ONEPROF" report "$TMP/other.pb" >"$TMP/r2" 2>&1
check "raw (ungzipped) pprof: same shares" shares "$TMP/r2" \
	inlined_leaf:50.0:50.0 hot_b:30.0:30.0 hot_c:20.0:20.0
"$ONEPROF" report --tree "$TMP/other.pb.gz" >"$TMP/tree" 2>&1
check "tree: hot_a calls inlined_leaf" sh -c \
	'grep -A2 "| hot_a\$" "$0" | grep -q "|   inlined_leaf"' "$TMP/tree"
"$ONEPROF" report --sample-index wall "$TMP/other.pb.gz" >"$TMP/r3" 2>&1
check "--sample-index wall: the 10/10/80 of that type" shares "$TMP/r3" \
	hot_c:80.0:80.0 hot_b:10.0:10.0 inlined_leaf:10.0:10.0
check "--sample-index bogus: one line naming the types" expect_error \
	"no sample type 'bogus'; it has 'samples', 'wall', 'cpu'" \
	"$ONEPROF" report --sample-index bogus "$TMP/other.pb.gz"
"$ONEPROF" export "$TMP/other.pb.gz" -f folded -o "$TMP/other.folded" 2>/dev/null
check "export folded from a pprof input: the samples, inline frame included" \
	grep -qx "main;hot_a;inlined_leaf 50" "$TMP/other.folded"

# Damaged inputs: one line, no crash.
head -c 60 "$TMP/other.pb.gz" >"$TMP/cut.pb.gz"
check "truncated gzip: one clear line" expect_error \
	"cannot read pprof profile .*cut.pb.gz.*bad gzip data" "$ONEPROF" report "$TMP/cut.pb.gz"
head -c 150 "$TMP/other.pb" >"$TMP/cut.pb"
check "truncated protobuf: one clear line" expect_error \
	"cannot read pprof profile .*cut.pb" "$ONEPROF" report "$TMP/cut.pb"

# Round trip: a capture, its pprof export read back, same top.
"$ONEPROF" record -F 499 -o "$TMP/split.opf" -- "$PROGS/split" 4 1 >/dev/null 2>&1
"$ONEPROF" export "$TMP/split.opf" -f pprof -o "$TMP/split.pb.gz" 2>/dev/null
"$ONEPROF" report -n 0 "$TMP/split.opf" 2>/dev/null | sed -n '/^Showing/,$p' >"$TMP/top.opf"
"$ONEPROF" report -n 0 "$TMP/split.pb.gz" 2>/dev/null | sed -n '/^Showing/,$p' >"$TMP/top.pb"
check "round trip: pprof export read back gives the capture's top" sh -c '
	test -s "$0" && grep -q work_50 "$0" && diff "$0" "$1"' "$TMP/top.opf" "$TMP/top.pb"
finish
