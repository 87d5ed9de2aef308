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

/** This run's private folder under node_modules/.cache/, emptied now and removed at exit. */
function makeSnapshotFolder() {
  const folder = path.join(ROOT, 'node_modules', '.cache', 'rx-multipart-bench', String(process.pid));
  fs.rmSync(folder, { recursive: true, force: true });
  process.on('exit', () => fs.rmSync(folder, { recursive: true, force: true }));
  return folder;
}

/** Points children at a CommonJS build, once it loads: a build running elsewhere may have left dist/ half written. */
function useCjs(cjs) {
  require(path.join(cjs, 'index.js'));
  process.env[ENV] = cjs;
  return cjs;
}

/** Copies dist/cjs to a snapshot for this run, checks it loads, and points children at it. */
function snapshotDist() {
  const target = path.join(makeSnapshotFolder(), 'cjs');
  fs.cpSync(path.join(ROOT, 'dist', 'cjs'), target, { recursive: true });
  return useCjs(target);
}

/**
 * Copies the package as `npm start` runs it (package.json, both builds in dist/, the demo) to a
 * snapshot for this run, and points children at its CommonJS build. The demo imports
 * 'rx-multipart' by name, which Node resolves through the nearest package.json's `exports`: the
 * snapshot's own, so demo/server.mjs in the snapshot runs on the snapshot's dist/esm.
 * @returns the snapshot's root (`<root>/demo/server.mjs` is the demo server).
 */
function snapshotPackage() {
  const root = path.join(makeSnapshotFolder(), 'package');
  for (const name of ['package.json', 'dist', 'demo']) fs.cpSync(path.join(ROOT, name), path.join(root, name), { recursive: true });
  if (!fs.existsSync(path.join(root, 'dist', 'esm', 'index.js'))) throw new Error('dist/esm/index.js is missing: run `npm run build` first');
  useCjs(path.join(root, 'dist', 'cjs'));
  return root;
}

module.exports = { cjsDir, snapshotDist, snapshotPackage };
