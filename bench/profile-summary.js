'use strict';
/**
 * Summarises a V8 .cpuprofile: the functions with the most self time (file:line:column, 1-based as
 * an editor shows them) and the self time per file.
 *
 *   node bench/profile-summary.js <file.cpuprofile> [top=25] [fromMicros toMicros]
 *
 * run.js passes the windows of the timed runs (case.js reports them), so module loading, the body's
 * construction and the warm-up stay out of the summary.
 * Lines point into what ran: dist/cjs/*.js for rx-multipart (tsc keeps function order and names,
 * so the lib/*.ts function is the one with the same name).
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

function shortUrl(url) {
  if (url === '') return '';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const relative = file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
  // run.js's private copy of dist/cjs (bench/dist.js) is named as the dist/cjs it was copied from.
  return relative.replace(/^node_modules\/\.cache\/rx-multipart-bench\/\d+\/cjs\//, 'dist/cjs/');
}

/**
 * Self time per function and per file, in ms, largest first.
 * @param windows `[fromMicros, toMicros]` pairs, in order, on the profile's clock (the monotonic
 *   clock process.hrtime reads too), to keep only the samples of the timed runs; undefined keeps all.
 */
function summarise(profile, windows) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfById = new Map();
  let at = profile.startTime;
  let w = 0;
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time from sample i-1 to sample i: charge it to the function sampled at i.
    const micros = profile.timeDeltas[i] || 0;
    at += micros;
    if (windows !== undefined) {
      while (w < windows.length && windows[w][1] < at) w++;
      if (w === windows.length || at < windows[w][0]) return;
    }
    selfById.set(id, (selfById.get(id) || 0) + micros);
  });
  const byFunction = new Map();
  const byFile = new Map();
  const byLine = new Map();
  let total = 0;
  for (const [id, micros] of selfById) {
    const node = byId.get(id);
    const frame = node.callFrame;
    const file = shortUrl(frame.url);
    const where = file === '' ? '' : `${file}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) || 0) + micros);
    const fileKey = file === '' ? `${frame.functionName} (native/VM)` : file;
    byFile.set(fileKey, (byFile.get(fileKey) || 0) + micros);
    // positionTicks (1-based lines) cover the whole profile, not the window: split the window's
    // self time of the function in their proportions.
    // Native frames (no url) carry no lines of their own.
    const ticks = file === '' ? [] : node.positionTicks || [];
    const tickCount = ticks.reduce((sum, tick) => sum + tick.ticks, 0);
    for (const tick of ticks) {
      const lineKey = `${file}:${tick.line}`;
      const line = byLine.get(lineKey) || { micros: 0, file: frame.url, line: tick.line };
      line.micros += (micros * tick.ticks) / tickCount;
      byLine.set(lineKey, line);
    }
    total += micros;
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]).map(([key, micros]) => ({ key, ms: micros / 1000 }));
  const lines = [...byLine]
    .sort((a, b) => b[1].micros - a[1].micros)
    .map(([key, line]) => ({ key: `${key}${sourceLine(line.file, line.line)}`, ms: line.micros / 1000 }));
  return { totalMs: total / 1000, functions: sorted(byFunction), files: sorted(byFile), lines };
}

/** The text of a line of a local file, to show next to its time (files are read once). */
const sources = new Map();
function sourceLine(url, line) {
  if (!url.startsWith('file://')) return '';
  if (!sources.has(url)) {
    try {
      sources.set(url, fs.readFileSync(new URL(url), 'utf8').split('\n'));
    } catch {
      sources.set(url, []);
    }
  }
  const text = sources.get(url)[line - 1];
  return text === undefined ? '' : `   ${text.trim().slice(0, 100)}`;
}

function format(summary, top, windows) {
  const row = ({ key, ms }) => `${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)}%  ${key}`;
  return [
    `total sampled: ${summary.totalMs.toFixed(1)} ms${windows === undefined ? ' (whole process)' : ` (${windows.length} timed runs only)`}`,
    `top ${top} functions by self time:`,
    ...summary.functions.slice(0, top).map(row),
    `top ${top} lines by self time (V8 position ticks):`,
    ...summary.lines.slice(0, top).map(row),
    'self time by file:',
    ...summary.files.slice(0, 15).map(row),
  ].join('\n');
}

function summariseFile(file, top = 25, windows = undefined) {
  return format(summarise(JSON.parse(fs.readFileSync(file, 'utf8')), windows), top, windows);
}

if (require.main === module) {
  const [file, top, from, to] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: node bench/profile-summary.js <file.cpuprofile> [top] [fromMicros toMicros]\n');
    process.exit(2);
  }
  const windows = from === undefined ? undefined : [[Number(from), Number(to)]];
  process.stdout.write(`${summariseFile(file, top === undefined ? 25 : Number(top), windows)}\n`);
}

module.exports = { summariseFile };
