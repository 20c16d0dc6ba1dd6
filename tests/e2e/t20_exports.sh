# Exports read by real consumers: pprof through protoc --decode_raw and the
# npm pprof-format decoder; folded stacks in FlameGraph's line format.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/demo.opf" -- "$PROGS/demo" 800 >/dev/null 2>&1
samples=$("$B/tests/capture-tool" stats "$TMP/demo.opf" | awk '$1 == "samples" { print $2 }')
"$ONEPROF" export "$TMP/demo.opf" -f pprof -o "$TMP/demo.pb.gz" 2>/dev/null
"$ONEPROF" export "$TMP/demo.opf" -f folded -o "$TMP/demo.folded" 2>/dev/null

protoc_ok() {
	gzip -dc "$TMP/demo.pb.gz" >"$TMP/demo.pb" || return 1
	protoc --decode_raw <"$TMP/demo.pb" >"$TMP/raw" || return 1
	grep -q '"decode_rows"' "$TMP/raw" && grep -q '"cpu"' "$TMP/raw" &&
		grep -q '"nanoseconds"' "$TMP/raw"
}
check "pprof decodes with protoc --decode_raw" protoc_ok

node_ok() {
	node "$ROOT/tests/node/decode-pprof.js" "$TMP/demo.pb.gz" >"$TMP/summary" || return 1
	cat "$TMP/summary"
	node -e '
		const s = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const want = Number(process.argv[2]);
		if (s.totalCount !== want) { console.log("total " + s.totalCount + " != " + want); process.exit(1); }
		for (const f of ["decode_rows", "blur_pixels", "checksum_block", "process_image"])
			if (!s.functions.includes(f)) { console.log("missing " + f); process.exit(1); }
	' "$TMP/summary" "$samples"
}
if [ -d "$ROOT/tests/node/node_modules/pprof-format" ]; then
	check "pprof decodes with npm pprof-format, sample total matches" node_ok
else
	check "pprof-format installed (run: cd tests/node && npm ci)" false
fi

folded_ok() {
	# root;...;leaf COUNT, root first: every line ends in a count and the
	# counts add up to the samples in the capture.
	bad=$(grep -Evc '^[^;]+(;[^;]+)* [0-9]+$' "$TMP/demo.folded")
	[ "$bad" = 0 ] || { echo "$bad malformed lines"; return 1; }
	total=$(awk '{ s += $NF } END { print s }' "$TMP/demo.folded")
	[ "$total" = "$samples" ] || { echo "folded total $total != $samples"; return 1; }
	# spin() is inlined into decode_rows at -O2: its own frame, on top.
	grep -Eq '^[^ ]*;process_image;decode_rows;spin [0-9]+$' "$TMP/demo.folded" ||
		{ echo "no root-first line ending in process_image;decode_rows;spin"; head "$TMP/demo.folded"; return 1; }
}
check "folded output is root;...;leaf COUNT" folded_ok

svg_ok() {
	"$ONEPROF" export "$TMP/demo.opf" -f svg -o "$TMP/demo.svg" 2>/dev/null || return 1
	head -c 5 "$TMP/demo.svg" | grep -q '^<?xml' && grep -q '</svg>' "$TMP/demo.svg" &&
		grep -Eq '<title>decode_rows \([0-9]+ samples, [0-9.]+%\)</title>' "$TMP/demo.svg"
}
check "svg flame graph names each frame with its samples" svg_ok

stdout_ok() {
	"$ONEPROF" export "$TMP/demo.opf" -f folded -o - 2>/dev/null | cmp - "$TMP/demo.folded"
}
check "export -o - writes to stdout" stdout_ok
finish
