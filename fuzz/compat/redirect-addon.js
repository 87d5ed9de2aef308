'use strict';
/**
 * Preloaded (`node --require`) into the fuzzer's process by fuzz/run.js when the compatibility step
 * patched the Jazzer.js addon: the one `process.dlopen` of the prebuilt addon opens the patched copy
 * named by RX_MULTIPART_FUZZ_ADDON instead. node_modules is left as it is; without the variable (or
 * without this preload) everything loads as installed, so the redirect is undone by not using it.
 */
const fs = require('node:fs');
const { originalAddonPath } = require('./jazzer-addon.js');

const patched = process.env.RX_MULTIPART_FUZZ_ADDON;
if (patched !== undefined && patched !== '') {
  const original = realPath(originalAddonPath());
  const dlopen = process.dlopen;
  process.dlopen = function dlopenPatchedAddon(module, filename, ...flags) {
    return dlopen.call(this, module, realPath(filename) === original ? patched : filename, ...flags);
  };
}

function realPath(file) {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}
