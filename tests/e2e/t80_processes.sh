# Process trees: exec storms never kill an image with a profiling signal,
# whatever the timer; forked and exec'd processes get their own captures.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

for timer in perf timer itimer; do
	storm() {
		ONEPROF_TIMER=$1 "$ONEPROF" record -F 999 -o storm.opf -- "$PROGS/execloop" 60 2>err
		rc=$?
		tail -n 3 err
		[ "$rc" = 0 ] || { echo "exit status $rc"; return 1; }
		# The last image's capture is FILE; the 60 before it moved aside.
		n=$(ls storm.opf.* | wc -l)
		[ "$n" = 60 ] || { echo "$n captures moved aside, expected 60"; return 1; }
		"$ONEPROF" report storm.opf | grep -q 'Command:  .*execloop 0'
	}
	rm -f storm.opf*
	check "exec storm at 999 Hz with the $timer timer: no image killed" storm "$timer"
done

tree() {
	"$ONEPROF" record -o tree.opf -- sh -c "'$PROGS/split' 1 >/dev/null & '$PROGS/split' 1 >/dev/null & wait; exec '$PROGS/split' 1" >out 2>err
	rc=$?
	cat err
	[ "$rc" = 0 ] || return 1
	grep -q "more captures of other process images" err || return 1
	"$ONEPROF" report tree.opf | grep -q "Command:  .*split 1" || return 1
	# The two background children, and the shell before its exec.
	for f in tree.opf.*; do "$ONEPROF" report "$f" >/dev/null 2>&1 || return 1; done
	n=$(for f in tree.opf.*; do "$ONEPROF" report "$f" 2>/dev/null; done | grep -c 'work_50$')
	[ "$n" = 2 ] || { echo "$n child captures with work_50, expected 2"; return 1; }
}
check "forked children and an exec: one capture each, none killed" tree

shell_exit() {
	# dash ends with _exit(): the capture must still be complete.
	"$ONEPROF" record -o sh.opf -- sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done' 2>err
	"$ONEPROF" report sh.opf >report 2>rerr || return 1
	cat rerr
	! grep -q "no end record" rerr
}
check "a program ending in _exit leaves a complete capture" shell_exit
finish
