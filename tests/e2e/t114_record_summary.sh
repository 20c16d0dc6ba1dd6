# 'oneprof record' prints its summary from the capture's END record (its
# summary fields) and last chunk: the same numbers a full read gives, on
# heap (full and sampled, 1,000 threads, a fork child), CPU, wall-clock,
# span and monitor captures; a full read where the END record cannot tell
# (no END: a killed program or a file cut short; an overhead budget).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
CT=$B/tests/capture-tool

# same CAPTURE: the END line and the full read's line agree, and the END
# record was used.
same() {
	"$CT" summary "$1" >s 2>&1 || { cat s; return 1; }
	cat s
	grep -q '^end: ' s || { echo "the summary did not come from the END record"; return 1; }
	[ "$(sed -n 1p s | cut -d' ' -f2-)" = "$(sed -n 2p s | cut -d' ' -f2-)" ]
}

rec() { # CAPTURE ARGS...: record quietly, keep stderr in CAPTURE.err
	out=$1
	shift
	"$ONEPROF" record -o "$out" "$@" >/dev/null 2>"$out.err"
}

rec heap.opf --heap -- "$PROGS/heapthreads"
check "full heap, 1,000 threads: END = full read" same heap.opf
rec sample.opf --heap-sample=4096 -- "$PROGS/heapthreads"
check "sampled heap: END = full read" same sample.opf
rec fork.opf --heap -- "$PROGS/heapthreads" fork
check "heap with fork: END = full read (parent)" same fork.opf
check "heap with fork: END = full read (child)" same "$(ls fork.opf.* | head -1)"
rec cpu.opf -F 999 -- "$PROGS/split" 2 4
check "CPU samples, 4 threads: END = full read" same cpu.opf
ONEPROF_WALL=1 rec wall.opf -- "$PROGS/split" 2 2
check "wall-clock samples: END = full read" same wall.opf
rec spans.opf --heap -- "$PROGS/spantree" truth.txt
check "spans and heap: END = full read" same spans.opf
rec mon.opf --monitor=50ms -- "$PROGS/labels" 0.05
check "monitor and labels: END = full read" same mon.opf

# What record printed is the END line's: samples, threads, heap counts.
printed() {
	cat heap.opf.err
	"$CT" summary heap.opf | sed -n 1p >s
	a=$(awk '{ for (i = 1; i < NF; i++) if ($i == "heap") print $(i + 2), $(i + 3) }' s)
	t=$(awk '{ for (i = 1; i < NF; i++) if ($i == "threads") print $(i + 1) }' s)
	n=$(awk '{ for (i = 1; i < NF; i++) if ($i == "samples") print $(i + 1) }' s)
	set -- $a
	grep -q "^oneprof: heap: $1 allocations and $2 frees recorded" heap.opf.err &&
		grep -q "^oneprof: wrote 'heap.opf': $n samples, $t threads, " heap.opf.err &&
		[ "$t" -ge 1001 ] && [ "$1" -ge 12000 ]
}
check "record prints the END record's numbers" printed

# A budget could have lowered the rate (in the series): a full read.
rec budget.opf --max-overhead=1 -- "$PROGS/split" 1 2
check "overhead budget: read in full" sh -c '"$1" summary budget.opf | grep -q "^full-fallback: "' _ "$CT"

# No END record: a full read, which warns, and the numbers of a full read.
head -c "$(($(wc -c <heap.opf) * 2 / 3))" heap.opf >cut.opf
cut_ok() {
	"$CT" summary cut.opf >s; cat s
	grep -q '^full-fallback: incomplete 1 ' s &&
		[ "$(sed -n 1p s | cut -d' ' -f2-)" = "$(sed -n 2p s | cut -d' ' -f2-)" ]
}
check "capture cut short: read in full, incomplete" cut_ok
finish
