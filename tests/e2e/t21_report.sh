# Text reports on the split ground truth (work_50/30/20 do 50/30/20 % of
# the work, run_round calls all three): top, tree, peek, traces and the
# per-thread split give the known shares; names are fitted to the
# terminal width; colour only on a terminal, never with NO_COLOR.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/s.opf" -- "$PROGS/split" 6 3 >"$TMP/s.out" 2>/dev/null
TOL=3

top_ok() {
	"$ONEPROF" report "$TMP/s.opf" >"$TMP/top" 2>&1 || { cat "$TMP/top"; return 1; }
	split_within "$TMP/top" $TOL
}
check "top: work_50/30/20 flat within $TOL points of 50/30/20" top_ok

# edge_pct FILE ENTRY OTHER: in the tree entry of function ENTRY, the
# calls% of the caller or callee line naming OTHER.
edge_pct() {
	awk -v e="$2" -v o="$3" '
		/^-+\+-+$/ { if (found) exit; n = 0; delete lines; next }
		{ lines[++n] = $0 }
		$6 == "|" && $7 == e { found = 1; for (i = 1; i < n; i++) { split(lines[i], f); if (f[3] == "|" && f[4] == o) { sub("%", "", f[2]); print f[2]; exit } } next }
		found && $3 == "|" && $4 == o { sub("%", "", $2); print $2; exit }
	' "$1"
}

tree_ok() {
	"$ONEPROF" report --tree -n 0 "$TMP/s.opf" >"$TMP/tree" 2>&1 || { cat "$TMP/tree"; return 1; }
	rr=$(awk '$NF ~ /^run_round/ && $6 == "|" { print $NF; exit }' "$TMP/tree")
	[ -n "$rr" ] || { echo "no run_round entry"; cat "$TMP/tree"; return 1; }
	# run_round's callees split its time 50/30/20; each work function
	# has run_round as its only caller (100%).
	for pair in work_50:50 work_30:30 work_20:20; do
		f=${pair%:*} want=${pair#*:}
		got=$(edge_pct "$TMP/tree" "$rr" "$f")
		echo "$rr -> $f: ${got:-missing}% of its time (truth $want%)"
		[ -n "$got" ] && within "$got" "$want" $TOL || return 1
		caller=$(edge_pct "$TMP/tree" "$f" "$rr")
		echo "$f <- $rr: ${caller:-missing}%"
		[ "$caller" = "100.0" ] || return 1
	done
}
check "tree: run_round's callees get 50/30/20 of its time; work_* called only by it" tree_ok

peek_ok() {
	"$ONEPROF" report --peek 'work_[0-9]+$' "$TMP/s.opf" >"$TMP/peek" 2>&1 || { cat "$TMP/peek"; return 1; }
	entries=$(awk '$6 == "|" { print $7 }' "$TMP/peek" | sort | tr '\n' ' ')
	echo "entries: $entries"
	[ "$entries" = "work_20 work_30 work_50 " ] || return 1
	grep -q 'Showing 3 of 3 functions matching' "$TMP/peek"
}
check "peek: exactly the matching functions get entries" peek_ok

traces_ok() {
	"$ONEPROF" report --traces "$TMP/s.opf" >"$TMP/traces" 2>&1 || { cat "$TMP/traces"; return 1; }
	shown=$(grep -Ec '^ +[0-9.]+[a-z]+ +[0-9.]+%  [0-9]+ samples, [0-9]+ threads?$' "$TMP/traces")
	total=$(sed -n 's/^Showing the \([0-9]*\) hottest of \([0-9]*\) distinct.*/\1 \2/p' "$TMP/traces")
	echo "traces shown $shown, header '$total'"
	[ "$total" = "$shown $(echo "$total" | cut -d' ' -f2)" ] || return 1
	[ "$shown" -ge 3 ] && [ "$shown" -le 15 ] || return 1
	# The hottest stack ends in work_50 and carries about half the time;
	# the samples of all traces add up to the capture's.
	first_leaf=$(grep -A1 -m1 ' samples, ' "$TMP/traces" | tail -1 | awk '{ print $2 }')
	[ "$first_leaf" = work_50 ] || { echo "hottest leaf $first_leaf"; return 1; }
	n=$("$ONEPROF" report --traces -n 0 "$TMP/s.opf" 2>/dev/null | awk '/ samples, / { s += $3 } END { print s }')
	want=$("$B/tests/capture-tool" stats "$TMP/s.opf" | awk '$1 == "samples" { print $2 }')
	echo "samples over all traces $n, capture $want"
	[ "$n" = "$want" ] || return 1
	two=$("$ONEPROF" report --traces -n 2 "$TMP/s.opf" 2>/dev/null | grep -c ' samples, ')
	[ "$two" = 2 ]
}
check "traces: 15 at most by default, -n N, hottest ends in work_50, samples add up" traces_ok

threads_ok() {
	"$ONEPROF" report --threads "$TMP/s.opf" >"$TMP/threads" 2>&1 || { cat "$TMP/threads"; return 1; }
	sections=$(grep -c '^=== Thread ' "$TMP/threads")
	[ "$sections" = 3 ] || { echo "$sections thread sections"; return 1; }
	# Each thread runs the same split: 50/30/20 of its own time; each
	# has about a third of all samples.
	awk '/^=== Thread / { t++ } $6 == "work_50" { sub("%", "", $2); print t, $2 }' "$TMP/threads" >"$TMP/w50"
	cat "$TMP/w50"
	[ "$(wc -l <"$TMP/w50")" = 3 ] || return 1
	while read -r t pct; do within "$pct" 50 5 || return 1; done <"$TMP/w50"
	for share in $(sed -n 's/^=== Thread .*, \([0-9.]*\)% of all samples ===$/\1/p' "$TMP/threads"); do
		within "$share" 33.3 2 || { echo "thread share $share%"; return 1; }
	done
}
check "--threads: one section per thread, each with the 50/30/20 split" threads_ok

width_ok() {
	# COLUMNS=40 leaves a name the 16 characters it gets at least: each
	# longer name is its head, "...", and its tail; shorter ones whole.
	# Rows come in the same order with and without the limit.
	"$ONEPROF" report -n 0 "$TMP/s.opf" 2>&1 | awk '$6 == "|" || NF >= 6 && $2 ~ /%$/ { print $6 }' >"$TMP/whole"
	COLUMNS=40 "$ONEPROF" report -n 0 "$TMP/s.opf" 2>&1 | awk '$6 == "|" || NF >= 6 && $2 ~ /%$/ { print $6 }' >"$TMP/narrow"
	paste -d' ' "$TMP/whole" "$TMP/narrow" | awk '
		{ w = $1; n = $2
		  if (length(w) <= 16) { if (n != w) { print "changed: " w " -> " n; bad = 1 } next }
		  head = substr(w, 1, 7); tail = substr(w, length(w) - 5)
		  if (n != head "..." tail) { print "not elided in the middle: " w " -> " n; bad = 1 }
		  else { print "elided: " w " -> " n; elided++ } }
		END { exit bad || !elided }' || return 1
	grep -q '\.\.\.' "$TMP/whole" && { echo "names cut without a terminal or COLUMNS"; return 1; }
	return 0
}
check "names fitted to COLUMNS, elided in the middle; whole when not a terminal" width_ok

colour_ok() {
	esc=$(printf '\033')
	"$ONEPROF" report "$TMP/s.opf" 2>&1 | grep -q "$esc" && { echo "colour in a pipe"; return 1; }
	script -qec "'$ONEPROF' report '$TMP/s.opf'" /dev/null >"$TMP/tty" 2>&1
	grep -q "$esc\[1m" "$TMP/tty" || { echo "no colour on a terminal"; head -20 "$TMP/tty"; return 1; }
	NO_COLOR=1 script -qec "'$ONEPROF' report '$TMP/s.opf'" /dev/null >"$TMP/tty" 2>&1
	grep -q "$esc" "$TMP/tty" && { echo "colour despite NO_COLOR"; return 1; }
	grep -q 'work_50' "$TMP/tty"
}
if command -v script >/dev/null 2>&1; then
	check "colour on a terminal only, and never with NO_COLOR" colour_ok
else
	check "script(1) installed (util-linux) for the terminal check" false
fi

check "two report kinds: one clear error" \
	expect_error '^oneprof: report: --tree and --traces both given; choose one report$' \
	"$ONEPROF" report --tree --traces "$TMP/s.opf"
check "--peek matching nothing: an error naming it" \
	expect_error "^oneprof: report: --peek 'no_such_fn' matches no function with samples" \
	"$ONEPROF" report --peek no_such_fn "$TMP/s.opf"
check "a bad regex: an error naming the option" \
	expect_error "^oneprof: report: --focus 'work_\(' is not a valid regular expression" \
	"$ONEPROF" report --focus 'work_(' "$TMP/s.opf"
finish
