#!/bin/sh
# Runs every test: the C unit tests (plain, then under ASan+UBSan) and the
# end-to-end scripts in tests/e2e/. Each reports "ok NAME" or "FAIL NAME"
# lines and its own "N passed, N failed" line; this adds them up and ends
# with one line: N passed, N failed.
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
	name=$1
	shift
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$counts" ]; then
		echo "FAIL $name: exited $rc without a summary line"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$counts" | cut -d' ' -f1)
	f=$(echo "$counts" | cut -d' ' -f3)
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "FAIL $name: exited $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

run unit "$B/tests/unit-tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	run unit-asan "$B/tests/unit-tests-asan"
# A hung script must not hang the suite: it fails after 5 minutes.
for t in tests/e2e/t*.sh; do
	run "$(basename "$t" .sh)" timeout -k 10 300 sh "$t"
done
# The Python binding (bindings/python), with Debian's python3 where it is.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
run python timeout -k 10 300 "$PY" bindings/python/tests/run.py
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
