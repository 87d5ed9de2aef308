'use strict';
// End to end over loopback HTTP: a 1 GiB file and a form of 1000 small files, uploaded to a server
// (its own process) that stores to disk with rx-multipart, multer or formidable. Reports
// throughput and the server's peak RSS (VmHWM).
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, rmSync, readFileSync, readdirSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { KiB, MiB } = require('./bodies');

const SERVERS = ['rx-multipart', 'multer', 'formidable'];

/** The client, run in its own process so the parent stays idle: prints {seconds, status, answer}. */
const CLIENT = `
const { request } = require('node:http');
const { head, close, crlf, randomData, CONTENT_TYPE, MiB } = require(${JSON.stringify(join(__dirname, 'bodies.js'))});
const [port, shape, size] = process.argv.slice(1);
const pieces = [];
let length = 0;
const add = (buffer, times = 1) => { pieces.push([buffer, times]); length += buffer.length * times; };
if (shape === 'big') {
  const block = randomData(MiB);
  add(head('file', 'big.bin')); add(block, Number(size) / MiB); add(Buffer.concat([crlf, close]));
} else {
  const data = randomData(1024);
  for (let i = 0; i < Number(size); i++) { add(head('f' + i, 'f' + i + '.txt')); add(data); add(crlf); }
  add(close);
}
const started = process.hrtime.bigint();
const req = request({ port: Number(port), host: '127.0.0.1', method: 'POST', headers: { 'content-type': CONTENT_TYPE, 'content-length': length } }, (res) => {
  let text = '';
  res.setEncoding('utf8').on('data', (piece) => (text += piece)).on('end', () => {
    console.log(JSON.stringify({ seconds: Number(process.hrtime.bigint() - started) / 1e9, status: res.statusCode, answer: text, length }));
  });
});
let i = 0, sent = 0;
const pump = () => {
  while (i < pieces.length) {
    const [buffer, times] = pieces[i];
    while (sent < times) { sent++; if (!req.write(buffer)) return void req.once('drain', pump); }
    i++; sent = 0;
  }
  req.end();
};
pump();
`;

function startServer(kind, directory) {
  const child = spawn(process.execPath, [join(__dirname, 'e2e-server.js'), kind, directory], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    child.stdout.on('data', (data) => {
      const match = /PORT (\d+)/.exec(String(data));
      if (match) resolve({ child, port: match[1] });
    });
  });
}

function peakRss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) * 1024;
}

/**
 * The uploaded files under `directory` (storages may nest): how many, and their bytes. rx-multipart's
 * disk storage writes `<id>.json` metadata beside each `<id>`; the bodies' files never end in .json.
 */
function stored(directory) {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.endsWith('.json')) continue;
    files++;
    bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return { files, bytes };
}

function emptyDirectory(directory) {
  for (const name of readdirSync(directory)) rmSync(join(directory, name), { recursive: true, force: true });
}

function upload(port, shape, size) {
  const out = execFileSync(process.execPath, ['-e', CLIENT, port, shape, String(size)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim());
}

/**
 * One server process per (server, upload): `warmups` uploads not timed, then `runs` timed ones
 * (the median is reported), each checked: status 200 and every file's bytes on disk. The peak RSS
 * is the server's VmHWM over its whole life, warm-up included.
 */
async function measure(kind, shape, size, { warmups, runs }) {
  const directory = mkdtempSync(join(tmpdir(), `rx-multipart-e2e-${kind}-`));
  const { child, port } = await startServer(kind, directory);
  try {
    const expected = shape === 'big' ? { files: 1, bytes: size } : { files: size, bytes: size * KiB };
    const seconds = [];
    let last;
    for (let i = 0; i < warmups + runs; i++) {
      last = upload(port, shape, size);
      const onDisk = stored(directory);
      if (last.status !== 200 || onDisk.files !== expected.files || onDisk.bytes !== expected.bytes) {
        throw new Error(`${kind}: answered ${last.status} ${last.answer.slice(0, 80)}; stored ${onDisk.files} files, ${onDisk.bytes} bytes; expected ${expected.files}, ${expected.bytes}`);
      }
      emptyDirectory(directory);
      if (i >= warmups) seconds.push(last.seconds);
    }
    seconds.sort((a, b) => a - b);
    return { seconds: seconds[seconds.length >> 1], best: seconds[0], runs, length: last.length, rss: peakRss(child.pid) };
  } finally {
    child.kill();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function runAsync({ quick }) {
  const lines = [];
  const bigSize = (quick ? 128 : 1024) * MiB;
  const smallCount = quick ? 200 : 1000;
  const uploads = [
    { shape: 'big', size: bigSize, label: `1 file of ${bigSize / MiB} MiB`, timing: { warmups: 0, runs: quick ? 1 : 3 } },
    { shape: 'small', size: smallCount, label: `${smallCount} files of 1 KiB`, timing: { warmups: quick ? 1 : 3, runs: quick ? 3 : 9 } },
  ];
  lines.push('| upload | server | median | throughput (median) | best | vs fastest peer | server peak RSS |');
  lines.push('|---|---|--:|--:|--:|--:|--:|');
  for (const { shape, size, label, timing } of uploads) {
    const results = [];
    for (const kind of SERVERS) {
      process.stderr.write(`end to end: ${label} / ${kind}: `);
      try {
        const result = await measure(kind, shape, size, timing);
        results.push({ kind, ...result });
        process.stderr.write(`${result.seconds.toFixed(3)} s median of ${result.runs}\n`);
      } catch (error) {
        results.push({ kind, error: error.message });
        process.stderr.write(`failed (${error.message})\n`);
      }
    }
    const rate = (r, seconds) => (shape === 'big' ? r.length / seconds / 1e6 : size / seconds);
    const format = (value) => (shape === 'big' ? `${value.toFixed(0)} MB/s` : `${value.toFixed(0)} files/s`);
    const peers = results.filter((r) => r.kind !== 'rx-multipart' && r.error === undefined);
    const fastestPeer = peers.length > 0 ? Math.max(...peers.map((r) => rate(r, r.seconds))) : undefined;
    for (const r of results) {
      const name = r.kind === 'rx-multipart' ? '**rx-multipart**' : r.kind;
      if (r.error !== undefined) {
        lines.push(`| ${label} | ${name} | failed: ${r.error} | | | | |`);
        continue;
      }
      const value = rate(r, r.seconds);
      lines.push(
        `| ${label} | ${name} | ${r.seconds.toFixed(3)} s | ${format(value)} | ${format(rate(r, r.best))} | ` +
          `${fastestPeer === undefined ? '–' : `${(value / fastestPeer).toFixed(2)}x`} | ${(r.rss / MiB).toFixed(0)} MiB |`,
      );
    }
  }
  lines.push('');
  lines.push(
    '- The server runs in its own process (bench/e2e-server.js, plain node:http), a fresh one per (server, upload); ' +
      'the client in another, streaming the body from reused buffers (the 1 GiB file is never whole in memory). ' +
      'Every upload is checked: status 200, and every file\'s bytes found on disk. Time: from the first byte ' +
      'written to the answer read. Peak RSS: the server\'s VmHWM (/proc/<pid>/status), warm-up included.',
  );
  lines.push(
    '- rx-multipart: `multipart(req, { limits }).pipe(storeParts(createDiskStorage({ directory })), toArray())`; ' +
      'multer: `multer({ storage: multer.diskStorage({ destination }) }).any()` called with a minimal next(); ' +
      'formidable: `formidable({ uploadDir, maxFileSize, ... }).parse(req)`. Limits raised for 1 GiB and 1000 files.',
  );
  return lines;
}

/** Runs synchronously for run.js (in a child, so the table prints in order). */
function run(options) {
  const out = execFileSync(process.execPath, [__filename, ...(options.quick ? ['--quick'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return out.trimEnd().split('\n');
}

if (require.main === module) {
  runAsync({ quick: process.argv.includes('--quick') }).then((lines) => console.log(lines.join('\n')));
}

module.exports = { run };
