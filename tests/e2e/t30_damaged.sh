# A capture cut at every byte offset is read up to its last whole chunk or
# rejected with a clear error, never a crash; random corruption likewise.
# capture-tool is built with ASan and UBSan.
. "$(dirname "$0")/lib.sh"

# Small flush interval: several chunks in a short run.
ONEPROF_FLUSH_MS=20 "$ONEPROF" record -F 499 -o "$TMP/small.opf" -- "$PROGS/demo" 1500 >/dev/null 2>&1
echo "capture: $(wc -c <"$TMP/small.opf") bytes"

check "every truncation read to the last whole chunk" "$B/tests/capture-tool" truncate "$TMP/small.opf"
check "random corruption read without a crash" "$B/tests/capture-tool" corrupt "$TMP/small.opf" 3000 7

truncated_report() {
	size=$(wc -c <"$TMP/small.opf")
	head -c $((size * 3 / 4)) "$TMP/small.opf" >"$TMP/cut.opf"
	"$ONEPROF" report "$TMP/cut.opf" >"$TMP/out" 2>"$TMP/err" || return 1
	cat "$TMP/err"
	grep -q "incomplete: read [0-9]* whole chunks" "$TMP/err" && grep -q decode_rows "$TMP/out"
}
check "report on a cut capture warns and reports what it read" truncated_report
finish
