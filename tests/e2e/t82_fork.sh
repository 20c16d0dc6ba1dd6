# fork without exec: with follow-fork (the default) each child samples
# into FILE.PID, with the CPU time it used; without it, children run
# unprofiled. A child that execs at once leaves no capture of its own.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# cum_samples REPORT FUNCTION: samples in which FUNCTION is on the stack,
# from the thread table's total and the function's cum%.
follow() {
	"$ONEPROF" record -F 999 -o f.opf -- "$PROGS/forker" 40 3 >out 2>err || { cat err; return 1; }
	cat out
	for pid in $(awk '$1 == "child" { print $2 }' out); do
		[ -f "f.opf.$pid" ] || { echo "no capture f.opf.$pid"; ls; return 1; }
		"$ONEPROF" report "f.opf.$pid" >r 2>rerr || { cat rerr; return 1; }
		cpu=$(awk -v p="$pid" '$1 == "child" && $2 == p { print $4 }' out)
		samples=$(awk '/^Samples:/ { print $2 }' r)
		expect=$(awk -v c="$cpu" 'BEGIN { printf "%.0f", c * 999 }')
		echo "child $pid: $samples samples, 999 Hz x ${cpu}s = $expect"
		within "$samples" "$expect" "$(awk -v e="$expect" 'BEGIN { print e * 0.1 + 3 }')" || return 1
		callers_found r 90 child_work || return 1
		grep -q parent_work r && { echo "parent_work in the child's capture"; return 1; }
	done
	"$ONEPROF" report f.opf >r || return 1
	callers_found r 90 parent_work || return 1
	! grep -q child_work r || { echo "child_work in the parent's capture"; return 1; }
	# Captures: f.opf, three children, and the exec'd 'true' (its own
	# image); the fork before that exec left none.
	n=$(ls f.opf.* | wc -l)
	[ "$n" = 4 ] || { echo "$n child captures, expected 4"; ls; return 1; }
}
check "forked children are sampled into their own captures" follow

no_follow() {
	# 40 rounds: about 200 parent samples, so the few that land in the
	# agent's start and in fork() on a loaded machine stay under 10%.
	"$ONEPROF" record --no-follow-fork -F 999 -o n.opf -- "$PROGS/forker" 40 3 >out 2>err || { cat err; return 1; }
	n=$(ls n.opf.* 2>/dev/null | wc -l)
	# Only the exec'd 'true' has a capture.
	[ "$n" = 1 ] || { echo "$n child captures, expected 1"; ls; return 1; }
	"$ONEPROF" report n.opf >r && callers_found r 90 parent_work
}
check "--no-follow-fork: forked children run unprofiled" no_follow

no_inherit() {
	"$ONEPROF" record --no-inherit -o i.opf -- sh -c "'$PROGS/split' 1 >/dev/null; true" 2>err || { cat err; return 1; }
	n=$(ls i.opf.* 2>/dev/null | wc -l)
	[ "$n" = 0 ] || { echo "$n captures of exec'd programs, expected 0"; ls; return 1; }
	"$ONEPROF" report i.opf | grep -q "Command:  sh -c"
}
check "--no-inherit: exec'd programs run without the agent" no_inherit
finish
