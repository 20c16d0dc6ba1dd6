# Demangling: C++ (a member function of a class template in a namespace,
# called through a function template) and Rust (a method of a generic
# struct in a module, called through a generic function), the latter in
# both manglings, legacy (rustc's default) and v0; --no-demangle keeps the
# linker's names. The unit test symbolize_demangle_cpp_and_rust checks
# more names of each scheme.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/c.opf" -- "$PROGS/cxxhot" 800 >/dev/null 2>&1
"$ONEPROF" export "$TMP/c.opf" -f folded -o "$TMP/c.folded" 2>/dev/null

cxx_ok() {
	grep -Fq 'imaging::run_pass<unsigned long>(imaging::Kernel<unsigned long>&, int);imaging::Kernel<unsigned long>::convolve(int) ' \
		"$TMP/c.folded" || { sort -k2 -nr "$TMP/c.folded" | head -3; return 1; }
}
check "C++ names demangled: namespace, class template, function template" cxx_ok

report_ok() {
	"$ONEPROF" report "$TMP/c.opf" 2>/dev/null | grep -Fq ' imaging::Kernel<unsigned long>::convolve(int)'
}
check "report shows the demangled name" report_ok

mangled_ok() {
	"$ONEPROF" export "$TMP/c.opf" -f folded --no-demangle -o - 2>/dev/null >"$TMP/m.folded"
	grep -q ';_ZN7imaging6KernelImE8convolveEi ' "$TMP/m.folded" &&
		! grep -q 'imaging::' "$TMP/m.folded" || { sort -k2 -nr "$TMP/m.folded" | head -3; return 1; }
}
check "--no-demangle keeps mangled names" mangled_ok

# Rust, when rustc is there (scripts/install-deps.sh installs Debian's).
rust_build() {
	${RUSTC:-rustc} -g -C opt-level=1 -C force-frame-pointers=yes "$@" \
		"$ROOT/tests/progs/rusthot.rs" 2>"$TMP/rustc.err" || { cat "$TMP/rustc.err"; return 1; }
}
# rust_names NAME CALLER CALLEE MANGLED: the hot path, demangled, and its
# mangled form kept by --no-demangle (MANGLED: a regex).
hottest() { sort -k2 -nr "$1" | head -2 | awk '{ print "..." substr($0, length($0) - 160) }'; }
rust_names() {
	"$ONEPROF" record -o "$TMP/$1.opf" -- "$TMP/$1" 800 >/dev/null 2>&1 || return 1
	"$ONEPROF" export "$TMP/$1.opf" -f folded -o "$TMP/$1.folded" 2>/dev/null &&
		grep -Fq ";$2;$3;" "$TMP/$1.folded" ||
		{ echo "no ';$2;$3;' in:"; hottest "$TMP/$1.folded"; return 1; }
	"$ONEPROF" export "$TMP/$1.opf" -f folded --no-demangle -o "$TMP/$1.m" 2>/dev/null &&
		grep -Eq "$4" "$TMP/$1.m" && ! grep -q 'rusthot::' "$TMP/$1.m" ||
		{ echo "no mangled $4 in:"; hottest "$TMP/$1.m"; return 1; }
}
rust_legacy_ok() {
	rust_build -o "$TMP/rust_legacy" &&
		rust_names rust_legacy 'rusthot::imaging::run_pass' \
			'rusthot::imaging::Kernel<u64>::convolve' ';_ZN7rusthot7imaging17Kernel'
}
rust_v0_ok() {
	rust_build -C symbol-mangling-version=v0 -o "$TMP/rust_v0" &&
		rust_names rust_v0 'rusthot::imaging::run_pass::<u8>' \
			'<rusthot::imaging::Kernel<u64>>::convolve' ';_R[0-9A-Za-z_]*7rusthot7imaging[0-9A-Za-z_]*8convolve'
}
if command -v "${RUSTC:-rustc}" >/dev/null 2>&1; then
	check "Rust names demangled, legacy mangling" rust_legacy_ok
	check "Rust names demangled, v0 mangling" rust_v0_ok
else
	echo "skip: no rustc for the Rust checks (scripts/install-deps.sh installs it)"
fi

finish
