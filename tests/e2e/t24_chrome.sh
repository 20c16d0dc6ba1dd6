# The Chrome Trace Event export checked against the format's rules
# (tests/node/check-chrome-trace.js: phases, microsecond timestamps,
# integer pid/tid, thread_name metadata, nesting, stackFrames links):
# one instant per sample record on its thread, samples adding up to the
# capture's, leaves in the split's proportions.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/s.opf" -- "$PROGS/split" 6 3 >/dev/null 2>&1
SAMPLES=$("$B/tests/capture-tool" stats "$TMP/s.opf" | awk '$1 == "samples" { print $2 }')

chrome_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f chrome -o "$TMP/s.trace.json" 2>/dev/null || return 1
	node "$ROOT/tests/node/check-chrome-trace.js" "$TMP/s.trace.json" >"$TMP/summary" || return 1
	node -e '
		const s = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const want = Number(process.argv[2]);
		const tids = Object.keys(s.threads);
		console.log(`instants ${s.instants} (samples ${s.instantSamples}), samples array ${s.samples}, capture ${want}; threads ${tids.join(" ")}`);
		if (s.instantSamples !== want || s.samples !== want) process.exit(1);
		if (tids.length !== 3 || !Object.values(s.threads).every((n) => n === "split")) process.exit(1);
		const share = (f) => 100 * (s.leaves[f] || 0) / s.instants;
		for (const [f, truth] of [["work_50", 50], ["work_30", 30], ["work_20", 20]]) {
			console.log(`${f}: ${share(f).toFixed(1)}% of the instants (truth ${truth}%)`);
			if (Math.abs(share(f) - truth) > 3) process.exit(1);
		}
		if (s.stackDepthMax < 3) process.exit(1);
	' "$TMP/summary" "$SAMPLES"
}
check "chrome trace: valid Trace Event JSON, samples add up, named threads, 50/30/20 leaves" chrome_ok

stdout_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f chrome -o - 2>/dev/null | cmp - "$TMP/s.trace.json"
}
check "chrome export to stdout is the same and reproducible" stdout_ok
finish
