'use strict';
/**
 * One (case, parser) measurement, run by run.js in a fresh child process so no parser inherits
 * another's JIT state, heap or RSS peak:
 *
 *   node --expose-gc bench/case.js <case> <parser> [--quick] [--runs N]
 *
 * Builds the body (untimed), loads the parser, warms up, then times each run separately and checks
 * every run's counts against the body. Prints one JSON line on stdout; anything else goes to stderr.
 */
const { CASES } = require('./cases.js');
const { findParser } = require('./parsers.js');

function parseArgs(argv) {
  const positional = [];
  const flags = { isQuick: false, runs: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') flags.isQuick = true;
    else if (arg === '--runs') flags.runs = Number(argv[++i]);
    else positional.push(arg);
  }
  return { caseName: positional[0], parserName: positional[1], ...flags };
}

function check(result, input, checks) {
  const { expected } = input;
  // A search limit only finds delimiters (one per part); the read limit goes over every byte of the
  // body; a parser must find every part, byte and name.
  const isRight =
    checks === 'delimiters'
      ? result.parts === expected.parts
      : checks === 'body bytes'
        ? result.bytes === input.bodyBytes
        : result.parts === expected.parts && result.bytes === expected.bytes && result.names === expected.names;
  if (!isRight) throw new Error(`wrong parse: got ${JSON.stringify(result)}, expected ${JSON.stringify(checks === 'body bytes' ? { bytes: input.bodyBytes } : expected)}`);
}

function median(sorted) {
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const benchCase = CASES.find((c) => c.name === args.caseName);
  const parser = findParser(args.parserName);
  if (benchCase === undefined || parser === undefined) throw new Error(`unknown case or parser: ${args.caseName} ${args.parserName}`);
  const checks = parser.checks ?? 'parts';
  const params = args.isQuick ? benchCase.quick : benchCase.full;
  const timing = args.isQuick ? { warmups: 1, warmupMs: 100, runs: 3 } : benchCase.timing;
  const runs = args.runs ?? timing.runs;
  const input = benchCase.build(params);
  const run = await parser.load();
  // One collection before the warm-up, so the RSS baseline holds the body and not its construction.
  // None between runs: measured here, a forced full GC before a run made the next run of the
  // fields case 2 to 4 times slower (rx-multipart 16 ms median against 4 ms, busboy 21 against 11),
  // so each run carries its share of the steady-state collections instead.
  if (typeof globalThis.gc === 'function') globalThis.gc();
  const rssBefore = process.memoryUsage.rss();

  const warmupStart = performance.now();
  for (let i = 0; i < timing.warmups || performance.now() - warmupStart < timing.warmupMs; i++) {
    check(await run(input), input, checks);
  }
  const seconds = [];
  // Each run's [start, end] in µs on the clock of V8's CPU profiles (both read the monotonic clock),
  // so a profile can be cut to the timed runs.
  const windows = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = await run(input);
    const end = process.hrtime.bigint();
    seconds.push(Number(end - start) / 1e9);
    windows.push([Number(start / 1000n), Number(end / 1000n)]);
    check(result, input, checks);
  }

  const sorted = [...seconds].sort((a, b) => a - b);
  const work = benchCase.unit === 'parts/s' ? input.expected.parts : input.bodyBytes / 1e6;
  // maxRSS is the process's peak in KiB; the growth is measured from after the body was built.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const result = {
    case: benchCase.name,
    label: benchCase.label(params),
    parser: parser.name,
    unit: benchCase.unit,
    bodyBytes: input.bodyBytes,
    parts: input.expected.parts,
    seconds,
    median: work / median(sorted),
    best: work / sorted[0],
    peakRss,
    rssGrowth: Math.max(0, peakRss - rssBefore),
    windows,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
