'use strict';
/**
 * The compatibility step that runs before the fuzzer.
 *
 * @jazzer.js/fuzzer ships its native addon prebuilt only (no C++ sources; building it would
 * download LLVM's compiler-rt). The Linux prebuilt of 4.0.0 was linked against glibc 2.38 and the
 * libstdc++ of GCC 13, so on an older system (Debian 12: glibc 2.36, GCC 12) it fails to load with
 * "version `GLIBC_2.38' not found". It needs only three symbols of those versions, and older
 * libraries have equivalents of all three (fuzz/compat/glibc-compat.c). So, only where the prebuilt
 * fails to load for that reason, this step:
 *
 * 1. writes a copy of the addon to fuzz/.build/ in which those version needs are weak and the three
 *    symbols ask for no version (fuzz/compat/elf-versions.js says why that is enough);
 * 2. compiles fuzz/compat/glibc-compat.c into fuzz/.build/libglibc-compat.so, to be preloaded;
 * 3. checks that the addon now loads, through the same redirect the fuzzer will use.
 *
 * The fuzzer is then started with LD_PRELOAD naming the stand-ins and `--require
 * fuzz/compat/redirect-addon.js`, which opens the patched copy in place of the prebuilt. Nothing in
 * node_modules is written (it may be hard-linked into other checkouts). Where the prebuilt loads as
 * it is (glibc >= 2.38), nothing is patched or compiled. Any other failure stops with its reason.
 *
 * Run on its own, `node fuzz/compat/prepare.js` prints the environment for starting `npx jazzer` by
 * hand.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { weakenVersionNeeds } = require('./elf-versions.js');
const { BUILD_DIR, fuzzerPackageDir, originalAddonPath, patchedAddonPath } = require('./jazzer-addon.js');

/**
 * The versions the prebuilt may need that an older system lacks, and the symbols of each that
 * glibc-compat.c provides. Read from the 4.0.0 prebuilts (`readelf -V --dyn-syms`): these three are
 * the only symbols bound to GLIBC_2.38 or GLIBCXX_3.4.32, on x64 and arm64 alike.
 */
const REPLACEMENTS = Object.freeze({
  'GLIBC_2.38': ['__isoc23_strtol', '__isoc23_strtoul'],
  'GLIBCXX_3.4.32': ['_ZSt21ios_base_library_initv'],
});

const SHIM_SOURCE = path.join(__dirname, 'glibc-compat.c');
const SHIM_LIBRARY = path.join(BUILD_DIR, 'libglibc-compat.so');
const REDIRECT = path.join(__dirname, 'redirect-addon.js');

/**
 * @typedef {object} JazzerLaunch
 * @property {Record<string, string>} env variables to add to the fuzzer's environment
 * @property {string[]} nodeArgs arguments for `node` before the Jazzer.js CLI
 * @property {string} summary one line saying what was done
 */

/**
 * Makes the Jazzer.js addon loadable here, patching a copy only when the prebuilt fails to load.
 * @returns {JazzerLaunch} how to start the fuzzer.
 * @throws Error naming the reason when the addon cannot be made to load.
 */
function prepareJazzer() {
  const original = originalAddonPath();
  if (!fs.existsSync(original)) throw new Error(`Jazzer.js has no prebuilt addon for ${process.platform}-${process.arch} (${original} is missing).`);
  const asInstalled = probeAddon({}, []);
  if (asInstalled.ok) return { env: {}, nodeArgs: [], summary: 'the prebuilt Jazzer.js addon loads as installed; nothing patched' };

  const missing = /version `([^']+)' not found/.exec(asInstalled.message);
  if (process.platform !== 'linux' || missing === null) {
    throw new Error(`The Jazzer.js addon does not load, for a reason the compatibility step does not handle:\n${asInstalled.message}`);
  }
  if (!Object.hasOwn(REPLACEMENTS, missing[1])) {
    throw new Error(`The Jazzer.js addon needs symbol version ${missing[1]}, which this system lacks and fuzz/compat/glibc-compat.c has no stand-ins for:\n${asInstalled.message}`);
  }

  fs.mkdirSync(BUILD_DIR, { recursive: true });
  // Read, never opened for writing: the original may be a hard link shared with other checkouts.
  const { image, weakened, cleared } = weakenVersionNeeds(fs.readFileSync(original), REPLACEMENTS);
  const patched = patchedAddonPath();
  writeAtomically(patched, image);
  compileShim();

  const launch = {
    env: {
      LD_PRELOAD: [SHIM_LIBRARY, process.env.LD_PRELOAD].filter(Boolean).join(':'),
      RX_MULTIPART_FUZZ_ADDON: patched,
    },
    nodeArgs: ['--require', REDIRECT],
    summary: `patched a copy of the Jazzer.js addon (${path.relative(process.cwd(), patched)}): weak ${weakened.join(', ')}; unversioned ${cleared.join(', ')}; stand-ins preloaded from ${path.relative(process.cwd(), SHIM_LIBRARY)}`,
  };
  const afterPatch = probeAddon(launch.env, launch.nodeArgs);
  if (!afterPatch.ok) {
    throw new Error(`The patched Jazzer.js addon still does not load (${launch.summary}):\n${afterPatch.message}`);
  }
  return launch;
}

/** Loads @jazzer.js/fuzzer in a child process, as the fuzzer will. */
function probeAddon(env, nodeArgs) {
  const child = spawnSync(process.execPath, [...nodeArgs, '-e', `require(${JSON.stringify(fuzzerPackageDir())})`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  const message = `${child.error?.message ?? ''}${child.stderr ?? ''}`.trim();
  return { ok: child.status === 0, message: message.split('\n').filter((line) => /error|version|not found|cannot/i.test(line)).join('\n') || message };
}

function compileShim() {
  const compiler = process.env.CC || 'cc';
  // -std=c99 without _GNU_SOURCE: see the top of glibc-compat.c.
  const args = ['-std=c99', '-O2', '-shared', '-fPIC', '-o', `${SHIM_LIBRARY}.tmp`, SHIM_SOURCE];
  const result = spawnSync(compiler, args, { encoding: 'utf8' });
  if (result.error?.code === 'ENOENT') {
    throw new Error(`The compatibility step needs a C compiler to build ${path.basename(SHIM_SOURCE)}: "${compiler}" was not found (install gcc, or set CC).`);
  }
  if (result.status !== 0) throw new Error(`${compiler} ${args.join(' ')} failed:\n${result.stderr}`);
  fs.renameSync(`${SHIM_LIBRARY}.tmp`, SHIM_LIBRARY);
}

function writeAtomically(file, bytes) {
  fs.writeFileSync(`${file}.tmp`, bytes);
  fs.renameSync(`${file}.tmp`, file);
}

if (require.main === module) {
  try {
    const launch = prepareJazzer();
    console.error(launch.summary);
    const env = Object.entries(launch.env).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
    if (launch.nodeArgs.length > 0) env.push(`NODE_OPTIONS=${JSON.stringify(launch.nodeArgs.join(' '))}`);
    if (env.length > 0) console.log(`${env.join(' ')} npx jazzer ...`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}

module.exports = { prepareJazzer, REPLACEMENTS };
