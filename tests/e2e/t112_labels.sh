# Labels and counters against tests/progs/labels.c: 1 unit of CPU and
# 1 MiB of allocations under request=small, 3 units and 3 MiB under
# request=large (both inside tenant=acme), 512 KiB on another thread with
# no labels; counter "jobs" reaches 4, level "queue" 7.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

"$ONEPROF" record --heap -o labels.opf -- "$PROGS/labels" 0.25 >/dev/null 2>&1

# sum ARGS...: the values of a folded export with ARGS, added up.
sum() {
	"$ONEPROF" export labels.opf "$@" -f folded -o - 2>/dev/null | awk '{ s += $NF } END { print s + 0 }'
}

check "--tag-focus: CPU samples under request=large vs request=small about 3:1" sh -c '
	small=$1 large=$2
	echo "small $small large $large"
	[ "$small" -gt 0 ] && [ $((large * 10)) -ge $((small * 22)) ] && [ $((large * 10)) -le $((small * 40)) ]
' sh "$(sum --tag-focus request=small)" "$(sum --tag-focus request=large)"

check "--tag-focus: bytes allocated under each label, exact" sh -c '
	echo "small $1 large $2 any-request $3 tenant $4"
	[ "$1" = 1048576 ] && [ "$2" = 3145728 ] && [ "$3" = 4194304 ] && [ "$4" = 4194304 ]
' sh "$(sum --heap=alloc-bytes --tag-focus request=small)" \
	"$(sum --heap=alloc-bytes --tag-focus request=large)" \
	"$(sum --heap=alloc-bytes --tag-focus request)" \
	"$(sum --heap=alloc-bytes --tag-focus tenant=acme)"

check "--tag-ignore: the unlabelled thread's 512 KiB remain" sh -c '
	n=$("$1" export labels.opf --heap=alloc-bytes --tag-ignore request -f folded -o - 2>/dev/null |
		awk "/other/ { s += \$NF } END { print s + 0 }")
	echo "other thread: $n"; [ "$n" = 524288 ]' sh "$ONEPROF"

check "a bad --tag-focus is one clear error" expect_error "tag-focus" \
	"$ONEPROF" report --tag-focus "=x" labels.opf

# The pprof export: every CPU sample taken under a label carries it.
cat >labels.py <<'PY'
import gzip, sys
def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, t = key >> 3, key & 7
        if t == 0:
            v, i = varint(b, i)
        elif t == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif t == 1:
            v, i = b[i:i + 8], i + 8
        elif t == 5:
            v, i = b[i:i + 4], i + 4
        yield f, v
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if c < 0x80:
            return v, i
p = gzip.open(sys.argv[1]).read()
strings = [v.decode() for f, v in fields(p) if f == 6]
counts = {}
for f, s in fields(p):
    if f != 2:
        continue
    labels = {}
    for g, v in fields(s):
        if g == 3:
            kv = dict(fields(v))
            labels[strings[kv[1]]] = strings[kv.get(2, 0)]
    key = (labels.get("tenant"), labels.get("request"))
    counts[key] = counts.get(key, 0) + 1
print(counts)
assert ("acme", "small") in counts and ("acme", "large") in counts, counts
PY
check "pprof: samples carry tenant and request labels" sh -c '
	"$1" export labels.opf -f pprof -o labels.pb.gz 2>/dev/null && python3 labels.py labels.pb.gz' \
	sh "$ONEPROF"

# The heap pprof carries four sample types from the heap sites at once:
# the label filter applies to all of them (decoded by pprof-format).
check "pprof heap export with --tag-focus: alloc_space exact per label" sh -c '
	for r in small large; do
		"$1" export labels.opf --heap=alloc-bytes --tag-focus request=$r -f pprof -o $r.pb.gz 2>/dev/null &&
			node "$2/tests/node/decode-pprof.js" $r.pb.gz >$r.json || exit 1
	done
	python3 -c "
import json
small, large = (json.load(open(r + \".json\")) for r in (\"small\", \"large\"))
types = small[\"sampleTypes\"]
i = types.index(\"alloc_space/bytes\")
print(\"small\", small[\"totals\"][i], \"large\", large[\"totals\"][i])
assert int(small[\"totals\"][i]) == 1048576 and int(large[\"totals\"][i]) == 3145728"' \
	sh "$ONEPROF" "$ROOT"

check "counters: final values in the span JSON export" sh -c '
	"$1" export labels.opf -f spans -o - 2>/dev/null | python3 -c "
import json, sys
c = json.load(sys.stdin)[\"counters\"]
print(c)
assert c == {\"jobs\": 4, \"queue\": 7}, c"' sh "$ONEPROF"

finish
