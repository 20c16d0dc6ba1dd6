#!/bin/sh
# DWARF call graphs out of process, side by side in one run: the
# known-split workload built without frame pointers (split-nofp, 2
# threads) recorded by 'oneprof record --perf --call-graph dwarf' and by
# 'perf record --call-graph dwarf', same event (cpu-clock), same rate,
# same stack copy (8192 bytes, both tools' default). Reported per tool:
#   samples      samples kept (oneprof: the report's Samples line; perf:
#                the sum of perf report's per-symbol sample counts)
#   bytes        size of the capture (oneprof) or of perf.data
#   B/sample     bytes over samples: perf keeps each sample's stack copy,
#                oneprof unwinds it at record time and keeps the pcs
#   tool-cpu     CPU seconds of the collector's own process: user+sys of
#                the whole command (/usr/bin/time: the recorder and the
#                workload it waited for) minus the workload's own CPU time
#                (it prints cpu_ns at its end; the kernel's sampling and
#                stack-copy work is charged to it, not to the collector).
#                perf's includes its build-id pass at the end.
#   us/sample    tool-cpu over samples
#   split        work_50/work_30/work_20 flat% each tool reports (truth
#                50/30/20); perf: perf report --no-children -g none
#                --sort sym
#   callers      the share of samples whose stack reaches thread_main
#                (oneprof: its cum%; perf: perf report --children)
# oneprof-fp, the same recording with --call-graph fp, is the collector's
# baseline: the difference is the cost of draining and unwinding the
# copies (and, on this build, the callers fp loses).
# then the ratios oneprof/perf. One run: the machine is shared and noisy.
#
# Usage: bench/collect-dwarf.sh [HZ] [ROUNDS]
#   HZ      sampling rate (default 999, lowered to what
#           kernel.perf_event_max_sample_rate allows)
#   ROUNDS  rounds a thread of split-nofp (default 20: about 4 s of CPU a
#           thread)
# Needs: make (build/), root or kernel.perf_event_paranoid <= 0,
# linux-perf.
set -u
cd "$(dirname "$0")/.."
B=build
case ${1:-} in -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
HZ=${1:-999}
ROUNDS=${2:-20}
make -s all "$B/tests/progs/split-nofp" >/dev/null || exit 1
max=$(cat /proc/sys/kernel/perf_event_max_sample_rate 2>/dev/null || echo "$HZ")
[ "$HZ" -gt "$max" ] && HZ=$max
PROG=$B/tests/progs/split-nofp
ONEPROF=$B/oneprof
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if ! command -v perf >/dev/null 2>&1; then
	echo "collect-dwarf.sh: perf is not installed (Debian: apt-get install linux-perf)" >&2
	exit 1
fi
if ! command -v /usr/bin/time >/dev/null 2>&1; then
	echo "collect-dwarf.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2
	exit 1
fi

# tool_cpu TIMEFILE OUT: user+sys of the command minus the workload's CPU.
tool_cpu() {
	awk -v w="$(awk '/^cpu_ns/ { print $2 / 1e9 }' "$2")" \
		'/^time / { printf "%.3f", $2 + $3 - w }' "$1"
}

echo "workload: $PROG $ROUNDS 2 (no frame pointers), $HZ Hz cpu-clock, 8192-byte stack copies"

/usr/bin/time -f "time %U %S %e" -o "$TMP/o.time" \
	"$ONEPROF" record --perf --call-graph dwarf -F "$HZ" -o "$TMP/o.opf" -- \
	"$PROG" "$ROUNDS" 2 >"$TMP/o.out" 2>"$TMP/o.rec" || { cat "$TMP/o.rec"; exit 1; }
"$ONEPROF" report -n 0 "$TMP/o.opf" >"$TMP/o.report" 2>&1
o_samples=$(awk '/^Samples:/ { print $2 }' "$TMP/o.report")
o_bytes=$(wc -c <"$TMP/o.opf")
o_cpu=$(tool_cpu "$TMP/o.time" "$TMP/o.out")
o_split=$(awk '$6 ~ /^work_(50|30|20)$/ { sub("%", "", $2); v[$6] = $2 }
	END { printf "%s/%s/%s", v["work_50"], v["work_30"], v["work_20"] }' "$TMP/o.report")
o_callers=$(awk '$6 == "thread_main" { sub("%", "", $5); print $5; exit }' "$TMP/o.report")
o_lost=$(sed -n 's/.*Lost samples: \([0-9]*\).*/\1/p' "$TMP/o.report")

# The collector's baseline: the same recording with frame-pointer stacks
# (no copies to drain and unwind; callers lost on this build).
/usr/bin/time -f "time %U %S %e" -o "$TMP/f.time" \
	"$ONEPROF" record --perf --call-graph fp -F "$HZ" -o "$TMP/f.opf" -- \
	"$PROG" "$ROUNDS" 2 >"$TMP/f.out" 2>"$TMP/f.rec" || { cat "$TMP/f.rec"; exit 1; }
"$ONEPROF" report -n 0 "$TMP/f.opf" >"$TMP/f.report" 2>&1
f_samples=$(awk '/^Samples:/ { print $2 }' "$TMP/f.report")
f_bytes=$(wc -c <"$TMP/f.opf")
f_cpu=$(tool_cpu "$TMP/f.time" "$TMP/f.out")
f_split=$(awk '$6 ~ /^work_(50|30|20)$/ { sub("%", "", $2); v[$6] = $2 }
	END { printf "%s/%s/%s", v["work_50"], v["work_30"], v["work_20"] }' "$TMP/f.report")
f_callers=$(awk '$6 == "thread_main" { sub("%", "", $5); print $5; exit }' "$TMP/f.report")
f_lost=$(sed -n 's/.*Lost samples: \([0-9]*\).*/\1/p' "$TMP/f.report")

/usr/bin/time -f "time %U %S %e" -o "$TMP/p.time" \
	perf record -q -e cpu-clock --call-graph dwarf,8192 -F "$HZ" -o "$TMP/p.data" -- \
	"$PROG" "$ROUNDS" 2 >"$TMP/p.out" 2>"$TMP/p.rec" || { cat "$TMP/p.rec"; exit 1; }
perf report -i "$TMP/p.data" --stdio --no-children -g none --sort sym -n \
	>"$TMP/p.report" 2>/dev/null
perf report -i "$TMP/p.data" --stdio --children -g none --sort sym \
	>"$TMP/p.children" 2>/dev/null
p_samples=$(awk '/^#/ || NF < 3 { next } $2 ~ /^[0-9]+$/ { s += $2 } END { print s + 0 }' \
	"$TMP/p.report")
p_bytes=$(wc -c <"$TMP/p.data")
p_cpu=$(tool_cpu "$TMP/p.time" "$TMP/p.out")
p_split=$(awk '/^#/ { next } $NF ~ /^work_(50|30|20)$/ { sub("%", "", $1); v[$NF] = $1 }
	END { printf "%s/%s/%s", v["work_50"], v["work_30"], v["work_20"] }' "$TMP/p.report")
p_callers=$(awk '/^#/ { next } $NF == "thread_main" { sub("%", "", $1); print $1; exit }' \
	"$TMP/p.children")
p_lost=$(perf report -i "$TMP/p.data" --stdio --stats 2>/dev/null |
	awk '/LOST_SAMPLES|^ *LOST / { s += $NF } END { print s + 0 }')

printf '\n%-10s %8s %10s %9s %9s %9s %15s %8s %6s\n' tool samples bytes B/sample \
	tool-cpu us/sample split callers lost
row() {
	awk -v t="$1" -v s="$2" -v b="$3" -v c="$4" -v sp="$5" -v cl="$6" -v l="$7" 'BEGIN {
		printf "%-10s %8d %10d %9.1f %8.3fs %9.1f %15s %7s%% %6s\n", t, s, b,
			s ? b / s : 0, c, s ? c * 1e6 / s : 0, sp, cl, l }'
}
row oneprof "$o_samples" "$o_bytes" "$o_cpu" "$o_split" "${o_callers:-0}" "${o_lost:-0}"
row oneprof-fp "$f_samples" "$f_bytes" "$f_cpu" "$f_split" "${f_callers:-0}" "${f_lost:-0}"
row perf "$p_samples" "$p_bytes" "$p_cpu" "$p_split" "${p_callers:-0}" "${p_lost:-0}"
awk -v os="$o_samples" -v ob="$o_bytes" -v oc="$o_cpu" -v ps="$p_samples" -v pb="$p_bytes" \
	-v pc="$p_cpu" 'BEGIN {
	obs = os ? ob / os : 0; pbs = ps ? pb / ps : 0
	rb = pbs ? obs / pbs : 0; xb = obs ? pbs / obs : 0
	rc = pc > 0 ? oc / pc : 0
	rs = (pc > 0 && os && ps) ? (oc / os) / (pc / ps) : 0
	printf "\nratios oneprof/perf: bytes per sample %.5f (perf %.0fx larger), ", rb, xb
	printf "collector CPU %.2f (per sample %.2f)\n", rc, rs
	met = (pbs && obs <= pbs / 10) ? "met" : "NOT met"
	printf "target (issue 9): oneprof bytes per sample at most a tenth of perf'"'"'s: %s\n", met
}'
