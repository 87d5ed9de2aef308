'use strict';
/**
 * The benchmark cases: each builds its multipart body once per child process (outside the timing)
 * and says what a correct parse of it finds, so every run is checked, not just timed.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// A browser-shaped boundary (Chromium's prefix + 16 characters): the length parsers really see.
const BOUNDARY = '----WebKitFormBoundary7MA4YWxkTrZu0gW9';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const DELIMITER = Buffer.from(`\r\n--${BOUNDARY}`, 'latin1');
const CLOSE = Buffer.from(`\r\n--${BOUNDARY}--\r\n`, 'latin1');

function fileHead(isFirst, name, filename) {
  return Buffer.from(
    `${isFirst ? '' : '\r\n'}--${BOUNDARY}\r\n` +
      `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
    'latin1',
  );
}

function fieldHead(isFirst, name) {
  return Buffer.from(`${isFirst ? '' : '\r\n'}--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`, 'latin1');
}

/**
 * Deterministic pseudo-random bytes (xorshift32), so every child parses the same body and the data
 * has the byte mix of a compressed upload (a CR every 256 bytes on average, as in real files).
 */
function randomBytes(size, seed) {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out;
}

/**
 * File data written in place into the body (so building it allocates the body once, and the RSS
 * peak of the build is the body's): a 1 MiB random block tiled by Buffer.fill (native, fast).
 */
function fileData(size, seed) {
  const block = randomBytes(Math.min(size, MiB), seed);
  return { size, write: (target) => target.fill(block) };
}

/** Near-boundary data: `\r\n--` + the boundary minus its last byte, repeated (never a full delimiter). */
function nearBoundaryData(size) {
  return { size, write: (target) => target.fill(DELIMITER.subarray(0, DELIMITER.length - 1)) };
}

function textData(text) {
  const bytes = Buffer.from(text, 'utf8');
  return { size: bytes.length, write: (target) => bytes.copy(target) };
}

/** Cuts `body` into views of `chunkSize` bytes (no copies: the body is built once). */
function chunk(body, chunkSize) {
  const chunks = [];
  for (let at = 0; at < body.length; at += chunkSize) chunks.push(body.subarray(at, at + chunkSize));
  return chunks;
}

/** A body made of parts held in memory (one allocation), with what a parse must find. */
function builtBody(parts, chunkSize) {
  const heads = parts.map((part, i) => (part.filename === undefined ? fieldHead(i === 0, part.name) : fileHead(i === 0, part.name, part.filename)));
  let bodyBytes = CLOSE.length;
  let partBytes = 0;
  let nameChars = 0;
  parts.forEach((part, i) => {
    bodyBytes += heads[i].length + part.data.size;
    partBytes += part.data.size;
    nameChars += part.name.length;
  });
  const body = Buffer.allocUnsafe(bodyBytes);
  let at = 0;
  parts.forEach((part, i) => {
    at += heads[i].copy(body, at);
    part.data.write(body.subarray(at, at + part.data.size));
    at += part.data.size;
  });
  CLOSE.copy(body, at);
  // Guard against a data generator that emits a real delimiter: the expected counts would lie.
  let delimiters = 0;
  for (let hit = body.indexOf(DELIMITER); hit !== -1; hit = body.indexOf(DELIMITER, hit + DELIMITER.length)) delimiters++;
  if (delimiters !== parts.length) throw new Error(`body has ${delimiters} delimiters for ${parts.length} parts`);
  return {
    contentType: CONTENT_TYPE,
    boundary: BOUNDARY,
    chunks: chunk(body, chunkSize),
    bodyBytes,
    expected: { parts: parts.length, bytes: partBytes, names: nameChars },
  };
}

/**
 * One file streamed chunk by chunk, never held whole: three chunk views built once (the first with
 * the part's head, the repeated middle, the last with the closing delimiter) and yielded again and
 * again. The data has a period of one chunk, so the middle view is the same bytes every time and a
 * parser that keeps views still sees correct data; the chunks straddle the file's offsets like
 * network chunks do (the head shifts them).
 */
function generatedBody(size, chunkSize) {
  const head = fileHead(true, 'upload', 'big.bin');
  const period = randomBytes(chunkSize, 0x1badf00d);
  const tile = Buffer.concat([period, period]);
  const firstData = chunkSize - head.length;
  const first = Buffer.concat([head, period.subarray(0, firstData)]);
  const offset = firstData % chunkSize;
  const middle = tile.subarray(offset, offset + chunkSize);
  const middleCount = Math.floor((size - firstData - 1) / chunkSize);
  const rest = size - firstData - middleCount * chunkSize;
  const last = Buffer.concat([tile.subarray(offset, offset + rest), CLOSE]);
  return {
    contentType: CONTENT_TYPE,
    boundary: BOUNDARY,
    chunks: {
      *[Symbol.iterator]() {
        yield first;
        for (let i = 0; i < middleCount; i++) yield middle;
        yield last;
      },
    },
    bodyBytes: head.length + size + CLOSE.length,
    expected: { parts: 1, bytes: size, names: 'upload'.length },
  };
}

function size(bytes) {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return `${bytes / KiB} KiB`;
}

/**
 * Every case. `full`/`quick` give the sizes for a real run and for `--quick`; `timing` gives the
 * warm-up (at least `warmups` runs and `warmupMs` ms) and the number of timed runs.
 */
const CASES = [
  {
    name: 'file-100m',
    // 100 MiB built whole in memory, three times the L3 cache: every parse reads it from memory.
    readsMemory: true,
    unit: 'MB/s',
    full: { fileSize: 100 * MiB, chunkSize: 64 * KiB },
    quick: { fileSize: 8 * MiB, chunkSize: 64 * KiB },
    timing: { warmups: 3, warmupMs: 1000, runs: 15 },
    label: (p) => `one ${size(p.fileSize)} file, ${size(p.chunkSize)} chunks`,
    build: (p) => builtBody([{ name: 'upload', filename: 'big.bin', data: fileData(p.fileSize, 1) }], p.chunkSize),
  },
  {
    name: 'file-20m-1k',
    unit: 'MB/s',
    full: { fileSize: 20 * MiB, chunkSize: KiB },
    quick: { fileSize: 2 * MiB, chunkSize: KiB },
    timing: { warmups: 3, warmupMs: 1000, runs: 15 },
    label: (p) => `one ${size(p.fileSize)} file, ${size(p.chunkSize)} chunks`,
    build: (p) => builtBody([{ name: 'upload', filename: 'big.bin', data: fileData(p.fileSize, 2) }], p.chunkSize),
  },
  {
    name: 'files-100x1m',
    // 100 MiB built whole in memory, three times the L3 cache: every parse reads it from memory.
    readsMemory: true,
    unit: 'MB/s',
    full: { files: 100, fileSize: MiB, chunkSize: 64 * KiB },
    quick: { files: 100, fileSize: 64 * KiB, chunkSize: 64 * KiB },
    timing: { warmups: 3, warmupMs: 1000, runs: 15 },
    label: (p) => `${p.files} files of ${size(p.fileSize)}, ${size(p.chunkSize)} chunks`,
    build: (p) => {
      const data = fileData(p.fileSize, 3);
      const parts = [];
      for (let i = 0; i < p.files; i++) parts.push({ name: `file${i}`, filename: `photo-${i}.jpg`, data });
      return builtBody(parts, p.chunkSize);
    },
  },
  {
    name: 'fields-2000',
    unit: 'parts/s',
    full: { fields: 2000, chunkSize: 64 * KiB },
    quick: { fields: 2000, chunkSize: 64 * KiB },
    timing: { warmups: 50, warmupMs: 1000, runs: 60 },
    label: (p) => `${p.fields} small text fields, ${size(p.chunkSize)} chunks`,
    build: (p) => {
      const parts = [];
      for (let i = 0; i < p.fields; i++) parts.push({ name: `field${i}`, filename: undefined, data: textData(`value ${i}`) });
      return builtBody(parts, p.chunkSize);
    },
  },
  {
    name: 'near-boundary-20m',
    unit: 'MB/s',
    full: { fileSize: 20 * MiB, chunkSize: 64 * KiB },
    quick: { fileSize: 2 * MiB, chunkSize: 64 * KiB },
    timing: { warmups: 3, warmupMs: 1000, runs: 15 },
    label: (p) => `one ${size(p.fileSize)} file of near-boundary bytes, ${size(p.chunkSize)} chunks`,
    build: (p) => builtBody([{ name: 'upload', filename: 'tricky.bin', data: nearBoundaryData(p.fileSize) }], p.chunkSize),
  },
  {
    name: 'file-1g',
    unit: 'MB/s',
    full: { fileSize: GiB, chunkSize: 64 * KiB },
    quick: { fileSize: 64 * MiB, chunkSize: 64 * KiB },
    timing: { warmups: 1, warmupMs: 0, runs: 3 },
    isStreamed: true,
    label: (p) => `one ${size(p.fileSize)} file generated chunk by chunk, ${size(p.chunkSize)} chunks`,
    build: (p) => generatedBody(p.fileSize, p.chunkSize),
  },
];

module.exports = { CASES, BOUNDARY, DELIMITER };
