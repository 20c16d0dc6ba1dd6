# Shared helpers for the end-to-end tests. Each test script sources this,
# calls `check NAME COMMAND...` once per check, and ends with `finish`.
set -u
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
