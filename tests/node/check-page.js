#!/usr/bin/env node
// Loads one of our interactive pages (the SVG flame graph or the HTML
// report) in headless Chromium and checks what a user would see:
//   - no console output at all (our pages log nothing, so any line is an
//     error: a script exception, a bad resource, a CSP complaint);
//   - the page's text (titles, labels, table cells; not scripts) names
//     the hottest function;
//   - clicking that function's frame zooms: its rect becomes the full
//     width, frames outside its subtree are hidden; "Reset zoom" puts it
//     back;
//   - in the HTML report, a click on the table's "function" heading sorts
//     the rows by name;
//   - a screenshot is written (a PNG).
//
// Node 20 has no WebSocket for the DevTools protocol, so the page is
// driven from inside: a copy of it gets a probe script, run first, that
// records uncaught errors, waits for load, clicks with real DOM events
// and writes its findings into the DOM, which --dump-dom prints.
//
// Prints a JSON summary; exit status 1, with the reason on stderr, when
// a check fails.
// Usage: node tests/node/check-page.js FILE HOTTEST SCREENSHOT.png
//   ($CHROMIUM names the browser)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

function fail(msg) {
  process.stderr.write(`check-page: ${msg}\n`);
  process.exit(1);
}

function chromium() {
  for (const c of [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!c)
      continue;
    try {
      execFileSync('sh', ['-c', `command -v "${c}"`], { stdio: 'ignore' });
      return c;
    } catch (e) { /* next */ }
  }
  fail('no Chromium found; install it (apt-get install chromium) or set $CHROMIUM');
}

// Runs in the page, before the page's own scripts. The function name to
// click comes in the URL's fragment, so it is not part of the page text.
function probe() {
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });
  window.addEventListener('load', function () {
    setTimeout(function () {
      var want = decodeURIComponent(location.hash.slice(1));
      var doc = document.documentElement, r = { errors: errors };
      var copy = doc.cloneNode(true), s = copy.getElementsByTagName('script');
      while (s.length) s[0].parentNode.removeChild(s[0]);
      r.hasName = copy.textContent.indexOf(want) >= 0;
      var svg = document.getElementById('oneprof-flame');
      var gs = svg ? svg.querySelectorAll('g.f') : [], best = null, bw = -1;
      for (var i = 0; i < gs.length; i++) {
        var t = gs[i].getElementsByTagName('title')[0].textContent;
        var w = +gs[i].getElementsByTagName('rect')[0].getAttribute('width');
        if (t.slice(0, t.lastIndexOf(' (')) === want && w > bw) { best = gs[i]; bw = w; }
      }
      r.frames = gs.length;
      if (best) {
        var rect = best.getElementsByTagName('rect')[0];
        r.widthBefore = bw;
        rect.dispatchEvent(new MouseEvent('click', { bubbles: true }));
        r.widthAfter = +rect.getAttribute('width');
        r.hidden = svg.querySelectorAll('g.f[display="none"]').length;
        var all = gs[0].getElementsByTagName('rect')[0];
        r.fullWidth = +all.getAttribute('width');
        var unzoom = document.getElementById('unzoom');
        unzoom.dispatchEvent(new MouseEvent('click', { bubbles: true }));
        r.widthReset = +rect.getAttribute('width');
        r.hiddenReset = svg.querySelectorAll('g.f[display="none"]').length;
      }
      // The HTML report's table: a click on "function" sorts by name.
      var table = document.getElementById('top-table');
      if (table) {
        var th = table.tHead.rows[0].cells, col = -1;
        for (var c = 0; c < th.length; c++) if (th[c].textContent === 'function') col = c;
        th[col].dispatchEvent(new MouseEvent('click', { bubbles: true }));
        var names = [], rows = table.tBodies[0].rows;
        for (var k = 0; k < rows.length; k++) names.push(rows[k].cells[col].textContent);
        var sorted = names.slice().sort();
        r.tableRows = names.length;
        r.tableSorts = names.length > 1 && names.join('\n') === sorted.join('\n');
      }
      var out = document.createElementNS(doc.namespaceURI || 'http://www.w3.org/1999/xhtml',
        doc.namespaceURI === 'http://www.w3.org/2000/svg' ? 'desc' : 'pre');
      out.setAttribute('id', 'probe-result');
      out.textContent = JSON.stringify(r);
      doc.appendChild(out);
    }, 0);
  });
}

const [file, hottest, shot] = process.argv.slice(2);
if (!file || !hottest || !shot)
  fail('usage: check-page.js FILE HOTTEST SCREENSHOT.png');
const page = fs.readFileSync(file, 'utf8');
const isSvg = /\.svg$/.test(file);
// The probe goes first, so it sees errors in the page's own scripts.
let probed;
if (isSvg) {
  const m = page.match(/<svg[^>]*>\n/);
  if (!m)
    fail('no <svg> element');
  probed = page.replace(m[0], `${m[0]}<script type="text/ecmascript"><![CDATA[(${probe})();]]></script>\n`);
} else {
  if (page.indexOf('<head>') < 0)
    fail('no <head>');
  probed = page.replace('<head>', `<head><script>(${probe})();</script>`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'page-check-'));
function browse(args, log) {
  const fd = fs.openSync(log, 'w');
  try {
    return execFileSync(chromium(), ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      `--user-data-dir=${path.join(tmp, 'profile')}`, '--virtual-time-budget=5000',
      '--enable-logging=stderr', '--v=0', ...args],
    { timeout: 120000, maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', fd] }).toString();
  } catch (e) {
    fail(`Chromium failed (${e.message.split('\n')[0]}); its log:\n${fs.readFileSync(log, 'utf8').slice(-2000)}`);
  } finally {
    fs.closeSync(fd);
  }
}
const consoleLines = (log) => fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes(':CONSOLE'));

try {
  const copy = path.join(tmp, path.basename(file));
  fs.writeFileSync(copy, probed);
  const log1 = path.join(tmp, 'dom.log');
  const dom = browse(['--dump-dom', `file://${copy}#${encodeURIComponent(hottest)}`], log1);
  const m = dom.match(/id="probe-result">([^<]*)</);
  if (!m)
    fail(`the probe wrote no result (did the page load?); console:\n${consoleLines(log1).join('\n')}`);
  const r = JSON.parse(m[1].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));

  // The screenshot of the page as shipped, with nothing added.
  const log2 = path.join(tmp, 'shot.log');
  browse([`--screenshot=${path.resolve(shot)}`, '--window-size=1280,1024', `file://${path.resolve(file)}`], log2);
  const png = fs.existsSync(shot) ? fs.readFileSync(shot) : Buffer.alloc(0);
  r.screenshotBytes = png.length;
  r.console = consoleLines(log1).concat(consoleLines(log2));
  console.log(JSON.stringify(r));

  if (r.console.length || r.errors.length)
    fail(`console output: ${r.console.concat(r.errors).join('; ')}`);
  if (png.length < 1000 || png.toString('latin1', 1, 4) !== 'PNG')
    fail(`screenshot ${shot} is not a PNG (${png.length} bytes)`);
  if (!r.hasName)
    fail(`the page's text does not name ${hottest}`);
  if (!r.frames || r.widthBefore === undefined)
    fail(`no flame graph frame named ${hottest} (${r.frames} frames)`);
  if (!(r.widthBefore < r.fullWidth - 1) || Math.abs(r.widthAfter - r.fullWidth) > 0.01 || !r.hidden)
    fail(`click did not zoom: width ${r.widthBefore} -> ${r.widthAfter} (full ${r.fullWidth}), ${r.hidden} frames hidden`);
  if (Math.abs(r.widthReset - r.widthBefore) > 0.01 || r.hiddenReset)
    fail(`reset zoom did not restore: width ${r.widthReset}, ${r.hiddenReset} hidden`);
  if (r.tableRows !== undefined && !r.tableSorts)
    fail(`the top table did not sort by name on a click (${r.tableRows} rows)`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
