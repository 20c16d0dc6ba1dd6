# The monitor's process series against what /proc told the program
# itself: a program with 4 threads of its own and 20 files open counts its
# threads (/proc/self/task) and fds (/proc/self/fd), the profiler's
# included, and holds still; the monitor must have seen the same numbers.
# Then the monitor's settings: bad values refused with one message.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# metric REPORT NAME COLUMN: a column of a series' row in report --metrics
# (3 samples, 4 min, 5 mean, 6 max, 7 last).
metric() {
	awk -v n="$2" -v c="$3" '$1 == n { print $c }' "$1"
}

equal() { # NAME GOT WANT
	[ "$2" = "$3" ] || { echo "$1: got '$2', want '$3'"; return 1; }
	echo "$1: $2"
}

threads_fds() {
	"$ONEPROF" record --monitor=50ms -o f.opf -- "$PROGS/monfds" 4 20 600 >out 2>err ||
		{ cat err; return 1; }
	"$ONEPROF" report --metrics f.opf >rep 2>err || { cat err; return 1; }
	want_threads=$(awk '$1 == "threads" { print $2 }' out)
	want_fds=$(awk '$1 == "fds" { print $2 }' out)
	# The program's 5 threads and the agent's writer and monitor.
	equal "threads the program saw" "$want_threads" 7 || return 1
	equal "process_threads max" "$(metric rep process_threads 6)" "$want_threads" || return 1
	# 0-2, the capture, 20 files and the agent's few: at least 23.
	[ "$want_fds" -ge 23 ] || { echo "the program saw $want_fds fds"; return 1; }
	equal "process_open_fds max" "$(metric rep process_open_fds 6)" "$want_fds"
}
check "process_threads and process_open_fds match /proc as the program saw it" threads_fds

# Series that are always there, with sane values.
sane() {
	for s in process_cpu_user_ns_total process_resident_memory_bytes \
		process_virtual_memory_bytes process_minor_faults_total \
		process_voluntary_context_switches_total system_load1_milli \
		system_cpu_ns_total system_memory_total_bytes oneprof_agent_cpu_ns_total \
		oneprof_sample_hz; do
		n=$(metric rep $s 3)
		[ -n "$n" ] && [ "$n" -ge 5 ] || { echo "$s: $n samples"; return 1; }
	done
	equal "sample rate" "$(metric rep oneprof_sample_hz 7)" 99 || return 1
	# Total memory is the machine's, from /proc/meminfo (kB).
	kb=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
	equal "system_memory_total_bytes" "$(metric rep system_memory_total_bytes 7)" $((kb * 1024))
}
check "every series sampled every 50 ms; memory total matches /proc/meminfo" sane

# No --monitor, no --heap: no series, and report --metrics says so.
no_monitor() {
	"$ONEPROF" record -o n.opf -- "$PROGS/monfds" 0 0 0 >out 2>err || { cat err; return 1; }
	expect_error "holds no time series; record it with 'oneprof record --monitor'" \
		"$ONEPROF" report --metrics n.opf
}
check "without --monitor: report --metrics explains" no_monitor

bad_settings() {
	expect_error "record: --monitor=5ms is not an interval from 10ms to 3600s" \
		"$ONEPROF" record --monitor=5ms -o b.opf -- true || return 1
	expect_error "record: --max-overhead=lots is not a percentage" \
		"$ONEPROF" record --max-overhead=lots -o b.opf -- true || return 1
	# The agent's own check: the program runs, unprofiled, with one message.
	ONEPROF_MONITOR=fast LD_PRELOAD="$B/liboneprof.so" ONEPROF_OUTPUT=b.opf \
		"$PROGS/monfds" 0 0 0 >out 2>err || { echo "program failed"; return 1; }
	cat err
	[ "$(wc -l <err)" = 1 ] && grep -q "ONEPROF_MONITOR='fast' is not 0, 1 or an interval" err
}
check "bad --monitor / --max-overhead / ONEPROF_MONITOR: one clear message" bad_settings

finish
