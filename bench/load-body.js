'use strict';
/**
 * The bodies of the load bench (bench/load.js): what a form holds, and the bytes each file must
 * have on disk. Every file of every upload shares one buffer of data (made once per process, so 200
 * uploads in flight hold one copy), except its first TAG bytes, which name the upload and the file:
 * a server that stored one upload's bytes under another's answer, or a file under another field,
 * fails the check.
 */
const { createCipheriv } = require('node:crypto');
const { head, close, KiB, MiB } = require('./bodies');

/** The forms: one file of 4 MiB, or 100 files of 10 KiB. Field names are f0, f1, ... */
const SHAPES = {
  file: { files: 1, fileSize: 4 * MiB, label: '4 MiB file' },
  form: { files: 100, fileSize: 10 * KiB, label: 'form of 100 × 10 KiB' },
};
const TAG = 32;
const CRLF = Buffer.from('\r\n');
const dataBySize = new Map();

/**
 * `size` bytes that look random (AES-128-CTR of zeros under a fixed key), the same in every process:
 * the client sends them and the bench checks them on disk without passing them around. Random-looking,
 * so the 42-byte delimiter never occurs in them by chance.
 */
function readData(size) {
  let data = dataBySize.get(size);
  if (data === undefined) {
    const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 9));
    data = Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
    dataBySize.set(size, data);
  }
  return data;
}

/** The first TAG bytes of file `file` of upload `upload`: printable, never part of a delimiter. */
function makeTag(upload, file) {
  return Buffer.from(`upload ${String(upload).padStart(8, '0')} file ${String(file).padStart(4, '0')}`.padEnd(TAG, '.'));
}

/**
 * The pieces of upload `upload` in `shape`, in order: small per-file heads and views of the shared
 * data, never a copy of it.
 * @returns {{ pieces: Buffer[], length: number }}
 */
function buildBody(shape, upload) {
  const { files, fileSize } = SHAPES[shape];
  const rest = readData(fileSize).subarray(TAG);
  const pieces = [];
  for (let i = 0; i < files; i++) {
    // The CRLF ending a part's data belongs to the next delimiter (RFC 2046 §5.1.1).
    pieces.push(Buffer.concat([i === 0 ? Buffer.alloc(0) : CRLF, head(`f${i}`, `f${i}.bin`), makeTag(upload, i)]), rest);
  }
  pieces.push(Buffer.concat([CRLF, close]));
  return { pieces, length: pieces.reduce((sum, piece) => sum + piece.length, 0) };
}

/**
 * Whether `bytes` are what file `file` of upload `upload` in `shape` must hold.
 * @returns {string | undefined} why not, or undefined when they are.
 */
function checkBytes(shape, upload, file, bytes) {
  const { fileSize } = SHAPES[shape];
  if (bytes.length !== fileSize) return `${bytes.length} bytes, not ${fileSize}`;
  return checkTag(upload, file, bytes.subarray(0, TAG)) ?? (bytes.subarray(TAG).equals(readData(fileSize).subarray(TAG)) ? undefined : 'its data differs from what was sent');
}

/**
 * Whether `head` (a file's first TAG bytes) names file `file` of upload `upload`.
 * @returns {string | undefined} why not, or undefined when it does.
 */
function checkTag(upload, file, head) {
  return head.equals(makeTag(upload, file)) ? undefined : `starts ${JSON.stringify(head.toString('latin1'))}, not upload ${upload} file ${file}`;
}

module.exports = { SHAPES, TAG, buildBody, checkBytes, checkTag };
