# Observers, the dump signal and spans across fork (src/agent/observe.c,
# src/agent/spans.c) against what the programs know they did.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
CT=$B/tests/capture-tool
BEGIN=33 END=34 NOTE=37

records() { "$CT" records "$1"; }

equal() { # NAME GOT WANT
	[ "$2" = "$3" ] || { echo "$1: got $2, want $3"; return 1; }
	echo "$1: $2"
}

# field OUT KEY: the number after KEY in the observer's one-line report.
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$1"; }

observers() {
	"$ONEPROF" record --heap -o o.opf -- "$PROGS/observer" >out 2>err || { cat out err; return 1; }
	cat out
	[ -s err ] && grep -v '^oneprof: \(heap\|wrote\)' err && return 1
	equal "span ends seen" "$(field out spans)" 1000 || return 1
	equal "at depth 1" "$(field out depth1)" 1000 || return 1
	equal "outer span seen" "$(field out outer)" 1 || return 1
	equal "4096-byte allocations seen" "$(field out allocs)" 500 || return 1
	equal "their bytes" "$(field out bytes)" 2048000 || return 1
	equal "callbacks on the program's thread" "$(field out same-thread)" 0 || return 1
	equal "callbacks after unobserve" "$(field out after)" 0 || return 1
	equal "unobserve twice" "$(field out unobserve-again)" -2 || return 1
	# The observer saw (nearly) every sample the capture holds in burn(),
	# and never one more: the program waits for the writer before it
	# removes its observers.
	burn=$(field out burn)
	total=$("$ONEPROF" export o.opf --focus '^burn$' -f folded -o - 2>/dev/null |
		awk '{ n += $NF } END { print n + 0 }')
	echo "capture: $total samples in burn(), observed $burn (of $(field out samples) in all)"
	[ "$burn" -ge 10 ] && [ "$burn" -le "$total" ] && [ $((burn * 10)) -ge $((total * 9)) ]
}
check "observers: span ends, allocations and samples, each exactly once, on the writer" observers

dump_signal() {
	"$ONEPROF" record --spans=flight --dump-signal=USR2 -o d.opf -- \
		"$PROGS/spanflood" 20000 signal >out 2>err || { cat err; return 1; }
	records d.opf | awk -v b=$BEGIN -v e=$END '$1 == b { nb++ } $1 == e { ne++ }
		END { print nb + 0, ne + 0 }' >n
	read -r nb ne <n
	equal "spans written by the dump signal and at exit" "$nb $ne" "20000 20000"
}
check "flight mode: the dump signal then exit write each span once" dump_signal

# spans NAME CAPTURE: begins of span NAME in CAPTURE.
spans() {
	records "$2" | awk -v b=$BEGIN -v n="$1" '$1 == 1 && $3 == n { id = $2 }
		$1 == 32 && $3 == id { site = $2 } $1 == b && $4 == site { c++ } END { print c + 0 }'
}

fork_open() {
	"$ONEPROF" record -o f.opf -- "$PROGS/spanfork" >out 2>err || { cat err; return 1; }
	child=$(awk '{ print $2 }' out)
	[ -f "f.opf.$child" ] || { echo "no capture of the child (f.opf.$child)"; ls; return 1; }
	equal "parent: outer" "$(spans outer f.opf)" 1 || return 1
	equal "parent: parent spans" "$(spans parent f.opf)" 2 || return 1
	equal "child: child spans" "$(spans child "f.opf.$child")" 3 || return 1
	equal "child: outer (begun in the parent)" "$(spans outer "f.opf.$child")" 0 || return 1
	for f in f.opf "f.opf.$child"; do
		equal "$f: ends without a begin" \
			"$(records "$f" | awk -v k=$NOTE '$1 == k && $2 == 1 { n += $3 } END { print n + 0 }')" 0 ||
			return 1
		equal "$f: begins == ends" \
			"$(records "$f" | awk -v b=$BEGIN -v e=$END '$1 == b { n++ } $1 == e { n-- } END { print n + 0 }')" 0 ||
			return 1
	done
}
check "fork inside a span: each capture balanced, the child's own spans kept" fork_open

finish
