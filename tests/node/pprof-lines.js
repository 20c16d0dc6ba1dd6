#!/usr/bin/env node
// Prints the stacks of a .pb.gz with their source lines, as pprof-format
// (an independent reader) decodes them, for the symbolization tests: one
// line per sample, its count, a tab, then the frames leaf first separated
// by ';', each as name@file:line:start_line. A location's Line entries are
// expanded in order (innermost inlined function first).
//
// Usage: node tests/node/pprof-lines.js FILE.pb.gz
'use strict';

const fs = require('fs');
const zlib = require('zlib');
const { Profile } = require('pprof-format');

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: pprof-lines.js FILE.pb.gz\n');
  process.exit(2);
}
const prof = Profile.decode(zlib.gunzipSync(fs.readFileSync(path)));
const strings = prof.stringTable.strings;
const key = (n) => BigInt(n || 0).toString();
const functions = new Map(prof.function.map((f) => [key(f.id), f]));
const locations = new Map(prof.location.map((l) => [key(l.id), l]));
for (const s of prof.sample) {
  const frames = [];
  for (const id of s.locationId) {
    const loc = locations.get(key(id));
    for (const line of loc.line) {
      const f = functions.get(key(line.functionId));
      frames.push(`${strings[Number(f.name || 0)]}@${strings[Number(f.filename || 0)]}:` +
                  `${Number(line.line || 0)}:${Number(f.startLine || 0)}`);
    }
  }
  process.stdout.write(`${Number(s.value[0])}\t${frames.join(';')}\n`);
}
