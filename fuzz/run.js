'use strict';
/**
 * `npm run fuzz`: runs each fuzz target (fuzz/*.fuzz.js) under Jazzer.js for a set time, one after
 * the other, and fails if any of them finds a crash or a timeout.
 *
 *   node fuzz/run.js                         every target, 60 s each (FUZZ_SECONDS overrides)
 *   node fuzz/run.js --seconds 600 parser    one target, ten minutes
 *   node fuzz/run.js parser -- -runs=1000    extra libFuzzer flags after "--"
 *   node fuzz/run.js --reproduce parser FILE runs the target once on an input (a crash file)
 *
 * Before the first target: the compatibility step (fuzz/compat/prepare.js) and the seed corpora
 * (fuzz/make-seeds.js, from spec/fixtures/conformance and spec/fixtures/fuzz). Each target reads its
 * seeds and keeps what it finds in fuzz/.corpus/<target>/ (gitignored, so later runs start from
 * there); crashes and timeouts land in fuzz/.artifacts/<target>/. The last lines print each
 * target's executions, executions per second and result, and fuzz/.artifacts/summary.json keeps them.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { prepareJazzer } = require('./compat/prepare.js');
const { makeSeeds, SEEDS_DIR } = require('./make-seeds.js');
const { DIST } = require('./support/library.js');

/**
 * The targets, with what libFuzzer is told for each. `maxLength` bounds an input (the seeds are
 * bodies of up to 16 KiB); `timeoutMs` is per input: the header-params target parses 64 KiB and
 * 256 KiB repetitions of its input twice over, which takes tens of milliseconds.
 */
const TARGETS = {
  parser: { maxLength: 16 * 1024, timeoutMs: 10_000 },
  differential: { maxLength: 16 * 1024, timeoutMs: 10_000 },
  // The step counter wraps built-ins: loaded before Jazzer.js, whose prototype-pollution detector
  // compares the prototypes after every input with what they were when it started.
  'header-params': { maxLength: 2048, timeoutMs: 20_000, preload: path.join(__dirname, 'support', 'step-counter.js') },
};

const ROOT = path.join(__dirname, '..');
const CORPUS_DIR = path.join(__dirname, '.corpus');
const ARTIFACTS_DIR = path.join(__dirname, '.artifacts');
const DICTIONARY = path.join(__dirname, 'multipart.dict');
const JAZZER_CLI = require.resolve('@jazzer.js/core/dist/cli.js');

function parseArgs(argv) {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const extra = dash === -1 ? [] : argv.slice(dash + 1);
  let seconds = Number(process.env.FUZZ_SECONDS ?? 60);
  let reproduce;
  const targets = [];
  for (let i = 0; i < own.length; i++) {
    if (own[i] === '--seconds') seconds = Number(own[++i]);
    else if (own[i] === '--reproduce') reproduce = true;
    else targets.push(own[i]);
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds (or FUZZ_SECONDS) must be a positive number');
  if (reproduce) {
    if (targets.length !== 2 || !(targets[0] in TARGETS)) throw new Error('--reproduce TARGET FILE');
    return { seconds, targets: [targets[0]], reproduce: path.resolve(targets[1]), extra };
  }
  for (const target of targets) if (!(target in TARGETS)) throw new Error(`unknown target ${target}; targets: ${Object.keys(TARGETS).join(', ')}`);
  return { seconds, targets: targets.length > 0 ? targets : Object.keys(TARGETS), reproduce: undefined, extra };
}

/** Runs one target; resolves with its figures parsed from libFuzzer's output. */
function runTarget(target, launch, { seconds, reproduce, extra }) {
  const settings = TARGETS[target];
  const corpus = path.join(CORPUS_DIR, target);
  const artifacts = path.join(ARTIFACTS_DIR, target) + path.sep;
  fs.mkdirSync(corpus, { recursive: true });
  fs.mkdirSync(artifacts, { recursive: true });
  const args = [
    ...launch.nodeArgs,
    // The header-params target collects garbage before the measurements it repeats.
    '--expose-gc',
    ...(settings.preload === undefined ? [] : ['--require', settings.preload]),
    JAZZER_CLI,
    path.join(__dirname, `${target}.fuzz.js`),
    ...(reproduce === undefined ? [corpus, path.join(SEEDS_DIR, target)] : []),
    // Only the library is instrumented: not rxjs, not the targets themselves.
    '--includes', DIST,
    '--excludes', 'node_modules',
    '--sync',
    '--timeout', String(settings.timeoutMs),
    '--',
    ...(reproduce === undefined
      ? [`-max_total_time=${seconds}`, `-max_len=${settings.maxLength}`, `-dict=${DICTIONARY}`, `-artifact_prefix=${artifacts}`, '-print_final_stats=1']
      : [reproduce]),
    ...extra,
  ];
  console.error(`\n== ${target}${reproduce === undefined ? ` (${seconds} s)` : `: ${reproduce}`}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...launch.env }, stdio: ['ignore', 'inherit', 'pipe'] });
    let tail = '';
    child.stderr.on('data', (data) => {
      process.stderr.write(data);
      tail = (tail + data.toString('latin1')).slice(-200_000);
    });
    child.on('close', (code, signal) => resolve({ target, code, signal, ...readFigures(tail) }));
  });
}

/**
 * libFuzzer's last status line ("#104224 DONE cov: 752 ft: 4317 ... exec/s: 861"), or the last one
 * before a finding. Its final stats (-print_final_stats) do not always make it out: the process can
 * exit while libFuzzer is still printing its recommended dictionary.
 */
function readFigures(output) {
  const status = [...output.matchAll(/^#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+) ft: (\d+).*? exec\/s: (\d+)/gm)].pop();
  const runs = /stat::number_of_executed_units:\s*(\d+)/.exec(output);
  const perSecond = /stat::average_exec_per_sec:\s*(\d+)/.exec(output);
  return {
    executions: runs !== null ? Number(runs[1]) : status === undefined ? undefined : Number(status[1]),
    execPerSecond: perSecond !== null ? Number(perSecond[1]) : status === undefined ? undefined : Number(status[4]),
    coverage: status === undefined ? undefined : Number(status[2]),
    features: status === undefined ? undefined : Number(status[3]),
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const launch = prepareJazzer();
  console.error(`compatibility step: ${launch.summary}`);
  if (options.reproduce === undefined) console.error(`seeds: ${makeSeeds()}`);
  const results = [];
  for (const target of options.targets) results.push(await runTarget(target, launch, options));
  console.error('\n== summary');
  for (const r of results) {
    const outcome = r.code === 0 ? 'no finding' : r.code === 77 ? 'FINDING' : r.code === 70 ? 'TIMEOUT' : `FAILED (exit ${r.code ?? r.signal})`;
    console.error(`${r.target.padEnd(14)} ${String(r.executions ?? '?').padStart(10)} executions ${String(r.execPerSecond ?? '?').padStart(7)} exec/s  cov ${r.coverage ?? '?'} ft ${r.features ?? '?'}  ${outcome}`);
  }
  if (options.reproduce === undefined) {
    fs.writeFileSync(path.join(ARTIFACTS_DIR, 'summary.json'), `${JSON.stringify({ seconds: options.seconds, finishedAt: new Date().toISOString(), results }, null, 2)}\n`);
  }
  if (results.some((r) => r.code !== 0)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
