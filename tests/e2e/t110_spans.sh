# Span timelines and the span call-graph report against ground truth:
# tests/progs/spantree.c runs a known nested span tree on 2 threads and
# measures each span itself with clock_gettime. The Chrome trace must
# nest and place every span exactly as the program did, with durations
# within 1% of the program's own; the call-graph report's totals must
# match; allocations, operations and GC must be charged exactly.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

"$ONEPROF" record --heap -o tree.opf -- "$PROGS/spantree" truth.txt >/dev/null 2>&1
"$ONEPROF" export tree.opf -f chrome -o tree.json 2>/dev/null
"$ONEPROF" export tree.opf -f spans -o spans.json 2>/dev/null

# Compares the trace with truth.txt ("tid depth name start_ns end_ns").
cat >timeline.py <<'PY'
import json, sys
truth = {}
for line in open("truth.txt"):
    tid, depth, name, start, end = line.split()
    truth.setdefault(int(tid), []).append((name, int(depth), int(start), int(end)))
events = [e for e in json.load(open("tree.json"))["traceEvents"]
          if e.get("ph") == "X" and e.get("cat") != "gc"]
got = {}
for e in events:
    got.setdefault(e["tid"], []).append(e)
what = sys.argv[1]
bad = []
if set(got) != set(truth):
    sys.exit("threads with spans: got %s, want %s" % (sorted(got), sorted(truth)))
first_truth = min(s[2] for spans in truth.values() for s in spans)
first_got = min(e["ts"] for e in events) * 1000
for tid, want in truth.items():
    have = sorted(got[tid], key=lambda e: (e["ts"], -e["dur"]))
    if len(have) != len(want):
        sys.exit("thread %d: %d spans, want %d" % (tid, len(have), len(want)))
    stack = []  # depth by containment in the trace
    for e, (name, depth, start, end) in zip(have, sorted(want, key=lambda s: s[2])):
        while stack and e["ts"] >= stack[-1]:
            stack.pop()
        d = len(stack)
        stack.append(e["ts"] + e["dur"])
        dur_got, dur_want = e["dur"] * 1000, end - start
        off_got, off_want = e["ts"] * 1000 - first_got, start - first_truth
        if what == "nesting" and (e["name"], d) != (name, depth):
            bad.append("thread %d: %s at depth %d, want %s at %d" % (tid, e["name"], d, name, depth))
        if what == "durations" and abs(dur_got - dur_want) > 0.01 * dur_want:
            bad.append("%s on %d: %.0f ns, program measured %d" % (name, tid, dur_got, dur_want))
        if what == "placement" and abs(off_got - off_want) > max(0.01 * dur_want, 100000):
            bad.append("%s on %d starts at +%.0f ns, program says +%d" % (name, tid, off_got, off_want))
        print("%s tid %d depth %d: %.3f ms (program %.3f ms)" % (name, tid, d, dur_got / 1e6, dur_want / 1e6))
if bad:
    sys.exit("\n".join(bad))
PY
check "timeline: every span on its own thread, nested exactly as the program nested them" \
	python3 timeline.py nesting
check "timeline: durations within 1% of the program's clock_gettime" python3 timeline.py durations
check "timeline: spans start where the program says, relative to the first" \
	python3 timeline.py placement

# Call-graph totals per site against the sums of the program's spans.
cat >totals.py <<'PY'
import json, sys
want = {}
for line in open("truth.txt"):
    tid, depth, name, start, end = line.split()
    calls, total = want.get(name, (0, 0))
    want[name] = (calls + 1, total + int(end) - int(start))
d = json.load(open("spans.json"))
got = {t["name"]: t for t in d["totals"]}
bad = []
for name, (calls, total) in want.items():
    t = got.get(name)
    if not t or t["calls"] != calls or abs(t["total_ns"] - total) > 0.01 * total:
        bad.append("%s: got %s, want %d calls %d ns" % (name, t, calls, total))
    print(name, calls, total, t and t["total_ns"])
ops = {t["name"]: t["ops"] for t in d["totals"]}
alloc = {t["name"]: t["alloc_bytes"] for t in d["totals"]}
checks = [("inner ops", ops["inner"].get("bytecode"), 2000),
          ("spin30 alloc", alloc["spin30"], 2000000),
          ("outer alloc", alloc["outer"], 0),
          ("gc count", d["gc"]["count"], 2),
          ("gc reclaimed", d["gc"]["reclaimed_bytes"], 8192)]
for what, g, w in checks:
    print(what, g)
    if g != w:
        bad.append("%s: got %s, want %s" % (what, g, w))
if bad:
    sys.exit("\n".join(bad))
PY
check "call-graph report: calls and totals per span match the program's" python3 totals.py

check "report --spans: top spans, GC and operations with their totals" sh -c '
	"$1" report --spans tree.opf >report.txt 2>&1 || { cat report.txt; exit 1; }
	grep -q "^spans: 10 spans on 2 threads, 5 sites" report.txt &&
	grep -q "^GC: 2 pauses, .*8.00 KiB reclaimed" report.txt &&
	grep -q "^Operations: bytecode 2000" report.txt || { cat report.txt; exit 1; }' sh "$ONEPROF"

check "report --spans on a capture without spans says how to record them" sh -c '
	"$1" record -o plain.opf -- "$2/demo" 200 >/dev/null 2>&1
	if "$1" report --spans plain.opf >out.txt 2>&1; then cat out.txt; exit 1; fi
	grep -q "no spans" out.txt || { cat out.txt; exit 1; }' sh "$ONEPROF" "$PROGS"

check "speedscope: one evented profile per thread with spans, balanced" python3 -c '
import json, subprocess, sys
subprocess.run([sys.argv[1], "export", "tree.opf", "-f", "speedscope", "-o", "tree.speedscope.json"],
               check=True, capture_output=True)
d = json.load(open("tree.speedscope.json"))
ev = [p for p in d["profiles"] if p["type"] == "evented"]
if len(ev) != 2:
    sys.exit("evented profiles: %d, want 2" % len(ev))
for p in ev:
    stack = []
    for e in p["events"]:
        if e["type"] == "O":
            stack.append(e["frame"])
        elif not stack or stack.pop() != e["frame"]:
            sys.exit("unbalanced close in " + p["name"])
    if stack or len(p["events"]) != 10:
        sys.exit("%s: %d events, %d left open" % (p["name"], len(p["events"]), len(stack)))
' "$ONEPROF"

check "flame graph by span time: folded self times add up to the spans' total" sh -c '
	"$1" export tree.opf --spans -f folded -o span.folded 2>/dev/null &&
	python3 - <<PY
import json
total = sum(t["total_ns"] for t in json.load(open("spans.json"))["call_tree"])
folded = sum(int(l.rsplit(" ", 1)[1]) for l in open("span.folded"))
print("folded", folded, "top-level total", total)
assert abs(folded - total) <= 0.001 * total, (folded, total)
PY' sh "$ONEPROF"

finish
