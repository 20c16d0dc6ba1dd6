# oneprof's JSON export (doc/json-schema.md) parsed by node and checked
# for consistency: schema_version, session totals equal to the capture's,
# threads adding up, functions sorted by self time with the split's
# shares, and a call tree whose every node's total is its self plus its
# children's.
. "$(dirname "$0")/lib.sh"

"$ONEPROF" record -o "$TMP/s.opf" -- "$PROGS/split" 6 3 >/dev/null 2>&1
SAMPLES=$("$B/tests/capture-tool" stats "$TMP/s.opf" | awk '$1 == "samples" { print $2 }')

json_ok() {
	"$ONEPROF" export "$TMP/s.opf" -f json -o "$TMP/s.json" 2>/dev/null || return 1
	node -e '
		const j = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const want = Number(process.argv[2]);
		const fail = (m) => { console.log(m); process.exit(1); };
		if (j.schema_version !== 1) fail("schema_version " + j.schema_version);
		const s = j.session;
		console.log(`samples ${s.samples} (capture ${want}), ${j.threads.length} threads, ${j.functions.length} functions`);
		if (s.samples !== want) fail("session.samples differs from the capture");
		if (!Array.isArray(s.command) || !/split$/.test(s.command[0])) fail("command " + s.command);
		if (s.sample_rate_hz !== 99 || s.complete !== true || s.lost_samples !== 0) fail("session fields");
		if (s.stack_ends.complete !== want) fail("stack_ends.complete " + s.stack_ends.complete);
		const sum = (a, f) => a.reduce((x, y) => x + f(y), 0);
		if (sum(j.threads, (t) => t.samples) !== want) fail("threads do not add up");
		if (sum(j.threads, (t) => t.sampled_cpu_ns) !== s.sampled_cpu_ns) fail("thread CPU does not add up");
		j.functions.forEach((f, i) => {
			if (f.id !== i) fail(`functions[${i}].id is ${f.id}`);
			if (f.self_samples > f.total_samples || f.self_ns > f.total_ns) fail(`${f.name}: self > total`);
			if (i && (f.self_ns > j.functions[i - 1].self_ns)) fail("functions not sorted by self time");
		});
		if (sum(j.functions, (f) => f.self_samples) !== want) fail("self samples do not add up");
		for (const [name, truth] of [["work_50", 50], ["work_30", 30], ["work_20", 20]]) {
			const f = j.functions.find((x) => x.name === name);
			const pct = 100 * f.self_ns / s.sampled_cpu_ns;
			console.log(`${name}: self ${pct.toFixed(1)}% (truth ${truth}%)`);
			if (Math.abs(pct - truth) > 3) fail("share off");
		}
		// The tree: totals are self plus children, function ids valid,
		// the root holds every sample, run_round is under thread_main.
		let nodes = 0;
		const walk = (n, path) => {
			nodes++;
			if (n.function !== null && !(n.function >= 0 && n.function < j.functions.length)) fail("bad function id " + n.function);
			const kids = sum(n.children, (c) => c.total_samples), kidsNs = sum(n.children, (c) => c.total_ns);
			if (n.total_samples !== n.self_samples + kids || n.total_ns !== n.self_ns + kidsNs)
				fail(`node ${path}: total is not self + children`);
			n.children.forEach((c) => walk(c, path + ";" + (c.function === null ? "?" : j.functions[c.function].name)));
		};
		walk(j.call_tree, "root");
		if (j.call_tree.total_samples !== want) fail("tree root " + j.call_tree.total_samples);
		console.log(`call tree: ${nodes} nodes, root ${j.call_tree.total_samples} samples`);
	' "$TMP/s.json" "$SAMPLES"
}
check "json: parses, totals equal the capture's, tree consistent, 50/30/20 self" json_ok
finish
