# The agent's side of spans (src/agent/spans.c), read back record by
# record with capture-tool: balanced begins and ends per thread, exact
# drop accounting with a tiny ring, the flight recorder's window, misuse
# notes, the minimum duration, and a thread older than the agent.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
CT=$B/tests/capture-tool

# Record kinds and values (src/capture/format.h).
BEGIN=33 END=34 ATTR=35 NOTE=37 LOST=6

records() { "$CT" records "$1"; }

# note CAPTURE REASON: the sum of the SPAN_NOTE counts for REASON.
note() {
	records "$1" | awk -v r="$2" -v k=$NOTE '$1 == k && $2 == r { n += $3 } END { print n + 0 }'
}

equal() { # NAME GOT WANT
	[ "$2" = "$3" ] || { echo "$1: got $2, want $3"; return 1; }
	echo "$1: $2"
}

tree_balanced() {
	"$ONEPROF" record -o t.opf -- "$PROGS/spantree" truth >out 2>err || { cat err; return 1; }
	# Per thread: never more ends than begins so far, equal at the end,
	# and as many spans as the program's own measurements.
	records t.opf | awk -v b=$BEGIN -v e=$END '
		$1 == b { open[$3]++; n[$3]++ }
		$1 == e { if (--open[$3] < 0) { print "end without begin on " $3; bad = 1 } }
		END { for (t in open) if (open[t]) { print t " left " open[t] " open"; bad = 1 }
		      for (t in n) { print t ": " n[t] " spans"; total += n[t] }
		      print "total " total; exit bad }' >bal || { cat bal; return 1; }
	cat bal
	equal "spans recorded" "$(awk '/^total/ { print $2 }' bal)" "$(wc -l <truth | tr -d ' ')" || return 1
	equal "ops" "$(records t.opf | awk '$1 == 41 { n += $5 } END { print n + 0 }')" 2000 || return 1
	equal "GC bytes" "$(records t.opf | awk '$1 == 43 { n += $4 } END { print n + 0 }')" 8192
}
check "spantree: begins and ends balanced per thread, every span there" tree_balanced

drop_exact() {
	ONEPROF_SPAN_RING_SIZE=4096 "$ONEPROF" record -o f.opf -- "$PROGS/spanflood" 200000 \
		>out 2>err || { cat err; return 1; }
	made=$(awk '/^events/ { print $2 }' out)
	records f.opf | awk -v b=$BEGIN -v e=$END -v a=$ATTR -v l=$LOST '
		$1 == b || $1 == e || $1 == a { kept++ }
		$1 == l && $2 == 3 { lost += $4 }
		END { print kept + 0, lost + 0 }' >counts
	read -r kept lost <counts
	echo "made $made, recorded $kept, lost $lost"
	[ "$lost" -gt 0 ] || { echo "a 4K ring should have dropped some"; return 1; }
	equal "recorded + lost" $((kept + lost)) "$made"
}
check "drop mode: recorded + lost span events == events made, exactly" drop_exact

flight_window() {
	ONEPROF_SPAN_MODE=flight ONEPROF_SPAN_RING_SIZE=4096 "$ONEPROF" record -o fl.opf -- \
		"$PROGS/spanflood" 200000 >out 2>err || { cat err; return 1; }
	# seq attributes are zigzag-encoded: value / 2.
	records fl.opf | awk -v a=$ATTR '$1 == a { v = $5 / 2; if (!n++ || v < lo) lo = v; if (v > hi) hi = v }
		END { print n + 0, lo + 0, hi + 0 }' >seq
	read -r n lo hi <seq
	echo "$n seq attributes, $lo to $hi"
	[ "$n" -gt 0 ] && [ "$hi" = 199984 ] && [ "$lo" -gt 100000 ] ||
		{ echo "want the newest (199984) and none of the first half"; return 1; }
}
check "flight mode: the ring keeps the newest spans, not the first" flight_window

flight_dump() {
	ONEPROF_SPAN_MODE=flight "$ONEPROF" record -o fd.opf -- "$PROGS/spanflood" 20000 dump \
		>out 2>err || { cat err; return 1; }
	records fd.opf | awk -v b=$BEGIN -v e=$END '$1 == b { nb++ } $1 == e { ne++ }
		END { print nb + 0, ne + 0 }' >n
	read -r nb ne <n
	equal "spans written by oneprof_dump() and at exit" "$nb $ne" "20000 20000"
}
check "flight mode: oneprof_dump() then exit write each span once" flight_dump

misuse() {
	"$ONEPROF" record -o m.opf -- "$PROGS/spanmisuse" >out 2>err || { cat err; return 1; }
	grep -q "misuse done" out || { cat out err; return 1; }
	equal "END_WITHOUT_BEGIN" "$(note m.opf 1)" 1 || return 1
	equal "UNCLOSED" "$(note m.opf 2)" 2 || return 1
	equal "NULL_NAME" "$(note m.opf 3)" 1 || return 1
	equal "LONG_NAME" "$(note m.opf 4)" 1 || return 1
	# The cut name: 1024 bytes.
	records m.opf | awk '$1 == 1 && length($3) == 1024 { ok = 1 } END { exit !ok }' ||
		{ echo "no 1024-byte name string"; return 1; }
}
check "misuse: each kind counted in a SPAN_NOTE, the program unharmed" misuse

min_duration() {
	ONEPROF_SPAN_MIN_NS=15000000 "$ONEPROF" record -o s.opf -- "$PROGS/spantree" truth \
		>out 2>err || { cat err; return 1; }
	# inner and spin10 (10 ms) of both threads go; outer, spin30 and
	# sleep20 stay.
	equal "TOO_SHORT" "$(note s.opf 6)" 4 || return 1
	equal "spans kept" "$(records s.opf | awk -v b=$BEGIN '$1 == b { n++ } END { print n + 0 }')" 6
}
check "span-min: spans shorter than the minimum left out and counted" min_duration

late_thread() {
	ONEPROF_OUTPUT=late.opf ONEPROF_LIB=$B/liboneprof.so "$PROGS/spanmisuse" late >out 2>err ||
		{ cat out err; return 1; }
	equal "late thread's spans" \
		"$(records late.opf | awk -v b=$BEGIN '$1 == b { n++ } END { print n + 0 }')" 3 || return 1
	equal "its attributes" \
		"$(records late.opf | awk -v a=$ATTR '$1 == a { n++ } END { print n + 0 }')" 3
}
check "a thread older than a dlopen'ed agent records spans" late_thread

off() {
	"$ONEPROF" record --spans=off -o o.opf -- "$PROGS/spanflood" 1000 >out 2>err ||
		{ cat err; return 1; }
	equal "events with --spans=off" "$(cat out)" "events 0"
}
check "--spans=off: oneprof_spans_on is 0" off

bad_flag() {
	expect_error "span-min" "$ONEPROF" record --span-min=5parsecs -o x.opf -- true
}
check "--span-min with a bad unit: one clear message" bad_flag

finish
