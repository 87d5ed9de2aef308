'use strict';
/**
 * Where the Jazzer.js native addon is, and where the compatibility step puts its patched copy.
 */
const path = require('node:path');

/** fuzz/.build: generated files (gitignored). */
const BUILD_DIR = path.join(__dirname, '..', '.build');

/** The directory of the @jazzer.js/fuzzer package that @jazzer.js/core loads. */
function fuzzerPackageDir() {
  const core = path.dirname(require.resolve('@jazzer.js/core/package.json'));
  return path.dirname(require.resolve('@jazzer.js/fuzzer/package.json', { paths: [core] }));
}

/** The prebuilt addon @jazzer.js/fuzzer loads on this platform (its dist/addon.js picks it the same way). */
function originalAddonPath() {
  return path.join(fuzzerPackageDir(), 'prebuilds', `fuzzer-${process.platform}-${process.arch}.node`);
}

/** Where the patched copy of the addon is written. */
function patchedAddonPath() {
  return path.join(BUILD_DIR, path.basename(originalAddonPath()));
}

module.exports = { BUILD_DIR, fuzzerPackageDir, originalAddonPath, patchedAddonPath };
