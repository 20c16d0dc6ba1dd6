# --focus, --ignore and --hide on the split ground truth, in reports and
# in exports: focus and ignore keep or drop whole samples by a frame of
# their stack (so the kept share is the function's true share), hide
# removes frames and keeps every sample.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/s.opf" -- "$PROGS/split" 6 3 >/dev/null 2>&1
SAMPLES=$("$B/tests/capture-tool" stats "$TMP/s.opf" | awk '$1 == "samples" { print $2 }')
TOL=3

# kept FILE: the percentage of samples the Filters line says were kept.
kept() {
	sed -n 's/^Filters: .*: kept [0-9]* of [0-9]* samples (\([0-9.]*\)%).*/\1/p' "$1"
}

focus_ok() {
	"$ONEPROF" report --focus 'work_50' "$TMP/s.opf" >"$TMP/r" 2>&1 || { cat "$TMP/r"; return 1; }
	k=$(kept "$TMP/r")
	echo "focus work_50 kept ${k:-?}% (truth 50%)"
	within "${k:-0}" 50 $TOL || return 1
	# Percentages stay of all samples: work_50 is still about 50%, and
	# what does not lead to it is gone.
	got=$(flat_pct "$TMP/r" work_50)
	within "${got:-0}" 50 $TOL || return 1
	! grep -Eq ' work_(30|20)$' "$TMP/r"
}
check "--focus work_50 keeps about 50% of the samples, only its stacks" focus_ok

ignore_ok() {
	"$ONEPROF" report --ignore 'work_50' "$TMP/s.opf" >"$TMP/r" 2>&1 || { cat "$TMP/r"; return 1; }
	k=$(kept "$TMP/r")
	echo "ignore work_50 kept ${k:-?}% (truth 50%)"
	within "${k:-0}" 50 $TOL || return 1
	grep -q ' work_50$' "$TMP/r" && { echo "work_50 still shown"; return 1; }
	got=$(flat_pct "$TMP/r" work_30)
	within "${got:-0}" 30 $TOL
}
check "--ignore work_50 drops about 50%, work_30 keeps its 30% of all" ignore_ok

both_ok() {
	"$ONEPROF" report --focus 'work_(50|30)' --ignore 'work_30' "$TMP/s.opf" >"$TMP/r" 2>&1 ||
		{ cat "$TMP/r"; return 1; }
	k=$(kept "$TMP/r")
	echo "focus work_(50|30), ignore work_30 kept ${k:-?}% (truth 50%)"
	within "${k:-0}" 50 $TOL || return 1
	"$ONEPROF" report --focus work_30 --focus work_20 "$TMP/s.opf" >"$TMP/r" 2>&1
	k=$(kept "$TMP/r")
	echo "focus work_30 twice with work_20 kept ${k:-?}% (truth 50%)"
	within "${k:-0}" 50 $TOL
}
check "focus and ignore together; a repeated --focus matches either" both_ok

hide_ok() {
	"$ONEPROF" report --hide 'run_round' --tree -n 0 "$TMP/s.opf" >"$TMP/r" 2>&1 || { cat "$TMP/r"; return 1; }
	k=$(kept "$TMP/r")
	[ "$k" = "100.0" ] || { echo "hide kept $k%"; return 1; }
	grep -v '^Filters:' "$TMP/r" | grep -q 'run_round' && { echo "run_round still shown"; return 1; }
	# With run_round hidden, the work functions hang off thread_main.
	awk '$3 == "|" && $4 == "thread_main" { c = 1; next } c && $6 == "|" && $7 == "work_50" { ok = 1 } { c = 0 } END { exit !ok }' "$TMP/r" ||
		{ echo "work_50's caller is not thread_main"; return 1; }
}
check "--hide run_round: every sample kept, work_* now called by thread_main" hide_ok

export_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f folded -o "$TMP/all.folded" 2>/dev/null &&
		"$ONEPROF" export "$TMP/s.opf" -f folded --focus work_50 -o "$TMP/f.folded" 2>/dev/null &&
		"$ONEPROF" export "$TMP/s.opf" -f folded --hide 'run_round|thread_main' -o "$TMP/h.folded" 2>/dev/null ||
		return 1
	all=$(awk '{ s += $NF } END { print s }' "$TMP/all.folded")
	focus=$(awk '{ s += $NF } END { print s }' "$TMP/f.folded")
	hide=$(awk '{ s += $NF } END { print s }' "$TMP/h.folded")
	echo "folded totals: all $all, focus $focus, hide $hide; capture $SAMPLES"
	[ "$all" = "$SAMPLES" ] && [ "$hide" = "$SAMPLES" ] || return 1
	within "$(awk -v f="$focus" -v a="$all" 'BEGIN { print 100 * f / a }')" 50 $TOL || return 1
	grep -v ';work_50 [0-9]*$' "$TMP/f.folded" && { echo "a focused stack not ending in work_50"; return 1; }
	grep -Eq 'run_round|thread_main' "$TMP/h.folded" && { echo "hidden frames exported"; return 1; }
	# The same filter in the report and in the JSON export agree.
	"$ONEPROF" export "$TMP/s.opf" -f json --focus work_50 -o "$TMP/f.json" 2>/dev/null || return 1
	json=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).session.samples)' "$TMP/f.json")
	echo "json samples with --focus work_50: $json"
	[ "$json" = "$focus" ]
}
check "export --focus/--hide: totals change as they must, frames go" export_ok

check "export: a bad regex is a usage error naming the option" \
	expect_error "^oneprof: export: --hide 'a\[' is not a valid regular expression" \
	"$ONEPROF" export "$TMP/s.opf" -f folded -o "$TMP/x" --hide 'a['
finish
