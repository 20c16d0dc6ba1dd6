#!/bin/bash
# Heap profiler overhead and accuracy, side by side in one run: two
# workloads plain and under oneprof's heap profiler (every allocation, and
# sampled), heaptrack, gperftools' heap profiler and valgrind's massif, as
# interleaved pairs.
#
# Workloads:
#   churn   bench/heap_churn.c: 2 threads building and tearing down hash
#           tables, lists and realloc-grown strings (16..4096 bytes), with
#           exactly known ground truth, which it prints (the "truth" rows)
#   sqlite  Debian's sqlite3 shell running bench/sqlite-workload.sh's
#           script on an in-memory database (200,000 single-row INSERTs in
#           transactions, two indexes, UPDATE, DELETE, aggregates, LIKE
#           scans): a real program, no ground truth
#
# Each pair is one plain run next to one profiled run of the same command
# (which goes first alternates, so a drift of the machine cancels); each
# tool gets PAIRS pairs a workload. Reported per tool, medians over its
# pairs:
#   size       rounds (churn) or rows (sqlite) the tool's pairs ran: the
#              slow tools run a smaller workload (massif a tenth, gperftools
#              a fiftieth) so that a run stays in minutes, and their plain
#              halves run the same smaller size
#   plain-s    wall seconds of the plain runs; tool-s of the profiled ones
#   slowdown   profiled wall over plain wall, the median of the pairs
#   range      lowest and highest per-pair slowdown: the noise
#   cpu-x      user+sys CPU of the whole command (the tool's own helper
#              processes included: heaptrack's interpreter and compressor)
#              over the plain run's
#   allocs, peak, leaked
#              what the tool itself reports, from its last run: calls to
#              allocation functions, the peak of live heap bytes, bytes
#              not freed at exit ("-" where it does not say). heaptrack
#              prints rounded units (K = 1000). gperftools records no peak;
#              massif counts neither calls nor leaks.
# Absolute times mean nothing on a shared machine: compare ratios within
# one run.
#
# Usage: bench/heap-overhead.sh [--quick] [--tools LIST] [--workloads LIST]
#                               [--prog PATH] [--limit SECONDS] [PAIRS]
#   PAIRS       pairs a tool and workload (default 5; 1 with --quick)
#   --quick     small sizes (churn 60 rounds, sqlite 10,000 rows): a smoke
#               test in under a minute
#   --tools     comma-separated subset of plain,oneprof,oneprof-sample,
#               heaptrack,gperftools,massif (default all)
#   --workloads comma-separated subset of churn,sqlite (default both)
#   --prog      another build of the churn workload, e.g.
#               build/bench/heap-churn-nofp (no frame pointers)
#   --limit     seconds a single run may take before it is killed and the
#               tool reported as timed out (default 600)
# Needs: make (build/), heaptrack, google-perftools (libtcmalloc.so),
# valgrind, sqlite3. Missing peers are skipped with a note; a tool that
# fails prints "TOOL: failed (see LOG)", keeps its log, and the run goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
B=build
TOOLS=plain,oneprof,oneprof-sample,heaptrack,gperftools,massif
WORKLOADS=churn,sqlite
QUICK=0
LIMIT=600
PROG=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; shift ;;
	--tools) TOOLS=$2; shift 2 ;;
	--workloads) WORKLOADS=$2; shift 2 ;;
	--prog) PROG=$2; shift 2 ;;
	--limit) LIMIT=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "heap-overhead.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ "$QUICK" = 1 ]; then
	PAIRS=${1:-1}
	CHURN_ROUNDS=60
	SQL_ROWS=10000
else
	PAIRS=${1:-5}
	CHURN_ROUNDS=1500
	SQL_ROWS=200000
fi
# The slow tools' share of the full size: massif runs every thread on one
# core through valgrind's JIT; gperftools takes a global lock and records
# a stack for every call.
MASSIF_DIV=10
GPERF_DIV=50

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# Build: `make bench` builds the CLI and both builds of the workload. The
# CLI may be mid-change; the workload needs nothing of it, so fall back to
# compiling it alone rather than give up on the peers.
if [ -z "$PROG" ]; then
	PROG=$B/bench/heap-churn
	if ! make -s bench >"$T/make.log" 2>&1; then
		echo "note: make bench failed ($(tail -n 1 "$T/make.log")); building the workload alone" >&2
		PROG=$T/heap-churn
		cc -std=gnu11 -O2 -g -fno-omit-frame-pointer -pthread -o "$PROG" bench/heap_churn.c
	fi
fi
ONEPROF=$REPO/$B/oneprof
TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc.so
[ -e "$TCMALLOC" ] || TCMALLOC=$(ls /usr/lib/*/libtcmalloc.so.4 2>/dev/null | head -n 1 || true)

want() { case ",$TOOLS," in *",$1,"*) return 0 ;; esac; return 1; }
drop() { TOOLS=$(echo ",$TOOLS," | sed "s/,$1,/,/; s/^,//; s/,\$//"); }
if { want oneprof || want oneprof-sample; } && [ ! -x "$ONEPROF" ]; then
	echo "oneprof skipped: $B/oneprof not built" >&2
	drop oneprof
	drop oneprof-sample
fi
if want heaptrack && ! command -v heaptrack_print >/dev/null; then
	echo "heaptrack skipped: install heaptrack" >&2
	drop heaptrack
fi
if want gperftools && [ -z "$TCMALLOC" ]; then
	echo "gperftools skipped: install libgoogle-perftools4 (libtcmalloc.so)" >&2
	drop gperftools
fi
if want massif && ! command -v valgrind >/dev/null; then
	echo "massif skipped: install valgrind" >&2
	drop massif
fi
case ",$WORKLOADS," in *,sqlite,*)
	if ! command -v sqlite3 >/dev/null; then
		echo "sqlite workload skipped: install sqlite3" >&2
		WORKLOADS=$(echo ",$WORKLOADS," | sed 's/,sqlite,/,/; s/^,//; s/,$//')
	fi
esac

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# size WORKLOAD TOOL: the rounds or rows TOOL's pairs run.
size() {
	local full=$CHURN_ROUNDS div=1
	[ "$1" = sqlite ] && full=$SQL_ROWS
	case $2 in
	massif) div=$MASSIF_DIV ;;
	gperftools) div=$GPERF_DIV ;;
	esac
	echo $(((full + div - 1) / div))
}

# command WORKLOAD SIZE: the workload's command line into CMD. The SQL
# script is generated once a size and read by the shell's .read, so the
# profiled process is sqlite3 itself (no shell in between).
command_of() {
	if [ "$1" = churn ]; then
		CMD=("$PROG" -t 2 -n "$2")
		return
	fi
	[ -e "$T/sql.$2" ] || bash bench/sqlite-workload.sh "$2" >"$T/sql.$2"
	CMD=(sqlite3 :memory: ".read $T/sql.$2")
}

# cpu_children FILE: user+sys seconds of all waited-for children so far
# into FILE, from bash's `times` (millisecond resolution, where
# /usr/bin/time has 10 ms: the slow tools' small plain runs take a few ms).
# Not in $(...): a subshell's `times` counts its own children only.
cpu_children() {
	times >"$1.times"
	awk 'NR == 2 { split($0, f, /[ ms]+/); print f[1] * 60 + f[2] + f[3] * 60 + f[4] }' "$1.times" >"$1"
}

# measure OUT COMMAND...: "wall cpu" seconds into OUT, cpu being the
# rusage of the command and every descendant it waited for (the tool's
# helper processes included); the command's output in $T/stdout and
# $T/stderr. Returns the command's status (124: killed after LIMIT s).
measure() {
	local out=$1 rc=0 t0 t1
	shift
	cpu_children "$T/c0"
	t0=$EPOCHREALTIME
	timeout "$LIMIT" "$@" >"$T/stdout" 2>"$T/stderr" || rc=$?
	t1=$EPOCHREALTIME
	cpu_children "$T/c1"
	[ "$rc" = 0 ] || return "$rc"
	echo "$t0 $t1 $(cat "$T/c0") $(cat "$T/c1")" | awk '{ printf "%.4f %.4f\n", $2 - $1, $4 - $3 }' >"$out"
}

# bytes: "1.63M" (heaptrack's units, 1000-based) to bytes.
bytes() {
	awk '{ v = $1; u = substr(v, length(v)); m = 1
		if (u == "K") m = 1e3; else if (u == "M") m = 1e6; else if (u == "G") m = 1e9
		if (m > 1 || u == "B") v = substr(v, 1, length(v) - 1)
		printf "%.0f\n", v * m }'
}

# oneprof_nums REPORT: "allocs peak leaked" from the summary lines of
# `oneprof report --heap` (estimates in sampled mode: a "~" or a decimal
# point, and thousands separators, are accepted).
oneprof_nums() {
	sed 's/\([0-9]\),\([0-9]\)/\1\2/g; s/~//g' "$1" | awk '
		/^ *heap: / { a = $2 }
		/^ *heap peak: / { p = $3 }
		/^ *heap leaked: / { l = $3 }
		END { printf "%s %s %s\n", a == "" ? "-" : a, p == "" ? "-" : p, l == "" ? "-" : l }'
}

# profiled TOOL: one profiled run of CMD, then the tool's own numbers,
# "allocs peak leaked", into $T/nums.
profiled() {
	local f
	case $1 in
	oneprof | oneprof-sample)
		local mode=--heap
		[ "$1" = oneprof-sample ] && mode=--heap-sample
		rm -f "$T/o.opf"
		measure "$T/run" "$ONEPROF" record "$mode" -o "$T/o.opf" -- "${CMD[@]}" || return $?
		"$ONEPROF" report --heap "$T/o.opf" >"$T/report" 2>>"$T/stderr" || return $?
		oneprof_nums "$T/report" >"$T/nums"
		;;
	heaptrack)
		rm -f "$T"/ht.*
		measure "$T/run" heaptrack -o "$T/ht" "${CMD[@]}" || return $?
		f=$(ls "$T"/ht.* 2>/dev/null | head -n 1)
		[ -n "$f" ] || { echo "no heaptrack output" >>"$T/stderr"; return 1; }
		# The summary alone: no call trees.
		heaptrack_print --print-peaks=0 --print-allocators=0 --print-temporary=0 --print-leaks=0 -f "$f" >"$T/report" 2>>"$T/stderr" || return $?
		{
			awk -F': ' '/^calls to allocation functions:/ { split($2, a, " "); print a[1] }' "$T/report"
			awk -F': ' '/^peak heap memory consumption:/ { print $2 }' "$T/report" | bytes
			awk -F': ' '/^total memory leaked:/ { print $2 }' "$T/report" | bytes
		} | paste -sd ' ' >"$T/nums"
		;;
	gperftools)
		# The dump at exit ("Exiting") is the last one. Its header is
		# "heap profile: INUSE_OBJS: INUSE_BYTES [ALLOC_OBJS: ALLOC_BYTES]",
		# the totals google-pprof --alloc_objects and --inuse_space print.
		rm -f "$T"/gp.*
		measure "$T/run" env LD_PRELOAD="$TCMALLOC" HEAPPROFILE="$T/gp" "${CMD[@]}" || return $?
		f=$(ls "$T"/gp.*.heap 2>/dev/null | sort | tail -n 1)
		[ -n "$f" ] || { echo "no heap dump" >>"$T/stderr"; return 1; }
		head -n 1 "$f" | tr -d '[]:' | awk '{ print $5, "-", $4 }' >"$T/nums"
		;;
	massif)
		rm -f "$T/massif.out"
		measure "$T/run" valgrind --tool=massif --massif-out-file="$T/massif.out" "${CMD[@]}" || return $?
		awk -F= '/^mem_heap_B=/ { if ($2 + 0 > m) m = $2 + 0 } END { print "-", m + 0, "-" }' \
			"$T/massif.out" >"$T/nums"
		;;
	esac
}

# fail TOOL RC: keep the failed run's output where the reader can find it.
fail() {
	local log
	log=$(mktemp "${TMPDIR:-/tmp}/heap-overhead-$1.XXXXXX")
	{ echo "command: ${CMD[*]}"; cat "$T/stdout" "$T/stderr"; } >"$log" 2>/dev/null || true
	if [ "$2" = 124 ]; then
		echo "$1: timed out after ${LIMIT}s (see $log)" >&2
		echo "timed-out" >"$T/$1.status"
	else
		echo "$1: failed (see $log)" >&2
		echo "failed" >"$T/$1.status"
	fi
}

# plain_run: a plain run of CMD into $T/plain; for churn, keeps its ground
# truth line by size.
plain_run() {
	measure "$T/plain" "${CMD[@]}" || { echo "plain run failed: ${CMD[*]}: $(tail -n 2 "$T/stderr")" >&2; exit 1; }
	grep '^heap_churn:' "$T/stderr" >"$T/truth.$SIZE" || true
}

row() { printf '%-15s %7s %8s %8s %8s %13s %6s %10s %17s %9s\n' "$@"; }

echo "heap profiler overhead: $PAIRS pair(s) a tool and workload; slowdown = profiled wall over"
echo "plain wall, median of the pairs; numbers are what each tool reports of its last run"
for W in $(echo "$WORKLOADS" | tr ',' ' '); do
	: >"$T/plain.all"
	rm -f "$T"/truth.* "$T"/*.pairs "$T"/*.nums "$T"/*.status
	for tool in $(echo "$TOOLS" | tr ',' ' '); do
		[ "$tool" = plain ] && continue
		SIZE=$(size "$W" "$tool")
		command_of "$W" "$SIZE"
		: >"$T/$tool.pairs"
		for pair in $(seq "$PAIRS"); do
			rc=0
			if [ $((pair % 2)) = 1 ]; then
				plain_run
				profiled "$tool" || rc=$?
			else
				profiled "$tool" || rc=$?
				[ "$rc" != 0 ] || plain_run
			fi
			if [ "$rc" != 0 ]; then
				fail "$tool" "$rc"
				break
			fi
			[ "$SIZE" != "$(size "$W" plain)" ] || cat "$T/plain" >>"$T/plain.all"
			# wall cpu (plain) wall cpu (profiled)
			echo "$(cat "$T/plain") $(cat "$T/run")" >>"$T/$tool.pairs"
			cp "$T/nums" "$T/$tool.nums"
		done
	done
	# Full-size plain runs for the plain row when no tool made any (all
	# skipped, or --tools plain).
	if [ ! -s "$T/plain.all" ]; then
		SIZE=$(size "$W" plain)
		command_of "$W" "$SIZE"
		for pair in $(seq "$PAIRS"); do
			plain_run
			cat "$T/plain" >>"$T/plain.all"
		done
	fi

	command_of "$W" "$(size "$W" plain)"
	printf '\n%s: %s\n' "$W" "${CMD[*]}" | sed "s|$T/|\$TMP/|"
	row tool size plain-s tool-s slowdown range cpu-x allocs peak leaked
	if want plain; then
		row plain "$(size "$W" plain)" "$(awk '{ print $1 }' "$T/plain.all" | median | xargs printf %.3f)" \
			- 1.00 - 1.00 - - -
	fi
	for f in $(ls "$T"/truth.* 2>/dev/null | awk -F. '{ print $NF, $0 }' | sort -n | cut -d' ' -f2); do
		# The workload's own count, by size: the exact peak lies between
		# the bounds.
		awk -v size="${f##*.}" '{
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "%-15s %7s %8s %8s %8s %13s %6s %10s %17s %9s\n", "truth", size, "-", "-", "-", "-", "-",
				v["allocations"], v["peak_bytes_lower_bound"] "-" v["peak_bytes_upper_bound"], v["leaked_bytes"]
		}' "$f"
	done
	for tool in $(echo "$TOOLS" | tr ',' ' '); do
		[ "$tool" = plain ] && continue
		f="$T/$tool.pairs"
		if [ ! -s "$f" ]; then
			row "$tool" "$(size "$W" "$tool")" - - - "$(cat "$T/$tool.status" 2>/dev/null || echo -)" - - - -
			continue
		fi
		pw=$(awk '{ print $1 }' "$f" | median)
		tw=$(awk '{ print $3 }' "$f" | median)
		slow=$(awk '{ print $3 / $1 }' "$f" | median)
		lo=$(awk '{ print $3 / $1 }' "$f" | sort -g | head -n 1)
		hi=$(awk '{ print $3 / $1 }' "$f" | sort -g | tail -n 1)
		cpu=$(awk '{ print $4 / $2 }' "$f" | median)
		read -r allocs peak leaked <"$T/$tool.nums"
		row "$tool" "$(size "$W" "$tool")" "$(printf %.3f "$pw")" "$(printf %.3f "$tw")" \
			"$(printf %.2f "$slow")" "$(printf '%.2f-%.2f' "$lo" "$hi")" "$(printf %.2f "$cpu")" \
			"$allocs" "$peak" "$leaked"
	done
done
