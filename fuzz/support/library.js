'use strict';
/**
 * The built package the fuzz targets exercise: dist/cjs, the CommonJS build `npm run build` makes.
 * Targets load it (rather than lib/*.ts) because Jazzer.js instruments the JavaScript that is
 * required, and fuzz/run.js limits instrumentation to dist/cjs/ (not rxjs, not the targets).
 */
const fs = require('node:fs');
const path = require('node:path');

/** dist/cjs, with a path separator at the end (the form `--includes` matches on). */
const DIST = path.join(__dirname, '..', '..', 'dist', 'cjs') + path.sep;

if (!fs.existsSync(path.join(DIST, 'index.js'))) {
  throw new Error(`${DIST} is missing: run "npm run build" first (npm run fuzz does).`);
}

/** Requires a module of the build, e.g. `load('parser/header-params.js')`. */
function load(file) {
  return require(path.join(DIST, file));
}

/** A copy of the build outside dist/cjs: Jazzer.js leaves it uninstrumented. */
const PLAIN = path.join(__dirname, '..', '.build', 'plain-cjs');
let isCopied = false;

/**
 * Requires a module of an uninstrumented copy of the build, made on first use. For measuring time:
 * instrumentation adds a call into the fuzzer at every branch and comparison, which is neither the
 * library's speed nor linear in the same way.
 */
function loadPlain(file) {
  if (!isCopied) {
    fs.rmSync(PLAIN, { recursive: true, force: true });
    fs.cpSync(DIST, PLAIN, { recursive: true });
    isCopied = true;
  }
  return require(path.join(PLAIN, file));
}

module.exports = { DIST, load, loadPlain };
