# The monitor's memory series (src/agent/monitor.c): a program that holds
# 10 MiB more every 0.3 s for 10 steps shows the steps in its resident
# memory and in its heap series, read back from the capture's METRIC
# records, and 'report --metrics' agrees.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
CT=$B/tests/capture-tool
MIB=1048576

record_steps() {
	"$ONEPROF" record --heap --monitor=100ms -o s.opf -- "$PROGS/memsteps" 10 10 300 \
		>out 2>err || { cat err; return 1; }
	grep -q '^step_bytes 10485760$' out || { cat out; return 1; }
}
check "memsteps recorded with --heap --monitor=100ms" record_steps

# series NAME: "time value" of every point of the METRIC series NAME.
series() {
	"$CT" records s.opf | awk -v n="$1" '$1 == 1 && $3 == n { id = $2 }
		$1 == 48 && $3 == id { print $2, $4 }'
}

# plateaus: the levels a step series holds, from "time value" lines: a
# new level where the value moved by more than 2 MiB. Prints each level
# (MiB, one decimal) where it was seen at least twice.
plateaus() {
	awk -v mib=$MIB '{ v = $2 / mib
		if (n && v - last < 2 && last - v < 2) { seen[n]++; last = v; next }
		n++; level[n] = v; seen[n] = 1; last = v }
		END { for (i = 1; i <= n; i++) if (seen[i] >= 2) printf "%.1f\n", level[i] }'
}

# steps NAME: at least 8 plateaus, each 10 MiB (± 1.5) above the one
# before; only the last may be lower (the program frees all at its end).
steps() {
	series "$1" | plateaus >levels
	echo "levels (MiB): $(tr '\n' ' ' <levels)"
	awk '{ l[++n] = $1 }
		END { up = 1
			for (i = 2; i <= n; i++) {
				d = l[i] - l[i - 1]
				if (d < 0 && i == n) break
				if (d < 8.5 || d > 11.5) { print "step of " d " MiB"; bad = 1 }
				up++
			}
			if (up < 8) { print up " increasing plateaus, want at least 8"; bad = 1 }
			exit bad }' levels
}
check "RSS series: >= 8 increasing plateaus 10 MiB apart" steps process_resident_memory_bytes

# The heap series counts every byte the program asked for: each plateau
# is a whole number of 10 MiB steps (plus the program's few small blocks).
heap_steps() {
	steps heap_allocated_bytes_total || return 1
	awk '{ k = $1 / 10; r = k - int(k + 0.5); if (r < 0) r = -r
		if (r > 0.01) { print $1 " MiB is not a multiple of 10 MiB"; bad = 1 } }
		END { exit bad }' levels
}
check "heap series: >= 8 plateaus, each a multiple of 10 MiB" heap_steps

# report --metrics: the peaks, in bytes.
report_peaks() {
	"$ONEPROF" report --metrics s.opf >rep 2>err || { cat err; return 1; }
	rss=$(awk '$1 == "process_resident_memory_bytes" { print $6 }' rep)
	live=$(awk '$1 == "heap_live_bytes" { print $6 }' rep)
	echo "max RSS $rss, max heap live $live"
	# 100 MiB held at once: the heap exactly (plus small blocks), RSS at
	# least that.
	awk -v r="$rss" -v l="$live" -v m=$MIB 'BEGIN {
		exit !(r >= 100 * m && l >= 100 * m && l < 100.5 * m) }'
}
check "report --metrics: max RSS >= 100 MiB, heap live max 100 MiB" report_peaks

finish
