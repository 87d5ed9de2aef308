'use strict';
// End to end over loopback HTTP: a 1 GiB file and a form of 1000 small files, uploaded to a server
// (its own process) that stores to disk with rx-multipart (as it comes, and with the SHA-256
// checksum on), multer or formidable. Reports throughput, rx-multipart against the faster peer of
// each round, the server's CPU per upload, its RSS once started and its peak RSS (VmHWM). Linux
// only: these come from /proc.
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, rmSync, readFileSync, readdirSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { KiB, MiB } = require('./bodies');
const { computeMedian } = require('./report');

const SERVERS = ['rx-multipart', 'rx-multipart-sha256', 'multer', 'formidable'];
const LABELS = { 'rx-multipart': '**rx-multipart**', 'rx-multipart-sha256': "rx-multipart, checksum: 'sha256'", 'rx-multipart@baseline': 'rx-multipart@baseline' };
const isPeer = (kind) => !kind.startsWith('rx-multipart');

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

/** CPU seconds (user + system, all threads) the process has used so far. */
function readCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

// /proc counts CPU time in clock ticks; Linux fixes them at 100 per second (USER_HZ) on the
// platforms Node runs on, which is what getconf says when it can be asked.
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The process's peak RSS so far (`VmHWM`) or its RSS now (`VmRSS`), in bytes. */
function readRss(pid, field = 'VmHWM') {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) * 1024;
}

/**
 * The uploaded files under `directory` (storages may nest): how many, and their bytes. rx-multipart's
 * disk storage keeps its metadata in `index.jsonl`, which is not an uploaded file.
 */
function stored(directory) {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name === 'index.jsonl') continue;
    files++;
    bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return { files, bytes };
}

/**
 * The server `kind` against the faster peer of each timed round: the servers of a round take their
 * uploads one right after another, so a ratio within a round leaves out how this shared machine's
 * speed drifts from round to round. Undefined unless it and every peer finished every round.
 */
function compareWithinRounds(results, kind) {
  const rx = results.find((r) => r.kind === kind);
  const peers = results.filter((r) => isPeer(r.kind));
  if (rx === undefined || rx.error !== undefined || peers.length === 0 || peers.some((p) => p.error !== undefined)) return undefined;
  return rx.byRound.map((seconds, round) => Math.min(...peers.map((p) => p.byRound[round])) / seconds);
}

function emptyDirectory(directory) {
  for (const name of readdirSync(directory)) rmSync(join(directory, name), { recursive: true, force: true });
}

function upload(port, shape, size) {
  const out = execFileSync(process.execPath, ['-e', CLIENT, port, shape, String(size)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim());
}

/**
 * Every server at once, each in its own process (fresh per upload shape), taking the uploads in
 * rounds: `warmups` rounds not timed, then `runs` timed ones (the median is reported), each upload
 * checked (status 200 and every file's bytes on disk). The order rotates each round: measured on
 * this VM, the first server to write a GiB or create a thousand files pays for memory the kernel
 * has not touched yet (a second identical upload to the same server ran 1.5 times faster), so a
 * fixed order would charge that to whichever server went first. The peak RSS is each server's
 * VmHWM over its whole life, warm-up included.
 */
async function measureAll(shape, size, { warmups, runs }, kinds = SERVERS) {
  const expected = shape === 'big' ? { files: 1, bytes: size } : { files: size, bytes: size * KiB };
  const servers = [];
  try {
    for (const kind of kinds) {
      const directory = mkdtempSync(join(tmpdir(), `rx-multipart-e2e-${kind}-`));
      const started = await startServer(kind, directory);
      // Loaded and listening, before any upload: what the code alone costs.
      servers.push({ kind, directory, seconds: [], cpu: [], byRound: [], error: undefined, length: 0, idleRss: readRss(started.child.pid, 'VmRSS'), ...started });
    }
    for (let round = 0; round < warmups + runs; round++) {
      for (let k = 0; k < servers.length; k++) {
        const server = servers[(k + round) % servers.length];
        if (server.error !== undefined) continue;
        try {
          const cpuBefore = readCpuSeconds(server.child.pid);
          const result = upload(server.port, shape, size);
          const cpuAfter = readCpuSeconds(server.child.pid);
          const onDisk = stored(server.directory);
          emptyDirectory(server.directory);
          // rx-multipart's servers also say how many files got a SHA-256: all of them, or none.
          const hashed = server.kind === 'rx-multipart-sha256' ? expected.files : server.kind.startsWith('rx-multipart') ? 0 : undefined;
          const isHashedRight = hashed === undefined || (result.status === 200 && JSON.parse(result.answer).hashed === hashed);
          if (result.status !== 200 || onDisk.files !== expected.files || onDisk.bytes !== expected.bytes || !isHashedRight) {
            throw new Error(`answered ${result.status} ${result.answer.slice(0, 80)}; stored ${onDisk.files} files, ${onDisk.bytes} bytes; expected ${expected.files}, ${expected.bytes}${hashed === undefined ? '' : `, ${hashed} hashed`}`);
          }
          server.length = result.length;
          if (round >= warmups) {
            server.seconds.push(result.seconds);
            server.byRound[round - warmups] = result.seconds;
            server.cpu.push(cpuAfter - cpuBefore);
          }
        } catch (error) {
          server.error = error.message;
        }
      }
    }
    return servers.map((server) => {
      if (server.error !== undefined) return { kind: server.kind, error: server.error };
      const sorted = [...server.seconds].sort((a, b) => a - b);
      return {
        kind: server.kind,
        seconds: computeMedian(server.seconds),
        best: sorted[0],
        cpu: computeMedian(server.cpu),
        byRound: server.byRound,
        runs,
        length: server.length,
        rss: readRss(server.child.pid),
        idleRss: server.idleRss,
      };
    });
  } finally {
    for (const server of servers) {
      server.child.kill();
      rmSync(server.directory, { recursive: true, force: true });
    }
  }
}

/**
 * @param {{ quick: boolean, only?: string, baseline?: string }} options `only`: 'big' or 'small';
 *   `baseline`: a package root built from another commit, whose rx-multipart server joins the rounds
 *   (rx-multipart@baseline) so that two versions are compared within the same rounds.
 */
async function runAsync({ quick, only, baseline }) {
  const lines = [];
  const kinds = baseline === undefined ? SERVERS : [...SERVERS, 'rx-multipart@baseline'];
  if (baseline !== undefined) process.env.E2E_BASELINE_DIST = join(baseline, 'dist', 'cjs');
  const bigSize = (quick ? 128 : 1024) * MiB;
  const smallCount = quick ? 200 : 1000;
  const uploads = [
    { shape: 'big', size: bigSize, label: `1 file of ${bigSize / MiB} MiB`, timing: { warmups: 1, runs: quick ? 1 : 9 } },
    { shape: 'small', size: smallCount, label: `${smallCount} files of 1 KiB`, timing: { warmups: quick ? 1 : 3, runs: quick ? 3 : 9 } },
  ].filter((u) => only === undefined || u.shape === only);
  lines.push('| upload | server | median | throughput (median) | best | vs fastest peer | server CPU per upload (median) | server peak RSS | RSS once started | growth |');
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  const rounds = [];
  for (const { shape, size, label, timing } of uploads) {
    process.stderr.write(`end to end: ${label}: `);
    const results = await measureAll(shape, size, timing, kinds);
    process.stderr.write(`${results.map((r) => `${r.kind} ${r.error === undefined ? `${r.seconds.toFixed(3)} s` : `failed (${r.error})`}`).join(', ')} (median of ${timing.runs})\n`);
    const rate = (r, seconds) => (shape === 'big' ? r.length / seconds / 1e6 : size / seconds);
    const format = (value) => (shape === 'big' ? `${value.toFixed(0)} MB/s` : `${value.toFixed(0)} files/s`);
    const peers = results.filter((r) => isPeer(r.kind) && r.error === undefined);
    const fastestPeer = peers.length > 0 ? Math.max(...peers.map((r) => rate(r, r.seconds))) : undefined;
    for (const r of results) {
      const name = LABELS[r.kind] ?? r.kind;
      if (r.error !== undefined) {
        lines.push(`| ${label} | ${name} | failed: ${r.error} | | | | | | | |`);
        continue;
      }
      const value = rate(r, r.seconds);
      lines.push(
        `| ${label} | ${name} | ${r.seconds.toFixed(3)} s | ${format(value)} | ${format(rate(r, r.best))} | ` +
          `${fastestPeer === undefined ? '–' : `${(value / fastestPeer).toFixed(2)}x`} | ${r.cpu.toFixed(2)} s | ${(r.rss / MiB).toFixed(0)} MiB | ${(r.idleRss / MiB).toFixed(0)} MiB | +${((r.rss - r.idleRss) / MiB).toFixed(0)} MiB |`,
      );
    }
    if (baseline !== undefined) {
      const now = results.find((r) => r.kind === 'rx-multipart');
      const before = results.find((r) => r.kind === 'rx-multipart@baseline');
      if (now?.error === undefined && before?.error === undefined) {
        const ratios = now.byRound.map((seconds, round) => before.byRound[round] / seconds);
        rounds.push(`- ${label}: rx-multipart against rx-multipart@baseline in the same round, median ${computeMedian(ratios).toFixed(3)}x (${ratios.map((r) => r.toFixed(2)).join(', ')}); CPU ${now.cpu.toFixed(2)} s against ${before.cpu.toFixed(2)} s.`);
      }
    }
    for (const kind of kinds.filter((k) => !isPeer(k))) {
      const who = kind === 'rx-multipart' ? 'rx-multipart' : LABELS[kind];
      const ratios = compareWithinRounds(results, kind);
      if (ratios === undefined) {
        rounds.push(`- ${label}: ${who}: no same-round ratio, since a server failed (see its row).`);
        continue;
      }
      const sorted = [...ratios].sort((a, b) => a - b);
      rounds.push(
        `- ${label}: ${who} against the faster peer of the same round, median ${computeMedian(ratios).toFixed(2)}x, ` +
          `from ${sorted[0].toFixed(2)}x to ${sorted[sorted.length - 1].toFixed(2)}x over ${ratios.length} ${ratios.length === 1 ? 'round' : 'rounds'} ` +
          `(${ratios.map((ratio) => ratio.toFixed(2)).join(', ')}).`,
      );
    }
  }
  lines.push('');
  lines.push(...rounds);
  lines.push(
    '- Each server runs in its own process (bench/e2e-server.js, plain node:http), a fresh one per upload shape, and they take ' +
      'the uploads in rounds whose order rotates (untimed warm-up rounds first: ' +
      `${uploads.map((u) => `${u.timing.warmups} for ${u.label}`).join(', ')}); the client runs in another process, streaming ` +
      'the body from reused buffers (the 1 GiB file is never whole in memory). ' +
      'Every upload is checked: status 200, and every file\'s bytes found on disk. Time: from the first byte ' +
      'written to the answer read. Server CPU: user + system seconds of the server process (threads included) from the ' +
      'upload\'s start to its answer, from /proc/<pid>/stat (work a server does after answering, such as a late ' +
      'collection, counts toward its next upload). Peak RSS: the server\'s VmHWM (/proc/<pid>/status), warm-up included; ' +
      'RSS once started: its VmRSS once it listens, before the first upload, what loading its code costs; growth: ' +
      'the peak less that, what its uploads cost.',
  );
  lines.push(
    '- rx-multipart: `multipart(req, { limits }).pipe(storeParts(createDiskStorage({ directory })), toArray())`, which computes ' +
      "no checksum, as multer and formidable do not; with `checksum: 'sha256'` the disk storage also hashes every file. " +
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
  // node bench/e2e.js [--quick] [--only big|small] [--baseline <package root built from another commit>]
  const argv = process.argv.slice(2);
  const valueOf = (flag) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const baseline = valueOf('--baseline');
  runAsync({ quick: argv.includes('--quick'), only: valueOf('--only'), baseline: baseline === undefined ? undefined : require('node:path').resolve(baseline) }).then((lines) => console.log(lines.join('\n')));
}

module.exports = { run, startServer, upload, readRss, stored, emptyDirectory, SERVERS, isPeer };
