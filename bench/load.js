'use strict';
/**
 * `npm run bench:load`: the upload servers under load. Many clients at once upload over loopback
 * to a server storing to disk, every fifth client leaving halfway through its body; reported per
 * server: throughput, latency, peak RSS, CPU, event-loop delay, and the files left behind (any is
 * a failure). Each (scenario, round, server) runs on a fresh server process (bench/load-phase.js).
 *
 *   node bench/load.js                      2 rounds of every scenario and server; writes bench/load-results.md
 *   node bench/load.js --quick              1 round, 10 and 20 at once, few uploads: a smoke check (prints only)
 *   --rounds N                              rounds (default 2); the servers' order rotates each round
 *   --servers rx-multipart,demo,...         of rx-multipart, demo, multer, formidable, fastify-multipart, and express
 *                                           (multer's README code on rx-multipart/express; not in the default set)
 *   --scenarios file-50,form-200            of file-<n>, form-<n> for each concurrency n
 *   --concurrency 50,200                    uploads in flight (default 50 and 200)
 *   --uploads N                             uploads per phase (default 200 at 50 at once, 400 at 200)
 *   --abort-every N                         every N-th client aborts (default 5; 0: none)
 *   --byte-check-every N                    read all the bytes of one answered upload in N (default 1: all)
 *   --node-flags "--trace-gc"               flags for the server processes (with --log-dir to keep their output)
 *   --log-dir DIR                           each server's stdout and stderr to DIR/<scenario>.<server>.r<round>.log
 *   --trace-dir DIR                         each server's memory samples (every 10 ms) to DIR/<scenario>.<server>.r<round>.jsonl
 *   --heap-profile-dir DIR                  each server's live objects at its highest heap (sampling heap profiler) to
 *                                           DIR/<scenario>.<server>.r<round>.heapprofile; node bench/heap-profile-summary.js sums one.
 *                                           Taking a profile forces a full collection: such a run says where memory is, not how fast
 *   --high-water-mark BYTES                 rx-multipart's highWaterMark option (a diagnostic; the README leaves it unset)
 *   --baseline DIR                          also run rx-multipart@baseline (and express@baseline with express): the same server on the package built in DIR
 *                                           (e.g. a worktree of an earlier commit after `npm run build`), in the same rounds
 *   --out FILE                              also write the report there
 *
 * Exits non-zero when rx-multipart, the demo or rx-multipart/express left a file, answered wrong or failed a round; the
 * peers' failures are reported as findings.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { snapshotPackage } = require('./dist.js');
const { describeMachine, describeVersions } = require('./report.js');
const { SHAPES } = require('./load-body');
const { runPhase } = require('./load-phase');
const { formatReport, OURS } = require('./load-table');

const STARTED_AT = new Date();
const START_LOAD = os.loadavg();
const RESULTS_FILE = path.join(__dirname, 'load-results.md');
const SERVERS = ['rx-multipart', 'demo', 'multer', 'formidable', 'fastify-multipart'];
// Servers run only when named in --servers.
const OPTIONAL_SERVERS = ['express'];
// rx-multipart's server on another build of the package (--baseline), to compare two versions in the same rounds.
const BASELINE = 'rx-multipart@baseline';
const MiB = 2 ** 20;

function parseArgs(argv) {
  const options = {
    isQuick: false,
    rounds: 2,
    servers: SERVERS,
    scenarios: undefined,
    concurrency: [50, 200],
    uploads: undefined,
    abortEvery: 5,
    byteCheckEvery: 1,
    nodeFlags: [],
    logDir: undefined,
    traceDir: undefined,
    heapProfileDir: undefined,
    highWaterMark: undefined,
    baseline: undefined,
    out: undefined,
    isFiltered: false,
  };
  const list = (value) => (value ?? '').split(',').filter((item) => item !== '');
  const count = (name, value, min) => {
    const number = Number(value);
    if (!Number.isSafeInteger(number) || number < min) throw new Error(`${name} needs a whole number >= ${min}, not ${value}`);
    return number;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.isQuick = true;
    else if (arg === '--rounds') options.rounds = count(arg, argv[++i], 1);
    else if (arg === '--servers') options.servers = list(argv[++i]);
    else if (arg === '--scenarios') options.scenarios = list(argv[++i]);
    else if (arg === '--concurrency') options.concurrency = list(argv[++i]).map((value) => count(arg, value, 1));
    else if (arg === '--uploads') options.uploads = count(arg, argv[++i], 1);
    else if (arg === '--abort-every') options.abortEvery = count(arg, argv[++i], 0);
    else if (arg === '--byte-check-every') options.byteCheckEvery = count(arg, argv[++i], 1);
    else if (arg === '--node-flags') options.nodeFlags = argv[++i].split(' ').filter((flag) => flag !== '');
    else if (arg === '--log-dir') options.logDir = argv[++i];
    else if (arg === '--trace-dir') options.traceDir = argv[++i];
    else if (arg === '--heap-profile-dir') options.heapProfileDir = argv[++i];
    else if (arg === '--high-water-mark') options.highWaterMark = count(arg, argv[++i], 1);
    else if (arg === '--baseline') options.baseline = path.resolve(argv[++i]);
    else if (arg === '--out') options.out = argv[++i];
    else throw new Error(`unknown argument ${arg} (see the head of bench/load.js)`);
    // Only a run at the defaults writes the results file; a log of the servers' output changes nothing measured.
    if (!['--quick', '--out', '--log-dir'].includes(arg)) options.isFiltered = true;
  }
  if (options.isQuick) {
    options.rounds = 1;
    if (!argv.includes('--concurrency')) options.concurrency = [10, 20];
  }
  const known = [...SERVERS, ...OPTIONAL_SERVERS];
  for (const kind of options.servers) if (!known.includes(kind)) throw new Error(`unknown server ${kind}: ${known.join(', ')}`);
  if (options.baseline !== undefined) {
    if (!fs.existsSync(path.join(options.baseline, 'dist', 'cjs', 'index.js'))) throw new Error(`--baseline ${options.baseline} has no dist/cjs/index.js: build it first`);
    options.servers = [...options.servers, ...(options.servers.includes('rx-multipart') ? [BASELINE] : []), ...(options.servers.includes('express') ? ['express@baseline'] : [])];
  }
  return options;
}

/**
 * The scenarios: each shape at each concurrency. Uploads per phase: 4 per client at 50 at once
 * and 2 per client at 200 (200 and 400), so that every phase keeps its concurrency for several
 * waves and a full run stays near a quarter of an hour on two cores; --quick: 2 per client.
 */
function listScenarios(options) {
  const scenarios = [];
  for (const shape of Object.keys(SHAPES)) {
    for (const concurrency of options.concurrency) {
      const total = options.uploads ?? (options.isQuick ? 2 : concurrency >= 200 ? 2 : 4) * concurrency;
      scenarios.push({ name: `${shape}-${concurrency}`, shape, label: SHAPES[shape].label, concurrency, total });
    }
  }
  if (options.scenarios === undefined) return scenarios;
  for (const name of options.scenarios) if (!scenarios.some((s) => s.name === name)) throw new Error(`unknown scenario ${name}: ${scenarios.map((s) => s.name).join(', ')}`);
  return scenarios.filter((scenario) => options.scenarios.includes(scenario.name));
}

function formatProgress(result) {
  if (result.error !== undefined) return `failed: ${result.error}`;
  return (
    `${result.answered}/${result.aborted}/${result.wrong + result.warmupWrong} ${result.throughput.toFixed(0)} MB/s, ` +
    `p50 ${result.p50?.toFixed(0)} p99 ${result.p99?.toFixed(0)} ms, peak RSS ${(result.peakRss / MiB).toFixed(0)} MiB, ` +
    `${result.cpuPerGiB.toFixed(1)} CPU s/GiB, loop delay p99 ${result.eventLoopDelay.p99.toFixed(1)} ms, left ${result.orphans.length}`
  );
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const scenarios = listScenarios(options);
  const packageRoot = snapshotPackage();
  for (const dir of [options.logDir, options.traceDir, options.heapProfileDir]) if (dir !== undefined) fs.mkdirSync(dir, { recursive: true });
  const phases = [];
  for (const [s, scenario] of scenarios.entries()) {
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < options.servers.length; k++) {
        // Rotated each round (and each scenario): the first server after a pause finds the page
        // cache and the CPU caches in another state than the next one does.
        const kind = options.servers[(k + round + s) % options.servers.length];
        const started = Date.now();
        const name = `${scenario.name}.${kind}.r${round + 1}`;
        process.stderr.write(`${scenario.name} round ${round + 1} ${kind}: `);
        const result = await runPhase({
          kind,
          shape: scenario.shape,
          concurrency: scenario.concurrency,
          total: scenario.total,
          abortEvery: options.abortEvery,
          byteCheckEvery: options.byteCheckEvery,
          packageRoot,
          nodeFlags: options.nodeFlags,
          serverEnv: {
            ...(options.traceDir === undefined ? {} : { LOAD_PROBE_TRACE: path.resolve(options.traceDir, `${name}.jsonl`) }),
            ...(options.heapProfileDir === undefined ? {} : { LOAD_PROBE_HEAP_PROFILE: path.resolve(options.heapProfileDir, `${name}.heapprofile`) }),
            ...(options.highWaterMark === undefined ? {} : { LOAD_HIGH_WATER_MARK: String(options.highWaterMark) }),
            ...(options.baseline === undefined ? {} : { LOAD_BASELINE_DIST: path.join(options.baseline, 'dist', 'cjs') }),
          },
          logFile: options.logDir === undefined ? undefined : path.join(options.logDir, `${name}.log`),
        });
        process.stderr.write(`${formatProgress(result)} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
        phases.push({ ...result, scenario: scenario.name, round });
      }
    }
  }
  const report = formatLoadReport(options, scenarios, phases);
  process.stdout.write(`\n${report.text}`);
  const isFullRun = !options.isQuick && !options.isFiltered;
  if (isFullRun) fs.writeFileSync(RESULTS_FILE, report.text);
  if (options.out !== undefined) fs.writeFileSync(options.out, report.text);
  if (isFullRun || options.out !== undefined) process.stderr.write(`written to ${[isFullRun ? RESULTS_FILE : undefined, options.out].filter(Boolean).join(' and ')}\n`);
  const ours = report.failures.filter((failure) => OURS.includes(failure.kind));
  if (ours.length > 0) {
    process.stderr.write(`FAILED: ${ours.map((failure) => `${failure.kind}, ${failure.scenario}: ${failure.why}`).join('\n        ')}\n`);
    process.exitCode = 1;
  }
}

function formatLoadReport(options, scenarios, phases) {
  const { lines, targets, memory, failures } = formatReport(scenarios, phases, options.servers);
  const minutes = (Date.now() - STARTED_AT.getTime()) / 60_000;
  const mode = options.isQuick ? ' (--quick: one round, few uploads; a smoke check, not a measurement)' : '';
  const text = [
    `# rx-multipart under load${mode}`,
    '',
    `Run ${STARTED_AT.toISOString()} (start) with \`node bench/load.js${process.argv.slice(2).map((a) => ` ${a}`).join('')}\`; it took ${minutes.toFixed(1)} minutes: ${describeTime(phases)}.`,
    '',
    'Machine:',
    '',
    describeMachine(START_LOAD),
    '',
    'Versions:',
    '',
    describeVersions(['rxjs', 'multer', 'busboy', 'formidable', 'fastify', '@fastify/multipart', '@fastify/busboy']),
    '',
    '## Uploads at once',
    '',
    `${options.rounds} ${options.rounds === 1 ? 'round' : 'rounds'}; ${scenarios.map((s) => `${s.name}: ${s.total} uploads, ${s.concurrency} at once`).join('; ')}; ` +
      `${options.abortEvery > 0 ? `every ${ordinal(options.abortEvery)} client aborts halfway through its body` : 'no client aborts'}. ` +
      'Each cell: the median over the rounds, then each round\'s value.',
    '',
    ...lines,
    '',
    ...(failures.length > 0 ? ['Failed rows (a file left behind, a wrong answer or a failed round):', '', ...failures.map((f) => `- ${f.kind}, ${f.scenario}: ${f.why}`), ''] : []),
    'Targets for rx-multipart\'s servers (medians):',
    '',
    ...targets,
    '',
    ...NOTES.map((note) => `- ${note}`),
    '',
    '## Where the memory was',
    '',
    'The round with the highest peak RSS of each row, read by the server\'s probe (process.memoryUsage() every 10 ms ' +
      'and v8.getHeapSpaceStatistics() at each new high; MiB). The sampled peak can be below the VmHWM: the timer runs late on a busy loop. ' +
      'GCs: collections V8 reported during the measured uploads (minor: scavenges; major: mark-compacts, incremental marking included), with their pause in ms.',
    '',
    ...memory,
    '',
  ].join('\n');
  return { text, failures };
}

/** Where the run's time went, summed over its phases (bench/load-phase.js's steps). */
function describeTime(phases) {
  const steps = { uploads: 'measured uploads', warmup: 'warm-ups', start: 'starting servers', settle: 'waiting for the folders to settle', check: 'checking files', cleanup: 'removing them' };
  const totals = Object.keys(steps).map((step) => [step, phases.reduce((sum, phase) => sum + (phase.seconds?.[step] ?? 0), 0)]);
  return totals.map(([step, total]) => `${(total / 60).toFixed(1)} min ${steps[step]}`).join(', ');
}

const ordinal = (n) => (n === 1 ? '' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`);

const NOTES = [
  'Servers, each in its own process, fresh for every phase (so the peak RSS is the phase\'s own: VmHWM cannot be reset), storing to disk in a new folder: ' +
    '**rx-multipart** as the README\'s quick start 2 (`multipart(req, { limits })` + `storeParts(createDiskStorage({ directory }), { retry: 2, timeout: 10_000 })` + `toArray()`); ' +
    '**demo** the demo server itself (demo/server.mjs, as `npm start` runs it, with PORT, HOST and UPLOAD_DIR; it also computes each file\'s SHA-256 and logs a line per request); ' +
    'multer `diskStorage` with `.any()`; formidable `formidable({ uploadDir }).parse(req)`; fastify-multipart Fastify 5 with `for await (const part of req.files()) await pipeline(part.file, fs.createWriteStream(path))` ' +
    '(its README\'s way, which removes nothing when a request fails). All limit a file to 50 MiB and answer 200 once every file is on disk (bench/load-server.js).',
  'Clients: one process (bench/load-client.js) keeping that many uploads in flight, a new connection each; bodies sent from one shared buffer of data per shape ' +
    '(each file starts with 32 bytes naming its upload and field). An aborting client sends half its body, waits until it has left for the socket, and destroys the connection. ' +
    'Before the measured uploads, 10 uploads 5 at a time warm the fresh server up (not measured; their files are checked too).',
  'answered/aborted/wrong: uploads answered 200 with every file right / aborted by design / anything else (an error status, a missing or wrong file, no answer in 120 s). ' +
    'Every answered file is checked on disk: its size, its first 32 bytes, and all its bytes (one upload in N with `--byte-check-every N`; 1 in this run unless the command says otherwise).',
  'MB/s: 10^6 body bytes of the answered uploads per second of the phase (first request to last upload\'s end). p50, p99: each answered upload from its first byte to its answer\'s last.',
  'Peak RSS: the server\'s VmHWM (process.resourceUsage().maxRSS) at the phase\'s end, warm-up included. MiB per upload in flight: that less its RSS once listening, over the concurrency.',
  'CPU s per GiB: the server\'s user + system CPU (process.cpuUsage(), all threads) during the measured uploads, over the body bytes the clients sent (aborted halves included).',
  'Event-loop delay p99: perf_hooks.monitorEventLoopDelay (10 ms resolution) during the measured uploads, less the 10 ms its timer waits (an idle loop reads 0).',
  'Files left: every file in the upload folder, sub-folders included (temporary and partial files too; rx-multipart\'s index.jsonl is not a file upload), once the folder has not changed for 0.5 s, ' +
    'that no answered upload reported. Any is a failure: the row is marked FAILED, and the run exits non-zero when rx-multipart or the demo left one.',
  'The machine is shared: the load average at the start and at the end says how much other work ran beside this one. The client and the server share its cores.',
];

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(2);
});
