#!/bin/sh
# CPU profiler overhead and sample yield, side by side in one run: the
# known-split workload (tests/progs/split.c) plain and under oneprof,
# perf record -g and gperftools' CPU profiler, as interleaved pairs.
#
# Each pair is one plain run next to one profiled run (which goes first
# alternates from pair to pair, so a drift of the machine cancels); each
# tool gets PAIRS pairs at each rate. Reported per tool, medians over its
# pairs:
#   cpu        user+sys CPU of the whole profiled command over the plain
#              run's: everything the user pays, the tool's own processes
#              included (perf record's process reading its buffers and
#              collecting build-ids at the end; oneprof's CLI waiting and
#              printing its summary). /usr/bin/time's %U+%S: the rusage of
#              the command and every descendant it waited for.
#   work       CPU of the profiled process alone over the plain one's, as
#              the workload reports it at its end (CLOCK_PROCESS_CPUTIME_ID):
#              in-process profilers (oneprof's handler and writer thread,
#              gperftools) and the kernel's sampling work charged to it
#              (perf's interrupts and stack copies), without perf's or
#              oneprof's own process.
#   tool-s     seconds of CPU outside the profiled process: total minus
#              work, less the same for the plain run (perf's process, the
#              oneprof CLI).
#   range      lowest and highest per-pair cpu ratio: the noise.
#   samples    samples the tool kept, against rate x the CPU time it
#              sampled (work): yield. A tool that loses samples (gperftools'
#              process-wide timer) shows it here.
# Absolute times mean nothing on a shared machine: compare ratios within
# one run.
#
# Usage: bench/cpu-overhead.sh [-t THREADS] [--tools LIST] [--prog PATH]
#                              [HZ[,HZ...]] [ROUNDS] [PAIRS]
#   HZ      sampling rate(s), comma-separated (default 99,999)
#   ROUNDS  rounds a thread of split (default 10: about 2 s of CPU a thread)
#   PAIRS   pairs a tool and rate (default 5; the issue quotes at least 5)
#   -t N    threads of split (default 2)
#   --tools comma-separated subset of oneprof,perf,gperftools (default all)
#   --prog  another build of the workload, e.g. build/tests/progs/split-nofp
# Needs: make (build/), linux-perf, google-perftools (libprofiler.so,
# google-pprof). Missing peers are skipped with a note.
set -u
cd "$(dirname "$0")/.."
B=build
THREADS=2
TOOLS=oneprof,perf,gperftools
PROG="$B/tests/progs/split"
while [ $# -gt 0 ]; do
	case $1 in
	-t | --threads) THREADS=$2; shift 2 ;;
	--tools) TOOLS=$2; shift 2 ;;
	--prog) PROG=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "cpu-overhead.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
RATES=${1:-99,999}
ROUNDS=${2:-10}
PAIRS=${3:-5}
W="$PROG $ROUNDS $THREADS"
make -s all "$B/tests/progs/split" "$B/tests/progs/split-nofp" >/dev/null || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

LIBPROFILER=$(ls /usr/lib/*/libprofiler.so.0 2>/dev/null | head -n 1)
want() { case ",$TOOLS," in *",$1,"*) return 0 ;; esac; return 1; }
drop() { TOOLS=$(echo ",$TOOLS," | sed "s/,$1,/,/; s/^,//; s/,\$//"); }
if want perf && ! command -v perf >/dev/null; then
	echo "perf skipped: install linux-perf" >&2
	drop perf
fi
if want gperftools && { [ -z "$LIBPROFILER" ] || ! command -v google-pprof >/dev/null; }; then
	echo "gperftools skipped: install google-perftools (libprofiler.so, google-pprof)" >&2
	drop gperftools
fi

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure OUT COMMAND...: "wall total_cpu work_cpu" seconds into OUT. The
# workload prints "cpu_ns N", its own process CPU time at its end.
measure() {
	out=$1
	shift
	/usr/bin/time -f "%e %U %S" -o "$T/time" "$@" >"$T/stdout" 2>"$T/stderr" || {
		echo "failed: $*: $(tail -n 3 "$T/stderr")" >&2
		return 1
	}
	work=$(awk '$1 == "cpu_ns" { print $2 / 1e9 }' "$T/stdout")
	[ -n "$work" ] || { echo "no cpu_ns line from the workload: $*" >&2; return 1; }
	tail -n 1 "$T/time" | awk -v w="$work" '{ printf "%s %.4f %.4f\n", $1, $2 + $3, w }' >"$out"
}

# profiled TOOL HZ: one profiled run, then its sample count into $T/n.
profiled() {
	case $1 in
	oneprof)
		measure "$T/run" "$B/oneprof" record -F "$2" -o "$T/o.opf" -- $W || return 1
		"$B/oneprof" report "$T/o.opf" | awk '/^Samples:/ { print $2 }' >"$T/n"
		;;
	perf)
		measure "$T/run" perf record -q -F "$2" -g -o "$T/perf.data" -- $W || return 1
		perf script -i "$T/perf.data" -F tid 2>/dev/null | grep -c . >"$T/n"
		;;
	gperftools)
		measure "$T/run" env LD_PRELOAD="$LIBPROFILER" CPUPROFILE="$T/g.prof" \
			CPUPROFILE_FREQUENCY="$2" $W || return 1
		google-pprof --text "$PROG" "$T/g.prof" 2>/dev/null |
			awk '/^Total:/ { print $2 }' >"$T/n"
		;;
	esac
}

printf 'workload: %s (ROUNDS THREADS: each thread runs a 50/30/20 split); %s pairs a tool and rate\n' "$W" "$PAIRS"
echo "cpu = user+sys of the whole command (tool processes included), work = the profiled"
echo "process alone; both over the plain run of the same pair, median of the pairs."
for HZ in $(echo "$RATES" | tr ',' ' '); do
	: >"$T/plain.all"
	for tool in $(echo "$TOOLS" | tr ',' ' '); do
		: >"$T/$tool.pairs"
		for pair in $(seq "$PAIRS"); do
			if [ $((pair % 2)) = 1 ]; then
				measure "$T/plain" $W || exit 1
				profiled "$tool" "$HZ" || exit 1
			else
				profiled "$tool" "$HZ" || exit 1
				measure "$T/plain" $W || exit 1
			fi
			cat "$T/plain" >>"$T/plain.all"
			# wall total work (plain) wall total work (profiled) samples
			echo "$(cat "$T/plain") $(cat "$T/run") $(cat "$T/n")" >>"$T/$tool.pairs"
		done
	done
	pw=$(awk '{ print $1 }' "$T/plain.all" | median)
	pc=$(awk '{ print $2 }' "$T/plain.all" | median)
	printf '\n%s Hz: plain run %.2fs wall, %.2fs CPU (medians of %s runs)\n' "$HZ" "$pw" "$pc" \
		"$(grep -c . "$T/plain.all")"
	printf '%-11s %7s %7s %7s %13s %7s %8s %8s %6s\n' tool cpu work tool-s range wall samples expected yield
	for tool in $(echo "$TOOLS" | tr ',' ' '); do
		f="$T/$tool.pairs"
		cpu=$(awk '{ print $5 / $2 }' "$f" | median)
		work=$(awk '{ print $6 / $3 }' "$f" | median)
		tool_s=$(awk '{ print ($5 - $6) - ($2 - $3) }' "$f" | median)
		lo=$(awk '{ print $5 / $2 }' "$f" | sort -g | head -n 1)
		hi=$(awk '{ print $5 / $2 }' "$f" | sort -g | tail -n 1)
		wall=$(awk '{ print $4 / $1 }' "$f" | median)
		samples=$(awk '{ print $7 }' "$f" | median)
		expect=$(awk -v hz="$HZ" '{ print hz * $6 }' "$f" | median)
		yield=$(awk -v hz="$HZ" '{ print 100 * $7 / (hz * $6) }' "$f" | median)
		printf '%-11s %7.3f %7.3f %7.3f %6.3f-%6.3f %7.3f %8.0f %8.0f %5.1f%%\n' "$tool" "$cpu" "$work" \
			"$tool_s" "$lo" "$hi" "$wall" "$samples" "$expect" "$yield"
	done
done
