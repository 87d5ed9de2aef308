'use strict';
/**
 * Writes the seed corpora of the fuzz targets into fuzz/.seeds/<target>/ (gitignored, rebuilt on
 * every run so that seeds always match the targets' input layouts), from:
 * - the conformance vectors (spec/fixtures/conformance): their bodies with their Content-Type for
 *   the parser target, under a few chunkings and ways of reading; their parts, re-encoded, for the
 *   differential target; their Content-Type, Content-Disposition and part Content-Type values and
 *   header blocks for the header-params target;
 * - the inputs of earlier findings (spec/fixtures/fuzz/<target>-*.bin), for their own target, so
 *   that every run checks them again (they are skipped while they are known findings).
 *
 *   node fuzz/make-seeds.js      (fuzz/run.js calls it before fuzzing)
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { writeFormInput, textToTokens, CONTENT_TYPES, FIELD, FILE, FILE_EXTENDED, FILE_BOTH } = require('./support/reference-encoder.js');

const ROOT = path.join(__dirname, '..');
const SEEDS_DIR = path.join(__dirname, '.seeds');
const CONFORMANCE_DIR = path.join(ROOT, 'spec', 'fixtures', 'conformance');
const REGRESSIONS_DIR = path.join(ROOT, 'spec', 'fixtures', 'fuzz');
/** Bodies above this are left out (fuzz/run.js caps inputs at 16 KiB). */
const MAX_BODY = 16 * 1024 - 256;

/** A small deterministic generator, so that seeds are the same from run to run (mulberry32). */
function createRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readVectors() {
  return fs
    .readdirSync(CONFORMANCE_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(fs.readFileSync(path.join(CONFORMANCE_DIR, file), 'utf8')));
}

/** The inputs of earlier findings of `target`, by name. */
function readFindings(target) {
  if (!fs.existsSync(REGRESSIONS_DIR)) return new Map();
  const files = fs.readdirSync(REGRESSIONS_DIR).filter((file) => file.startsWith(`${target}-`) && file.endsWith('.bin'));
  return new Map(files.sort().map((file) => [`finding-${file.slice(0, -4)}`, fs.readFileSync(path.join(REGRESSIONS_DIR, file))]));
}

/**
 * A parser-target input (the layout at the top of fuzz/parser.fuzz.js): the Content-Type line, the
 * body, then the settings, which are read from the end, first one last.
 */
function parserInput(contentType, body, { flags = 0, chunking = 0, highWaterMark = 0, sizes = [], limits, mixed }) {
  const settings = [[flags], [0], [chunking | sizes.length], [highWaterMark], ...sizes.map((size) => [size - 1])];
  if (limits !== undefined) settings.push(...limits.map((byte) => [byte]));
  if (mixed !== undefined) settings.push([mixed.packed & 255, (mixed.packed >> 8) & 255, mixed.packed >> 16], [mixed.takeParts]);
  return Buffer.concat([Buffer.from(`${contentType}\n`, 'latin1'), body, Buffer.from(settings.reverse().flat())]);
}

function parserSeeds(vectors) {
  const seeds = new Map();
  const random = createRandom(1);
  const sizes = (n, max) => Array.from({ length: n }, () => 1 + Math.floor(random() * max));
  for (const vector of vectors) {
    const body = Buffer.from(vector.body_b64, 'base64');
    if (body.length > MAX_BODY) continue;
    const { contentType, id } = vector;
    seeds.set(`${id}-whole`, parserInput(contentType, body, {}));
    seeds.set(`${id}-cut-merge`, parserInput(contentType, body, { flags: (1 << 6) | 4, sizes: sizes(3, 200) }));
    // One byte a chunk costs a thousand times the work of one chunk: for a few vectors only.
    if (vector.id.endsWith('-ascii') || vector.id.includes('lookalike') || vector.id.includes('quote')) {
      seeds.set(`${id}-bytes-write`, parserInput(contentType, body, { flags: 3 << 6, chunking: 16, sizes: [1] }));
    } else {
      seeds.set(`${id}-cut-write`, parserInput(contentType, body, { flags: 3 << 6, chunking: 16 | 32, sizes: sizes(4, 40) }));
    }
    seeds.set(`${id}-mixed`, parserInput(contentType, body, { flags: 2 << 6, highWaterMark: 1, sizes: sizes(2, 64), mixed: { packed: Math.floor(random() * 0xffffff), takeParts: Math.floor(random() * 8) } }));
    seeds.set(`${id}-limits`, parserInput(contentType, body, { flags: 16, sizes: sizes(1, 100), limits: Array.from({ length: 10 }, () => Math.floor(random() * 256)) }));
  }
  // Parts sent base64 and quoted-printable, decoded (chunking bit 6), whole and cut small.
  const boundary = 'fuzz-transfer';
  const encoded = Buffer.from(
    [
      `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
      `${Buffer.from('\x89PNG\r\n\x1a\n binary = bytes').toString('base64').replace(/(.{8})/g, '$1\r\n')}\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="q"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`,
      'caf=C3=A9 =3D coffee  \r\nsoft=\r\nbreak\r\n',
      `--${boundary}\r\nContent-Disposition: form-data; name="p"\r\nContent-Transfer-Encoding: 8bit\r\n\r\nplain\r\n--${boundary}--\r\n`,
    ].join(''),
    'latin1',
  );
  const type = `multipart/form-data; boundary=${boundary}`;
  seeds.set('transfer-encoded-whole', parserInput(type, encoded, { chunking: 64 }));
  seeds.set('transfer-encoded-cut', parserInput(type, encoded, { chunking: 64, sizes: sizes(6, 7) }));
  seeds.set('transfer-encoded-write', parserInput(type, encoded, { flags: 3 << 6, chunking: 64 | 32, sizes: sizes(3, 20) }));
  // A few vectors before a 256 KiB preamble: the sampling search (its boundaries are long enough).
  for (const vector of vectors.filter((v) => v.id.startsWith('chromium')).slice(0, 8)) {
    const body = Buffer.from(vector.body_b64, 'base64');
    if (body.length <= MAX_BODY) seeds.set(`${vector.id}-sampling`, parserInput(vector.contentType, body, { flags: 32, sizes: sizes(2, 256) }));
  }
  return seeds;
}

/** The vector's parts as a form for the differential target, written a few ways. */
function differentialSeeds(vectors) {
  const seeds = new Map();
  const random = createRandom(2);
  for (const [n, vector] of vectors.entries()) {
    const parts = vector.expect.parts.filter((part) => part.data_b64 !== undefined).slice(0, 7);
    const spec = {
      boundaryChoice: n % 12,
      boundaryBytes: Buffer.alloc(0),
      flags: n & 0x7f,
      moreFlags: (n * 7) & 0x1f,
      parts: parts.map((part, i) => {
        const isFile = part.filename !== null;
        const kinds = [FILE, FILE, FILE_BOTH, FILE_EXTENDED];
        const data = Buffer.from(part.data_b64, 'base64').subarray(0, 3000);
        // Data bytes of 0xF8 and above are instructions: escape them with 0xFF.
        const escaped = Buffer.from([...data].flatMap((byte) => (byte >= 0xf8 ? [0xff, byte] : [byte])));
        const typeIndex = CONTENT_TYPES.indexOf(part.contentType ?? undefined);
        return {
          kind: isFile ? kinds[(n + i) % kinds.length] : FIELD,
          quoting: (n + i) % 4,
          contentTypeIndex: typeIndex === -1 ? 2 : typeIndex,
          usesContinuations: (n + i) % 3 === 0,
          nameBytes: textToTokens(part.name),
          filenameBytes: isFile ? textToTokens(part.filename) : Buffer.alloc(0),
          dataBytes: escaped.subarray(0, 4095),
        };
      }),
      chunkSizes: n % 3 === 0 ? [] : Array.from({ length: 1 + (n % 5) }, () => 1 + Math.floor(random() * 255)),
    };
    seeds.set(`${vector.id}-form`, writeFormInput(spec));
  }
  return seeds;
}

/** Header values and blocks from the vectors' bodies, for the header-params target. */
function headerParamsSeeds(vectors) {
  const seeds = new Map();
  // reader indexes: fuzz/header-params.fuzz.js READERS.
  const PARAMS = 0;
  const MULTIPART_TYPE = 1;
  const BLOCK = 2;
  const DISPOSITION = 3;
  const BLOCK_THEN_HEAD = 4;
  const add = (id, text, reader, flags) => {
    const bytes = Buffer.from(text, 'latin1');
    // The repeated unit: inside the first quoted value when there is one, else the middle.
    const quote = text.indexOf('"');
    const unitAt = Math.min(255, quote === -1 ? Math.floor(text.length / 2) : quote + 1);
    const unitLength = Math.max(1, Math.min(16, text.length - unitAt - 1));
    seeds.set(`${id}-${reader}-${flags}`, Buffer.concat([bytes, Buffer.from([unitLength, unitAt, flags, reader])]));
  };
  for (const vector of vectors) {
    const body = Buffer.from(vector.body_b64, 'base64').toString('latin1');
    const isUtf8 = /[\x80-\xff]/.test(body) ? 1 : 0;
    add(`${vector.id}-request-type`, vector.contentType, MULTIPART_TYPE, 0);
    // Header blocks: from a delimiter line to the blank line.
    const blocks = [...body.matchAll(/--[^\r\n]*\r\n((?:[^\r\n]+\r\n)*?)\r\n/g)].map((match) => match[1].replace(/\r\n$/, ''));
    for (const [i, block] of blocks.slice(0, 3).entries()) {
      add(`${vector.id}-block${i}`, block, BLOCK, isUtf8);
      add(`${vector.id}-block${i}`, block, BLOCK_THEN_HEAD, isUtf8 | 2);
      for (const line of block.split('\r\n')) {
        const header = /^content-(disposition|type):[ \t]*(.*)$/i.exec(line);
        if (header === null) continue;
        if (header[1].toLowerCase() === 'disposition') {
          add(`${vector.id}-disposition${i}`, header[2], PARAMS, isUtf8 | 2);
          add(`${vector.id}-disposition${i}`, header[2], DISPOSITION, isUtf8 | 2);
        } else {
          add(`${vector.id}-type${i}`, header[2], PARAMS, 0);
        }
      }
    }
  }
  // Header blocks of multipart/mixed and multipart/related parts (RFC 2045, RFC 2387): more header
  // names than form-data uses, a fold, and the raw line break Go writes inside a quoted value.
  const mime = [
    'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\nContent-ID: <part1@example.org>',
    'Content-Disposition: attachment; filename="r\u00e9sum\u00e9.pdf"\r\nContent-Type: application/pdf\r\nX-Note: one\r\nX-Note: two',
    'Content-Disposition: form-data;\r\n name="folded"\r\nContent-Type: text/plain',
    'Content-Disposition: form-data; name="a\r\nb"; filename="c\r\nd.txt"',
    'Content-Type: application/http\r\nContent-ID: 1\r\nContent-Transfer-Encoding: binary',
  ];
  for (const [i, block] of mime.entries()) {
    add(`mime${i}`, block, BLOCK, 8);
    add(`mime${i}`, block, BLOCK_THEN_HEAD, 2 | 8 | 16);
  }
  return seeds;
}

/**
 * Rebuilds fuzz/.seeds/<target>/.
 * @returns {string} how many seeds each target got.
 */
function makeSeeds() {
  const vectors = readVectors();
  const corpora = {
    parser: parserSeeds(vectors),
    differential: differentialSeeds(vectors),
    'header-params': headerParamsSeeds(vectors),
  };
  for (const [target, seeds] of Object.entries(corpora)) for (const [name, bytes] of readFindings(target)) seeds.set(name, bytes);
  const counts = [];
  for (const [target, seeds] of Object.entries(corpora)) {
    const dir = path.join(SEEDS_DIR, target);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const written = new Set();
    for (const [name, bytes] of seeds) {
      const hash = crypto.createHash('sha1').update(bytes).digest('hex');
      if (written.has(hash)) continue;
      written.add(hash);
      fs.writeFileSync(path.join(dir, `${name.replace(/[^\w.-]/g, '_')}-${hash.slice(0, 8)}`), bytes);
    }
    counts.push(`${target} ${written.size}`);
  }
  return `${counts.join(', ')} in ${path.relative(ROOT, SEEDS_DIR)}`;
}

if (require.main === module) console.log(makeSeeds());

module.exports = { makeSeeds, SEEDS_DIR, parserInput };
