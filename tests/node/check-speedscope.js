#!/usr/bin/env node
// Loads a profile into speedscope the way speedscope's own command line
// does (index.html#localProfilePath=..., which calls
// speedscope.loadFileFromBase64 and so runs speedscope's real importers:
// its file-format reader, its folded-stack and Trace Event importers),
// in headless Chromium, and reads back what speedscope shows: the
// importer it chose, the profiles it made (one per thread for ours), and
// its "Sandwich" table (every function's total and self share) for the
// profile it opens first. speedscope's npm package ships only the
// browser bundle, so a browser is the way to run its importer.
//
// A file that claims speedscope's format ("$schema") is first checked
// against the JSON schema speedscope ships and the rules its reader
// enforces (frame indexes in range, one weight per sample).
//
// Prints a JSON summary:
//   {importer, title, profiles: [names], rows: [{name, total, self}],
//    schema: "valid" | "not speedscope JSON"}
// where total and self are percentages of the opened profile.
// Exit status 1, with the reason on stderr, when speedscope rejects the
// file or it breaks a rule.
//
// Usage: node tests/node/check-speedscope.js FILE
//   (npm install in tests/node first; $CHROMIUM names the browser)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const release = path.join(__dirname, 'node_modules', 'speedscope', 'dist', 'release');

function fail(msg) {
  process.stderr.write(`check-speedscope: ${msg}\n`);
  process.exit(1);
}

// --- the schema speedscope ships (draft-07; the subset it uses) ---

function validate(schema, root, value, where, errors) {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/definitions/', '');
    return validate(root.definitions[name], root, value, where, errors);
  }
  if (schema.anyOf) {
    const ok = schema.anyOf.some((s) => validate(s, root, value, where, []));
    if (!ok)
      errors.push(`${where}: matches none of the allowed shapes`);
    return ok;
  }
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (schema.type && schema.type !== type) {
    errors.push(`${where}: is ${type}, must be ${schema.type}`);
    return false;
  }
  if ('const' in schema && value !== schema.const) {
    errors.push(`${where}: must be ${JSON.stringify(schema.const)}`);
    return false;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(`${where}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
    return false;
  }
  let ok = true;
  if (type === 'object') {
    for (const key of schema.required || [])
      if (!(key in value)) {
        errors.push(`${where}: "${key}" is required`);
        ok = false;
      }
    for (const [key, sub] of Object.entries(schema.properties || {}))
      if (key in value)
        ok = validate(sub, root, value[key], `${where}.${key}`, errors) && ok;
  }
  if (type === 'array' && schema.items)
    value.forEach((item, i) => {
      ok = validate(schema.items, root, item, `${where}[${i}]`, errors) && ok;
    });
  return ok;
}

function checkSpeedscopeJson(file) {
  const schema = JSON.parse(fs.readFileSync(path.join(release, 'file-format-schema.json')));
  const top = schema.$ref ? schema.$ref.replace('#/definitions/', '') : null;
  const errors = [];
  validate(top ? schema.definitions[top] : schema, schema, file, '$', errors);
  if (errors.length)
    fail(`does not match speedscope's schema: ${errors.slice(0, 5).join('; ')}`);
  const nframes = file.shared.frames.length;
  file.profiles.forEach((prof, p) => {
    if (prof.type !== 'sampled')
      return;
    if (prof.samples.length !== prof.weights.length)
      fail(`profiles[${p}]: ${prof.samples.length} samples but ${prof.weights.length} weights`);
    prof.samples.forEach((stack, i) => stack.forEach((f) => {
      if (!Number.isInteger(f) || f < 0 || f >= nframes)
        fail(`profiles[${p}].samples[${i}]: frame ${f} out of range (0..${nframes - 1})`);
    }));
    const sum = prof.weights.reduce((a, b) => a + b, 0);
    if (prof.endValue - prof.startValue !== sum)
      fail(`profiles[${p}]: endValue - startValue = ${prof.endValue - prof.startValue}, weights add up to ${sum}`);
  });
}

// --- speedscope's importer, in headless Chromium ---

function chromium() {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'];
  for (const c of candidates) {
    if (!c)
      continue;
    try {
      execFileSync('sh', ['-c', `command -v "${c}"`], { stdio: 'ignore' });
      return c;
    } catch (e) { /* next */ }
  }
  fail('no Chromium found to run speedscope in; install it (apt-get install chromium) or set $CHROMIUM');
}

const entities = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&#39;': "'", '&nbsp;': ' ' };
const unescape = (s) => s.replace(/&(lt|gt|amp|quot|#39|nbsp);/g, (m) => entities[m]);

function importInSpeedscope(filePath) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'speedscope-check-'));
  try {
    const name = path.basename(filePath);
    const b64 = fs.readFileSync(filePath).toString('base64');
    const loader = path.join(tmp, 'load.js');
    fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(b64)})`);
    const url = `file://${path.join(release, 'index.html')}#localProfilePath=${loader}&view=sandwich`;
    const log = path.join(tmp, 'chromium.log');
    let dom;
    try {
      dom = execFileSync('sh', ['-c',
        `"$0" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$1" ` +
        `--allow-file-access-from-files --virtual-time-budget=15000 --enable-logging=stderr --v=0 ` +
        `--dump-dom "$2" 2>"$3"`, chromium(), path.join(tmp, 'profile'), url, log],
        { timeout: 120000, maxBuffer: 256 << 20 }).toString();
    } catch (e) {
      fail(`Chromium failed (${e.message.split('\n')[0]}); its log:\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : ''}`);
    }
    const console = fs.readFileSync(log, 'utf8').split('\n')
      .filter((l) => l.includes(':CONSOLE')).map((l) => (l.match(/"(.*)", source:/) || [])[1] || l);
    return { dom, console };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function main(argv) {
  if (argv.length !== 1)
    fail('usage: check-speedscope.js FILE');
  const filePath = argv[0];
  let text;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch (e) {
    fail(`cannot read '${filePath}': ${e.message}`);
  }
  let schema = 'not speedscope JSON';
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch (e) { /* folded stacks, say */ }
  if (parsed && parsed.$schema) {
    checkSpeedscopeJson(parsed);
    schema = 'valid';
  }

  const { dom, console } = importInSpeedscope(filePath);
  const importer = console.find((l) => l.startsWith('Importing as'));
  if (!importer)
    fail(`speedscope did not import the file; its console:\n  ${console.join('\n  ')}`);
  const failed = console.find((l) => /Failed|Error|Unrecognized|Something went wrong/i.test(l));
  if (failed)
    fail(`speedscope reported: ${failed}`);
  const title = unescape((dom.match(/<title>([^<]*)<\/title>/) || [])[1] || '');
  if (!title.endsWith(' - speedscope'))
    fail(`speedscope shows no profile (page title '${title}'); its console:\n  ${console.join('\n  ')}`);
  const profiles = [...dom.matchAll(/<tr title="([^"]*)"/g)].map((m) => unescape(m[1]));
  // Sandwich rows: total cell, self cell (each with a bar whose width is
  // the exact percentage), then the name after the colour swatch.
  const rows = [...dom.matchAll(/<tr class="[^"]*"><td[^>]*>[^<]*<div[^>]*><div[^>]*style="width: ([0-9.e-]+)%;"><\/div><\/div><\/td><td[^>]*>[^<]*<div[^>]*><div[^>]*style="width: ([0-9.e-]+)%;"><\/div><\/div><\/td><td[^>]*><span[^>]*><\/span>([^<]*)<\/td><\/tr>/g)]
    .map((m) => ({ name: unescape(m[3]), total: Number(m[1]), self: Number(m[2]) }));
  if (!rows.length)
    fail('speedscope imported the file but its table of functions is empty');
  process.stdout.write(JSON.stringify({ importer, title, profiles, rows, schema }) + '\n');
}

main(process.argv.slice(2));
