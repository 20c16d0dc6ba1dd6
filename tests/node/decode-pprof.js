#!/usr/bin/env node
// Decodes a oneprof .pb.gz with pprof-format (Datadog's pure-JS pprof
// reader, an independent implementation of the format), checks the rules
// pprof itself enforces when it loads a profile, and prints a JSON summary
// for the end-to-end tests:
//   {samples, totalCount, totals: [sum per sample type], functions: [names],
//    sampleTypes: ["type/unit"]}
// Exit status 1, with the reason on stderr, when the file is not valid.
//
// Usage: node tests/node/decode-pprof.js FILE.pb.gz   (npm install first)
'use strict';

const fs = require('fs');
const zlib = require('zlib');

let Profile;
try {
  ({ Profile } = require('pprof-format'));
} catch (e) {
  fail(`cannot load pprof-format (${e.message}); run 'npm install' in tests/node`);
}

function fail(msg) {
  process.stderr.write(`decode-pprof: ${msg}\n`);
  process.exit(1);
}

// Ids and values decode as number or bigint depending on their size.
const key = (n) => BigInt(n).toString();

function main(argv) {
  if (argv.length !== 1)
    fail('usage: decode-pprof.js FILE.pb.gz');
  const path = argv[0];

  let raw;
  try {
    raw = fs.readFileSync(path);
  } catch (e) {
    fail(`cannot read '${path}': ${e.message}`);
  }
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b)
    fail(`'${path}' is not gzip-compressed (pprof files must be gzipped)`);
  let buf;
  try {
    buf = zlib.gunzipSync(raw);
  } catch (e) {
    fail(`cannot gunzip '${path}': ${e.message}`);
  }

  let prof;
  try {
    prof = Profile.decode(buf);
  } catch (e) {
    fail(`cannot decode '${path}' as a pprof Profile: ${e.message}`);
  }

  const strings = prof.stringTable ? prof.stringTable.strings : [];
  if (strings.length === 0 || strings[0] !== '')
    fail(`string_table[0] must be '' (got ${JSON.stringify(strings[0])})`);
  const str = (idx, what) => {
    const i = Number(idx || 0);
    if (!Number.isInteger(i) || i < 0 || i >= strings.length)
      fail(`${what}: string index ${i} out of range (table has ${strings.length})`);
    return strings[i];
  };

  // CPU profiles have 2 sample types, heap profiles 4.
  if (prof.sampleType.length !== 2 && prof.sampleType.length !== 4)
    fail(`expected 2 (CPU) or 4 (heap) sample types, got ${prof.sampleType.length}`);
  const sampleTypes = prof.sampleType.map(
    (vt, i) => `${str(vt.type, `sample_type[${i}].type`)}/${str(vt.unit, `sample_type[${i}].unit`)}`);

  // Ids must be non-zero and unique per table.
  const table = (items, what) => {
    const byId = new Map();
    items.forEach((item, i) => {
      const id = key(item.id || 0);
      if (id === '0')
        fail(`${what}[${i}] has the reserved id 0`);
      if (byId.has(id))
        fail(`two ${what} entries with id ${id}`);
      byId.set(id, item);
    });
    return byId;
  };
  const mappings = table(prof.mapping, 'mapping');
  const locations = table(prof.location, 'location');
  const functions = table(prof.function, 'function');

  prof.mapping.forEach((m, i) => {
    str(m.filename, `mapping[${i}].filename`);
    str(m.buildId, `mapping[${i}].build_id`);
  });
  prof.function.forEach((f, i) => {
    str(f.name, `function[${i}].name`);
    str(f.systemName, `function[${i}].system_name`);
    str(f.filename, `function[${i}].filename`);
  });
  prof.location.forEach((loc, i) => {
    const mid = key(loc.mappingId || 0);
    if (mid !== '0' && !mappings.has(mid))
      fail(`location[${i}] (id ${key(loc.id)}) names mapping ${mid}, which does not exist`);
    loc.line.forEach((line, j) => {
      const fid = key(line.functionId || 0);
      if (!functions.has(fid))
        fail(`location[${i}] (id ${key(loc.id)}) line ${j} names function ${fid}, which does not exist`);
    });
  });

  let totalCount = 0n;
  const totals = prof.sampleType.map(() => 0n);
  prof.sample.forEach((s, i) => {
    s.locationId.forEach((id) => {
      if (!locations.has(key(id)))
        fail(`sample[${i}] names location ${key(id)}, which does not exist`);
    });
    if (s.value.length !== prof.sampleType.length)
      fail(`sample[${i}] has ${s.value.length} values for ${prof.sampleType.length} sample types`);
    totalCount += BigInt(s.value[0]);
    s.value.forEach((v, k) => { totals[k] += BigInt(v); });
    s.label.forEach((l, j) => {
      str(l.key, `sample[${i}].label[${j}].key`);
      str(l.str, `sample[${i}].label[${j}].str`);
    });
  });
  prof.comment.forEach((c, i) => str(c, `comment[${i}]`));
  if (prof.periodType) {
    str(prof.periodType.type, 'period_type.type');
    str(prof.periodType.unit, 'period_type.unit');
  }

  const summary = {
    samples: prof.sample.length,
    totalCount: Number(totalCount),
    totals: totals.map(Number),
    functions: prof.function.map((f) => strings[Number(f.name || 0)]),
    sampleTypes,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main(process.argv.slice(2));
