'use strict';
// End to end over loopback HTTP: a 1 GiB file and a form of 1000 small files, uploaded to a server
// (its own process) that stores to disk with rx-multipart, multer or formidable. Reports
// throughput and the server's peak RSS (VmHWM).
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, rmSync, readFileSync, readdirSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { head, close, crlf, randomData, CONTENT_TYPE, MiB } = require('./bodies');

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

async function measure(kind, shape, size) {
  const directory = mkdtempSync(join(tmpdir(), `rx-multipart-e2e-${kind.replace('/', '_')}-`));
  const { child, port } = await startServer(kind, directory);
  try {
    const out = execFileSync(process.execPath, ['-e', CLIENT, port, shape, String(size)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const result = JSON.parse(out.trim());
    const rss = peakRss(child.pid);
    const files = readdirSync(directory).length;
    return { ...result, rss, files };
  } finally {
    child.kill();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function runAsync({ quick }) {
  const lines = [];
  const bigSize = (quick ? 128 : 1024) * MiB;
  const smallCount = quick ? 200 : 1000;
  lines.push(`End to end over loopback HTTP, stored to disk; the server in its own process, peak RSS = its VmHWM.`);
  lines.push('');
  lines.push('| upload | server | time | throughput | × fastest peer | server peak RSS | answer |');
  lines.push('|---|---|---:|---:|---:|---:|---|');
  for (const [shape, size, label] of [['big', bigSize, `1 file of ${bigSize / MiB} MiB`], ['small', smallCount, `${smallCount} files of 1 KiB`]]) {
    const results = [];
    for (const kind of SERVERS) results.push([kind, await measure(kind, shape, size)]);
    const rate = ([, r]) => (shape === 'big' ? r.length / r.seconds / 1e6 : size / r.seconds);
    const fastestPeer = Math.max(...results.filter(([kind]) => kind !== 'rx-multipart').map(rate));
    for (const entry of results) {
      const [kind, r] = entry;
      const value = rate(entry);
      lines.push(`| ${label} | ${kind === 'rx-multipart' ? '**rx-multipart**' : kind} | ${r.seconds.toFixed(2)} s | ${shape === 'big' ? `${value.toFixed(0)} MB/s` : `${value.toFixed(0)} files/s`} | ${(value / fastestPeer).toFixed(2)} | ${(r.rss / MiB).toFixed(0)} MiB | ${r.status} ${r.answer.slice(0, 40)} |`);
    }
  }
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
