# PerfView XML read by a real XML parser (xmllint from libxml2) and
# checked with XPath against what PerfView's reader relies on: dense
# 0-based Frame and Stack IDs (it uses them as array indexes), callers
# before callees, every sample's stack existing, no empty frame text;
# metrics adding up to the capture's CPU time, and the split's shares.
# The zipped form (.perfView.xml.zip, which PerfView opens) passes
# 'unzip -t' and holds the plain export byte for byte (python3 zipfile).
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/s.opf" -- "$PROGS/split" 6 3 >/dev/null 2>&1

x() { xmllint --xpath "$1" "$TMP/s.perfView.xml"; }

perfview_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f perfview -o "$TMP/s.perfView.xml" 2>/dev/null || return 1
	"$ONEPROF" export "$TMP/s.opf" -f json -o "$TMP/s.json" 2>/dev/null || return 1
	xmllint --noout "$TMP/s.perfView.xml" || return 1
	frames=$(x 'count(/StackWindow/StackSource/Frames/Frame)')
	stacks=$(x 'count(/StackWindow/StackSource/Stacks/Stack)')
	samples=$(x 'count(/StackWindow/StackSource/Samples/Sample)')
	echo "$frames frames, $stacks stacks, $samples samples"
	[ "$frames" = "$(x 'string(//Frames/@Count)')" ] && [ "$stacks" = "$(x 'string(//Stacks/@Count)')" ] &&
		[ "$samples" = "$(x 'string(//Samples/@Count)')" ] || { echo "Count attributes differ"; return 1; }
	# Dense, unique IDs: all below the count and none repeated.
	[ "$(x "count(//Frame[number(@ID) >= $frames or number(@ID) < 0 or @ID = preceding-sibling::Frame/@ID])")" = 0 ] ||
		{ echo "frame IDs not dense"; return 1; }
	[ "$(x 'count(//Stack[number(@ID) != count(preceding-sibling::Stack)])')" = 0 ] ||
		{ echo "stack IDs not dense and in order"; return 1; }
	[ "$(x 'count(//Stack[number(@CallerID) >= number(@ID) or number(@CallerID) < -1])')" = 0 ] ||
		{ echo "a stack's caller comes after it"; return 1; }
	[ "$(x "count(//Stack[number(@FrameID) >= $frames] | //Sample[number(@StackID) >= $stacks])")" = 0 ] ||
		{ echo "a reference out of range"; return 1; }
	[ "$(x 'count(//Frame[normalize-space(.) = ""])')" = 0 ] || { echo "empty frame text"; return 1; }
	[ "$(x 'count(//Frame[starts-with(., "Thread (")])')" = 3 ] || { echo "not 3 thread frames"; return 1; }
	# Metrics are CPU milliseconds: they add up to the capture's time.
	metric=$(x 'sum(//Sample/@Metric)')
	cpu_ms=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).session.sampled_cpu_ns / 1e6)' "$TMP/s.json")
	echo "metric sum $metric ms, capture $cpu_ms ms"
	within "$metric" "$cpu_ms" "$(awk -v n="$samples" 'BEGIN { print n * 0.001 }')" || return 1
	# The samples whose stack ends in work_50 carry about half of it.
	for pair in work_50:50 work_30:30 work_20:20; do
		f=${pair%:*} want=${pair#*:}
		ms=$(x "sum(//Sample[@StackID = //Stack[@FrameID = //Frame[. = 'split!$f']/@ID]/@ID]/@Metric)")
		pct=$(awk -v a="$ms" -v b="$metric" 'BEGIN { printf "%.1f", 100 * a / b }')
		echo "split!$f: $pct% (truth $want%)"
		within "$pct" "$want" 3 || return 1
	done
}
if command -v xmllint >/dev/null 2>&1; then
	check "perfview XML: well-formed, dense IDs, callers first, metrics add up, 50/30/20" perfview_ok
else
	check "xmllint installed (libxml2-utils; scripts/install-deps.sh)" false
fi

zip_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f perfview -o "$TMP/s.perfView.xml" 2>/dev/null || return 1
	"$ONEPROF" export "$TMP/s.opf" -f perfview -o "$TMP/s.perfView.xml.zip" 2>"$TMP/zerr" ||
		{ cat "$TMP/zerr"; return 1; }
	unzip -t "$TMP/s.perfView.xml.zip" || return 1
	python3 - "$TMP/s.perfView.xml.zip" "$TMP/s.perfView.xml" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
info = z.getinfo(names[0])
data = z.read(names[0])
plain = open(sys.argv[2], "rb").read()
print("entries", names, "method", info.compress_type, "size", info.file_size,
      "compressed", info.compress_size, "plain", len(plain))
sys.exit(0 if names == ["s.perfView.xml"] and info.compress_type == zipfile.ZIP_DEFLATED
         and z.testzip() is None and data == plain and info.compress_size < len(plain) else 1)
PY
}
if command -v unzip >/dev/null 2>&1; then
	check "perfview .perfView.xml.zip: unzip -t passes, one deflated entry identical to the XML" zip_ok
else
	check "unzip installed (scripts/install-deps.sh)" false
fi
finish
