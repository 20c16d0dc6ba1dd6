# Bad input: each case exits non-zero with one clear message.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

check "record with no command" expect_error "no command given" "$ONEPROF" record
check "record with -- and no command" expect_error "no command given" "$ONEPROF" record -o x.opf --
check "record a command that does not exist" \
	expect_error "command 'no-such-cmd-xyz' not found" "$ONEPROF" record -- no-such-cmd-xyz
check "record a path that does not exist" \
	expect_error "command './missing' not found" "$ONEPROF" record -- ./missing
check "record to an unwritable path" \
	expect_error "cannot write capture '/nonexistent-dir/x.opf'.*-o" \
	"$ONEPROF" record -o /nonexistent-dir/x.opf -- true
check "record with a bad rate" expect_error "not a rate from 1 to 10000" "$ONEPROF" record -F 0 -- true

echo "this is not a capture" >text.opf
check "report on a file that is not a capture" \
	expect_error "not a oneprof capture \(bad magic\)" "$ONEPROF" report text.opf
: >empty.opf
check "report on an empty file" expect_error "the file is empty" "$ONEPROF" report empty.opf
check "report on a missing file" expect_error "cannot open capture 'missing.opf'" "$ONEPROF" report missing.opf

newer() {
	"$ONEPROF" record -o ok.opf -- true 2>/dev/null || return 1
	# Bytes 8-9: version, 10-11: minimum reader version (little-endian).
	{ head -c 8 ok.opf; printf '\143\000\143\000'; tail -c +13 ok.opf; } >newer.opf
	expect_error "format version 99.*upgrade oneprof" "$ONEPROF" report newer.opf
}
check "report on a capture from a newer format version" newer
check "export with an unknown format" expect_error "unknown format 'svgx'" "$ONEPROF" export ok.opf -f svgx
check "unknown command" expect_error "'frobnicate' is not a oneprof command" "$ONEPROF" frobnicate

bad_env() {
	# A bad setting disables profiling with one message; the program runs.
	LD_PRELOAD="$B/liboneprof.so" ONEPROF_HZ=abc ONEPROF_OUTPUT=env.opf \
		"$PROGS/behave" 5 >out 2>err
	rc=$?
	cat err
	[ "$rc" = 5 ] && grep -q "ONEPROF_HZ='abc' is not a whole number" err && [ ! -e env.opf ]
}
check "bad ONEPROF_HZ: message, program runs unprofiled" bad_env

bad_setting() { # VAR=VALUE PATTERN
	env "$1" LD_PRELOAD="$B/liboneprof.so" ONEPROF_OUTPUT=set.opf "$PROGS/behave" 4 >out 2>err
	rc=$?
	cat err
	[ "$rc" = 4 ] && [ "$(grep -c oneprof err)" = 1 ] && grep -Eq "$2" err && [ ! -e set.opf ]
}
check "ONEPROF_RING_SIZE below 4096" bad_setting ONEPROF_RING_SIZE=1K "ONEPROF_RING_SIZE='1K' is not a whole number from 4096"
check "ONEPROF_MAX_DEPTH=0" bad_setting ONEPROF_MAX_DEPTH=0 "ONEPROF_MAX_DEPTH='0' is not a whole number from 1 to 1024"
check "ring too small for the depth" bad_setting ONEPROF_RING_SIZE=4K "cannot hold four stacks"
check "empty ONEPROF_OUTPUT" sh -c 'LD_PRELOAD="$0/liboneprof.so" ONEPROF_OUTPUT= "$1/behave" 4 2>err >/dev/null; [ $? = 4 ] && grep -q "ONEPROF_OUTPUT=.. is empty" err' "$B" "$PROGS"

unknown_setting() {
	LD_PRELOAD="$B/liboneprof.so" ONEPROF_OUTPUT=u.opf ONEPROF_HZZ=5 "$PROGS/behave" 4 >out 2>err
	rc=$?
	cat err
	[ "$rc" = 4 ] && grep -q "ignoring unknown setting ONEPROF_HZZ" err && [ -s u.opf ]
}
check "unknown ONEPROF_ variable: warning, still profiled" unknown_setting

unwritable_env() {
	LD_PRELOAD="$B/liboneprof.so" ONEPROF_OUTPUT=/nonexistent-dir/x.opf "$PROGS/behave" 4 >out 2>err
	rc=$?
	cat err
	[ "$rc" = 4 ] && grep -q "cannot create capture '/nonexistent-dir/x.opf'" err
}
check "unwritable ONEPROF_OUTPUT: message, program runs" unwritable_env
finish
