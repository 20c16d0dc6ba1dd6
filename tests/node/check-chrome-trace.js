#!/usr/bin/env node
// Checks a Chrome Trace Event Format file (JSON object form) against the
// format's rules, as Perfetto and chrome://tracing read them:
//   - "traceEvents" is an array; every event has a one-letter "ph" of a
//     known phase, a "name", integer "pid" and "tid", and (except
//     metadata) a numeric "ts" in microseconds;
//   - "M" events are process_name / thread_name / *_sort_index / labels
//     with their "args"; every thread with events is named;
//   - "i"/"I" instants have a scope "s" of g, p or t;
//   - "B"/"E" pairs and "X" slices nest properly per thread, "E" closes
//     the open "B", and per-thread timestamps of B/E never go back;
//   - every "sf" names an entry of "stackFrames", whose "parent" chains
//     end at a root (no dangling parent, no cycle);
//   - top-level "samples" have pid, tid, ts, a valid sf and a weight.
// Prints a JSON summary for the tests:
//   {events, instants, instantSamples, samples, threads: {tid: name},
//    leaves: {name: count}, stackDepthMax}
// Exit status 1, with the reason on stderr, on the first broken rule.
//
// Usage: node tests/node/check-chrome-trace.js FILE
'use strict';

const fs = require('fs');

function fail(msg) {
  process.stderr.write(`check-chrome-trace: ${msg}\n`);
  process.exit(1);
}

const PHASES = new Set('BEXiIC' + 'bne' + 'stf' + 'PNODM' + 'Rcv' + '(');
const METADATA = new Set(['process_name', 'thread_name', 'process_sort_index',
  'thread_sort_index', 'process_labels', 'process_uptime_seconds']);

function main(argv) {
  if (argv.length !== 1)
    fail('usage: check-chrome-trace.js FILE');
  let trace;
  try {
    trace = JSON.parse(fs.readFileSync(argv[0], 'utf8'));
  } catch (e) {
    fail(`not JSON: ${e.message}`);
  }
  if (!trace || typeof trace !== 'object' || !Array.isArray(trace.traceEvents))
    fail('no "traceEvents" array (the object form needs one)');
  if ('displayTimeUnit' in trace && !['ms', 'ns'].includes(trace.displayTimeUnit))
    fail(`displayTimeUnit ${JSON.stringify(trace.displayTimeUnit)} is neither "ms" nor "ns"`);
  const frames = trace.stackFrames || {};
  // Every stack frame's parent chain must end at a root.
  const depthOf = new Map();
  const depth = (id) => {
    if (depthOf.has(id))
      return depthOf.get(id);
    const seen = new Set();
    let d = 0;
    for (let cur = id; cur !== undefined; d++) {
      if (seen.has(cur))
        fail(`stackFrames: cycle through "${cur}"`);
      seen.add(cur);
      const f = frames[cur];
      if (!f)
        fail(`stack frame "${cur}" is referenced but not in stackFrames`);
      if (typeof f.name !== 'string')
        fail(`stackFrames["${cur}"] has no name`);
      cur = f.parent === undefined ? undefined : String(f.parent);
    }
    depthOf.set(id, d);
    return d;
  };
  let stackDepthMax = 0;
  for (const id of Object.keys(frames))
    stackDepthMax = Math.max(stackDepthMax, depth(id));

  const threads = {};
  const used = new Set();
  const open = new Map(); // pid:tid -> open B events
  const lastTs = new Map();
  const slices = new Map(); // pid:tid -> [start, end] of X events
  const leaves = {};
  let instants = 0, instantSamples = 0;
  trace.traceEvents.forEach((e, i) => {
    const where = `traceEvents[${i}]`;
    if (!e || typeof e !== 'object')
      fail(`${where} is not an object`);
    if (typeof e.ph !== 'string' || e.ph.length !== 1 || !PHASES.has(e.ph))
      fail(`${where}: phase ${JSON.stringify(e.ph)} is not a Trace Event phase`);
    if (typeof e.name !== 'string')
      fail(`${where}: no name`);
    if (!Number.isInteger(e.pid) || !Number.isInteger(e.tid))
      fail(`${where}: pid and tid must be integers`);
    const key = `${e.pid}:${e.tid}`;
    if (e.ph === 'M') {
      if (!METADATA.has(e.name))
        fail(`${where}: unknown metadata event ${JSON.stringify(e.name)}`);
      if (!e.args || typeof e.args !== 'object')
        fail(`${where}: metadata without args`);
      if (e.name.endsWith('_name') && typeof e.args.name !== 'string')
        fail(`${where}: ${e.name} needs args.name`);
      if (e.name === 'thread_name')
        threads[e.tid] = e.args.name;
      return;
    }
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0)
      fail(`${where}: ts must be a number of microseconds`);
    if ('sf' in e)
      depth(String(e.sf));
    used.add(e.tid);
    switch (e.ph) {
    case 'i':
    case 'I':
      if ('s' in e && !['g', 'p', 't'].includes(e.s))
        fail(`${where}: instant scope ${JSON.stringify(e.s)} is not g, p or t`);
      instants++;
      instantSamples += e.args && Number.isInteger(e.args.samples) ? e.args.samples : 1;
      leaves[e.name] = (leaves[e.name] || 0) + 1;
      break;
    case 'B':
    case 'E': {
      if (lastTs.has(key) && e.ts < lastTs.get(key))
        fail(`${where}: B/E timestamps go back on thread ${e.tid}`);
      lastTs.set(key, e.ts);
      const stack = open.get(key) || [];
      if (e.ph === 'B')
        stack.push(e);
      else if (!stack.length)
        fail(`${where}: E with no open B on thread ${e.tid}`);
      else
        stack.pop();
      open.set(key, stack);
      break;
    }
    case 'X':
      if (typeof e.dur !== 'number' || e.dur < 0)
        fail(`${where}: X needs a dur >= 0`);
      (slices.get(key) || slices.set(key, []).get(key)).push([e.ts, e.ts + e.dur, i]);
      break;
    default:
      break;
    }
  });
  for (const [key, stack] of open)
    if (stack.length)
      fail(`thread ${key}: ${stack.length} B events never closed`);
  for (const [key, list] of slices) {
    // Nested or disjoint: sorted by start (longest first), each slice
    // must end inside every slice still open around it.
    list.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const stack = [];
    for (const s of list) {
      while (stack.length && stack[stack.length - 1][1] <= s[0])
        stack.pop();
      if (stack.length && s[1] > stack[stack.length - 1][1])
        fail(`thread ${key}: X slices at traceEvents[${stack[stack.length - 1][2]}] and [${s[2]}] overlap without nesting`);
      stack.push(s);
    }
  }
  for (const tid of used)
    if (!(tid in threads))
      fail(`thread ${tid} has events but no thread_name metadata`);

  let samples = 0;
  if ('samples' in trace) {
    if (!Array.isArray(trace.samples))
      fail('"samples" must be an array');
    const last = new Map();
    trace.samples.forEach((s, i) => {
      const where = `samples[${i}]`;
      if (!Number.isInteger(s.tid) || typeof s.ts !== 'number')
        fail(`${where}: needs an integer tid and a numeric ts`);
      if (!('sf' in s))
        fail(`${where}: no sf`);
      depth(String(s.sf));
      const key = `${s.pid}:${s.tid}`;
      if (last.has(key) && s.ts < last.get(key))
        fail(`${where}: timestamps of thread ${s.tid} go back`);
      last.set(key, s.ts);
      samples += 'weight' in s ? s.weight : 1;
    });
  }
  process.stdout.write(JSON.stringify({ events: trace.traceEvents.length, instants,
    instantSamples, samples, threads, leaves, stackDepthMax }) + '\n');
}

main(process.argv.slice(2));
