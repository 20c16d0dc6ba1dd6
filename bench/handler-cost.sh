#!/bin/sh
# Cost of one CPU sample, in ns of the sampled thread's CPU time, at stack
# depths 16, 64 and 256, for code built with and without frame pointers
# (bench/handler_cost.c, built twice by `make bench`). Columns:
#   walk     unwind_walk() alone on a captured context, with the .eh_frame
#            tables of src/unwind (median of 3 runs)
#   handler  oneprof's handler body: walk, ring write, the two clock reads
#            (= kill - empty)
#   kill     the program sends itself the signal (tgkill) under `oneprof
#            record`: system call, signal delivery, oneprof's handler,
#            sigreturn (median of PAIRS runs)
#   empty    the same round trip into an empty handler
#   sample   a real sample under `oneprof record -F HZ`, all of it: timer
#            interrupt, signal delivery, handler, return, caches refilled
#   signal   the same with an empty handler on the same kind of timer (a
#            task-clock perf event raising SIGPROF): sample - signal is
#            oneprof's own share
#   timer    the same perf event without a signal: the timer interrupt
#            alone (what an in-kernel sampler such as perf pays at least)
# sample, signal and timer come from PAIRS pairs of windows of fixed work
# inside one process, sampling off in one and on in the other: (CPU on -
# CPU off) / samples in the window, median over the pairs; lo-hi is the
# interquartile range of sample, the noise.
# Also printed: the one clock_gettime(CLOCK_THREAD_CPUTIME_ID) system call
# the handler makes per sample, and CLOCK_MONOTONIC (the vDSO, its
# timestamp).
#
# Usage: bench/handler-cost.sh [PAIRS] [HZ]   (defaults: 30 pairs, 999 Hz)
#   WORK (env, default 50000000): iterations of fixed work in a window
#   (about 60 ms); KILLS (env, default 100000): signals a kill run
# Absolute numbers depend on the machine: in a VM, and worse under nested
# virtualization, a timer interrupt and an interprocessor interrupt cost far
# more than on bare metal. The windows cancel the drift of a shared
# machine, not its noise: compare rows within one run.
set -u
cd "$(dirname "$0")/.."
PAIRS=${1:-30}
HZ=${2:-999}
WORK=${WORK:-50000000}
KILLS=${KILLS:-100000}
B=build
make -s bench >/dev/null || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# val KEY LINE: the value of KEY=... in a key=value line.
val() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# record ARGS...: the program under oneprof; its stdout line on stdout.
# The ring holds a kill run's samples, so none is dropped.
record() {
	ONEPROF_MAX_DEPTH=1024 ONEPROF_RING_SIZE=64M "$B/oneprof" record -o "$T/o.opf" "$@" \
		2>"$T/err" || { cat "$T/err" >&2; return 1; }
}
lost() { "$B/oneprof" report "$T/o.opf" | awk '/Lost samples:/ { for (i = 1; i < NF; i++) if ($i == "samples:") print $(i + 1) }'; }

for i in 1 2 3; do "$B/bench/handler-cost-fp" clock 2000000; done >"$T/clock"
cput=$(awk '{ split($1, a, "="); print a[2] }' "$T/clock" | median)
mono=$(awk '{ split($2, a, "="); print a[2] }' "$T/clock" | median)

printf 'ns per sample at %s Hz; %s window pairs of %s iterations; kill runs of %s signals\n' \
	"$HZ" "$PAIRS" "$WORK" "$KILLS"
printf 'clock_gettime: CLOCK_THREAD_CPUTIME_ID %.0f ns (system call, once a sample), CLOCK_MONOTONIC %.0f ns (vDSO)\n\n' \
	"$cput" "$mono"
printf '%5s %5s %6s %7s %8s %7s %7s %8s %13s %7s %7s\n' depth build frames walk handler kill empty \
	sample lo-hi signal timer
for build in fp nofp; do
	P="$B/bench/handler-cost-$build"
	for depth in 16 64 256; do
		for i in 1 2 3; do "$P" walk "$depth" 20000; done >"$T/walk"
		frames=$(val frames "$(head -n 1 "$T/walk")")
		walk=$(while read -r l; do val walk_ns "$l"; done <"$T/walk" | median)
		# Kill: an empty handler, then oneprof's (its own timer at 1 Hz).
		: >"$T/kill"
		: >"$T/empty"
		for i in 1 2 3; do
			e=$("$P" raise "$depth" "$KILLS") || exit 1
			k=$(record -F 1 -- "$P" raise "$depth" "$KILLS") || exit 1
			if [ "$(val handler "$k")" != installed ] || [ "$(lost)" != 0 ]; then
				echo "handler-cost.sh: oneprof did not sample every signal of the kill run" >&2
				exit 1
			fi
			val raise_cpu_ns "$e" >>"$T/empty"
			val raise_cpu_ns "$k" >>"$T/kill"
		done
		kill=$(median <"$T/kill")
		empty=$(median <"$T/empty")
		s=$(record -F "$HZ" -- "$P" ab "$depth" "$PAIRS" "$WORK" oneprof "$HZ") || exit 1
		g=$("$P" ab "$depth" "$PAIRS" "$WORK" signal "$HZ") || exit 1
		t=$("$P" ab "$depth" "$PAIRS" "$WORK" timer "$HZ") || exit 1
		printf '%5s %5s %6s %7.0f %8.0f %7.0f %7.0f %8s %6s-%-6s %7s %7s\n' "$depth" "$build" \
			"$frames" "$walk" "$(awk -v k="$kill" -v e="$empty" 'BEGIN { print k - e }')" \
			"$kill" "$empty" "$(val sample_ns "$s")" "$(val sample_ns_q1 "$s")" \
			"$(val sample_ns_q3 "$s")" "$(val sample_ns "$g")" "$(val sample_ns "$t")"
	done
done
cat <<'EOF'

frames: frames a sample walks (the recursion, main, libc's start, _start).
handler = kill - empty: what oneprof's handler adds to a bare signal.
sample - signal: oneprof's share of a real sample; signal - timer: the
delivery of a timer's signal (perf's overflow work, the interrupt that
sends the signal, the signal frame, sigreturn); timer: the interrupt alone.
EOF
