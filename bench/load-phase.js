'use strict';
/**
 * One phase of the load bench: a fresh server of one kind (its own process, with
 * bench/load-probe.js loaded), a warm-up, then `total` uploads with `concurrency` in flight from a
 * client process, the server's figures read from its probe, the folder left to settle, and every
 * answered upload and every file left checked (bench/load-check.js).
 */
const { spawn } = require('node:child_process');
const { createWriteStream, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { waitUntilSettled, checkPhase } = require('./load-check');

const PROBE = join(__dirname, 'load-probe.js');
// Uploads before the measured ones, few at a time and none aborted: a fresh process has compiled
// nothing yet, and a first wave of 200 requests would measure V8's compiler as much as the server.
const WARMUP_UPLOADS = 10;
const WARMUP_CONCURRENCY = 5;
const PROBE_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * Starts a server of `kind` storing into `directory`: the demo as `npm start` runs it
 * (demo/server.mjs of the package snapshot, PORT=0, HOST and UPLOAD_DIR set), the others from
 * bench/load-server.js. Resolves once it listens.
 * @param {{ packageRoot: string, nodeFlags: string[], serverEnv: object, logFile: string | undefined, serverScript?: string }} options
 *   `serverEnv`: variables added to the server's environment (bench/load-probe.js's and load-server.js's);
 *   `serverScript`: another server than load-server.js, run as `<script> <kind> <directory>` (the spec's leaky one).
 */
function startServer(kind, directory, { packageRoot, nodeFlags, serverEnv, logFile, serverScript }) {
  const isDemo = kind === 'demo' && serverScript === undefined;
  const script = isDemo ? join(packageRoot, 'demo', 'server.mjs') : (serverScript ?? join(__dirname, 'load-server.js'));
  const args = [...nodeFlags, '--require', PROBE, script, ...(isDemo ? [] : [kind, directory])];
  const env = { ...process.env, ...serverEnv, ...(isDemo ? { PORT: '0', HOST: '127.0.0.1', UPLOAD_DIR: directory } : {}) };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  // The demo logs a line per request: read it all (a full pipe would block the server), keep it if asked.
  const log = logFile === undefined ? undefined : createWriteStream(logFile);
  let stderr = '';
  child.stderr.on('data', (data) => {
    stderr = (stderr + data).slice(-4000);
    log?.write(data);
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (data) => {
      log?.write(data);
      if (output === undefined) return;
      output += data;
      const match = isDemo ? /listening on http:\/\/[^:]+:(\d+)/.exec(output) : /PORT (\d+)/.exec(output);
      if (match) {
        output = undefined;
        resolve({ child, port: Number(match[1]), path: isDemo ? '/upload' : '/', stderr: () => stderr });
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`${kind} server exited (${signal ?? code}) before listening: ${stderr.trim()}`)));
  });
}

/** Sends `probe` to the server's probe and resolves with its answer. */
function askProbe(server, probe, answer) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`the probe did not answer '${probe}' in ${PROBE_TIMEOUT_MS / 1000} s`)), PROBE_TIMEOUT_MS);
    const onMessage = (message) => message && message.probe === answer && done(undefined, message);
    const onExit = (code, signal) => done(new Error(`server exited (${signal ?? code}): ${server.stderr().trim()}`));
    const done = (error, message) => {
      clearTimeout(timer);
      server.child.off('message', onMessage).off('exit', onExit);
      if (error) reject(error);
      else resolve(message);
    };
    server.child.on('message', onMessage).once('exit', onExit);
    server.child.send({ probe });
  });
}

/** Runs bench/load-client.js with `options` and resolves with what it wrote. */
function runClient(options, directory) {
  // Beside the upload folder, not in it: the client's results are not an upload.
  const out = `${directory}.client-${options.first}.json`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'load-client.js'), JSON.stringify({ ...options, out })], { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data) => (stderr += data));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`the client failed (exit ${code}): ${stderr.trim()}`));
      try {
        resolve(JSON.parse(readFileSync(out, 'utf8')));
      } catch (error) {
        reject(error);
      } finally {
        rmSync(out, { force: true });
      }
    });
  });
}

/** SIGTERM, then SIGKILL if the server has not exited within STOP_TIMEOUT_MS. */
function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    server.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    server.child.kill('SIGTERM');
  });
}

/** The nearest-rank percentile `p` of `values` (sorted here). */
function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Runs one phase and returns its figures (or `{ error }` if the server died or the client failed).
 * @param {{ kind: string, shape: string, concurrency: number, total: number, abortEvery: number,
 *   byteCheckEvery: number, packageRoot: string, nodeFlags: string[], serverEnv: object, logFile: string | undefined,
 *   serverScript?: string }} phase   see startServer for the last four.
 */
async function runPhase(phase) {
  const { kind, shape, concurrency, total, abortEvery } = phase;
  const directory = mkdtempSync(join(tmpdir(), `rx-multipart-load-${kind}-`));
  let server;
  // Where the phase's time goes, in seconds: each step ends where the next begins.
  const seconds = {};
  let stepStarted = performance.now();
  const endStep = (name) => {
    const now = performance.now();
    seconds[name] = (now - stepStarted) / 1000;
    stepStarted = now;
  };
  try {
    server = await startServer(kind, directory, phase);
    const client = { port: server.port, path: server.path, shape };
    // RSS once listening, before any upload: what loading the server's code costs.
    const { idle } = await askProbe(server, 'start', 'started');
    endStep('start');
    const warmup = await runClient({ ...client, first: 0, total: WARMUP_UPLOADS, concurrency: WARMUP_CONCURRENCY, abortEvery: 0 }, directory);
    await askProbe(server, 'start', 'started');
    endStep('warmup');
    const measured = await runClient({ ...client, first: WARMUP_UPLOADS, total, concurrency, abortEvery }, directory);
    const { phase: probed } = await askProbe(server, 'stop', 'stopped');
    endStep('uploads');
    const settled = await waitUntilSettled(directory);
    await stopServer(server);
    endStep('settle');
    const checked = checkPhase({
      kind,
      directory,
      shape,
      files: settled.files,
      uploads: [...warmup.results, ...measured.results],
      firstMeasured: WARMUP_UPLOADS,
      byteCheckEvery: phase.byteCheckEvery,
    });
    const answeredUploads = measured.results.filter((upload) => upload.outcome === 'answered' && upload.status === 200);
    const latencies = answeredUploads.map((upload) => upload.ms);
    const answeredBytes = answeredUploads.reduce((sum, upload) => sum + upload.length, 0);
    const sentBytes = measured.results.reduce((sum, upload) => sum + upload.sent, 0);
    const cpuSeconds = probed.cpu.user + probed.cpu.system;
    endStep('check');
    return {
      kind,
      shape,
      concurrency,
      total,
      answered: checked.answered,
      aborted: checked.aborted,
      wrong: checked.wrong,
      warmupWrong: checked.warmupWrong,
      wrongExamples: checked.wrongExamples,
      orphans: checked.orphans,
      bytesChecked: checked.bytesChecked,
      wall: measured.wall,
      throughput: answeredBytes / measured.wall / 1e6,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      idleRss: idle.rss,
      peakRss: probed.maxRss,
      growthPerUpload: (probed.maxRss - idle.rss) / concurrency,
      cpuPerGiB: cpuSeconds / (sentBytes / 2 ** 30),
      cpu: probed.cpu,
      eventLoopDelay: probed.eventLoopDelay,
      sampled: probed.sampled,
      gc: probed.gc,
      settleMs: settled.ms,
      filesStored: settled.files.size,
      seconds,
    };
  } catch (error) {
    return { kind, shape, concurrency, total, error: error.message, seconds };
  } finally {
    if (server !== undefined) await stopServer(server);
    rmSync(directory, { recursive: true, force: true });
    endStep('cleanup');
  }
}

module.exports = { runPhase };
