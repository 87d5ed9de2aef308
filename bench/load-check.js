'use strict';
/**
 * What a phase of the load bench left on disk: the files under the upload folder once the server
 * has settled, each answered upload's files checked against what was sent, and every other file
 * counted as an orphan (a partial file of an aborted upload, a temporary file never removed).
 */
const { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { SHAPES, TAG, checkBytes, checkTag } = require('./load-body');

// rx-multipart's disk storage keeps its metadata in this file at the folder's top: not an upload.
const DISK_INDEX = 'index.jsonl';
// A folder unchanged for this long counts as settled: cleanups of aborted uploads (an unlink on the
// thread pool) take milliseconds once the server has no request left.
const QUIET_MS = 500;
const POLL_MS = 250;
const SETTLE_LIMIT_MS = 20_000;

/** Every file under `directory` (sub-folders included, the disk index left out): path → size. */
function listFiles(directory) {
  const files = new Map();
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const folder = entry.parentPath ?? entry.path;
    if (entry.name === DISK_INDEX && resolve(folder) === resolve(directory)) continue;
    const path = resolve(folder, entry.name);
    // A file removed between the listing and the stat was being cleaned up: not left behind.
    try {
      files.set(path, statSync(path).size);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
  return files;
}

const isSameListing = (a, b) => a.size === b.size && [...a].every(([path, size]) => b.get(path) === size);

/**
 * Waits until the folder stops changing (no file created, removed or grown for QUIET_MS), at most
 * SETTLE_LIMIT_MS; returns the last listing and how long it took.
 */
async function waitUntilSettled(directory) {
  const started = Date.now();
  let last = listFiles(directory);
  let quietSince = Date.now();
  while (Date.now() - quietSince < QUIET_MS && Date.now() - started < SETTLE_LIMIT_MS) {
    await sleep(POLL_MS);
    const now = listFiles(directory);
    if (!isSameListing(last, now)) quietSince = Date.now();
    last = now;
  }
  return { files: last, ms: Date.now() - started };
}

/**
 * The files an answer reports, as `{ field, path, size }`: the demo answers with ids (stored at
 * `<directory>/<first hex digit>/<id>`, as the disk storage documents), the bench's servers with paths.
 */
function readAnsweredFiles(kind, directory, answer) {
  const body = JSON.parse(answer);
  if (kind === 'demo') return body.result.files.map((file) => ({ field: file.fieldName, path: join(directory, file.id[0], file.id), size: file.size }));
  return body.files;
}

/**
 * Checks the uploads of a phase against the settled listing.
 * @param {{ kind: string, directory: string, shape: string, files: Map<string, number>, uploads: object[],
 *   firstMeasured: number, byteCheckEvery: number }} phase
 *   `uploads`: the warm-up's and the measured ones (numbered from `firstMeasured`), whose files
 *   together are what the folder may hold. `byteCheckEvery`: every file's size and tag are checked,
 *   and all the bytes of the files of one answered upload in this many (1: every upload).
 * @returns {{ answered: number, aborted: number, wrong: number, warmupWrong: number, wrongExamples: string[],
 *   orphans: string[], bytesChecked: number }}
 *   answered: measured uploads answered 200 with every file right; wrong: the other measured uploads
 *   not aborted by design (an error status, a wrong or missing file, no answer); warmupWrong: the same
 *   for the warm-up's.
 */
function checkPhase({ kind, directory, shape, files, uploads, firstMeasured, byteCheckEvery }) {
  const { files: perUpload, fileSize } = SHAPES[shape];
  const expected = new Set();
  const wrongExamples = [];
  let answered = 0;
  let aborted = 0;
  let wrong = 0;
  let warmupWrong = 0;
  // Uploads answered 200 so far: picks which ones have all their bytes read.
  let okAnswers = 0;
  let bytesChecked = 0;
  for (const upload of uploads) {
    const why = (() => {
      if (upload.outcome === 'aborted') return undefined;
      if (upload.outcome !== 'answered') return upload.error;
      if (upload.status !== 200) return `status ${upload.status} ${upload.answer.slice(0, 120)}`;
      let reported;
      try {
        reported = readAnsweredFiles(kind, directory, upload.answer);
      } catch (error) {
        return `answer ${upload.answer.slice(0, 120)}: ${error.message}`;
      }
      // Files a server answered for are not orphans, even when they are wrong.
      for (const file of reported) expected.add(resolve(file.path));
      const isByteChecked = okAnswers++ % byteCheckEvery === 0;
      if (isByteChecked) bytesChecked += perUpload * fileSize;
      return checkFiles(shape, upload.upload, reported, files, isByteChecked);
    })();
    const isMeasured = upload.upload >= firstMeasured;
    if (why !== undefined) {
      if (isMeasured) wrong++;
      else warmupWrong++;
      if (wrongExamples.length < 5) wrongExamples.push(`${isMeasured ? '' : 'warm-up '}upload ${upload.upload}: ${why}`);
    } else if (isMeasured && upload.outcome === 'aborted') aborted++;
    else if (isMeasured) answered++;
  }
  const orphans = [...files.keys()].filter((path) => !expected.has(path));
  return { answered, aborted, wrong, warmupWrong, wrongExamples, orphans, bytesChecked };
}

/**
 * One answered upload's files: one per field f0..f(n-1), each on disk at the size sent, starting
 * with its tag; all its bytes read when `isByteChecked`.
 * @returns {string | undefined} what is wrong, or undefined.
 */
function checkFiles(shape, upload, reported, files, isByteChecked) {
  const { files: count, fileSize } = SHAPES[shape];
  if (!Array.isArray(reported) || reported.length !== count) return `${reported?.length} files answered, not ${count}`;
  const seen = new Set();
  for (const file of reported) {
    const index = /^f(\d+)$/.exec(file.field);
    if (index === null || Number(index[1]) >= count || seen.has(file.field)) return `unexpected or repeated field ${JSON.stringify(file.field)}`;
    seen.add(file.field);
    const path = resolve(file.path);
    if (files.get(path) !== fileSize || file.size !== fileSize) {
      return `${file.field}: ${files.has(path) ? `${files.get(path)} bytes on disk` : 'not on disk'}, answered ${file.size}, sent ${fileSize}`;
    }
    const why = isByteChecked ? checkBytes(shape, upload, Number(index[1]), readFileSync(path)) : checkTag(upload, Number(index[1]), readHead(path));
    if (why !== undefined) return `${file.field} (${path}): ${why}`;
  }
  return undefined;
}

/** The first TAG bytes of a file. */
function readHead(path) {
  const handle = openSync(path, 'r');
  try {
    const head = Buffer.alloc(TAG);
    readSync(handle, head, 0, TAG, 0);
    return head;
  } finally {
    closeSync(handle);
  }
}

module.exports = { listFiles, waitUntilSettled, checkPhase };
