# DWARF: source lines and inlined frames, checked against the source of
# tests/progs/inline.c (-O2 -g): hot_outer calls step, which calls mix,
# both forced inline; nearly all the time is in mix's loop. The LINE and
# DECL markers in the source are the ground truth.
. "$(dirname "$0")/lib.sh"

SRC=$ROOT/tests/progs/inline.c
line_of() { grep -n "$1" "$SRC" | head -n 1 | cut -d: -f1; }
MIX_DECL=$(line_of 'DECL:mix')
MIX_LOOP=$(line_of 'LINE:mix-loop')
MIX_BODY=$(line_of 'LINE:mix-body')
STEP_DECL=$(line_of 'DECL:step')
STEP_CALL=$(line_of 'LINE:step-calls-mix')
OUTER_DECL=$(line_of 'DECL:hot_outer')
OUTER_CALL=$(line_of 'LINE:outer-calls-step')

"$ONEPROF" record -F 499 -o "$TMP/i.opf" -- "$PROGS/inline" 1500 >/dev/null 2>&1
"$ONEPROF" export "$TMP/i.opf" -f folded -o "$TMP/i.folded" 2>"$TMP/err"
"$ONEPROF" export "$TMP/i.opf" -f pprof -o "$TMP/i.pb.gz" 2>>"$TMP/err"

inline_frames_ok() {
	# Each inlined function is a frame of its own, innermost on top.
	awk '{ t += $NF } /;main;hot_outer;step;mix [0-9]+$/ { i += $NF }
	     END { printf "%d of %d samples in main;hot_outer;step;mix\n", i, t; exit !(t > 0 && i >= 0.9 * t) }' \
		"$TMP/i.folded" || { head -5 "$TMP/i.folded"; return 1; }
}
check "inlined functions are frames of their own (folded)" inline_frames_ok

pprof_lines_ok() {
	node "$ROOT/tests/node/pprof-lines.js" "$TMP/i.pb.gz" >"$TMP/lines" || return 1
	# Frames are name@file:line:start_line, leaf first. Every sample in
	# mix must name mix's loop, the line in step that calls mix, the line
	# in hot_outer that calls step, and each function's own first line.
	awk -F'\t' -v f="tests/progs/inline.c" \
	    -v md="$MIX_DECL" -v ml="$MIX_LOOP" -v mb="$MIX_BODY" -v sd="$STEP_DECL" \
	    -v sc="$STEP_CALL" -v od="$OUTER_DECL" -v oc="$OUTER_CALL" '
	function frame(s, name, line, start,   a, n, loc) {
		n = split(s, a, "@"); if (a[1] != name) return 0
		split(a[2], loc, ":")
		if (index(loc[1], f) == 0 || loc[1] !~ (f "$")) return 0
		if (start != loc[3]) return 0
		if (line == "mix") return loc[2] == ml || loc[2] == mb
		return loc[2] == line
	}
	{ t += $1; n = split($2, fr, ";")
	  if (n >= 3 && frame(fr[1], "mix", "mix", md) && frame(fr[2], "step", sc, sd) &&
	      frame(fr[3], "hot_outer", oc, od)) good += $1
	  else if (bad++ < 3) print "other: " $0 }
	END { printf "%d of %d samples: mix:%s|%s < step:%s < hot_outer:%s\n", good, t, ml, mb, sc, oc
	      exit !(t > 0 && good >= 0.9 * t) }' "$TMP/lines"
}
if [ -d "$ROOT/tests/node/node_modules/pprof-format" ]; then
	check "pprof lines: inline chain, file:line and start lines match the source" pprof_lines_ok
fi

protoc_ok() {
	# Independent of any pprof library: Location.line repeated (inline
	# chain), Line.line set, Function.filename and start_line set.
	gzip -dc "$TMP/i.pb.gz" | protoc --decode_raw >"$TMP/raw" || return 1
	grep -q "^  5: $MIX_DECL\$" "$TMP/raw" || { echo "no function with start_line $MIX_DECL"; return 1; }
	grep -q "^    2: $STEP_CALL\$" "$TMP/raw" || { echo "no line $STEP_CALL"; return 1; }
}
check "pprof decodes with protoc --decode_raw, lines and start lines present" protoc_ok

go_pprof_ok() {
	HOME=$TMP go tool pprof -lines -top "$TMP/i.pb.gz" >"$TMP/go" 2>&1 || { cat "$TMP/go"; return 1; }
	grep -E "mix .*tests/progs/inline.c:($MIX_LOOP|$MIX_BODY) \(inline\)" "$TMP/go" &&
		grep -E "step .*tests/progs/inline.c:$STEP_CALL \(inline\)" "$TMP/go" ||
		{ cat "$TMP/go"; return 1; }
}
if command -v go >/dev/null 2>&1; then
	check "go tool pprof -lines shows mix and step inline with their file:line" go_pprof_ok
else
	echo "skip go tool pprof: 'go' not installed"
fi

no_inlines_ok() {
	"$ONEPROF" export "$TMP/i.opf" -f folded --no-inlines -o - 2>/dev/null >"$TMP/noinl" || return 1
	! grep -Eq ';(step|mix)[; ]' "$TMP/noinl" || { echo "inlined frames despite --no-inlines"; return 1; }
	grep -Eq ';main;hot_outer [0-9]+$' "$TMP/noinl"
}
check "--no-inlines folds inlined functions into their caller" no_inlines_ok

report_ok() {
	"$ONEPROF" report -n 0 "$TMP/i.opf" >"$TMP/report" 2>"$TMP/rerr" || return 1
	grep -Eq ' mix$' "$TMP/report" && grep -Eq ' hot_outer$' "$TMP/report" ||
		{ cat "$TMP/report"; return 1; }
	# The test binary has its debug info: nothing to warn about.
	! grep -q 'inline' "$TMP/rerr" || { cat "$TMP/rerr"; return 1; }
}
check "report names the inlined function" report_ok
finish
