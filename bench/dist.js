'use strict';
/**
 * Where the benchmark loads rx-multipart from. run.js copies the built dist/cjs into a private
 * snapshot at start and hands its path down in RX_MULTIPART_BENCH_DIST, so a `npm run build` or
 * `npm test` elsewhere in the same tree (which deletes dist/ first) cannot pull the parser out from
 * under a running child. The snapshot lives under node_modules/.cache/ (ignored by git) so its
 * requires of rxjs still resolve to this package's node_modules.
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const ENV = 'RX_MULTIPART_BENCH_DIST';

/** The folder holding rx-multipart's CommonJS build (index.js, parser/, storage/...). */
function cjsDir() {
  return process.env[ENV] || path.join(ROOT, 'dist', 'cjs');
}

/** Copies dist/cjs to a snapshot for this run, checks it loads, and points children at it. */
function snapshotDist() {
  const source = path.join(ROOT, 'dist', 'cjs');
  const target = path.join(ROOT, 'node_modules', '.cache', 'rx-multipart-bench', String(process.pid), 'cjs');
  fs.rmSync(path.dirname(target), { recursive: true, force: true });
  fs.cpSync(source, target, { recursive: true });
  // A build running elsewhere may have left dist/ half written: fail now, not in the 20th child.
  require(path.join(target, 'index.js'));
  process.env[ENV] = target;
  process.on('exit', () => fs.rmSync(path.dirname(target), { recursive: true, force: true }));
  return target;
}

module.exports = { cjsDir, snapshotDist };
