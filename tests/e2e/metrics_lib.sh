# Helpers of the metrics endpoint tests (t125..t127), sourced after lib.sh.

# free_port: a TCP port free on 127.0.0.1 now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_prog NAME ENV... -- ARGS...: starts metricsprog with the agent and
# ENV, in the background, stdout in NAME.out and stderr in NAME.err; its
# pid in $PROG_PID.
start_prog() {
	name=$1
	shift
	env_args=
	while [ "$1" != "--" ]; do
		env_args="$env_args $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	env LD_PRELOAD="$B/liboneprof.so" ONEPROF_OUTPUT="$TMP/$name.opf" ONEPROF_FLUSH_MS=50 \
		$env_args "$PROGS/metricsprog" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PROG_PID=$!
}

# wait_for FILE PATTERN [TENTHS]: until FILE has a line matching PATTERN.
wait_for() {
	n=0
	while [ "$n" -lt "${3:-100}" ]; do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		n=$((n + 1))
	done
	echo "no /$2/ in $1 after ${3:-100} tenths of a second:"
	cat "$1" 2>/dev/null
	return 1
}

# endpoint_port NAME: the port the agent printed on NAME.err.
endpoint_port() {
	wait_for "$TMP/$1.err" 'metrics on http://' >/dev/null || return 1
	sed -n 's|.*metrics on http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' "$TMP/$1.err"
}

# wait_metric PORT LINE: until the text exposition has exactly LINE.
wait_metric() {
	n=0
	while [ "$n" -lt 100 ]; do
		curl -s "http://127.0.0.1:$1/metrics" >"$TMP/scrape" 2>/dev/null
		grep -Fxq "$2" "$TMP/scrape" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	echo "no line '$2' in the exposition"
	return 1
}

# value FILE LINE_PREFIX: the value of the first sample starting with
# LINE_PREFIX (name and labels, exactly as written).
# (Through the environment: awk -v would undo the backslash escapes.)
value() {
	P=$2 awk 'index($0, ENVIRON["P"] " ") == 1 { print $NF; exit }' "$1"
}

equal() { # NAME GOT WANT
	[ "$2" = "$3" ] || { echo "$1: got '$2', want '$3'"; return 1; }
	echo "$1: $2"
}

# rss_now PID: resident bytes from /proc/PID/statm.
rss_now() {
	echo $(($(awk '{ print $2 }' "/proc/$1/statm") * $(getconf PAGESIZE)))
}
