# Samples delivered as SIGTRAP (sigtrap perf events, src/agent/trap.c)
# leave a program that uses SIGTRAP itself as it was: its handler sees
# exactly its own traps, sigaction reports its handler back, a trap at
# the default disposition kills it by SIGTRAP (with the capture flushed),
# and a traced program or a chosen signal gets the plain signal instead.
. "$(dirname "$0")/lib.sh"

"$PROGS/trapper" >"$TMP/plain.out"
"$ONEPROF" record -F 999 -o "$TMP/t.opf" -- "$PROGS/trapper" >"$TMP/prof.out" 2>"$TMP/prof.err"
rc=$?
cat "$TMP/prof.out" "$TMP/prof.err"

sampler_is() {
	"$ONEPROF" report "$1" >"$TMP/r" 2>&1 || return 1
	grep '^Samples:' "$TMP/r"
	grep "^Samples:" "$TMP/r" | grep -qF "($2)"
}
# 0.7 s of CPU at 999 Hz: about 700 samples.
samples_over() {
	n=$("$B/tests/capture-tool" stats "$1" | awk '$1 == "samples" { print $2 }')
	echo "samples: $n"
	[ "${n:-0}" -ge "$2" ]
}
check "program output unchanged, exit 0" sh -c "[ $rc = 0 ] && cmp '$TMP/plain.out' '$TMP/prof.out'"
check "its own 4 traps reached its handler, no sample did" grep -q "own traps seen: 4" "$TMP/prof.out"
check "sigaction reports its handler" grep -q "sigaction reports own handler: yes" "$TMP/prof.out"
check "samples came by SIGTRAP" sampler_is "$TMP/t.opf" "perf_event(task-clock) by SIGTRAP"
check "samples kept coming after it took SIGTRAP" samples_over "$TMP/t.opf" 600

dies() {
	"$PROGS/trapper" die >/dev/null 2>&1
	plain=$?
	"$ONEPROF" record -F 999 -o "$TMP/d.opf" -- "$PROGS/trapper" die >/dev/null 2>"$TMP/err"
	prof=$?
	cat "$TMP/err"
	echo "exit: $plain plain, $prof profiled"
	[ "$plain" = 133 ] && [ "$prof" = 133 ] && grep -q "killed by signal 5" "$TMP/err"
}
check "a trap at the default disposition still kills, by SIGTRAP" dies
check "and the capture was flushed before it" samples_over "$TMP/d.opf" 600

ONEPROF_SIGNAL=PROF "$ONEPROF" record -F 999 -o "$TMP/p.opf" -- "$PROGS/trapper" >"$TMP/p.out" 2>/dev/null
check "ONEPROF_SIGNAL chosen: the plain signal" sampler_is "$TMP/p.opf" "perf_event(task-clock)"
check "and the program is unchanged there too" cmp "$TMP/plain.out" "$TMP/p.out"

# A tracer would stop at every SIGTRAP: the agent sees it and does not
# use SIGTRAP.
strace -f -o /dev/null "$ONEPROF" record -F 999 -o "$TMP/s.opf" -- "$PROGS/trapper" >"$TMP/s.out" 2>/dev/null
check "under a tracer: the plain signal" sampler_is "$TMP/s.opf" "perf_event(task-clock)"
check "under a tracer: program unchanged" cmp "$TMP/plain.out" "$TMP/s.out"
finish
