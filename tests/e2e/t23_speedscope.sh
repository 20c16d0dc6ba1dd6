# speedscope JSON read by speedscope itself: checked against the schema
# speedscope ships, then imported by speedscope's own importer in
# headless Chromium (tests/node/check-speedscope.js); one profile per
# thread, and speedscope's table of functions gives the split's shares.
# Our folded stacks and Chrome trace import through speedscope too.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/s.opf" -- "$PROGS/split" 6 3 >/dev/null 2>&1
CHECKER=$ROOT/tests/node/check-speedscope.js
TOL=4

# shares SUMMARY: "name self%" lines from speedscope's table.
shares() {
	node -e '
		const s = JSON.parse(require("fs").readFileSync(process.argv[1]));
		for (const r of s.rows) console.log(r.name, r.self);
	' "$1"
}

split_in_speedscope() {
	shares "$1" >"$TMP/shares"
	for pair in work_50:50 work_30:30 work_20:20; do
		f=${pair%:*} want=${pair#*:}
		got=$(awk -v f="$f" '$1 == f { print $2; exit }' "$TMP/shares")
		echo "speedscope: $f self ${got:-missing}% (truth $want%)"
		[ -n "$got" ] && within "$got" "$want" $TOL || return 1
	done
}

speedscope_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f speedscope -o "$TMP/s.speedscope.json" 2>/dev/null || return 1
	node "$CHECKER" "$TMP/s.speedscope.json" >"$TMP/summary" || return 1
	node -e '
		const s = JSON.parse(require("fs").readFileSync(process.argv[1]));
		console.log(s.importer + "; schema " + s.schema + "; profiles: " + s.profiles.join(", "));
		if (s.importer !== "Importing as speedscope json file" || s.schema !== "valid") process.exit(1);
		if (s.profiles.length !== 3 || !s.profiles.every((p) => /^split \(tid [0-9]+\)$/.test(p))) process.exit(1);
	' "$TMP/summary" || return 1
	split_in_speedscope "$TMP/summary" || return 1
	# The weights are the samples' CPU time: they add up to the capture's.
	node -e '
		const fs = require("fs");
		const f = JSON.parse(fs.readFileSync(process.argv[1]));
		const j = JSON.parse(fs.readFileSync(process.argv[2]));
		let w = 0;
		for (const p of f.profiles) w += p.weights.reduce((a, b) => a + b, 0);
		console.log("weights " + w + " ns, capture " + j.session.sampled_cpu_ns + " ns");
		process.exit(w === j.session.sampled_cpu_ns ? 0 : 1);
	' "$TMP/s.speedscope.json" "$TMP/s.json"
}

folded_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f folded -o "$TMP/s.folded" 2>/dev/null || return 1
	node "$CHECKER" "$TMP/s.folded" >"$TMP/summary" || return 1
	grep -q '"importer":"Importing as collapsed stack format"' "$TMP/summary" || { cat "$TMP/summary"; return 1; }
	split_in_speedscope "$TMP/summary"
}

chrome_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f chrome -o "$TMP/s.trace.json" 2>/dev/null || return 1
	node "$CHECKER" "$TMP/s.trace.json" >"$TMP/summary" || return 1
	node -e '
		const s = JSON.parse(require("fs").readFileSync(process.argv[1]));
		console.log(s.importer + "; profiles: " + s.profiles.join(", "));
		if (s.importer !== "Importing as Trace Event Format profile" || s.profiles.length !== 3) process.exit(1);
	' "$TMP/summary" || return 1
	# speedscope weighs a trace's samples by the real time to the next
	# one, not by their CPU time, so only the functions are checked.
	shares "$TMP/summary" >"$TMP/shares"
	for f in work_50 work_30 work_20 run_round; do
		grep -q "^$f" "$TMP/shares" || { echo "$f missing from speedscope's table"; cat "$TMP/shares"; return 1; }
	done
}

if ! [ -d "$ROOT/tests/node/node_modules/speedscope" ]; then
	check "speedscope installed (run: cd tests/node && npm ci)" false
elif ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
	check "chromium installed (scripts/install-deps.sh) to run speedscope's importer" false
else
	"$ONEPROF" export "$TMP/s.opf" -f json -o "$TMP/s.json" 2>/dev/null
	check "speedscope JSON: schema-valid, speedscope imports one profile per thread, 50/30/20" speedscope_ok
	check "folded stacks import in speedscope with the 50/30/20 split" folded_ok
	check "Chrome trace imports in speedscope's Trace Event importer, per thread, with its functions" chrome_ok
fi
finish
