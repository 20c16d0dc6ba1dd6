#!/bin/sh
# The differential flame graph of 'oneprof diff --svg/--html' on
# tests/progs/diffwork run with work_a's work doubled: work_a's frame is
# red (grew), work_b's blue (shrank), the frames that hold both grey;
# the tooltips carry new, base and change, and their change in
# percentage points matches the text diff's; a base with paths the new
# profile lacks counts them as shrunk away, and two runs of one program
# leave next to nothing shrunk away; both files load in headless
# Chromium with no console errors and zoom on click.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

"$ONEPROF" record -F 997 -o base.opf -- "$PROGS/diffwork" 1 20 >/dev/null 2>&1
"$ONEPROF" record -F 997 -o new.opf -- "$PROGS/diffwork" 2 20 >/dev/null 2>&1
"$ONEPROF" diff -n 0 --svg d.svg --html d.html base.opf new.opf >diff 2>diff.err

# frame FILE NAME: NAME's frame line (title, rect with its fill).
frame() { grep "<g class=\"f\"[^>]*><title>$2 (" "$1" | head -n 1; }
# fill FILE NAME: its fill as "R G B".
fill() { frame "$1" "$2" | sed -n 's/.*fill="rgb(\([0-9]*\),\([0-9]*\),\([0-9]*\))".*/\1 \2 \3/p'; }

check "diff --svg: work_a's frame is red (grew)" sh -c '
	echo "work_a: $0"; set -- $0; [ "$1" = 255 ] && [ "$2" -lt 120 ] && [ "$2" = "$3" ]' "$(fill d.svg work_a)"
check "diff --svg: work_b's frame is blue (shrank)" sh -c '
	echo "work_b: $0"; set -- $0; [ "$3" = 255 ] && [ "$1" -lt 120 ] && [ "$1" = "$2" ]' "$(fill d.svg work_b)"
check "diff --svg: main (100% in both) is grey" sh -c '
	echo "main: $0"; [ "$0" = "215 215 215" ]' "$(fill d.svg main)"
tooltip_ok() {
	t=$(frame d.svg work_a)
	echo "$t" | cut -c1-200
	# "work_a (new T, P%; base T, P%; change +T, +Dpp)"; the text diff's
	# flat change for work_a (a leaf: flat = cum) to 0.1pp.
	pp=$(echo "$t" | sed -n 's/.*change +[^,]*, \([-+][0-9.]*\)pp).*/\1/p')
	want=$(awk '$NF == "work_a" { sub("pp", "", $3); print $3 + 0; exit }' diff)
	echo "tooltip ${pp}pp, text diff ${want}pp"
	echo "$t" | grep -Eq '<title>work_a \(new [0-9.]+m?s, [0-9.]+%; base [0-9.]+m?s, [0-9.]+%; change \+[0-9.]+m?s, \+[0-9.]+pp\)</title>' &&
		[ -n "$pp" ] && within "$pp" "$want" 0.06 && awk -v p="$pp" 'BEGIN { exit !(p > 5) }'
}
check "diff --svg: the tooltip holds new, base and change, as the text diff says" tooltip_ok
# Two runs of one program share every path that holds real work; a stray
# sample or two (printf at the end, a clock read) may land on a path only
# one run has. So: what the base alone holds is under 1% of the base.
# (Time as the SVG prints it: ns, us, ms or s.)
little_shrunk() {
	s=$(sed -n 's/.*shrunk away (only in the base): \([^<]*\)<.*/\1/p' d.svg)
	base=$(awk '/^Base:/ { print $(NF - 3); exit }' diff)
	echo "shrunk away: $s of the base's $base"
	awk -v s="$s" -v b="$base" '
		function ns(t) {
			if (t ~ /ns$/) return t + 0
			if (t ~ /us$/) return t * 1e3
			if (t ~ /ms$/) return t * 1e6
			if (t ~ /s$/) return t * 1e9
			return -1
		}
		BEGIN { exit !(ns(s) >= 0 && ns(b) > 0 && ns(s) < ns(b) / 100) }'
}
check "diff --svg: next to nothing shrunk away between two runs of one program" little_shrunk
check "diff --html: the page holds the text diff and the graph" sh -c '
	grep -q "<pre class=\"diff\">" d.html && grep -q "work_a (new " d.html'
check "diff: nothing on stderr but the two files written" sh -c '
	cat diff.err; [ "$(grep -c "wrote differential flame graph" diff.err)" = 2 ] &&
		! grep -v "wrote differential flame graph" diff.err'

# A base that holds a program the new one never ran: its frames are gone.
"$ONEPROF" record -o split.opf -- "$PROGS/split" 2 1 >/dev/null 2>&1
"$ONEPROF" diff --svg gone.svg split.opf new.opf >/dev/null 2>&1
check "diff --svg: a base's paths missing from the new profile show as shrunk away" sh -c '
	s=$(sed -n "s/.*shrunk away (only in the base): \([^<]*\)<.*/\1/p" gone.svg)
	echo "shrunk away: $s"; [ -n "$s" ] && [ "$s" != 0ns ]'

CHECKER=$ROOT/tests/node/check-page.js
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
	check "chromium installed (scripts/install-deps.sh) to render the diff graphs" false
else
	check "diff SVG in Chromium: no console errors, work_a shown, click zooms, screenshot" \
		node "$CHECKER" d.svg work_a d-svg.png
	check "diff HTML in Chromium: no console errors, work_a shown, click zooms, screenshot" \
		node "$CHECKER" d.html work_a d-html.png
fi
check "diff --svg to an unwritable path is one clear line" expect_error \
	"diff: cannot write '/nonexistent/d.svg'" "$ONEPROF" diff --svg /nonexistent/d.svg base.opf new.opf
finish
