'use strict';
// npm run bench: every (case, parser) in a fresh child process, then the end-to-end uploads.
// Flags: --quick, --case <name>, --parser <name>, --skip-e2e, --cpu-prof (profiles under bench/profiles).
const { execFileSync } = require('node:child_process');
const { cpus, totalmem } = require('node:os');
const { mkdirSync, writeFileSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { CASES } = require('./bodies');
const { PARSERS, PEERS } = require('./parsers');

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const quick = flag('--quick');
const onlyCase = option('--case');
const onlyParser = option('--parser');
const profile = flag('--cpu-prof');

const MB = 1e6;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function measure(caseName, parserName) {
  const nodeArgs = ['--expose-gc'];
  if (profile) {
    const dir = join(__dirname, 'profiles');
    mkdirSync(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${caseName}.${parserName.replace(/[^\w.-]+/g, '_')}.cpuprofile`);
  }
  const out = execFileSync(process.execPath, [...nodeArgs, join(__dirname, 'case.js'), caseName, parserName, ...(quick ? ['--quick'] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop());
}

function version(name) {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`, { paths: [join(__dirname, '..')] }), 'utf8')).version;
  } catch {
    return JSON.parse(readFileSync(join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')).version;
  }
}

function main() {
  const lines = [];
  const print = (line = '') => {
    console.log(line);
    lines.push(line);
  };
  print(`# rx-multipart benchmark${quick ? ' (quick)' : ''}`);
  print();
  print(`Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${mib(totalmem())} RAM; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`);
  print(`Versions: rx-multipart ${require('../package.json').version}, rxjs ${version('rxjs')}, busboy ${version('busboy')}, @fastify/busboy ${version('@fastify/busboy')}, @remix-run/multipart-parser ${version('@remix-run/multipart-parser')}, multer ${version('multer')}, formidable ${version('formidable')}.`);
  print();
  print('Each (case, parser) runs in a fresh process: warm-up, then timed runs (median and best). Every parser reads every part\'s name and every byte; `seen` is checked equal across parsers. @remix-run/multipart-parser parses headers lazily, so reading the name makes it do the same work. Limits: `search` = Buffer.indexOf of the delimiter over every chunk; `search+copy` = that plus one copy of every byte.');
  print();
  print('| case | parser | median | best | × fastest peer | × search+copy | RSS growth |');
  print('|---|---|---:|---:|---:|---:|---:|');
  for (const [caseName, spec] of Object.entries(CASES)) {
    if (onlyCase !== undefined && onlyCase !== caseName) continue;
    const results = [];
    for (const parserName of Object.keys(PARSERS)) {
      if (onlyParser !== undefined && onlyParser !== parserName && !parserName.startsWith('limit')) continue;
      results.push(measure(caseName, parserName));
    }
    const isParts = spec.unit === 'parts';
    const rate = (r, t) => (isParts ? r.parts / t : r.bytes / t / MB);
    const unit = isParts ? 'parts/s' : 'MB/s';
    const format = (value) => (isParts ? `${(value / 1e6).toFixed(3)} M ${unit}` : `${value.toFixed(0)} ${unit}`);
    const peers = results.filter((r) => PEERS.includes(r.parser));
    const fastestPeer = Math.max(...peers.map((r) => rate(r, r.median)));
    const copy = results.find((r) => r.parser === 'limit: search+copy');
    const counts = new Set(results.filter((r) => !r.parser.startsWith('limit')).map((r) => r.seen));
    for (const r of results) {
      const median = rate(r, r.median);
      const vsPeer = r.parser.startsWith('limit') || peers.length === 0 ? '' : `${(median / fastestPeer).toFixed(2)}`;
      const vsCopy = copy === undefined || r.parser.startsWith('limit') ? '' : `${(median / rate(copy, copy.median)).toFixed(2)}`;
      const name = r.parser === 'rx-multipart' ? '**rx-multipart**' : r.parser;
      print(`| ${spec.label} | ${name} | ${format(median)} | ${format(rate(r, r.best))} | ${vsPeer} | ${vsCopy} | ${mib(r.rssGrowth)} |`);
    }
    if (counts.size > 1) print(`| ${spec.label} | **parsers disagree on the bytes seen: ${[...counts].join(', ')}** | | | | | |`);
  }
  if (!flag('--skip-e2e') && onlyCase === undefined) {
    print();
    for (const line of require('./e2e').run({ quick })) print(line);
  }
  if (!quick && onlyCase === undefined && onlyParser === undefined) writeFileSync(join(__dirname, 'results.md'), `${lines.join('\n')}\n`);
}

main();
