# Demangling: C++ (a member function of a class template in a namespace,
# called through a function template); --no-demangle keeps the linker's
# names. Rust's legacy and v0 manglings go through the same libiberty call
# and are checked by the unit test symbolize_demangle_cpp_and_rust.
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

finish
