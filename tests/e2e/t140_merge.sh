#!/bin/sh
# oneprof merge: two runs of tests/progs/split (2 and 3 threads) merged
# into one pprof; each function's samples in the merge are exactly the
# sum of the inputs' (counted from folded exports, leaf by leaf), both
# runs' threads are there, --tag-focus input=NAME gives one input back
# exactly; a pprof written by another tool (tests/node/make-pprof.js)
# merges too; CPU with heap, one input and an unreadable input fail with
# one clear line.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

"$ONEPROF" record -o a.opf -- "$PROGS/split" 3 2 >/dev/null 2>&1
"$ONEPROF" record -o b.opf -- "$PROGS/split" 3 3 >/dev/null 2>&1
"$ONEPROF" merge -o m.pb.gz a.opf b.opf 2>merge.err

# leaves FILE [ARGS]: "function samples" per leaf function, sorted.
leaves() {
	f=$1
	shift
	"$ONEPROF" export "$f" "$@" -f folded -o - 2>/dev/null |
		awk '{ n = split($1, a, ";"); s[a[n]] += $NF } END { for (k in s) print k, s[k] }' | sort
}
leaves a.opf >la
leaves b.opf >lb
leaves m.pb.gz >lm
sums_ok() {
	# The inputs' counts added up by function, against the merge's.
	cat la lb | awk '{ s[$1] += $2 } END { for (k in s) print k, s[k] }' | sort >want
	echo "a: $(tr '\n' ' ' <la)"
	echo "b: $(tr '\n' ' ' <lb)"
	echo "merged: $(tr '\n' ' ' <lm)"
	grep -q '^work_50 [1-9]' want && cmp -s want lm
}
check "merge: per-function samples are exactly the sum of the inputs'" sums_ok
check "merge: work_50 holds about half the merged time" sh -c '
	r=$("$0" report m.pb.gz 2>/dev/null | awk "\$6 == \"work_50\" { sub(\"%\", \"\", \$2); print \$2 }")
	echo "work_50 flat $r%"; awk -v r="$r" "BEGIN { exit !(r >= 47 && r <= 53) }"' "$ONEPROF"

"$ONEPROF" report --threads -n 1 m.pb.gz >threads 2>&1
"$ONEPROF" report --threads -n 1 a.opf >ta 2>&1
"$ONEPROF" report --threads -n 1 b.opf >tb 2>&1
tids() { awk '/^=== Thread / { print $3 }' "$1" | sort; }
threads_ok() {
	echo "merged: $(tids threads | tr '\n' ' ')"
	[ "$(tids threads | wc -l)" = 5 ] && [ "$(cat ta tb | awk '/^=== Thread / { print $3 }' | sort)" = "$(tids threads)" ]
}
check "merge: the threads of both inputs, 2 + 3, each with its tid" threads_ok
check "merge: the header says merged, from which inputs" grep -q '^Merged:   from a.opf, b.opf$' threads
leaves m.pb.gz --tag-focus input=a.opf >lma
check "merge: --tag-focus input=a.opf gives input a's samples back exactly" cmp -s la lma
check "merge: says what it wrote" grep -q "merged 2 profiles (CPU time) into 'm.pb.gz'" merge.err

if node -e "require('$ROOT/tests/node/node_modules/pprof-format')" 2>/dev/null; then
	node "$ROOT/tests/node/make-pprof.js" other.pb.gz
	"$ONEPROF" merge -o mo.pb.gz other.pb.gz a.opf other.pb.gz 2>/dev/null
	check "merge: another tool's pprof twice with a capture: hot_b 30 + 30 samples, a's work_50" sh -c '
		leaves() { "$0" export mo.pb.gz -f folded -o - 2>/dev/null; }
		hb=$(leaves | awk "/;hot_b / { s += \$NF } END { print s + 0 }")
		w=$(leaves | awk "/;work_50 / { s += \$NF } END { print s + 0 }")
		echo "hot_b $hb, work_50 $w (a: $(grep work_50 la))"
		[ "$hb" = 60 ] && [ "work_50 $w" = "$(grep work_50 la)" ]' "$ONEPROF"
	check "merge: the two 'worker' threads of the pprof inputs stay apart" sh -c '
		"$0" report --threads -n 1 mo.pb.gz 2>/dev/null | grep -c "^=== Thread 0 worker: 100 samples" | grep -qx 2' \
		"$ONEPROF"
else
	check "node and pprof-format installed ('make deps')" false
fi

"$ONEPROF" record --heap -o h.opf -- "$PROGS/heapleak" malloc 1 >/dev/null 2>&1
check "merge: CPU with heap is refused, naming both files and the fix" expect_error \
	"merge: 'a.opf' holds CPU time samples but 'h.opf' holds heap; .*merge CPU profiles with CPU profiles" \
	"$ONEPROF" merge -o x.pb.gz a.opf h.opf
check "merge: one input is refused in one line" expect_error \
	"merge: give at least two profiles to merge, one was given" "$ONEPROF" merge -o x.pb.gz a.opf
check "merge: an unreadable input is one clear line" expect_error \
	"cannot open capture 'nope.opf'" "$ONEPROF" merge -o x.pb.gz a.opf nope.opf
check "merge: no -o is one clear line" expect_error \
	"merge: no output file given; add -o" "$ONEPROF" merge a.opf b.opf
check "help merge" sh -c '"$0" help merge | grep -q "usage: oneprof merge"' "$ONEPROF"
finish
