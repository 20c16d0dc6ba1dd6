# The CLI's help and version, and a process tree: children that exec get
# their own capture file.
. "$(dirname "$0")/lib.sh"

check "--version" sh -c "'$ONEPROF' --version | grep -Eq '^oneprof [0-9]+\.[0-9]+\.[0-9]+ \(capture format 1\)$'"
check "--help lists the commands" sh -c "'$ONEPROF' --help | grep -q 'record' && '$ONEPROF' --help | grep -q 'export'"
for c in record report export; do
	check "help $c" sh -c "'$ONEPROF' help $c | grep -q '^usage: oneprof $c' && '$ONEPROF' $c --help | grep -q '^usage: oneprof $c'"
done

exec_child() {
	cd "$TMP" || return 1
	"$ONEPROF" record -o tree.opf -- sh -c "'$PROGS/split' 1 >/dev/null; true" 2>/dev/null || return 1
	child=$(ls tree.opf.* 2>/dev/null | head -n 1)
	[ -n "$child" ] || { echo "no tree.opf.PID written by the exec'd child"; ls; return 1; }
	"$ONEPROF" report "$child" | grep -q work_50
}
check "exec'd child writes FILE.PID with its own samples" exec_child

thread_names() {
	"$ONEPROF" record -o "$TMP/d.opf" -- "$PROGS/demo" 200 >/dev/null 2>&1
	"$B/tests/capture-tool" stats "$TMP/d.opf" | grep -c '^thread ' | grep -qx 2
}
check "every thread registered" thread_names
finish
