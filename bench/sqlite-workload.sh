#!/bin/bash
# The SQL script bench/heap-overhead.sh feeds Debian's sqlite3 shell: a
# real program's allocation pattern (the parser, the page cache, sorting
# for an index, expression evaluation), printed to stdout.
#
# Usage: bench/sqlite-workload.sh [ROWS] >script.sql   (default 200000)
#
# ROWS single-row INSERTs with text and blob columns, in transactions of
# 10,000 (each statement parsed and prepared anew, as an application
# without prepared statements does), then two indexes, an UPDATE and a
# DELETE, aggregate queries, LIKE scans and an ORDER BY. Run as
# `sqlite3 :memory: '.read script.sql'`: the database lives on the heap,
# so its size is the peak heap, and no file system is involved. The
# content is fixed (no random()), so every run makes the same calls.
set -euo pipefail
ROWS=${1:-200000}
case $ROWS in
'' | *[!0-9]*) echo "sqlite-workload.sh: ROWS must be a number" >&2; exit 2 ;;
esac

cat <<'EOF'
PRAGMA cache_size = -65536;
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, grp INTEGER,
	price REAL, note TEXT, payload BLOB);
EOF

# The inserts: names and notes of varied length, a blob of 16..143 bytes
# whose bytes follow from the row number.
awk -v rows="$ROWS" 'BEGIN {
	hex = "0123456789abcdef"
	for (i = 1; i <= rows; i++) {
		if (i % 10000 == 1)
			print "BEGIN;"
		n = 16 + (i * 7919) % 128
		b = ""
		for (j = 0; j < n; j += 8)
			b = b substr(hex, (i + j) % 16 + 1, 1) substr(hex, (i * j) % 16 + 1, 1) \
				"00112233445566"
		b = substr(b, 1, 2 * n)
		note = substr("lorem ipsum dolor sit amet consectetur adipiscing elit sed do", 1, 5 + i % 57)
		printf "INSERT INTO item (name, grp, price, note, payload) VALUES " \
			"('\''item-%d-%s'\'', %d, %d.%02d, '\''%s'\'', x'\''%s'\'');\n",
			i, substr("abcdefghijklmnopqrstuvwxyz", 1, 1 + i % 26), i % 97,
			i % 1000, i % 100, note, b
		if (i % 10000 == 0 || i == rows)
			print "COMMIT;"
	}
}'

cat <<'EOF'
CREATE INDEX item_grp ON item (grp, price);
CREATE INDEX item_name ON item (name);
UPDATE item SET note = note || ' (updated)' WHERE grp % 5 = 0;
DELETE FROM item WHERE id % 13 = 0;
SELECT grp, count(*), sum(length(payload)), avg(price) FROM item GROUP BY grp ORDER BY 3 DESC LIMIT 5;
SELECT count(*) FROM item WHERE name LIKE '%42%';
SELECT count(*) FROM item WHERE note LIKE '%updated%' AND name LIKE 'item-1%';
SELECT count(DISTINCT substr(name, 1, 8)) FROM item;
SELECT name, price FROM item WHERE grp = 42 ORDER BY price DESC, name LIMIT 3;
SELECT group_concat(name, ',') IS NOT NULL FROM (SELECT name FROM item ORDER BY note, id LIMIT 20000);
EOF
