'use strict';
/**
 * The report: the machine, the versions, and one markdown table per section with the ratio of each
 * parser to the fastest peer and to the copy limit of the same case.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');

function packageVersion(name) {
  // Read the file: ESM-only packages need not export ./package.json to require().
  const file = name === '.' ? path.join(ROOT, 'package.json') : path.join(ROOT, 'node_modules', name, 'package.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

/** rx-multipart's commit, so a table can be traced to the parser it measured. */
function commit() {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const isDirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return isDirty ? `${hash} + uncommitted lib/ changes` : hash;
  } catch {
    return 'unknown commit';
  }
}

/** @param startLoad os.loadavg() read when the run began. */
function describeMachine(startLoad = os.loadavg()) {
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus[0] ? cpus[0].model.trim() : 'unknown'}, ${cpus.length} cores`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node.js ${process.version}`,
    `- Load average (1, 5, 15 min) at the start ${startLoad.map((l) => l.toFixed(2)).join(', ')}, at the end ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}: other work shares this machine, a load above the core count means the timings are contended`,
  ].join('\n');
}

/** @param names the packages to list after rx-multipart. */
function describeVersions(names = ['rxjs', 'busboy', '@fastify/busboy', '@remix-run/multipart-parser', 'multer', 'formidable']) {
  return [`- rx-multipart ${packageVersion('.')} (${commit()})`, ...names.map((name) => `- ${name} ${packageVersion(name)}`)].join('\n');
}

function formatRate(value, unit) {
  if (value === undefined) return '–';
  if (unit === 'parts/s') return `${(value / 1e6).toFixed(3)} M parts/s`;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} MB/s`;
}

function formatRatio(value, base) {
  return value === undefined || base === undefined ? '–' : `${(value / base).toFixed(2)}x`;
}

function mib(bytes) {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/**
 * A section's rows as a markdown table.
 * @param section `{ rows, parsers, peers, limit, readLimit }`: rows from case.js (or `{ case, parser, error }`);
 *   `parsers` gives names and labels in order; `peers`, `limit` and `readLimit` name the ratio bases.
 */
function formatTable(section) {
  const lines = [
    '| case | parser | median | best | vs fastest peer | vs search+copy | vs memory read | peak RSS (growth) |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  const caseNames = [...new Set(section.rows.map((row) => row.case))];
  for (const caseName of caseNames) {
    const rows = section.rows.filter((row) => row.case === caseName);
    const measured = rows.filter((row) => row.error === undefined);
    const peerMedians = measured.filter((row) => section.peers.includes(row.parser)).map((row) => row.median);
    const fastestPeer = peerMedians.length > 0 ? Math.max(...peerMedians) : undefined;
    const limit = measured.find((row) => row.parser === section.limit);
    const readLimit = measured.find((row) => row.parser === section.readLimit);
    const label = measured[0] ? measured[0].label : caseName;
    for (const row of rows) {
      const parser = section.parsers.find((p) => p.name === row.parser);
      const name = parser ? parser.label : row.parser;
      if (row.error !== undefined) {
        lines.push(`| ${label} | ${name} | failed: ${row.error} | | | | | |`);
        continue;
      }
      lines.push(
        `| ${label} | ${name} | ${formatRate(row.median, row.unit)} | ${formatRate(row.best, row.unit)} | ` +
          `${formatRatio(row.median, fastestPeer)} | ${formatRatio(row.median, limit && limit.median)} | ${formatRatio(row.median, readLimit && readLimit.median)} | ` +
          `${mib(row.peakRss)} (+${mib(row.rssGrowth)}) |`,
      );
    }
  }
  return lines.join('\n');
}

/** The median of `values` (the mean of the middle two for an even count). */
function computeMedian(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 === 1 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

module.exports = { computeMedian, describeMachine, describeVersions, formatTable };
