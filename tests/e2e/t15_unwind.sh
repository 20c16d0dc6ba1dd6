# Accuracy without frame pointers: split.c built -O2 -fomit-frame-pointer
# with frameless leaf work functions (split-nofp), and with its round
# function in a shared library without frame pointers (split-lib). Stacks
# come from .eh_frame unwinding. Truth: 50/30/20; each function within 2
# points, samples within 5% of rate x CPU time, callers all found.
. "$(dirname "$0")/lib.sh"

# run NAME PROG HZ ROUNDS THREADS
run() {
	"$ONEPROF" record -F "$3" -o "$TMP/$1.opf" -- "$PROGS/$2" "$4" "$5" >"$TMP/$1.out" 2>/dev/null &&
		"$ONEPROF" report -n 0 "$TMP/$1.opf" >"$TMP/$1.report" 2>&1
}

# verify NAME HZ: the split, the count, the callers.
verify() {
	sed -n '1,/^Stacks:/p' "$TMP/$1.report"
	split_within "$TMP/$1.report" 2 &&
		count_within "$TMP/$1.out" "$TMP/$1.report" "$2" 5 &&
		callers_found "$TMP/$1.report" 98 thread_main run_round
}

run nofp-1t-99 split-nofp 99 20 1
check "no frame pointers, 1 thread, 99 Hz" verify nofp-1t-99 99
run nofp-2t-99 split-nofp 99 10 2
check "no frame pointers, 2 threads, 99 Hz" verify nofp-2t-99 99
run nofp-4t-99 split-nofp 99 5 4
check "no frame pointers, 4 threads, 99 Hz" verify nofp-4t-99 99
run nofp-1t-999 split-nofp 999 10 1
check "no frame pointers, 1 thread, 999 Hz" verify nofp-1t-999 999
run nofp-2t-999 split-nofp 999 5 2
check "no frame pointers, 2 threads, 999 Hz" verify nofp-2t-999 999
run nofp-4t-999 split-nofp 999 3 4
check "no frame pointers, 4 threads, 999 Hz" verify nofp-4t-999 999
run lib-2t-99 split-lib 99 10 2
check "through a shared library without frame pointers, 99 Hz" verify lib-2t-99 99
run lib-2t-999 split-lib 999 5 2
check "through a shared library without frame pointers, 999 Hz" verify lib-2t-999 999

dlopened() {
	# libhot.so (no frame pointers, a frameless leaf) is loaded with
	# dlopen after profiling began: its caller is found only through the
	# library's own .eh_frame, read when dlopen returned.
	"$ONEPROF" record -F 999 -o "$TMP/dl.opf" -- "$PROGS/dlhot" "$PROGS/libhot.so" \
		"$PROGS/libhot.so" 600 >/dev/null 2>&1 || return 1
	"$ONEPROF" report -n 0 "$TMP/dl.opf" >"$TMP/dl.report" 2>&1 || return 1
	callers_found "$TMP/dl.report" 95 lib_hot main __libc_start_main
}
check "a library dlopen'd during the run, without frame pointers: whole stacks" dlopened

complete() {
	awk '/^Stacks:/ { c = $2; t = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) t += $i; exit !(c >= 0.99 * t) }' "$TMP/lib-2t-999.report"
}
check "99% of walks reach the outermost frame" complete
finish
