#!/bin/sh
# oneprof diff on ground truth: tests/progs/diffwork.c run with work_a's
# work doubled. The reported change in work_a's flat share must be within
# 3 percentage points of the change in the CPU time shares the program
# measured itself; and a capture diffed with its own pprof export shows
# no change.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -F 997 -o "$TMP/base.opf" -- "$PROGS/diffwork" 1 20 >"$TMP/base.out" 2>/dev/null
"$ONEPROF" record -F 997 -o "$TMP/new.opf" -- "$PROGS/diffwork" 2 20 >"$TMP/new.out" 2>/dev/null
"$ONEPROF" diff -n 0 "$TMP/base.opf" "$TMP/new.opf" >"$TMP/diff" 2>"$TMP/diff.err"

# The truth: work_a's share of the program's CPU time, each run.
share() {
	awk '/^cpu_a/ { a = $2 } /^cpu_total/ { t = $2 } END { printf "%.2f", 100 * a / t }' "$1"
}
delta_ok() {
	truth=$(awk -v b="$(share "$TMP/base.out")" -v n="$(share "$TMP/new.out")" \
		'BEGIN { printf "%.2f", n - b }')
	got=$(awk '$NF == "work_a" { sub("pp", "", $3); print $3 + 0; exit }' "$TMP/diff")
	echo "work_a flat change: reported ${got:-missing}pp, truth ${truth}pp"
	cat "$TMP/diff"
	[ -n "$got" ] && within "$got" "$truth" 3
}
check "diff: work_a's change within 3pp of the measured truth" delta_ok
# work_a's growth and work_b's shrinkage are the same size, give or take
# the other functions' crumbs: either may come first.
check "diff: biggest changes first: work_a and work_b" sh -c '
	awk "/^ *[0-9.]+% / { print \$NF }" "$0" | head -2 | sort | tr "\n" " " |
		grep -qx "work_a work_b "' "$TMP/diff"
check "diff: work_b shrinks as work_a grows" sh -c '
	awk "\$NF == \"work_b\" { exit !(\$3 ~ /^-/) }" "$0"' "$TMP/diff"
check "diff: no warnings" test ! -s "$TMP/diff.err"

"$ONEPROF" export "$TMP/base.opf" -f pprof -o "$TMP/base.pb.gz" 2>/dev/null
"$ONEPROF" diff -n 0 "$TMP/base.opf" "$TMP/base.pb.gz" >"$TMP/same" 2>&1
check "diff: a capture against its own pprof export: all +0.0pp" sh -c '
	grep -q work_a "$0" && ! awk "/^ *[0-9.]+% / && (\$3 != \"+0.0pp\" || \$6 != \"+0.0pp\")" "$0" | grep -q .' \
	"$TMP/same"
check "diff: one profile only is one clear line" expect_error \
	"diff: give two profiles, the base then the new one" "$ONEPROF" diff "$TMP/base.opf"
check "diff: a missing file is one clear line" expect_error \
	"cannot open capture '.*nope.opf'" "$ONEPROF" diff "$TMP/base.opf" "$TMP/nope.opf"
check "help diff" sh -c '"$0" help diff | grep -q "usage: oneprof diff"' "$ONEPROF"
finish
