# Stripped and odd binaries: PIE and not, .dynsym names when .symtab is
# stripped, module+offset when nothing names the code, the vDSO (no file
# on disk: read from oneprof's own when the build-id matches), one library
# loaded twice at two addresses, and truncated or garbage ELF files, which
# give a warning for that module and never a crash.
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/bin"
# hot REPORT: symhot_work's flat% (empty when not named).
hot() { flat_pct "$1" symhot_work; }

pie_ok() {
	for prog in symhot symhot-nopie; do
		"$ONEPROF" record -o "$TMP/$prog.opf" -- "$PROGS/$prog" 600 >/dev/null 2>&1
		"$ONEPROF" report "$TMP/$prog.opf" >"$TMP/$prog.rep" 2>&1 || return 1
		pct=$(hot "$TMP/$prog.rep")
		echo "$prog: symhot_work ${pct:-missing}%"
		[ -n "$pct" ] && within "$pct" 100 15 || return 1
	done
	readelf -h "$PROGS/symhot-nopie" | grep -q 'EXEC' || { echo "symhot-nopie is PIE"; return 1; }
}
check "PIE and non-PIE executables" pie_ok

dynsym_ok() {
	cp "$PROGS/symhot-rdynamic" "$TMP/bin/dyn"
	strip --strip-all "$TMP/bin/dyn"
	readelf -S "$TMP/bin/dyn" | grep -q '\.symtab' && { echo "still has .symtab"; return 1; }
	"$ONEPROF" record -o "$TMP/dyn.opf" -- "$TMP/bin/dyn" 600 >/dev/null 2>&1
	"$ONEPROF" report "$TMP/dyn.opf" >"$TMP/dyn.rep" 2>&1 || return 1
	pct=$(hot "$TMP/dyn.rep")
	echo "stripped, exported: symhot_work ${pct:-missing}%"
	[ -n "$pct" ] && within "$pct" 100 15
}
check "stripped binary: names from .dynsym" dynsym_ok

offset_ok() {
	cp "$PROGS/symhot" "$TMP/bin/bare"
	strip --strip-all "$TMP/bin/bare"
	"$ONEPROF" record -o "$TMP/bare.opf" -- "$TMP/bin/bare" 600 >/dev/null 2>&1
	"$ONEPROF" report "$TMP/bare.opf" >"$TMP/bare.rep" 2>"$TMP/bare.err" || return 1
	# symhot_work is not exported: its offset in the file, as addr2line
	# takes it; the same offset nm gives for it in the unstripped file.
	want=$(nm "$PROGS/symhot" | awk '$3 == "symhot_work" { print $1 }' | sed 's/^0*//')
	grep -Eq " bare\+0x$want\$| bare\+0x[0-9a-f]+\$" "$TMP/bare.rep" || { cat "$TMP/bare.rep"; return 1; }
	! grep -q symhot_work "$TMP/bare.rep" && ! grep -q warning "$TMP/bare.err"
}
check "stripped, unexported: module+offset, no warning" offset_ok

vdso_ok() {
	"$ONEPROF" record -o "$TMP/vdso.opf" -- "$PROGS/symhot" vdso 600 >/dev/null 2>&1
	"$ONEPROF" report -n 5 "$TMP/vdso.opf" >"$TMP/vdso.rep" 2>"$TMP/vdso.err" || return 1
	# The time is in the vDSO's clock_gettime, named from this process's
	# own vDSO (same kernel, same build-id).
	grep -Eq ' (__vdso_clock_gettime|clock_gettime|__vdso_clock_gettime_.*)$' "$TMP/vdso.rep" ||
		{ cat "$TMP/vdso.rep"; return 1; }
	! grep -q warning "$TMP/vdso.err"
}
check "vDSO frames named from oneprof's own vDSO" vdso_ok

twice_ok() {
	cp "$PROGS/libhot.so" "$TMP/bin/libhot-a.so"
	cp "$PROGS/libhot.so" "$TMP/bin/libhot-b.so"
	"$ONEPROF" record -o "$TMP/dl.opf" -- "$PROGS/dlhot" "$TMP/bin/libhot-a.so" \
		"$TMP/bin/libhot-b.so" 800 >"$TMP/dl.out" 2>&1 || { cat "$TMP/dl.out"; return 1; }
	"$ONEPROF" export "$TMP/dl.opf" -f pprof -o "$TMP/dl.pb.gz" 2>/dev/null || return 1
	node "$ROOT/tests/node/pprof-lines.js" "$TMP/dl.pb.gz" >"$TMP/dl.lines" || return 1
	# Both copies' samples are lib_hot with its source line, whichever
	# address they ran at.
	awk -F'\t' '{ t += $1 } $2 ~ /^lib_hot@[^:]*tests\/progs\/lib\/libhot\.c:[0-9]+:2;main@/ { n += $1 }
	     END { printf "%d of %d samples in lib_hot\n", n, t; exit !(t > 0 && n >= 0.8 * t) }' \
		"$TMP/dl.lines" || { head -3 "$TMP/dl.lines"; return 1; }
	"$ONEPROF" report "$TMP/dl.opf" 2>/dev/null | grep -c ' lib_hot$' | grep -q '^2$'
}
if [ -d "$ROOT/tests/node/node_modules/pprof-format" ]; then
	check "one library loaded twice: both copies named, with source lines" twice_ok
fi

truncated_ok() {
	cp "$PROGS/symhot" "$TMP/bin/trunc"
	"$ONEPROF" record -o "$TMP/trunc.opf" -- "$TMP/bin/trunc" 400 >/dev/null 2>&1
	size=$(wc -c <"$TMP/bin/trunc")
	for keep in 90 60 30 5; do
		head -c $((size * keep / 100)) "$PROGS/symhot" >"$TMP/bin/trunc"
		"$ONEPROF" report "$TMP/trunc.opf" >"$TMP/t.rep" 2>"$TMP/t.err"
		rc=$?
		echo "cut to $keep%: rc $rc, $(grep -c warning "$TMP/t.err") warning(s)"
		[ "$rc" = 0 ] || { cat "$TMP/t.err"; return 1; }
		grep -q "warning: module '$TMP/bin/trunc'.*\(truncated or corrupt\|not a readable ELF\)" \
			"$TMP/t.err" || { cat "$TMP/t.err"; return 1; }
	done
	# Garbage after a valid ELF header.
	{ head -c 64 "$PROGS/symhot"; head -c 20000 /dev/urandom; } >"$TMP/bin/trunc"
	"$ONEPROF" export "$TMP/trunc.opf" -f pprof -o "$TMP/t.pb.gz" 2>"$TMP/t.err" || return 1
	grep -q "warning: module '$TMP/bin/trunc'" "$TMP/t.err"
}
check "truncated and garbage ELF files: a warning, no crash" truncated_ok
finish
