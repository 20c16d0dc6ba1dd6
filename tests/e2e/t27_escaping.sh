# A symbol name that every output format must escape: quotes, '<', '&',
# ';', a backslash, spaces, a byte that is not UTF-8 and a trailing
# number. It comes from a JIT map, as names of generated code do: the
# test appends it to tests/progs/jitgen's /tmp/perf-PID.map for the code
# jitgen runs (a later entry wins), then every exporter's output must
# still be read by a real reader, with the name in it, and the report
# must show it.
. "$(dirname "$0")/lib.sh"

NAME=$(printf 'jit "q" <a&b>;c\\d \377 42')
# What readers see: the byte that is not UTF-8 becomes U+FFFD.
SEEN=$(printf 'jit "q" <a&b>;c\\d \357\277\275 42')

"$ONEPROF" record -o "$TMP/j.opf" -- "$PROGS/jitgen" 2500 >"$TMP/j.out" 2>&1 &
rec=$!
map=""
for _ in $(seq 100); do
	for pid in $(children "$rec"); do
		[ -f "/tmp/perf-$pid.map" ] && grep -q ' jit_hot_loop$' "/tmp/perf-$pid.map" && map=/tmp/perf-$pid.map
	done
	[ -n "$map" ] && break
	sleep 0.05
done
if [ -n "$map" ]; then
	awk '$3 == "jit_hot_loop" { printf "%s %s ", $1, $2 }' "$map" >>"$map.tmp"
	printf '%s\n' "$NAME" >>"$map.tmp"
	cat "$map.tmp" >>"$map"
	rm -f "$map.tmp"
fi
wait "$rec"
[ -n "$map" ] && rm -f "$map"

if grep -q 'jitgen: skipped' "$TMP/j.out"; then
	check "jitgen runs here (x86-64 only): nothing to test" true
	finish
	exit
fi
check "the JIT map was found and extended" test -n "$map"
# Until JIT maps are symbolized, the JIT code is a bare address and there
# is no name to follow through the exporters.
if "$ONEPROF" report -n 1 "$TMP/j.opf" 2>/dev/null | grep -Eq '%  0x[0-9a-f]+$'; then
	check "SKIP: this build does not name JIT code from perf maps yet" true
	finish
	exit
fi

report_ok() {
	"$ONEPROF" report -n 5 "$TMP/j.opf" >"$TMP/r" 2>/dev/null || return 1
	grep -qF "$SEEN" "$TMP/r" || grep -qF "$NAME" "$TMP/r" || { cat "$TMP/r"; return 1; }
}
check "report shows the name" report_ok

# node_has FILE.json EXPR: JSON.parse the file; EXPR (over j, the parsed
# file, and name, the name as readers see it) must be true.
node_has() {
	node -e '
		const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const name = process.argv[2];
		if (!new Function("j", "name", "return (" + process.argv[3] + ")")(j, name)) {
			console.log("name not found as " + JSON.stringify(name));
			process.exit(1);
		}
	' "$1" "$SEEN" "$2"
}

json_ok() {
	"$ONEPROF" export "$TMP/j.opf" -f json -o "$TMP/j.json" 2>/dev/null || return 1
	node_has "$TMP/j.json" 'j.functions.some((f) => f.name === name) && j.functions[0].name === name'
}
check "json: parses, the hot function has the exact name" json_ok

speedscope_ok() {
	"$ONEPROF" export "$TMP/j.opf" -f speedscope -o "$TMP/j.speedscope.json" 2>/dev/null || return 1
	node_has "$TMP/j.speedscope.json" 'j.shared.frames.some((f) => f.name === name)'
}
check "speedscope: parses, a frame has the exact name" speedscope_ok

chrome_ok() {
	"$ONEPROF" export "$TMP/j.opf" -f chrome -o "$TMP/j.trace.json" 2>/dev/null || return 1
	node "$ROOT/tests/node/check-chrome-trace.js" "$TMP/j.trace.json" >/dev/null || return 1
	node_has "$TMP/j.trace.json" 'Object.values(j.stackFrames).some((f) => f.name === name) && j.traceEvents.some((e) => e.name === name)'
}
check "chrome: a valid trace, events and frames with the exact name" chrome_ok

xml_ok() {
	"$ONEPROF" export "$TMP/j.opf" -f "$1" -o "$TMP/j.$1" 2>/dev/null || return 1
	xmllint --noout "$TMP/j.$1" || return 1
	# The parser gives the name back unescaped.
	xmllint --xpath "string(($2[contains(., 'a&b>;c')])[1])" "$TMP/j.$1" | grep -qF "$3"
}
if command -v xmllint >/dev/null 2>&1; then
	check "perfview: well-formed XML, a frame with the exact name" xml_ok perfview '//Frame' "$SEEN"
	# The SVG shows a byte that is not UTF-8 as '?': check up to it.
	check "svg: well-formed XML with the name" xml_ok svg "//*[local-name()='title']" 'jit "q" <a&b>;c\d '
else
	check "xmllint installed (libxml2-utils; scripts/install-deps.sh)" false
fi

folded_ok() {
	"$ONEPROF" export "$TMP/j.opf" -f folded -o "$TMP/j.folded" 2>/dev/null || return 1
	# Folded stacks are bytes (the byte that is not UTF-8 stays): match bytes.
	bad=$(LC_ALL=C grep -Evc '^[^;]+(;[^;]+)* [0-9]+$' "$TMP/j.folded")
	[ "$bad" = 0 ] || { echo "$bad malformed lines"; return 1; }
	# ';' cannot be in a frame: it becomes '_', and the name's trailing
	# " 42" must not read as a count.
	LC_ALL=C grep -q 'jit "q" <a&b>_c\\d .* 42 [0-9]*$' "$TMP/j.folded" && { echo "trailing number left as a count"; return 1; }
	grep -q 'jit "q" <a&b>_c\\d' "$TMP/j.folded"
}
check "folded: well-formed lines, ';' replaced, no fake count" folded_ok

pprof_ok() {
	"$ONEPROF" export "$TMP/j.opf" -f pprof -o "$TMP/j.pb.gz" 2>/dev/null || return 1
	node "$ROOT/tests/node/decode-pprof.js" "$TMP/j.pb.gz" >"$TMP/p.json" || return 1
	node_has "$TMP/p.json" 'j.functions.includes(name)'
}
check "pprof: decodes, a function with the name" pprof_ok
finish
