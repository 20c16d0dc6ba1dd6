# Shared helpers for the end-to-end tests. Each test script sources this,
# calls `check NAME COMMAND...` once per check, and ends with `finish`.
set -u
# Debug info comes from disk only: no test waits on the network (the
# debuginfod tests start their own server on 127.0.0.1).
unset DEBUGINFOD_URLS
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$ROOT/build}
ONEPROF=$B/oneprof
PROGS=$B/tests/progs
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PASSED=0
FAILED=0

# check NAME COMMAND...: the check passes when COMMAND exits 0. A failing
# command should print why on stdout or stderr.
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		echo "ok   $name"
		# TEST_VERBOSE=1: what a passing check printed too (its numbers).
		[ -n "${TEST_VERBOSE:-}" ] && [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
		PASSED=$((PASSED + 1))
	else
		echo "FAIL $name"
		printf '%s\n' "$out" | sed 's/^/    /'
		FAILED=$((FAILED + 1))
	fi
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}

# expect_fail NAME PATTERN COMMAND...: COMMAND must exit non-zero and print
# exactly one line on stderr, matching the extended regex PATTERN.
expect_error() {
	pattern=$1
	shift
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	lines=$(wc -l <"$TMP/err")
	if [ "$rc" = 0 ]; then
		echo "exited 0; stderr: $(cat "$TMP/err")"
		return 1
	fi
	if [ "$lines" != 1 ]; then
		echo "expected one line on stderr, got $lines:"
		cat "$TMP/err"
		return 1
	fi
	if ! grep -Eq "$pattern" "$TMP/err"; then
		echo "message does not match /$pattern/: $(cat "$TMP/err")"
		return 1
	fi
	echo "rc=$rc: $(cat "$TMP/err")"
}

# flat_pct REPORT FUNCTION: the flat% column of FUNCTION in a report.
flat_pct() {
	awk -v f="$2" '$6 == f { sub("%", "", $2); print $2; exit }' "$1"
}

# within A B TOL: |A - B| <= TOL (decimals allowed).
within() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

# children PID: the pids whose parent is PID (from /proc: procps may be
# missing on a minimal system).
children() {
	for stat in /proc/[0-9]*/stat; do
		awk -v p="$1" '{ sub(/^.*\) /, ""); if ($2 == p) { split(FILENAME, f, "/"); print f[3] } }' "$stat" 2>/dev/null
	done
}

# Ground-truth checks for tests/progs/split.c (a 50/30/20 split).
# split_within REPORT POINTS: work_50/30/20 flat% each within POINTS.
split_within() {
	for pair in work_50:50 work_30:30 work_20:20; do
		f=${pair%:*} want=${pair#*:}
		got=$(flat_pct "$1" "$f")
		echo "$f: ${got:-missing}% (truth $want%)"
		[ -n "$got" ] && within "$got" "$want" "$2" || return 1
	done
}

# count_within OUT REPORT HZ PERCENT: samples within PERCENT of HZ times
# the CPU time the program printed ("cpu_ns N" in OUT).
count_within() {
	cpu_ns=$(awk '/^cpu_ns/ { print $2 }' "$1")
	samples=$(awk '/^Samples:/ { print $2 }' "$2")
	expect=$(awk -v c="$cpu_ns" -v hz="$3" 'BEGIN { printf "%.1f", c / 1e9 * hz }')
	echo "samples $samples, rate x CPU time $expect"
	within "$samples" "$expect" "$(awk -v e="$expect" -v p="$4" 'BEGIN { print e * p / 100 }')"
}

# callers_found REPORT MIN_CUM_PCT FUNCTION...: each function's cum% (its
# name may carry a compiler suffix such as .constprop.0) is at least MIN.
callers_found() {
	r=$1 min=$2
	shift 2
	for caller in "$@"; do
		cum=$(awk -v f="$caller" '$6 ~ "^" f { sub("%", "", $5); print $5 + 0; exit }' "$r")
		echo "$caller cum ${cum:-missing}%"
		[ -n "$cum" ] && awk -v c="$cum" -v m="$min" 'BEGIN { exit !(c >= m) }' || return 1
	done
}
