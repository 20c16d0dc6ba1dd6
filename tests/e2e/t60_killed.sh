# A program killed with SIGKILL mid-run leaves a readable capture holding
# the samples flushed before the kill.
. "$(dirname "$0")/lib.sh"

: >"$TMP/out"
"$ONEPROF" record -o "$TMP/spin.opf" -- "$PROGS/spin" >"$TMP/out" 2>"$TMP/err" &
rec=$!
# Wait for the program to start, let it run, then kill it (not oneprof).
i=0
while [ "$i" -lt 50 ] && ! grep -q spinning "$TMP/out"; do sleep 0.1; i=$((i + 1)); done
sleep 2.5
kids=$(children "$rec")
echo "killing $kids (child of oneprof $rec)"
[ -n "$kids" ] && kill -KILL $kids
# Never hang the suite: if the kill missed, end the recording too.
( sleep 20; kill -KILL "$rec" $kids 2>/dev/null ) &
guard=$!
wait "$rec"
rc=$?
kill $(children "$guard") "$guard" 2>/dev/null
cat "$TMP/err"

check "oneprof returns 128+9" test "$rc" = 137
check "capture readable, warns of the missing end record" \
	sh -c "'$ONEPROF' report '$TMP/spin.opf' >'$TMP/report' 2>'$TMP/rerr'; grep -q 'no end record' '$TMP/rerr'"
check "samples up to the last flush are there" \
	sh -c "awk '\$6 == \"burn_forever\" { sub(\"%\", \"\", \$2); f = \$2 + 0 } /^Samples:/ { n = \$2 } END { exit !(f > 90 && n >= 100) }' '$TMP/report'"
finish
