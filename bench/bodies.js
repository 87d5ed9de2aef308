'use strict';
// The end-to-end bodies (bench/e2e.js): part heads, the close delimiter and random data, sent by a
// client that writes the same buffers again and again, so even the 1 GiB body is never whole in
// memory. The in-memory cases build their bodies in bench/cases.js.
const { randomBytes } = require('node:crypto');

const BOUNDARY = '----WebKitFormBoundaryq8Xz2Lr0bench7Yt';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const KiB = 1024;
const MiB = 1024 * KiB;

const head = (name, filename) =>
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"\r\nContent-Type: application/octet-stream`}\r\n\r\n`);
const close = Buffer.from(`--${BOUNDARY}--\r\n`);
const crlf = Buffer.from('\r\n');

// Random bytes, as in compressed files: the 45-byte delimiter never occurs by chance.
function randomData(size) {
  return randomBytes(size);
}

module.exports = { BOUNDARY, CONTENT_TYPE, head, close, crlf, randomData, KiB, MiB };
