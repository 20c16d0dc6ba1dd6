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
finish
