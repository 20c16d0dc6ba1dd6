# A /proc file the monitor cannot read: one clear message naming the file
# and what is lost, the program finishes normally, the capture is whole
# and holds every other series.
#
# A real condition, not a test hook: in a mount namespace of its own the
# program's /proc/PID/fd is covered by an empty tmpfs with mode 000, and
# the program runs as nobody, so opening it fails with EACCES exactly as
# on a system that hides it. Skipped where mount namespaces are missing.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
chmod 777 "$TMP"

if ! unshare -m true 2>/dev/null || ! command -v setpriv >/dev/null; then
	echo "skip: no mount namespaces (unshare -m) or no setpriv"
	finish
	exit
fi

# The shell's pid is the program's after exec: its fd directory is
# covered before the program starts.
hidden_fd() {
	unshare -m sh -c 'mount -t tmpfs -o mode=000 none /proc/$$/fd &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups \
			env LD_PRELOAD="$0" ONEPROF_OUTPUT="$1" ONEPROF_MONITOR=50ms \
			"$2" 3 5 400' "$B/liboneprof.so" "$TMP/h.opf" "$PROGS/monfds" \
		>out 2>err
	rc=$?
	cat err
	[ "$rc" = 0 ] || { echo "program exited $rc"; return 1; }
	grep -q '^threads 6$' out || { echo "program output:"; cat out; return 1; }
	[ "$(grep -c oneprof err)" = 1 ] || { echo "want exactly one message"; return 1; }
	grep -q "^oneprof: monitor: cannot read /proc/self/fd (Permission denied); the open file descriptor count will be missing" err
}
check "unreadable /proc/self/fd: one message, program exits 0" hidden_fd

whole_capture() {
	"$ONEPROF" report --metrics h.opf >rep 2>err || { cat err; return 1; }
	[ ! -s err ] || { echo "capture incomplete:"; cat err; return 1; }
	if grep -q process_open_fds rep; then echo "an fd series with no fd data"; return 1; fi
	n=$(awk '$1 == "process_threads" { print $3 }' rep)
	max=$(awk '$1 == "process_threads" { print $6 }' rep)
	echo "process_threads: $n samples, max $max"
	[ "$n" -ge 5 ] && [ "$max" = 6 ]
}
check "the capture is whole: no fd series, the others there (threads 3+1+2)" whole_capture

finish
