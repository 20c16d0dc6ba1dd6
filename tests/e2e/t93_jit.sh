# JIT symbols: the runtime's /tmp/perf-PID.map is copied into the capture
# when the recording ends, so JIT frames get names even after the file is
# gone. Ground truth: tests/progs/jitgen runs a loop it copied into
# anonymous executable memory and named "jit_hot_loop" (with malformed
# lines around it); and node --perf-basic-prof running a JS workload
# whose hottest function is fib.
. "$(dirname "$0")/lib.sh"

# The programs print their perf map's path (jitgen) or pid (node): the
# maps are removed at once (the report must not need them), and never left
# behind in /tmp.
"$ONEPROF" record -o "$TMP/j.opf" -- "$PROGS/jitgen" 1000 >"$TMP/jout" 2>&1
JMAP=$(sed -n 's|^jitgen: \(/tmp/perf-[0-9]*\.map\) .*|\1|p' "$TMP/jout")
[ -n "$JMAP" ] && rm -f "$JMAP"
JPID=$(echo "$JMAP" | tr -cd '0-9')

jitgen_ok() {
	grep -q skipped "$TMP/jout" && { echo "skip: not x86-64"; return 0; }
	"$ONEPROF" report "$TMP/j.opf" >"$TMP/jrep" 2>"$TMP/jerr" || return 1
	pct=$(flat_pct "$TMP/jrep" jit_hot_loop)
	echo "jit_hot_loop flat ${pct:-missing}%"
	[ -n "$pct" ] && within "$pct" 100 15 || { cat "$TMP/jrep"; return 1; }
	# The later of two overlapping entries won: no stale name.
	! grep -q jit_stale_entry "$TMP/jrep"
}
check "JIT code named from the perf map kept in the capture" jitgen_ok

bad_lines_ok() {
	grep -q skipped "$TMP/jout" && return 0
	grep -q "perf map '/tmp/perf-$JPID.map' had 2 malformed lines" "$TMP/jerr" || { cat "$TMP/jerr"; return 1; }
}
check "malformed perf map lines are counted and reported" bad_lines_ok

cat >"$TMP/w.js" <<'JS'
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
function hotLoop() { let s = 0; for (let i = 0; i < 30; i++) s += fib(22); return s; }
const t = Date.now(); let r = 0;
while (Date.now() - t < 1500) r += hotLoop();
console.log('pid ' + process.pid);
console.log(r > 0 ? 'ok' : 'bad');
JS
node_ok() {
	# In $TMP: node writes an isolate-*-v8.log into its working directory.
	(cd "$TMP" && "$ONEPROF" record -o "$TMP/n.opf" -- node --perf-basic-prof "$TMP/w.js") \
		>"$TMP/nout" 2>&1 || { cat "$TMP/nout"; return 1; }
	npid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/nout")
	[ -n "$npid" ] && rm -f "/tmp/perf-$npid.map"
	grep -q '^ok$' "$TMP/nout" || { cat "$TMP/nout"; return 1; }
	"$ONEPROF" report -n 5 "$TMP/n.opf" >"$TMP/nrep" 2>/dev/null || return 1
	# V8 names it "JS:*fib /path:1:10" (optimized) or "JS:~fib" (not
	# yet): the hottest row must be fib, by name.
	sed -n '/flat%/{n;p;q}' "$TMP/nrep" | grep -Eq '[:*~^]fib ' || { cat "$TMP/nrep"; return 1; }
}
if command -v node >/dev/null 2>&1; then
	check "node --perf-basic-prof: the hottest JS function by name" node_ok
else
	echo "skip node: not installed"
fi
finish
