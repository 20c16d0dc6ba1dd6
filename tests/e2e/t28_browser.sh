# The interactive outputs in a real browser: the SVG flame graph and the
# HTML report load in headless Chromium with no console output, name the
# hottest function, zoom when a frame is clicked and unzoom on "Reset
# zoom" (checked in the DOM), the report's table sorts, and a screenshot
# is taken (tests/node/check-page.js). Then `report --lines` on
# tests/progs/inline.c: mix's and step's rows carry their own lines (the
# LINE markers t90_dwarf.sh uses), not the line of their caller.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/s.opf" -- "$PROGS/split" 6 3 >/dev/null 2>&1
CHECKER=$ROOT/tests/node/check-page.js

# page_ok FORMAT: export, then the browser checks; work_50 is the hottest.
page_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f "$1" -o "$TMP/s.$1" 2>"$TMP/err" || { cat "$TMP/err"; return 1; }
	node "$CHECKER" "$TMP/s.$1" work_50 "$TMP/s-$1.png"
}

self_contained_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f html -o "$TMP/s.html" 2>/dev/null || return 1
	# Nothing fetched at view time: no src/href to anything but the page.
	! grep -Eo '(src|href)="[^"#][^"]*"' "$TMP/s.html" | grep -v '^href="#' ||
		{ echo "the report loads external resources"; return 1; }
	grep -q '<td>Threads</td><td>3</td>' "$TMP/s.html" &&
		grep -q '<td>Lost samples</td><td>0' "$TMP/s.html" ||
		{ echo "summary rows missing"; return 1; }
}

if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
	check "chromium installed (scripts/install-deps.sh) to render the SVG and HTML" false
else
	check "SVG flame graph in Chromium: no console errors, hottest name, click zooms, screenshot" page_ok svg
	check "HTML report in Chromium: no console errors, hottest name, click zooms, table sorts, screenshot" page_ok html
fi
check "HTML report is self-contained and has the summary" self_contained_ok

# --- report --lines ---
SRC=$ROOT/tests/progs/inline.c
line_of() { grep -n "$1" "$SRC" | head -n 1 | cut -d: -f1; }
MIX_LOOP=$(line_of 'LINE:mix-loop')
MIX_BODY=$(line_of 'LINE:mix-body')
STEP_CALL=$(line_of 'LINE:step-calls-mix')
OUTER_CALL=$(line_of 'LINE:outer-calls-step')
"$ONEPROF" record -F 499 -o "$TMP/i.opf" -- "$PROGS/inline" 1000 >/dev/null 2>&1

lines_ok() {
	"$ONEPROF" report --lines -n 0 "$TMP/i.opf" >"$TMP/lines" 2>"$TMP/err" || { cat "$TMP/err"; return 1; }
	# Rows end "function file:line"; flat% is $2, cum% $5.
	awk -v ml="$MIX_LOOP" -v mb="$MIX_BODY" -v sc="$STEP_CALL" -v oc="$OUTER_CALL" '
	function at(fn, line) { return $6 == fn && $7 ~ ("tests/progs/inline.c:" line "$") }
	/^ *[0-9.]+[a-z]+ / { sub("%", "", $2); sub("%", "", $5)
	  if (at("mix", ml) || at("mix", mb)) mix += $2
	  if (at("mix", sc) || at("mix", oc)) wrong++
	  if (at("step", sc)) step = $5 + 0
	  if (at("hot_outer", oc)) outer = $5 + 0 }
	END { printf "mix own lines flat %.1f%%, step:%s cum %s%%, hot_outer:%s cum %s%%\n", mix, sc, step, oc, outer
	      exit !(mix >= 90 && step >= 90 && outer >= 90 && !wrong) }' "$TMP/lines" ||
		{ cat "$TMP/lines"; return 1; }
}
check "report --lines: inlined mix and step on their own lines, hot_outer on its call" lines_ok

lines_per_thread_ok() {
	"$ONEPROF" report --lines --threads -s cum -n 3 "$TMP/i.opf" >"$TMP/lt" 2>"$TMP/err" || { cat "$TMP/err"; return 1; }
	grep -q 'Showing top 3 of [0-9]* lines, sorted by cumulative time' "$TMP/lt" || { cat "$TMP/lt"; return 1; }
}
check "report --lines works per thread and sorted by cum" lines_per_thread_ok
check "report --lines with --tree is refused in one line" \
	expect_error 'lines.*--top only' "$ONEPROF" report --lines --tree "$TMP/i.opf"
finish
