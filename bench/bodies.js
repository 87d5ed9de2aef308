'use strict';
// Benchmark bodies: each case is a list of chunks (or a generator of them, for the 1 GiB file),
// built once per child process, outside the timed runs.
const { randomBytes } = require('node:crypto');

const BOUNDARY = '----WebKitFormBoundaryq8Xz2Lr0bench7Yt';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const KiB = 1024;
const MiB = 1024 * KiB;

const head = (name, filename) =>
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"\r\nContent-Type: application/octet-stream`}\r\n\r\n`);
const close = Buffer.from(`--${BOUNDARY}--\r\n`);
const crlf = Buffer.from('\r\n');

function cut(body, size) {
  const chunks = [];
  for (let at = 0; at < body.length; at += size) chunks.push(body.subarray(at, at + size));
  return chunks;
}

function fileBody(data) {
  return Buffer.concat([head('file', 'data.bin'), data, crlf, close]);
}

// Random bytes, as in compressed files: a CR every 256 bytes on average, which a delimiter search
// must look at; the 45-byte delimiter itself never occurs by chance.
function randomData(size) {
  return randomBytes(size);
}

/** Every case: a label, its unit (bytes or parts), and how to build it (small = --quick). */
const CASES = {
  'file-100MiB-64KiB': { label: '1 file of 100 MiB, 64 KiB chunks', build: (q) => ({ chunks: cut(fileBody(randomData((q ? 20 : 100) * MiB)), 64 * KiB), parts: 1 }) },
  'file-20MiB-1KiB': { label: '1 file of 20 MiB, 1 KiB chunks', build: (q) => ({ chunks: cut(fileBody(randomData((q ? 4 : 20) * MiB)), KiB), parts: 1 }) },
  'files-100x1MiB': {
    label: '100 files of 1 MiB, 64 KiB chunks',
    build: (q) => {
      const n = q ? 20 : 100;
      const data = randomData(MiB);
      const pieces = [];
      for (let i = 0; i < n; i++) pieces.push(head(`f${i}`, `f${i}.bin`), data, crlf);
      pieces.push(close);
      return { chunks: cut(Buffer.concat(pieces), 64 * KiB), parts: n };
    },
  },
  'fields-2000': {
    label: '2000 small text fields, 64 KiB chunks',
    unit: 'parts',
    build: () => {
      const pieces = [];
      for (let i = 0; i < 2000; i++) pieces.push(head(`field${i}`), Buffer.from(`value ${i}`), crlf);
      pieces.push(close);
      return { chunks: cut(Buffer.concat(pieces), 64 * KiB), parts: 2000 };
    },
  },
  'near-boundary-20MiB': {
    label: '20 MiB of near-boundary data, 64 KiB chunks',
    build: (q) => {
      // "\r\n--" + the boundary minus its last byte, then a byte that ends the match.
      const lookAlike = Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}x`);
      const size = (q ? 4 : 20) * MiB;
      const data = Buffer.alloc(size);
      for (let at = 0; at < size; at += lookAlike.length) lookAlike.copy(data, at);
      return { chunks: cut(fileBody(data), 64 * KiB), parts: 1 };
    },
  },
  'file-1GiB-stream': {
    label: '1 file of 1 GiB generated chunk by chunk (memory)',
    streamed: true,
    build: (q) => {
      const size = (q ? 128 : 1024) * MiB;
      const block = randomData(64 * KiB);
      const first = head('file', 'big.bin');
      const last = Buffer.concat([crlf, close]);
      return {
        parts: 1,
        bytes: first.length + size + last.length,
        *chunks() {
          yield first;
          for (let sent = 0; sent < size; sent += block.length) yield block;
          yield last;
        },
      };
    },
  },
};

module.exports = { BOUNDARY, CONTENT_TYPE, CASES, head, close, crlf, randomData, KiB, MiB };
