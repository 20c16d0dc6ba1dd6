#!/bin/sh
# oneprof import: other tools' profiles into pprof. A pprof written by
# pprof-format's encoder (tests/node/make-pprof.js) keeps its totals and
# names; folded stacks exported from a capture of the 50/30/20 split read
# back with the capture's shares; perf script text of a real 'perf record
# -g' gives the split within 3 points with its caller; malformed inputs
# fail with one line naming the file, line and problem.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collect_lib.sh"

# --- (1) a pprof written by another encoder ---
if node -e "require('$ROOT/tests/node/node_modules/pprof-format')" 2>/dev/null; then
	node "$ROOT/tests/node/make-pprof.js" "$TMP/other.pb.gz"
	"$ONEPROF" import -o "$TMP/other.imp.pb.gz" "$TMP/other.pb.gz" >"$TMP/sum1" 2>"$TMP/err1"
	check "pprof: summary gives the encoder's totals (100 samples, 1 s of cpu)" grep -q \
		"sample types:  samples/count total 100, cpu/nanoseconds total 1.00s (1000000000 ns)" \
		"$TMP/sum1"
	check "pprof: summary lists every input type and the inline frame" sh -c '
		grep -q "input types:   samples/count, wall/nanoseconds, cpu/nanoseconds" "$0" &&
		grep -q "functions:     5, locations 4, inline frames 1, mappings 1" "$0"' "$TMP/sum1"
	check "pprof: no warnings" test ! -s "$TMP/err1"
	"$ONEPROF" report "$TMP/other.imp.pb.gz" >"$TMP/r1" 2>&1
	check "pprof: report of the import: names and 50/30/20 as written" sh -c '
		for f in inlined_leaf:50.0 hot_b:30.0 hot_c:20.0; do
			n=${f%:*} w=${f#*:}
			got=$(awk -v f="$n" '"'"'$6 == f { print $2; exit }'"'"' "$0")
			echo "$n $got (want $w%)"; [ "$got" = "$w%" ] || exit 1
		done; grep -q "^Samples:  100 at 100 Hz" "$0"' "$TMP/r1"
	"$ONEPROF" import --sample-index wall -o "$TMP/wall.pb.gz" "$TMP/other.pb.gz" >/dev/null
	"$ONEPROF" report "$TMP/wall.pb.gz" >"$TMP/r1w" 2>&1
	check "pprof --sample-index wall: kept as wall/nanoseconds, hot_c 80%" sh -c '
		grep -q "sample type wall/nanoseconds" "$0" &&
		awk '"'"'$6 == "hot_c" { exit !($2 == "80.0%") }'"'"' "$0"' "$TMP/r1w"
else
	echo "node or pprof-format missing: run 'make deps'"
	FAILED=$((FAILED + 1))
fi

# --- (2) folded round trip ---
"$ONEPROF" record -F 499 -o "$TMP/split.opf" -- "$PROGS/split" 4 1 >/dev/null 2>&1
"$ONEPROF" report -n 0 "$TMP/split.opf" >"$TMP/orig" 2>/dev/null
"$ONEPROF" export "$TMP/split.opf" -f folded -o "$TMP/split.folded" 2>/dev/null
"$ONEPROF" import "$TMP/split.folded" >"$TMP/sum2" 2>&1
check "folded: default output is INPUT.pb.gz, one sample type" sh -c '
	test -s "$1" && grep -q "sample types:  samples/count total" "$0" &&
	! grep -q nanoseconds "$0"' "$TMP/sum2" "$TMP/split.pb.gz"
"$ONEPROF" report -n 0 "$TMP/split.pb.gz" >"$TMP/rt" 2>&1
# The folded file counts samples, where the capture's report weighs each
# by its CPU time: on a busy machine the two differ by a point or two. So
# the import is held to the counts the file holds (to the report's 0.1),
# and to the capture's own shares within 3 points.
# folded_pct FOLDED FUNCTION: FUNCTION's share of the samples as leaf.
folded_pct() {
	awk -v f="$2" '{ n = $NF; total += n; k = split($1, fr, ";"); if (fr[k] == f) self += n }
		END { if (total) printf "%.1f\n", 100 * self / total }' "$1"
}
same_shares() {
	for f in work_50 work_30 work_20; do
		a=$(flat_pct "$1" $f) c=$(folded_pct "$TMP/split.folded" $f) b=$(flat_pct "$2" $f)
		echo "$f capture ${a:-missing}% folded ${c:-missing}% import ${b:-missing}%"
		[ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] && within "$c" "$b" 0.1 &&
			within "$a" "$b" 3 || return 1
	done
}
check "folded: work_50/30/20 shares as the folded file counts them" same_shares \
	"$TMP/orig" "$TMP/rt"
check "folded: report names the format" grep -q "^Profile:  pprof, sample type samples/count" \
	"$TMP/rt"
"$ONEPROF" report -n 0 "$TMP/split.folded" >"$TMP/direct" 2>&1
check "folded: report reads the folded file itself, same shares" same_shares \
	"$TMP/orig" "$TMP/direct"
cat "$TMP/split.folded" | "$ONEPROF" import -o "$TMP/stdin.pb.gz" - >/dev/null 2>&1
check "folded from standard input" sh -c '"$0" report "$1" | grep -q work_50' \
	"$ONEPROF" "$TMP/stdin.pb.gz"

# --- (3) real perf script ---
if collect_skip; then
	:
elif ! command -v perf >/dev/null 2>&1; then
	echo "perf missing: run 'make deps' (Debian package linux-perf)"
	FAILED=$((FAILED + 1))
elif ! perf record -e cpu-clock -F 999 -g -o "$TMP/perf.data" -- "$PROGS/split" 4 2 \
	>"$TMP/perf.out" 2>&1; then
	echo "skip: perf record cannot sample here: $(grep -i perf_event "$TMP/perf.out" | head -1)"
else
	perf script -i "$TMP/perf.data" >"$TMP/app.perf" 2>/dev/null
	"$ONEPROF" import "$TMP/app.perf" >"$TMP/sum3" 2>"$TMP/err3"
	check "perf script: cpu/nanoseconds beside samples/count" grep -q \
		"sample types:  samples/count total [0-9]*, cpu/nanoseconds total" "$TMP/sum3"
	"$ONEPROF" report -n 0 "$TMP/app.pb.gz" >"$TMP/r3" 2>&1
	check "perf script: work_50/30/20 within 3 points" split_within "$TMP/r3" 3
	check "perf script: their caller is named" callers_found "$TMP/r3" 95 run_round
	check "perf script: threads named by comm, 999 Hz" sh -c '
		grep -q "^Samples:  [0-9]* at 999 Hz" "$0" && grep -q " split " "$0"' "$TMP/r3"
	"$ONEPROF" report -n 0 "$TMP/app.perf" >"$TMP/r3d" 2>&1
	check "perf script: report reads the text itself" split_within "$TMP/r3d" 3
fi

# --- (4) malformed inputs ---
printf 'main;a 10\nmain;b x\n' >"$TMP/some.folded"
"$ONEPROF" import "$TMP/some.folded" >"$TMP/sum4" 2>"$TMP/err4"
check "folded with a bad line: imported, the line named in a warning and the summary" sh -c '
	grep -q "some.folded. (folded): skipped 1 malformed line, the first at line 2: the count" "$0" &&
	grep -q "skipped:       1 malformed line (the first at line 2" "$1"' "$TMP/err4" "$TMP/sum4"
printf 'just words\nand more\n' >"$TMP/words.folded"
check "no sample at all: one line with file, line, problem and the format" expect_error \
	"cannot import '.*words.folded' as folded: no samples; 2 malformed lines, the first at line 1: the count after the last space is not a number; folded stacks are lines of 'root;caller;leaf COUNT'" \
	"$ONEPROF" import -f folded "$TMP/words.folded"
printf 'not a sample header\n\t12f4 work (split)\n' >"$TMP/bad.perf"
check "perf script without a sample header: file, line, problem and the format" expect_error \
	"cannot import '.*bad.perf' as perf script: no samples; 2 malformed lines, the first at line 1: not a sample header.*perf record -g" \
	"$ONEPROF" import -f perf-script "$TMP/bad.perf"
check "unknown text: the capture reader's error" expect_error "words.txt" \
	sh -c 'echo hello >"$0" && "$1" import "$0"' "$TMP/words.txt" "$ONEPROF"
check "standard input without -o: says to add -o" expect_error "add -o OUT.pb.gz" \
	"$ONEPROF" import -
check "--format bogus: lists the formats" expect_error "pprof, folded or perf-script" \
	"$ONEPROF" import -f bogus "$TMP/some.folded"
check "missing file: names it" expect_error "cannot open '.*nope.folded'" \
	"$ONEPROF" import "$TMP/nope.folded"
check "a capture: points to export" expect_error "oneprof export .*-f pprof" \
	"$ONEPROF" import "$TMP/split.opf"
check "help import" sh -c '"$0" help import | grep -q "perf-script"' "$ONEPROF"
finish
