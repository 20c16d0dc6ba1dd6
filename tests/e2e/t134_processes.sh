# Captures of several processes, as the out-of-process collector writes
# them (tests/progs/mpcapture.c writes one with known numbers): the
# process table in the summary, one function for the same binary in two
# processes at different addresses, kernel frames, off-CPU time beside
# on-CPU time, threads named with their process, the --pid and --comm
# filters, lost samples of the kernel's ring and throttling, and the
# processes in pprof, Chrome trace, speedscope, JSON, SVG and HTML.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

"$PROGS/mpcapture" mp.opf || { echo "mpcapture failed"; exit 1; }

# row REPORT FUNCTION: the top row of FUNCTION (flat flat% sum% cum cum%
# off-CPU off% name).
row() {
	awk -v f="$2" '$NF == f { print; exit }' "$1"
}

summary() {
	"$ONEPROF" report -n 0 mp.opf >r 2>err || { cat err r; return 1; }
	cat r
	grep -q '^Processes: 3$' r || return 1
	# pid, name, samples and time of each process, busiest first.
	grep -Eq '^ +1000 +server +60 +600ms +server --port 8080$' r || return 1
	grep -Eq '^ +2000 +server +30 +300ms +server --port 8081$' r || return 1
	grep -Eq '^ +3000 +client +12 +300ms +client --once$' r || return 1
	grep -q 'Lost samples: 7 (5 kernel ring overflow, 2 kernel throttled sampling)' r || return 1
	grep -q '^On/off:   on-CPU 1.00s (83.3%), off-CPU 200ms (16.7%)$' r || return 1
	grep -Eq '^ +1002 +worker +20 .* server \[1000\]$' r || return 1
	# No symbolization warning: both processes' addresses are in their
	# own mappings of one binary.
	[ ! -s err ] || { cat err; return 1; }
}
check "summary: three processes with their samples and time, lost samples by reason" summary

merged() {
	sed -n '/^Showing/,$p' r
	# 40 + 20 samples of pid 1000 and 30 of pid 2000 in one row: 900 ms
	# of 1.20 s of wall time.
	[ "$(grep -c ' mp_hot$' r)" = 1 ] || return 1
	set -- $(row r mp_hot)
	[ "$1 $2 $6 $7" = "900ms 75.0% 0ns 0.0%" ] || return 1
	# mp_wait: 100 ms on-CPU and 200 ms blocked under it.
	set -- $(row r mp_wait)
	[ "$1 $4 $6 $7" = "100ms 300ms 200ms 66.7%" ] || return 1
	# The kernel's function where it blocked, by its KERNEL_SYMBOL.
	set -- $(row r schedule)
	[ "$1 $6 $7" = "200ms 200ms 100.0%" ] || return 1
	! grep -q 'other.so' r
}
check "same binary in two processes merges; kernel frame named; off-CPU column" merged

threads() {
	"$ONEPROF" report --threads -n 3 mp.opf >t 2>&1 || { cat t; return 1; }
	grep '^===' t
	grep -q '^=== Thread server \[1001\] in server \[1000\]: 40 samples, 400ms' t &&
		grep -q '^=== Thread server \[2001\] in server \[2000\]: 30 samples, 300ms' t &&
		grep -q '^=== Thread worker \[1002\] in server \[1000\]: 20 samples, 200ms' t &&
		grep -q '^=== Thread client \[3001\] in client \[3000\]: 12 samples, 300ms' t
}
check "--threads names each thread with its process" threads

pids() {
	"$ONEPROF" report --pid 2000 mp.opf >p 2>&1 || { cat p; return 1; }
	grep '^Filters' p
	grep -q '^Filters:  pid 2000: kept 30 of 102 samples (29.4%), 300ms of 1.20s' p || return 1
	set -- $(row p mp_hot)
	[ "$1 $2" = "300ms 25.0%" ] || return 1
	"$ONEPROF" report --pid 1000,3000 mp.opf >p2 2>&1 || { cat p2; return 1; }
	grep -q 'kept 72 of 102 samples' p2 || { grep '^Filters' p2; return 1; }
	"$ONEPROF" report --comm '^cli' mp.opf >c 2>&1 || { cat c; return 1; }
	grep -q "^Filters:  comm '^cli': kept 12 of 102 samples" c || { grep '^Filters' c; return 1; }
	! grep -q ' mp_hot$' c
}
check "--pid and --comm keep whole processes" pids

bad_pid() {
	expect_error "report: --pid '2x' is not a list of process ids" "$ONEPROF" report --pid 2x mp.opf
}
check "--pid with a malformed list: one clear error" bad_pid

pprof() {
	"$ONEPROF" export mp.opf -f pprof -o mp.pb.gz 2>/dev/null || return 1
	node "$ROOT/tests/node/decode-pprof.js" mp.pb.gz >/dev/null || return 1
	# Sample values by the pid label.
	NODE_PATH="$ROOT/tests/node/node_modules" node -e '
		const { Profile } = require("pprof-format");
		const zlib = require("zlib");
		const prof = Profile.decode(zlib.gunzipSync(require("fs").readFileSync(process.argv[1])));
		const strs = prof.stringTable.strings;
		const by = {};
		for (const s of prof.sample) {
			const l = s.label.find((x) => strs[Number(x.key)] === "pid");
			const proc = s.label.find((x) => strs[Number(x.key)] === "process");
			const k = `${l ? Number(l.num) : "none"}:${proc ? strs[Number(proc.str)] : "?"}`;
			by[k] = (by[k] || 0) + Number(s.value[0]);
		}
		console.log(JSON.stringify(by));
		if (by["1000:server"] !== 60 || by["2000:server"] !== 30 || by["3000:client"] !== 12)
			process.exit(1);
	' mp.pb.gz
}
check "pprof: every sample carries its pid and process labels" pprof

chrome() {
	"$ONEPROF" export mp.opf -f chrome -o mp.trace.json 2>/dev/null || return 1
	node "$ROOT/tests/node/check-chrome-trace.js" mp.trace.json >sum || return 1
	cat sum
	node -e '
		const t = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const ev = t.traceEvents;
		const names = {};
		for (const e of ev)
			if (e.ph === "M" && e.name === "process_name") names[e.pid] = e.args.name;
		console.log(JSON.stringify(names));
		if (names[1000] !== "server" || names[2000] !== "server" || names[3000] !== "client")
			process.exit(1);
		const pidOf = {};
		for (const e of ev)
			if (e.ph === "i") pidOf[e.tid] = e.pid;
		console.log(JSON.stringify(pidOf));
		if (pidOf[1001] !== 1000 || pidOf[1002] !== 1000 || pidOf[2001] !== 2000 || pidOf[3001] !== 3000)
			process.exit(1);
		const off = ev.filter((e) => e.cat === "off-cpu").length;
		if (off !== 2) { console.log(`off-cpu instants ${off}`); process.exit(1); }
	' mp.trace.json
}
check "chrome trace: real pid per thread, process_name per process" chrome

others() {
	"$ONEPROF" export mp.opf -f speedscope -o mp.speedscope.json 2>/dev/null || return 1
	grep -q '"name":"worker (tid 1002) in server (pid 1000)"' mp.speedscope.json || return 1
	"$ONEPROF" export mp.opf -f json -o mp.json 2>/dev/null || return 1
	node -e '
		const j = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const p = j.processes.map((x) => `${x.pid}:${x.name}:${x.samples}:${x.sampled_ns}`).join(" ");
		console.log(p);
		if (p !== "1000:server:60:600000000 2000:server:30:300000000 3000:client:12:300000000")
			process.exit(1);
		const t = j.threads.find((x) => x.tid === 2001);
		if (!t || t.pid !== 2000) process.exit(1);
	' mp.json || return 1
	"$ONEPROF" export mp.opf -f svg -o mp.svg 2>/dev/null || return 1
	grep -q 'Flame Graph: .*, 3 processes)' mp.svg || return 1
	"$ONEPROF" export mp.opf -f html -o mp.html 2>/dev/null || return 1
	grep -q '<title>oneprof: .* (3 processes)</title>' mp.html
}
check "speedscope, JSON, SVG and HTML name the processes" others

export_pid() {
	"$ONEPROF" export mp.opf -f folded -o - --pid 3000 2>/dev/null >f || return 1
	cat f
	# Folded stacks, root first: 10 samples on-CPU, two 100 ms
	# intervals off-CPU (one sample each).
	grep -qx 'mp_main;mp_wait 10' f && grep -qx 'mp_main;mp_wait;schedule 2' f &&
		[ "$(wc -l <f)" = 2 ]
}
check "export --pid keeps one process" export_pid
finish
