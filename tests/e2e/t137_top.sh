# oneprof top: the live view, printed as one block per interval when
# stdout is no terminal. Attached to a known 50/30/20 split, each block
# shows the split (within 6 points: a half-second interval holds a few
# hundred samples and a partial work cycle), the process by name and pid,
# and exactly as many blocks as -n asks; --system shows two programs at
# once; a dead pid gives the collector's error; bad values are refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collect_lib.sh"
if collect_skip; then
	finish
	exit
fi

# Four threads out of phase: a block's cut through their work cycles
# averages out.
start_bg "$TMP/a.out" "$PROGS/attachsplit" 4 30
A=$BG_PID
"$ONEPROF" top -p "$A" -F 999 -n 3 --interval 0.5 >"$TMP/t.out" 2>"$TMP/t.err"
rc=$?
cat "$TMP/t.out" "$TMP/t.err"
check "top -p: exit status 0 (rc $rc)" test "$rc" = 0
check "top -p: exactly 3 blocks" test "$(grep -c '^=== oneprof top ' "$TMP/t.out")" = 3
# Every block: work_50/30/20 flat% (column 2) within 6 points of the truth.
blocks_split() {
	awk -v tol="$2" '
		/^=== oneprof top / { n++ }
		$NF ~ /^work_(50|30|20)$/ && n > 0 {
			want = substr($NF, 6) + 0; got = $2; sub("%", "", got)
			d = got - want; if (d < 0) d = -d
			seen[n, $NF] = 1
			printf "block %d: %s %s%% (truth %d%%)\n", n, $NF, got, want
			if (d > tol) bad = 1
		}
		END {
			for (b = 1; b <= n; b++)
				for (w = 20; w <= 50; w += 10) {
					if (w == 40) continue
					if (!((b, "work_" w) in seen)) { printf "block %d: work_%d missing\n", b, w; bad = 1 }
				}
			exit bad || n == 0
		}' "$1"
}
check "top -p: every block shows the 50/30/20 split within 6 points" blocks_split "$TMP/t.out" 6
# The function rows name the process: "attachsplit [PID]".
check "top -p: every block names the process and pid in the header and rows" awk -v p="$A" '
	/^=== oneprof top / { n++ }
	$1 == p && $2 == "attachsplit" { head[n] = 1 }
	$NF == "work_50" && index($0, "attachsplit [" p "]") { row[n] = 1 }
	END { for (b = 1; b <= n; b++) if (!head[b] || !row[b]) { print "block " b " lacks the process"; exit 1 } exit n != 3 }' "$TMP/t.out"
check "top -p: the collector's lost and throttled counts shown" sh -c '
	test "$(grep -c "^collector: .* lost [0-9]* (+[0-9]*), throttled [0-9]* (+[0-9]*)" "$1")" = 3' sh "$TMP/t.out"

# --threads: the per-thread table lists split-0..3 in some block.
"$ONEPROF" top -p "$A" -F 499 -n 1 --interval 0.5 --threads --sort cum >"$TMP/th.out" 2>&1
cat "$TMP/th.out"
check "top --threads: thread table with the split threads" sh -c '
	for i in 0 1 2 3; do grep -Eq "^ +[0-9]+ +split-$i +[0-9]+" "$1" || { echo "split-$i missing"; exit 1; }; done' sh "$TMP/th.out"
check "top --sort cum: sorted by cumulative time" grep -q 'sorted by cumulative time' "$TMP/th.out"

# --system: both of two running programs, and dd copying /dev/zero to
# /dev/null, whose time is in the kernel: its kernel frames are named.
start_bg "$TMP/s.out" "$PROGS/spin"
S=$BG_PID
dd if=/dev/zero of=/dev/null bs=1M 2>/dev/null &
D=$!
"$ONEPROF" top --system -F 199 -n 2 --interval 0.5 -N 40 >"$TMP/sys.out" 2>"$TMP/sys.err"
rc=$?
kill "$A" "$S" "$D"
wait 2>/dev/null
cat "$TMP/sys.out" "$TMP/sys.err" | head -60
check "top --system: exit status 0 (rc $rc)" test "$rc" = 0
check "top --system: exactly 2 blocks" test "$(grep -c '^=== oneprof top ' "$TMP/sys.out")" = 2
check "top --system: attachsplit's work_50 in its process" grep -Eq "attachsplit \[$A\] +work_50$" "$TMP/sys.out"
check "top --system: spin's burn_forever in its process" grep -Eq "spin \[$S\] +burn_forever$" "$TMP/sys.out"
check "top --system: dd's kernel frames named" grep -Eq "dd \[$D\] +[a-z_0-9.]*(_zero|clear_user|rep_stos|sys_|syscall|entry_SYSCALL)" "$TMP/sys.out"
check "top --system: no kernel frame left unnamed" sh -c '! grep -F "[kernel]+0x" "$1"' sh "$TMP/sys.out"

# Errors: the collector's own message for a dead pid; bad values.
sleep 0 &
dead=$!
wait "$dead"
check "top error: dead pid" expect_error "top: cannot profile process $dead: no such process" \
	"$ONEPROF" top -p "$dead" -n 1
check "top error: bad interval" expect_error "top: --interval 'x' is not a number of seconds" \
	"$ONEPROF" top -p $$ --interval x
check "top error: interval too short" expect_error "top: --interval '0.01' is not a number of seconds from 0.1" \
	"$ONEPROF" top -p $$ --interval 0.01
check "top error: bad iterations" expect_error "top: --iterations '0' is not a number from 1" \
	"$ONEPROF" top -p $$ -n 0
check "top error: bad sort" expect_error "top: --sort 'size' is not a sort order; give flat or cum" \
	"$ONEPROF" top -p $$ --sort size
check "top error: bad rate" expect_error "top: -F '0' is not a rate" \
	"$ONEPROF" top -p $$ -F 0
check "top error: bad pid list" expect_error "top: -p '1,x' is not a list of process ids" \
	"$ONEPROF" top -p 1,x
check "top error: nothing to watch" expect_error "top: what to watch\? give -p PID or --system" \
	"$ONEPROF" top
check "top error: -p with --system" expect_error "top: -p and --system exclude each other" \
	"$ONEPROF" top -p $$ --system
check "top error: ring pages" expect_error "top: --ring-pages '3' is not a power of two" \
	"$ONEPROF" top -p $$ --ring-pages 3
finish
