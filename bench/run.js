'use strict';
/**
 * `npm run bench`: measures rx-multipart against its peers and three limits, each (case, parser) in a
 * fresh child process (bench/case.js), then the end-to-end uploads (bench/e2e.js); prints markdown
 * tables (also written to bench/results.md after a full run).
 *
 *   node bench/run.js                       every case and parser, then end to end; writes bench/results.md
 *   node bench/run.js --quick               smaller bodies, 3 runs: a smoke check (prints only)
 *   node bench/run.js --case fields-2000 --parser rx-multipart     filters (repeat or comma-separate);
 *                                           a filtered run skips the end-to-end section
 *   node bench/run.js --case fields-2000 --parser rx-multipart --cpu-prof
 *                                           profiles that one child, writes bench/profiles/*.cpuprofile
 *                                           and prints its top self-time functions and lines
 *   --runs N   timed runs per child (default per case);   --out FILE   also write the report there
 *   --skip-e2e   in-memory section only
 *   --parser rx-multipart-core   a diagnostic: the parser core without RxJS (see parsers.js)
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { CASES } = require('./cases.js');
const { PARSERS, PEERS, COPY_LIMIT, READ_LIMIT, findParser } = require('./parsers.js');
const { describeMachine, describeVersions, formatTable } = require('./report.js');
const { summariseFile } = require('./profile-summary.js');
const { snapshotDist } = require('./dist.js');

const STARTED_AT = new Date();
const START_LOAD = require('node:os').loadavg();
const RESULTS_FILE = path.join(__dirname, 'results.md');
const PROFILE_DIR = path.join(__dirname, 'profiles');
// The 1 GiB case at the slowest parser's speed is well under this; a hung child must not hang the run.
const CHILD_TIMEOUT_MS = 15 * 60 * 1000;

function parseArgs(argv) {
  const options = { isQuick: false, cases: [], parsers: [], runs: undefined, isProfiled: false, out: undefined, isE2eSkipped: false };
  const list = (value) => (value || '').split(',').filter((item) => item !== '');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.isQuick = true;
    else if (arg === '--case') options.cases.push(...list(argv[++i]));
    else if (arg === '--parser') options.parsers.push(...list(argv[++i]));
    else if (arg === '--runs') options.runs = Number(argv[++i]);
    else if (arg === '--cpu-prof') options.isProfiled = true;
    else if (arg === '--out') options.out = argv[++i];
    else if (arg === '--skip-e2e') options.isE2eSkipped = true;
    else throw new Error(`unknown argument ${arg} (see the head of bench/run.js)`);
  }
  for (const name of options.cases) if (!CASES.some((c) => c.name === name)) throw new Error(`unknown case ${name}: ${CASES.map((c) => c.name).join(', ')}`);
  for (const name of options.parsers) if (findParser(name) === undefined) throw new Error(`unknown parser ${name}: ${PARSERS.map((p) => p.name).join(', ')}`);
  options.parsers = options.parsers.map((name) => findParser(name).name);
  if (options.isProfiled && (options.cases.length !== 1 || options.parsers.length !== 1)) {
    // One profile per file, and a profile mixing parsers would hide whose time it is.
    throw new Error('--cpu-prof needs exactly one --case and one --parser');
  }
  return options;
}

/** Runs bench/case.js in a fresh process; returns its result row, or a row with `error`. */
function runChild(benchCase, parser, options) {
  // --expose-gc: case.js collects once after building the body, for the RSS baseline.
  const nodeFlags = ['--expose-gc'];
  let profileFile;
  if (options.isProfiled) {
    fs.mkdirSync(PROFILE_DIR, { recursive: true });
    const name = `${benchCase.name}.${parser.name}.cpuprofile`;
    profileFile = path.join(PROFILE_DIR, name);
    // 100 µs sampling: the default 1 ms sees too few samples of a per-part function.
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}`, '--cpu-prof-interval=100');
  }
  const args = [...nodeFlags, path.join(__dirname, 'case.js'), benchCase.name, parser.name];
  if (options.isQuick) args.push('--quick');
  if (options.runs !== undefined) args.push('--runs', String(options.runs));
  const child = spawnSync(process.execPath, args, {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) {
    const why = child.error ? child.error.message : child.signal ? `killed by ${child.signal}` : `exit ${child.status}`;
    return { case: benchCase.name, parser: parser.name, error: why };
  }
  const row = JSON.parse(child.stdout.trim().split('\n').pop());
  return profileFile === undefined ? row : { ...row, profileFile };
}

function formatProgress(row) {
  if (row.error !== undefined) return `failed (${row.error})`;
  const rate = row.unit === 'parts/s' ? `${(row.median / 1e6).toFixed(3)} M parts/s` : `${row.median.toFixed(0)} MB/s`;
  return `${rate} median of ${row.seconds.length}`;
}

/** The in-memory section: every selected (case, parser), one child each. */
function runInMemory(options) {
  const cases = CASES.filter((c) => options.cases.length === 0 || options.cases.includes(c.name));
  const parsers = PARSERS.filter((p) => (options.parsers.length === 0 ? p.isDiagnostic !== true : options.parsers.includes(p.name)));
  const rows = [];
  cases.forEach((benchCase, caseIndex) => {
    // The order rotates from case to case, so no parser is always the first child after the build
    // (on this shared VM the first of a series was measured slower more often than the others).
    const caseRows = [];
    // A limit may apply to some cases only (the memory read, to bodies larger than the caches).
    const caseParsers = parsers.filter((p) => p.appliesTo === undefined || p.appliesTo(benchCase));
    caseParsers.forEach((_, k) => {
      const index = (k + caseIndex) % caseParsers.length;
      const parser = caseParsers[index];
      process.stderr.write(`${benchCase.name} / ${parser.label}: `);
      const row = runChild(benchCase, parser, options);
      process.stderr.write(`${formatProgress(row)}\n`);
      caseRows[index] = row;
    });
    rows.push(...caseRows.filter((row) => row !== undefined));
  });
  const notes = [
    'MB/s: 10^6 multipart body bytes per second (parts/s for the fields case). Median and best of the timed runs ' +
      'after a warm-up, each (case, parser) in a fresh process; every run checked (parts, bytes, names).',
    'rx-multipart: `from(chunks).pipe(parseMultipart(contentType), concatMap(part => part.body$))` from dist/cjs, ' +
      'counting the bytes of every chunk and reading `part.name`.',
    'busboy, @fastify/busboy: written like `pipe` does (wait for drain only when the parser withholds its write ' +
      'callback); every file stream read to its end, field values arrive decoded as strings.',
    ...PARSERS.filter((p) => p.note !== undefined).map((p) => `${p.label}: ${p.note}`),
    'Limits: `search` is Buffer.indexOf of `\\r\\n--boundary` over the chunks, carrying a possible partial delimiter ' +
      'across chunk edges; `search+copy` also copies every chunk once; `memory read` reads one byte of every 64-byte ' +
      'line of every chunk and nothing else. The 45-byte delimiter may start in any line, so every correct parser ' +
      'reads every line at least once: on a body larger than the caches, `memory read` is ' +
      'this machine\'s memory read speed, an upper bound for every parser, and it moves with the load other tenants ' +
      'put on the memory; it runs only on the two 100 MiB bodies built in memory (the 20 MiB ones may fit in a large L3 cache, ' +
      'the 1 GiB one repeats one chunk). "vs fastest peer" compares with the fastest of busboy, @fastify/busboy and remix on the same case.',
    'Peak RSS: the child process peak (the body, built in memory before the runs, included except in the generated ' +
      '1 GiB case); growth: from after the body was built to that peak.',
  ];
  return { title: 'In-memory parsing', rows, parsers: PARSERS, peers: PEERS, limit: COPY_LIMIT, readLimit: READ_LIMIT, notes };
}

/**
 * E2E HOOK: the end-to-end section of issue 7 lives in bench/e2e.js (with bench/e2e-server.js and
 * the bodies of bench/bodies.js, bench/e2e-server.js): a 1 GiB file and a form of 1000 small files uploaded over loopback
 * HTTP to servers storing to disk (rx-multipart `multipart(req)` + `storeParts(createDiskStorage)`,
 * multer's diskStorage, formidable), reporting throughput and the server's peak RSS. Its contract
 * with this file: `require('./e2e').run({ quick })` runs synchronously (in its own processes) and
 * returns the section's markdown lines. It runs after the in-memory section unless the run is
 * filtered, profiled or given --skip-e2e.
 */
function runE2e(options) {
  const file = path.join(__dirname, 'e2e.js');
  if (!fs.existsSync(file)) {
    process.stderr.write('end to end: bench/e2e.js is missing; skipped\n');
    return undefined;
  }
  process.stderr.write('end to end: uploading over loopback...\n');
  try {
    const lines = require(file).run({ quick: options.isQuick });
    return { title: 'End to end over HTTP (loopback, stored to disk)', lines, hasFailed: lines.some((line) => line.includes('| failed: ')) };
  } catch (error) {
    return { title: 'End to end over HTTP (loopback, stored to disk)', lines: [`failed: ${error && error.message ? error.message : error}`], hasFailed: true };
  }
}

function formatReport(sections, options) {
  const mode = options.isQuick ? ' (--quick: smaller bodies, 3 runs; a smoke check, not a measurement)' : '';
  const parts = [`# rx-multipart benchmarks${mode}`, '', `Run ${STARTED_AT.toISOString()} (start) with \`node bench/run.js${process.argv.slice(2).map((a) => ` ${a}`).join('')}\`.`, ''];
  parts.push('Machine:', '', describeMachine(START_LOAD), '', 'Versions:', '', describeVersions(), '');
  for (const section of sections) {
    // A section is rows for formatTable (in memory) or markdown lines of its own (end to end).
    if (section.lines !== undefined) parts.push(`## ${section.title}`, '', ...section.lines, '');
    else parts.push(`## ${section.title}`, '', formatTable(section), '', ...section.notes.map((note) => `- ${note}`), '');
  }
  return parts.join('\n');
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  snapshotDist();
  const sections = [runInMemory(options)];
  const isFiltered = options.cases.length > 0 || options.parsers.length > 0 || options.runs !== undefined;
  if (!options.isE2eSkipped && !isFiltered && !options.isProfiled) {
    const e2e = runE2e(options);
    if (e2e !== undefined) sections.push(e2e);
  }
  const report = formatReport(sections, options);
  process.stdout.write(`\n${report}`);

  const hasFailed = sections.some((section) => section.hasFailed === true || (section.rows || []).some((row) => row.error !== undefined));
  // A run with a failed row does not replace results.md either (it goes to stdout and --out).
  const isFullRun = !options.isQuick && !options.isProfiled && !isFiltered && !options.isE2eSkipped && !hasFailed;
  // Only a full run replaces results.md: a filtered or quick table would overwrite the real one.
  if (isFullRun) fs.writeFileSync(RESULTS_FILE, report);
  if (options.out !== undefined) fs.writeFileSync(options.out, report);
  if (isFullRun || options.out !== undefined) process.stderr.write(`written to ${isFullRun ? RESULTS_FILE : ''}${isFullRun && options.out ? ' and ' : ''}${options.out || ''}\n`);

  const profiled = sections[0].rows.find((row) => row.profileFile !== undefined);
  if (profiled !== undefined) process.stdout.write(`\nProfile ${path.relative(process.cwd(), profiled.profileFile)}\n${summariseFile(profiled.profileFile, 25, profiled.windows)}\n`);
  if (hasFailed) process.exitCode = 1;
}

try {
  main();
} catch (error) {
  process.stderr.write(`${error && error.message ? error.message : error}\n`);
  process.exit(2);
}
