# Heap tracking against programs whose truth is known exactly
# (tests/progs/heapleak.c, heapodd.c, heapthreads.c): leaks to the byte,
# allocation counts per function, the peak within 1%, glibc's behaviour on
# odd input unchanged, a killed program's capture readable, fork, 1,000
# threads and dlopen/dlclose.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# truth FILE KEY: a key=value of the program's ground-truth line.
truth() {
	tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'
}

# by_leaf CAPTURE METRIC FUNCTION: the metric summed over the stacks whose
# leaf (the allocating function) is FUNCTION, from the folded export.
by_leaf() {
	"$ONEPROF" export "$1" --heap="$2" -f folded -o - 2>/dev/null |
		awk -v f="$3" '{ n = split($1, s, ";"); if (s[n] == f) sum += $2 } END { print sum + 0 }'
}

# report_field CAPTURE PREFIX N: the Nth word of the heap report line
# starting with PREFIX.
report_field() {
	"$ONEPROF" report --heap "$1" 2>/dev/null | awk -v p="$2" -v n="$3" 'index($0, p) == 1 { print $n; exit }'
}

equal() { # NAME GOT WANT
	[ "$2" = "$3" ] || { echo "$1: got $2, want $3"; return 1; }
	echo "$1: $2"
}

# peak_close CAPTURE TRUTH: the reported heap peak (an estimate, with its
# "~", in sampled mode) is within 1% of the program's own.
peak_close() {
	peak=$(report_field "$1" "heap peak:" 3 | tr -d '~')
	want=$(truth "$2" peak_bytes)
	awk -v g="$peak" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w / 100) }' ||
		{ echo "peak $peak bytes, truth $want: off by more than 1%"; return 1; }
	echo "peak $peak bytes, truth $want"
}

leaks() {
	func=$1 threads=$2
	"$ONEPROF" record --heap -o l.opf -- "$PROGS/heapleak" "$func" "$threads" >t 2>err ||
		{ cat err; return 1; }
	cat t
	equal "leaked bytes from leak_here" "$(by_leaf l.opf leak-bytes leak_here)" \
		"$(truth t leaked_bytes)" || return 1
	equal "leaked blocks from leak_here" "$(by_leaf l.opf leak-count leak_here)" \
		"$(truth t leaked_blocks)" || return 1
	for f in work_temps work_peak leak_here; do
		equal "allocations by $f" "$(by_leaf l.opf alloc-count $f)" \
			"$(truth t ${f}_allocations)" || return 1
		equal "bytes allocated by $f" "$(by_leaf l.opf alloc-bytes $f)" \
			"$(truth t ${f}_bytes)" || return 1
	done
	# Beyond the program's own calls: glibc's thread DTVs and main's
	# thread handles, all from main's stack.
	peak_close l.opf t || return 1
	"$ONEPROF" report --heap l.opf | grep -A2 '^Leaked at exit' | grep -q leak_here ||
		{ echo "leak_here is not named first under 'Leaked at exit'"; return 1; }
}
for func in malloc calloc realloc posix_memalign aligned_alloc; do
	for threads in 1 4; do
		check "$func, $threads thread(s): leaks, counts and peak exact" leaks "$func" "$threads"
	done
done

# Sampled mode too: its quick paths see NULL, size 0 and huge sizes first.
odd() {
	"$PROGS/heapodd" >plain || { cat plain; return 1; }
	"$ONEPROF" record "$1" -o o.opf -- "$PROGS/heapodd" >profiled 2>err || { cat err; return 1; }
	cmp plain profiled || { echo "plain:    $(cat plain)"; echo "profiled: $(cat profiled)"; return 1; }
	grep -q 'result=as_documented' profiled || { cat profiled; return 1; }
	cat profiled
}
check "odd input behaves as glibc documents, profiled or not" odd --heap
check "odd input behaves as glibc documents, sampled" odd --heap-sample=64

double_free() {
	"$ONEPROF" record --heap -o d.opf -- "$PROGS/heapodd" double-free >out 2>err
	rc=$?
	[ "$rc" = 134 ] || { echo "exit $rc, expected 134 (glibc's abort)"; cat err; return 1; }
	"$ONEPROF" report --heap d.opf >r 2>/dev/null || { cat r; return 1; }
	grep -q '^Problems: *1 double free' r || { cat r; return 1; }
	grep -A2 'first double free' r | grep -q double_free || { cat r; return 1; }
	grep Problems r
}
check "a double free is passed to glibc (which aborts) and reported with its block's stack" double_free

killed() {
	"$ONEPROF" record --heap -o k.opf -- "$PROGS/heapodd" leak-then-kill >out 2>err &
	for _ in $(seq 100); do grep -q '^ready' out 2>/dev/null && break; sleep 0.1; done
	# Past one flush interval (1 s), then SIGKILL to the program itself.
	sleep 1.5
	pid=$(truth out pid)
	kill -9 "$pid"
	wait
	"$ONEPROF" report --heap k.opf >r 2>rerr || { cat r rerr; return 1; }
	grep -q 'no end record' rerr || { echo "no warning about the missing end"; cat rerr; return 1; }
	equal "leaked bytes from leak_before_kill" "$(by_leaf k.opf leak-bytes leak_before_kill)" \
		"$(truth out leaked_bytes)" || return 1
	equal "blocks" "$(by_leaf k.opf leak-count leak_before_kill)" "$(truth out leaked_blocks)"
}
check "kill -9 halfway: the capture reads up to its last flush" killed

threads_dlopen() {
	"$ONEPROF" record --heap -o t.opf -- "$PROGS/heapthreads" "$PROGS/libheapdl.so" >t 2>err ||
		{ cat err; return 1; }
	cat t
	equal "leaked by thread_leak" "$(by_leaf t.opf leak-bytes thread_leak)" 100000 || return 1
	equal "blocks" "$(by_leaf t.opf leak-count thread_leak)" 1000 || return 1
	equal "allocations by work_thread" "$(by_leaf t.opf alloc-count work_thread)" 10000 || return 1
	# A function of a library unloaded before the end is still named.
	equal "leaked by lib_alloc (dlclosed)" "$(by_leaf t.opf leak-bytes lib_alloc)" 555 || return 1
	equal "allocations by lib_alloc" "$(by_leaf t.opf alloc-count lib_alloc)" 5
}
check "1,000 short-lived threads and a dlopen'd, dlclosed library" threads_dlopen

forked() {
	"$ONEPROF" record --heap -o f.opf -- "$PROGS/heapthreads" fork >t 2>err || { cat err; return 1; }
	cat t
	child=$(awk '/child/ { for (i = 1; i <= NF; i++) if ($i ~ /^pid=/) { sub("pid=", "", $i); print $i } }' t | head -1)
	[ -n "$child" ] && [ -f "f.opf.$child" ] || { echo "no capture for the child ($child)"; ls; return 1; }
	equal "child: leaked by child_leak" "$(by_leaf f.opf.$child leak-bytes child_leak)" 5439 || return 1
	equal "child: nothing from parent_leak" "$(by_leaf f.opf.$child leak-bytes parent_leak)" 0 || return 1
	# A stack the parent sent before the fork is the child's to send again.
	equal "child: leaked by shared_site" "$(by_leaf f.opf.$child leak-bytes shared_site)" 4321 || return 1
	equal "parent: nothing from shared_site" "$(by_leaf f.opf leak-bytes shared_site)" 0 || return 1
	equal "parent: leaked by parent_leak" "$(by_leaf f.opf leak-bytes parent_leak)" 999 || return 1
	equal "parent: nothing from child_leak" "$(by_leaf f.opf leak-bytes child_leak)" 0
}
check "fork: the child's allocations go to the child's capture" forked

# stacks_exact CAPTURE TRUTH: heapstacks' at_path stacks are all there,
# each with its path's bytes.
stacks_exact() {
	# Each at_path stack's path, from its go_one and go_zero frames (root
	# first, bit 0 first), and whether its bytes are the path's own.
	"$ONEPROF" export "$1" --heap=alloc-bytes -f folded -o - 2>/dev/null |
		awk -v rounds="$(truth "$2" rounds)" '{
			n = split($1, s, ";")
			if (s[n] != "at_path") next
			path = 0; bit = 0
			for (i = 1; i <= n; i++)
				if (s[i] == "go_one") path += 2 ^ bit++
				else if (s[i] == "go_zero") bit++
			if (bit != 13 || $2 != rounds * (16 + path)) bad++
			if (!(path in seen)) paths++
			seen[path] = 1; bytes += $2
		} END { print paths + 0, bad + 0, bytes + 0 }' >got
	read -r paths bad bytes <got
	equal "distinct at_path stacks" "$paths" "$(truth "$2" paths)" || return 1
	equal "stacks whose bytes are not their path's" "$bad" 0 || return 1
	equal "bytes" "$bytes" "$(truth "$2" bytes)" || return 1
	echo "$paths stacks, $bytes bytes"
}

many_stacks() {
	"$ONEPROF" record --heap -o s.opf -- "$PROGS/heapstacks" 2 >out 2>err || { cat err; return 1; }
	stacks_exact s.opf out
}
check "8,192 stacks on one thread, more than its table of stacks sent: each keeps its bytes" many_stacks

small_rings() {
	# 64 KiB of stream ring and 16 KiB of side ring for 8,192 stacks sent
	# and 131,072 events: the thread waits for room again and again, and
	# its events run past the ring's end hundreds of times.
	ONEPROF_HEAP_RING_SIZE=64K "$ONEPROF" record --heap -o r.opf -- "$PROGS/heapstacks" 8 \
		>out 2>err || { cat err; return 1; }
	stacks_exact r.opf out || return 1
	# What 'record' said it recorded (the agent's counts) is what the
	# capture holds, and what the program did.
	said=$(sed -n 's/^oneprof: heap: \([0-9]*\) allocations and \([0-9]*\) frees recorded.*/\1 \2/p' err)
	"$ONEPROF" report --heap r.opf 2>/dev/null |
		awk '/^heap:/ { print $2, $7 }' >counts
	equal "allocations and frees recorded" "$said" "$(cat counts)" || return 1
	equal "allocations" "${said%% *}" "$(truth out allocations)" || return 1
	# Each block is freed: a free whose bytes were wrong would leave one.
	equal "bytes leaked" "$(report_field r.opf "heap leaked:" 3)" 0
}
check "64 KiB heap rings: full again and again, wrapped, every event there" small_rings

# chunk_kinds FILE: "RAW ZSTD", how many of the capture's chunks are
# stored raw and compressed (doc/capture-format.md: prefix, then chunks).
chunk_kinds() {
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
pos = 20 + struct.unpack_from("<I", d, 12)[0]
kinds = [0, 0]
while pos + 24 <= len(d):
    kinds[d[pos + 16]] += 1
    pos += 24 + struct.unpack_from("<I", d, pos + 8)[0]
print(kinds[0], kinds[1])' "$1"
}

no_cpu_to_spare() {
	# One CPU, busy with the program: the writer stores its chunks raw
	# rather than take the program's time to compress them.
	taskset -c 0 "$ONEPROF" record --heap -o c.opf -- "$PROGS/heapstacks" 20 >out 2>err ||
		{ cat err; return 1; }
	chunk_kinds c.opf >kinds || return 1
	read -r raw zstd <kinds
	[ "$raw" -gt 0 ] || { echo "no raw chunk: $raw raw, $zstd compressed"; return 1; }
	equal "bytes" "$("$ONEPROF" export c.opf --heap=alloc-bytes -f folded -o - 2>/dev/null |
		awk '{ sum += $2 } END { print sum }')" "$(truth out bytes)" || return 1
	echo "$raw chunks raw, $zstd compressed"
}
check "full tracking on one busy CPU: chunks stored raw, the capture exact" no_cpu_to_spare

sampled() {
	"$ONEPROF" record --heap-sample=4K -o s.opf -- "$PROGS/heapleak" malloc 4 >t 2>err ||
		{ cat err; return 1; }
	"$ONEPROF" report --heap s.opf >r 2>/dev/null || { cat r; return 1; }
	grep -q '^Sampled heap' r || { cat r; return 1; }
	# Every call is counted exactly even when only a sample is recorded.
	calls=$(awk '/^heap calls:/ { print $3 }' r)
	want=$(( $(truth t allocations) + $(truth t glibc_thread_callocs) ))
	[ "$calls" -ge "$want" ] && [ "$calls" -le $((want + 8)) ] ||
		{ echo "heap calls: $calls, program made $want (+ main's own)"; return 1; }
	bytes=$(awk '/^heap:/ { gsub("~", "", $4); print $4 }' r)
	awk -v g="$bytes" -v w="$(truth t total_bytes)" 'BEGIN { exit !(g > w * 0.6 && g < w * 1.4) }' ||
		{ echo "estimated $bytes bytes allocated, truth $(truth t total_bytes)"; return 1; }
	echo "calls $calls, estimated bytes $bytes (truth $(truth t total_bytes))"
}
check "sampled mode: exact call counts, scaled byte estimate" sampled

# With a mean of one byte every block is sampled, so each free must find
# its block among the sampled ones (the filter every free asks first, the
# table behind it): leaks to the byte and the peak within 1%, as with
# full tracking.
sampled_all() {
	"$ONEPROF" record --heap-sample=1 -o a.opf -- "$PROGS/heapleak" "$1" 4 >t 2>err ||
		{ cat err; return 1; }
	equal "leaked bytes from leak_here" "$(by_leaf a.opf leak-bytes leak_here)" \
		"$(truth t leaked_bytes)" || return 1
	equal "leaked blocks from leak_here" "$(by_leaf a.opf leak-count leak_here)" \
		"$(truth t leaked_blocks)" || return 1
	equal "allocations estimated" "$(report_field a.opf "heap:" 2 | tr -d '~')" \
		"$(report_field a.opf "heap calls:" 3)" || return 1
	equal "frees estimated" "$(report_field a.opf "heap:" 7 | tr -d '~')" \
		"$(report_field a.opf "heap calls:" 7)" || return 1
	peak_close a.opf t
}
for func in malloc realloc; do
	check "sampled mode, every block sampled ($func): leaks and frees exact" sampled_all "$func"
done

pprof_heap() {
	"$ONEPROF" export l.opf --heap=leak-bytes -f pprof -o h.pb.gz 2>err || { cat err; return 1; }
	gzip -dc h.pb.gz | protoc --decode_raw >/dev/null || return 1
	command -v node >/dev/null && [ -d "$ROOT/tests/node/node_modules/pprof-format" ] || {
		echo "pprof-format not installed"; return 1; }
	node "$ROOT/tests/node/decode-pprof.js" h.pb.gz >j || return 1
	grep -q '"sampleTypes":\["alloc_objects/count","alloc_space/bytes","inuse_objects/count","inuse_space/bytes"\]' j ||
		{ cat j; return 1; }
	inuse=$(sed 's/.*"totals":\[\([0-9,]*\)\].*/\1/' j | cut -d, -f4)
	leaked=$(report_field l.opf "heap leaked:" 3)
	equal "inuse_space total = leaked bytes" "$inuse" "$leaked"
}
check "heap pprof: four sample types, in-use space = leaked bytes (pprof-format decodes it)" pprof_heap

# The flame graph of a heap view speaks of what it shows: bytes or
# objects, not samples.
svg_units() {
	"$ONEPROF" export l.opf --heap=leak-bytes -f svg -o b.svg 2>err || { cat err; return 1; }
	"$ONEPROF" export l.opf --heap=alloc-count -f svg -o c.svg 2>err || { cat err; return 1; }
	grep -o '<text id="title"[^<]*' b.svg
	grep -q '<text id="title"[^<]*([0-9.]* [KMG]*i*B)<' b.svg || return 1
	grep -q '<text id="title"[^<]*([0-9]* objects)<' c.svg || return 1
	! grep -q ' samples[,)]' b.svg c.svg
}
check "heap flame graph: titles in bytes and objects" svg_units

finish
