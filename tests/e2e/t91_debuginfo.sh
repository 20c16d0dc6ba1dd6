# Finding debug info the way distributions ship it: a binary stripped of
# its DWARF, its debug file found through .gnu_debuglink (beside it, in
# .debug/, under a debug directory), through the build-id layout under a
# test debug root (--debug-dir), and from a debuginfod server on
# 127.0.0.1; a moved binary found with --path-map and --sysroot; a rebuilt
# one refused (build-id) rather than misnamed; a prelinked one whose debug
# file has the addresses from before prelinking.
. "$(dirname "$0")/lib.sh"

# The ground truth: tests/progs/inline.c, whose hot path is
# main;hot_outer;step;mix once the inline chain is known.
FULL='main;hot_outer;step;mix [0-9]+$'
mkdir -p "$TMP/bin" "$TMP/keep"
cp "$PROGS/inline" "$TMP/keep/inline.full"
objcopy --only-keep-debug "$TMP/keep/inline.full" "$TMP/keep/inline.debug"
strip --strip-debug -o "$TMP/bin/inline" "$TMP/keep/inline.full"
objcopy --add-gnu-debuglink="$TMP/keep/inline.debug" "$TMP/bin/inline"
ID=$(readelf -n "$TMP/bin/inline" | awk '/Build ID/ { print $3 }')
"$ONEPROF" record -o "$TMP/s.opf" -- "$TMP/bin/inline" 800 >/dev/null 2>&1

# folded OUT [options]: export the capture; stderr to $TMP/err.
folded() {
	out=$1
	shift
	"$ONEPROF" export "$TMP/s.opf" -f folded -o "$TMP/$out" "$@" 2>"$TMP/err"
}
# No warning in the last export ("wrote ..." is not one).
quiet() { ! grep -q 'warning' "$TMP/err" || { cat "$TMP/err"; return 1; }; }
has_lines() { grep -Eq "$FULL" "$TMP/$1" || { echo "no inline chain in $1:"; head -3 "$TMP/$1"; cat "$TMP/err"; return 1; }; }
no_lines() { ! grep -Eq "$FULL" "$TMP/$1" || { echo "inline chain in $1 without its debug file"; return 1; }; }

stripped_ok() {
	readelf -S "$TMP/bin/inline" | grep -q debug_info && { echo "not stripped"; return 1; }
	folded none && no_lines none && grep -q 'hot_outer' "$TMP/none"
}
cp "$TMP/keep/inline.debug" "$TMP/bin/unrelated.debug" # not where the link points
check "stripped binary alone: names from .symtab, no inline chain" stripped_ok

beside_ok() {
	cp "$TMP/keep/inline.debug" "$TMP/bin/inline.debug"
	folded beside && has_lines beside
	rc=$?
	rm -f "$TMP/bin/inline.debug"
	return $rc
}
check ".gnu_debuglink: debug file beside the binary" beside_ok

dotdebug_ok() {
	mkdir -p "$TMP/bin/.debug"
	cp "$TMP/keep/inline.debug" "$TMP/bin/.debug/inline.debug"
	folded dotdebug && has_lines dotdebug
	rc=$?
	rm -rf "$TMP/bin/.debug"
	return $rc
}
check ".gnu_debuglink: debug file in .debug/ beside the binary" dotdebug_ok

debugdir_link_ok() {
	mkdir -p "$TMP/root1$TMP/bin"
	cp "$TMP/keep/inline.debug" "$TMP/root1$TMP/bin/inline.debug"
	folded dlink --debug-dir "$TMP/root1" && has_lines dlink
}
check ".gnu_debuglink: under a debug directory at the binary's path" debugdir_link_ok

buildid_ok() {
	dir=$TMP/root2/.build-id/$(echo "$ID" | cut -c1-2)
	mkdir -p "$dir"
	cp "$TMP/keep/inline.debug" "$dir/$(echo "$ID" | cut -c3-).debug"
	folded bid --debug-dir "$TMP/root2" && has_lines bid
}
check "build-id: .build-id/xx/yyyy.debug under --debug-dir" buildid_ok

wrong_debug_ok() {
	# A file under the right name whose build-id is another's: ignored.
	other=$(readelf -n "$PROGS/symhot" | awk '/Build ID/ { print $3 }')
	cp "$TMP/keep/inline.debug" "$TMP/bin/inline.debug"
	dir=$TMP/root3/.build-id/$(echo "$other" | cut -c1-2)
	mkdir -p "$dir"
	objcopy --only-keep-debug "$PROGS/symhot" "$dir/$(echo "$other" | cut -c3-).debug"
	cp "$dir/$(echo "$other" | cut -c3-).debug" "$TMP/bin/inline.debug"
	folded wrong && no_lines wrong
	rc=$?
	rm -f "$TMP/bin/inline.debug"
	return $rc
}
check "a debug file of another build is not used" wrong_debug_ok

moved() {
	folded gone || return 1
	grep -q "module '$TMP/bin/inline' cannot be read" "$TMP/err" ||
		{ echo "no warning naming the module"; cat "$TMP/err"; return 1; }
	no_lines gone || return 1
	folded mapped --path-map "$TMP/bin=$TMP/moved/bin" && has_lines mapped && quiet || return 1
	cp -r "$TMP/moved/bin" "$TMP/sysroot$TMP/bin"
	folded viaroot --sysroot "$TMP/sysroot" || { cat "$TMP/err"; return 1; }
	has_lines viaroot && quiet
}
moved_ok() {
	# The debug file beside the binary moves with it.
	mkdir -p "$TMP/moved" "$TMP/sysroot$TMP"
	cp "$TMP/keep/inline.debug" "$TMP/bin/inline.debug"
	mv "$TMP/bin" "$TMP/moved/bin"
	moved
	rc=$?
	mv "$TMP/moved/bin" "$TMP/bin"
	rm -f "$TMP/bin/inline.debug"
	return $rc
}
check "moved binary found with --path-map and with --sysroot" moved_ok

rebuilt() {
	folded rebuilt
	grep -q 'changed since the recording' "$TMP/err" || { cat "$TMP/err"; return 1; }
	grep -q 'hot_outer\|symhot_work' "$TMP/rebuilt" && { echo "wrong names"; head -3 "$TMP/rebuilt"; return 1; }
	grep -Eq ';inline\+0x[0-9a-f]+ [0-9]+$' "$TMP/rebuilt" || { head -3 "$TMP/rebuilt"; return 1; }
	# ...unless the right debug file is found by build-id: it has the
	# symbols and the DWARF.
	folded bybid --debug-dir "$TMP/root2" && has_lines bybid &&
		grep -q 'using its debug file' "$TMP/err"
}
rebuilt_ok() {
	# Same path, other contents: its names would be wrong. Warned, and
	# its frames stay module+offset...
	mv "$TMP/bin/inline" "$TMP/bin/inline.orig"
	cp "$PROGS/symhot" "$TMP/bin/inline"
	rebuilt
	rc=$?
	mv "$TMP/bin/inline.orig" "$TMP/bin/inline"
	return $rc
}
check "rebuilt binary: build-id mismatch warned, no wrong names; debug file by build-id" rebuilt_ok

# Prelinking moved a library's (or PIE's) load address in the file after
# its debug file had been split off: the same build-id, DWARF addresses
# off by the difference. Made here by linking the program twice with one
# build-id, at 0 and at 0x10000000 (what prelink writes), and keeping the
# debug file of the first.
prelinked_ok() {
	mkdir -p "$TMP/pre"
	flags="-O2 -g -fno-omit-frame-pointer -Wl,--build-id=0x0b5e0b5e0b5e0b5e0b5e0b5e0b5e0b5e0b5e0b5e"
	${CC:-cc} $flags -o "$TMP/pre/inline.orig" "$ROOT/tests/progs/inline.c" &&
		${CC:-cc} $flags -Wl,-Ttext-segment=0x10000000 -o "$TMP/pre/inline.full" \
			"$ROOT/tests/progs/inline.c" || return 1
	readelf -lW "$TMP/pre/inline.full" | grep -q 'LOAD .* 0x0000000010000000' ||
		{ echo "not linked at 0x10000000"; return 1; }
	objcopy --only-keep-debug "$TMP/pre/inline.orig" "$TMP/pre/inline.debug"
	strip --strip-debug -o "$TMP/pre/inline" "$TMP/pre/inline.full"
	objcopy --add-gnu-debuglink="$TMP/pre/inline.debug" "$TMP/pre/inline"
	"$ONEPROF" record -o "$TMP/pre.opf" -- "$TMP/pre/inline" 800 >/dev/null 2>&1 || return 1
	"$ONEPROF" export "$TMP/pre.opf" -f folded -o "$TMP/pre.folded" 2>"$TMP/err" || return 1
	has_lines pre.folded && quiet || return 1
	# (Read without the bias, the DWARF gives no chain.) The report
	# puts the innermost function at its line:
	"$ONEPROF" report --lines -n 40 "$TMP/pre.opf" >"$TMP/pre.rep" 2>"$TMP/err" || return 1
	grep -Eq 'mix .*inline\.c:[0-9]+' "$TMP/pre.rep" || { cat "$TMP/pre.rep"; return 1; }
}
check "prelinked binary, debug file split before prelinking: lines through the load bias" prelinked_ok

check "--path-map without '=': one clear error" expect_error "path-map 'nope' is not FROM=TO" \
	"$ONEPROF" report --path-map nope "$TMP/s.opf"
check "--sysroot that is not a directory: one clear error" \
	expect_error "sysroot '$TMP/none' is not a directory" "$ONEPROF" export "$TMP/s.opf" -f folded \
	-o - --sysroot "$TMP/none"
check "--debug-dir that is not a directory: one clear error" \
	expect_error "debug-dir '$TMP/none' is not a directory" "$ONEPROF" report --debug-dir "$TMP/none" \
	"$TMP/s.opf"

# debuginfod: Debian's server, serving the debug file from a directory.
# Started here, not inside a check (each runs in a subshell), and stopped
# on exit whatever happens.
DPID=
trap '[ -n "$DPID" ] && kill "$DPID" 2>/dev/null; rm -rf "$TMP"' EXIT
start_server() {
	mkdir -p "$TMP/srv"
	cp "$TMP/keep/inline.debug" "$TMP/srv/"
	for try in 1 2 3; do
		PORT=$((20000 + ($$ * 7 + try * 131) % 20000))
		debuginfod -F -p "$PORT" -d "$TMP/dfd.sqlite" "$TMP/srv" >"$TMP/dfd.log" 2>&1 &
		DPID=$!
		sleep 1
		kill -0 "$DPID" 2>/dev/null && return 0
		DPID=
	done
	cat "$TMP/dfd.log"
	return 1
}
debuginfod_ok() {
	[ -n "$DPID" ] || { echo "debuginfod did not start"; return 1; }
	# The server indexes its directory in the background: ask until it
	# answers (a fresh client cache each time: misses are cached).
	for i in 1 2 3 4 5 6 7 8 9 10; do
		DEBUGINFOD_URLS=http://127.0.0.1:$PORT DEBUGINFOD_CACHE_PATH=$TMP/cache$i \
			folded dfd && grep -Eq "$FULL" "$TMP/dfd" && return 0
		sleep 1
	done
	has_lines dfd
}
server_down_ok() {
	DEBUGINFOD_URLS=http://127.0.0.1:$PORT DEBUGINFOD_CACHE_PATH=$TMP/cache-down \
		folded down || return 1
	no_lines down && grep -q 'hot_outer' "$TMP/down" || return 1
	grep -q "debuginfod.*no debug info for module '$TMP/bin/inline'" "$TMP/err" ||
		{ echo "no warning naming the module:"; cat "$TMP/err"; return 1; }
	# --no-debuginfod: not asked, nothing said.
	DEBUGINFOD_URLS=http://127.0.0.1:$PORT folded off --no-debuginfod && quiet
}
if command -v debuginfod >/dev/null 2>&1; then
	start_server
	check "debuginfod on 127.0.0.1 serves the debug file" debuginfod_ok
	[ -n "$DPID" ] && kill "$DPID" && wait "$DPID" 2>/dev/null
	DPID=
	check "debuginfod down: the export works and names the module without debug info" server_down_ok
else
	echo "skip debuginfod: the 'debuginfod' package is not installed"
fi
finish
