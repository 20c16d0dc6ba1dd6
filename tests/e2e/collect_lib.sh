# Helpers of the perf_event collector tests (t130..t133), sourced after
# lib.sh.

# collect_skip: prints the reason and returns 0 when this machine cannot
# run perf_event sampling (no perf_event_open, or not permitted): the
# tests then skip, since that is a missing kernel feature.
collect_skip() {
	if [ ! -e /proc/sys/kernel/perf_event_paranoid ]; then
		echo "skip: the kernel has no perf_event support (no /proc/sys/kernel/perf_event_paranoid)"
		return 0
	fi
	if ! "$ONEPROF" record -p $$ --duration 0.1 -o "$TMP/probe.opf" >"$TMP/probe.out" 2>&1; then
		echo "skip: perf_event sampling is not available here: $(head -1 "$TMP/probe.out")"
		return 0
	fi
	return 1
}

# start_bg OUT PROG ARGS...: starts PROG in the background with its
# stdout in OUT, waits until it printed its first line; its pid in BG_PID.
start_bg() {
	out=$1
	shift
	"$@" >"$out" 2>&1 &
	BG_PID=$!
	i=0
	while [ ! -s "$out" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# thread_samples REPORT NAME: samples of the thread called NAME in the
# report's thread table (empty when it is not listed).
thread_samples() {
	awk -v n="$2" '$2 == n && $1 ~ /^[0-9]+$/ { print $3; exit }' "$1"
}
