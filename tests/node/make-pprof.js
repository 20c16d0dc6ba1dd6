#!/usr/bin/env node
// Writes a pprof profile with pprof-format's encoder (an implementation
// independent of oneprof's), for tests/e2e/t29_import.sh. Its truth:
//   sample types samples/count, wall/nanoseconds, cpu/nanoseconds (the
//   last is pprof's default), period 10 ms of cpu;
//   main -> hot_a -> inlined_leaf (inlined into hot_a: one location, two
//   lines) 50 samples, main -> hot_b 30, main -> hot_c 20;
//   wall time 10/10/80 ms over the same stacks.
//
// Usage: node tests/node/make-pprof.js OUT.pb.gz [raw]  (raw: no gzip)
'use strict';

const fs = require('fs');
const zlib = require('zlib');
const {
  Function: Fn, Label, Line, Location, Mapping, Profile, Sample, ValueType, StringTable,
} = require('pprof-format');

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: make-pprof.js OUT.pb.gz [raw]\n');
  process.exit(2);
}
const st = new StringTable();
const vt = (type, unit) => new ValueType({ type: st.dedup(type), unit: st.dedup(unit) });

const names = ['main', 'hot_a', 'hot_b', 'hot_c', 'inlined_leaf'];
const fns = names.map((name, i) => new Fn({
  id: i + 1, name: st.dedup(name), systemName: st.dedup(name),
  filename: st.dedup('app.c'), startLine: 10 * (i + 1),
}));
const id = (name) => names.indexOf(name) + 1;
const mapping = new Mapping({
  id: 1, memoryStart: 0x400000, memoryLimit: 0x500000, fileOffset: 0,
  filename: st.dedup('/usr/bin/app'), buildId: st.dedup('abcdef0123'),
  hasFunctions: true, hasLineNumbers: true, hasInlineFrames: true,
});
const loc = (lid, addr, lines) => new Location({
  id: lid, mappingId: 1, address: addr,
  line: lines.map(([fn, line]) => new Line({ functionId: id(fn), line })),
});
// Innermost first: inlined_leaf's line, then hot_a's where it was inlined.
const locations = [
  loc(1, 0x401000, [['main', 12]]),
  loc(2, 0x402000, [['inlined_leaf', 51], ['hot_a', 22]]),
  loc(3, 0x403000, [['hot_b', 31]]),
  loc(4, 0x404000, [['hot_c', 41]]),
];
const period = 10000000;
const sample = (leafLoc, n, wallMs) => new Sample({
  locationId: [leafLoc, 1],
  value: [n, wallMs * 1000000, n * period],
  label: [new Label({ key: st.dedup('thread'), str: st.dedup('worker') })],
});
const profile = new Profile({
  sampleType: [vt('samples', 'count'), vt('wall', 'nanoseconds'), vt('cpu', 'nanoseconds')],
  sample: [sample(2, 50, 10), sample(3, 30, 10), sample(4, 20, 80)],
  mapping: [mapping],
  location: locations,
  function: fns,
  stringTable: st,
  timeNanos: 1700000000000000000n,
  durationNanos: 2000000000,
  periodType: vt('cpu', 'nanoseconds'),
  period,
  comment: [st.dedup('app --serve')],
});
const bytes = Buffer.from(profile.encode());
fs.writeFileSync(out, process.argv[3] === 'raw' ? bytes : zlib.gzipSync(bytes));
