'use strict';
// One (case, parser) measurement in a fresh process: build the body, warm up, time several runs,
// print one JSON line. Usage: node bench/case.js <case> <parser> [--quick]
const { CASES } = require('./bodies');
const { PARSERS } = require('./parsers');

async function main() {
  const [caseName, parserName] = process.argv.slice(2);
  const quick = process.argv.includes('--quick');
  const spec = CASES[caseName];
  const makeParser = PARSERS[parserName];
  if (spec === undefined || makeParser === undefined) throw new Error(`unknown case or parser: ${caseName} / ${parserName}`);
  const parse = await makeParser();
  const body = spec.build(quick);
  const chunksOf = () => (spec.streamed ? body.chunks() : body.chunks);
  const bytes = spec.streamed ? body.bytes : body.chunks.reduce((n, chunk) => n + chunk.length, 0);
  // Warm up for a while (small cases need many runs before the JIT settles), then time at least
  // `runs` runs and at least a second (streamed cases: fixed counts, they are long).
  const warmupSeconds = spec.streamed ? 0 : quick ? 0.3 : 1;
  const runs = spec.streamed ? (quick ? 1 : 3) : quick ? 5 : 9;
  const minSeconds = spec.streamed ? 0 : quick ? 0.3 : 1;
  let seen;
  const warmupEnd = Date.now() + warmupSeconds * 1000;
  let warmups = 0;
  while (warmups < 2 || Date.now() < warmupEnd) {
    seen = await parse(chunksOf());
    warmups++;
    if (spec.streamed) break;
  }
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 10);
  const times = [];
  let total = 0;
  while (times.length < runs || total < minSeconds) {
    const started = process.hrtime.bigint();
    seen = await parse(chunksOf());
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    times.push(seconds);
    total += seconds;
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }
  clearInterval(sampler);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  process.stdout.write(`${JSON.stringify({ case: caseName, parser: parserName, bytes, parts: body.parts, seen, runs: times.length, median, best: times[0], rssGrowth: rssPeak - rssBefore, maxRss: process.resourceUsage().maxRSS * 1024 })}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
