'use strict';
/**
 * Fuzz target: parseMultipart over arbitrary bytes and arbitrary chunkings.
 *
 * Input layout (a FuzzedDataProvider: the settings are single bytes read from the end, the rest is
 * the front, so mutations of the body and of the settings stay apart; fuzz/make-seeds.js writes
 * seeds in this layout):
 *
 *   front = [Content-Type line "\n"] body          settings, last byte first:
 *   1. flags: bits 0-1 where the Content-Type comes from (0: the front's first line is the header
 *      value; 1: it is a bare boundary; 2: multipart/form-data and 3: multipart/mixed with a
 *      boundary from BOUNDARIES); bit 2 preservePath; bit 3 defParamCharset latin1; bit 4 small
 *      limits; bit 5 a 256 KiB preamble first (the sampling search); bits 6-7 how parts are read
 *      (concatMap, mergeMap, mixed actions, writeBody)
 *   2. boundary index (modes 2 and 3)
 *   3. chunking: bits 0-3 how many chunk sizes follow (0: the body is one chunk), bit 4 chunks as
 *      plain Uint8Array views rather than Buffers, bit 5 writeBody hands arrays (joins: false),
 *      bit 6 decodeTransferEncoding (base64 and quoted-printable parts decoded)
 *   4. highWaterMark: 1 + 64 * byte
 *   5. the chunk sizes, 1 + byte each, used in turn
 *   6. with small limits: one byte per limit (LIMIT_ORDER)
 *   7. with mixed reading: an action per part for 8 parts (3 bits each, 3 bytes), and after how
 *      many parts the consumer leaves (0: never)
 *
 * Oracles, each a finding when broken: the parse settles within the subscribe call (a synchronous
 * source must not leave it hanging) with parts or a MultipartError of a parse code, nothing throws
 * out of subscribe, RxJS reports no undeliverable error, no timer is left behind, pause/resume
 * alternate and end resumed, every read body$ ends as the parse does, the bytes handed out are the
 * body's own (in order, never more than it holds, within the size limits and part counts), and the
 * outcome is the same with the body in one chunk, with the portable search, and with a 256 KiB
 * preamble in front (which switches the delimiter search to sampling).
 */
// The provider alone: @jazzer.js/core's entry point loads the native addon, which plain node (a
// reproduction outside the fuzzer) need not have.
const { FuzzedDataProvider } = require('@jazzer.js/core/dist/FuzzedDataProvider.js');
const { load } = require('./support/library.js');
const { parseChunks, describe, bytesOf, MultipartError } = require('./support/parse-outcome.js');

const { resolveLimits } = load('parser/limits.js');
const { resolveMultipartType } = load('parser/boundary.js');
const { createParserState, step, finish, EVENT_PART_START, EVENT_DATA, EVENT_PART_END, EVENT_END, EVENT_ERROR } = load('parser/multipart-parser.js');

/** Boundaries for modes 2 and 3: short ones (look-alikes are likelier), odd RFC 2046 characters, long ones (sampling search). */
const BOUNDARIES = [
  'a', '-', '--', 'b', ' x', 'a b', "'()+_,-./:=?", 'AaB03x', 'boundary', 'simple boundary',
  '----WebKitFormBoundary7MA4YWxkTrZu0gW', '------------------------d74496d66958873e', '0123456789abcdef',
  '-'.repeat(16), '='.repeat(12), 'x'.repeat(70), 'gc0p4Jq0M2Yt08jU534c0p', '--==_mimepart_',
];

/** The limits small-limit mode sets, in input order, and how a byte maps to each (255: the default). */
const LIMIT_ORDER = [
  ['parts', (b) => b % 8], ['files', (b) => b % 6], ['fields', (b) => b % 6], ['fileSize', (b) => b],
  ['fieldSize', (b) => b], ['fieldNameSize', (b) => b % 32], ['headerSize', (b) => b * 2], ['headerPairs', (b) => b % 8],
  ['preambleSize', (b) => b], ['bodySize', (b) => b * 8],
];

/** Codes a parse of a synchronous, well-behaved source can end in. */
const PARSE_CODES = new Set([
  'NOT_MULTIPART', 'MISSING_BOUNDARY', 'INVALID_BOUNDARY', 'MALFORMED_DELIMITER', 'MALFORMED_HEADER', 'INVALID_CONTENT_DISPOSITION',
  'UNEXPECTED_END', 'LIMIT_PARTS', 'LIMIT_FILES', 'LIMIT_FIELDS', 'LIMIT_FILE_SIZE', 'LIMIT_FIELD_SIZE', 'LIMIT_FIELD_NAME_SIZE',
  'LIMIT_HEADER_SIZE', 'LIMIT_HEADER_PAIRS', 'LIMIT_PREAMBLE_SIZE', 'LIMIT_BODY_SIZE', 'MALFORMED_PREAMBLE',
  'MALFORMED_TRANSFER_ENCODING', 'UNSUPPORTED_TRANSFER_ENCODING',
]);

const CONSUMPTIONS = ['concat', 'merge', 'mixed', 'write'];

/** The limit each LIMIT_ code reports. */
const LIMIT_OF_CODE = {
  LIMIT_PARTS: 'parts', LIMIT_FILES: 'files', LIMIT_FIELDS: 'fields', LIMIT_FILE_SIZE: 'fileSize', LIMIT_FIELD_SIZE: 'fieldSize',
  LIMIT_FIELD_NAME_SIZE: 'fieldNameSize', LIMIT_HEADER_SIZE: 'headerSize', LIMIT_HEADER_PAIRS: 'headerPairs', LIMIT_PREAMBLE_SIZE: 'preambleSize',
  LIMIT_BODY_SIZE: 'bodySize',
};

// Enough for the sampling search to take over (it starts once its fallback has searched 256 KiB, see
// lib/parser/boundary-search.ts): CR X pairs, so the preamble holds no delimiter yet every chunk
// reaches the pattern search (a chunk without CR would be skipped by the parser's first-CR check).
const SAMPLING_PREAMBLE = Buffer.alloc(256 * 1024 + 2, '\rX');
const CRLF = Buffer.from('\r\n');

/**
 * Decodes the settings and the body from a fuzzer input (the layout above).
 * @param {Buffer} data
 */
function decodeInput(data) {
  const input = new FuzzedDataProvider(data);
  const flags = input.consumeIntegral(1);
  const boundaryIndex = input.consumeIntegral(1);
  const chunking = input.consumeIntegral(1);
  const highWaterMark = 1 + 64 * input.consumeIntegral(1);
  const sizes = [];
  for (let i = 0; i < (chunking & 15); i++) sizes.push(1 + input.consumeIntegral(1));
  let limits;
  if (flags & 16) {
    limits = {};
    for (const [name, map] of LIMIT_ORDER) {
      const byte = input.consumeIntegral(1);
      if (byte !== 255) limits[name] = map(byte);
    }
  }
  const kind = CONSUMPTIONS[flags >> 6];
  const consumption = { kind, joins: (chunking & 32) === 0 };
  if (kind === 'mixed') {
    const packed = input.consumeIntegral(3);
    consumption.actions = Array.from({ length: 8 }, (_, i) => ((packed >> (3 * i)) & 7) % 5);
    const takeParts = input.consumeIntegral(1) % 8;
    if (takeParts > 0) consumption.takeParts = takeParts;
  }
  // The rest, as a view: consumeRemainingAsBytes would copy it into an array of numbers.
  let front = data.subarray(0, input.remainingBytes);
  let contentType;
  const source = flags & 3;
  if (source <= 1) {
    const newline = front.indexOf(10);
    const end = newline === -1 ? front.length : newline;
    const line = front.toString('latin1', 0, end > 0 && front[end - 1] === 13 ? end - 1 : end);
    front = front.subarray(newline === -1 ? front.length : newline + 1);
    contentType = line;
  } else {
    const boundary = BOUNDARIES[boundaryIndex % BOUNDARIES.length];
    contentType = `multipart/${source === 2 ? 'form-data' : 'mixed'}; boundary="${boundary}"`;
  }
  const options = { preservePath: (flags & 4) !== 0, defParamCharset: flags & 8 ? 'latin1' : 'utf8', highWaterMark, decodeTransferEncoding: (chunking & 64) !== 0 };
  if (limits !== undefined) options.limits = limits;
  return { contentType, body: front, sizes, asViews: (chunking & 16) !== 0, options, consumption, usesSamplingPreamble: (flags & 32) !== 0 };
}

/** Cuts the body into chunks of the given sizes, in turn (one chunk when there are none). */
function cut(body, sizes, asViews) {
  if (sizes.length === 0) return [asViews ? viewOf(body, 0, body.length) : body];
  const chunks = [];
  for (let at = 0, i = 0; at < body.length; i++) {
    const size = Math.min(sizes[i % sizes.length], body.length - at);
    chunks.push(asViews ? viewOf(body, at, size) : body.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

// A Uint8Array that is not a Buffer, over the same memory (with its byteOffset).
function viewOf(bytes, at, length) {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + at, length);
}

function fail(message) {
  throw new Error(`parser target: ${message}`);
}

/** The oracles that hold whatever the input. */
function checkOutcome(outcome, body, options, consumption) {
  if (outcome.threw !== undefined) fail(`subscribe threw: ${describe(outcome.threw)}`);
  if (outcome.unhandled.length > 0) fail(`RxJS had an error it could not deliver: ${describe(outcome.unhandled[0])}`);
  if (outcome.end === 'none') fail('the parse of a synchronous source did not settle within subscribe (a hang)');
  if (outcome.timersLeft.length > 0) fail(`timers left behind after the parse settled:\n${outcome.timersLeft.join('\n')}`);
  const { control } = outcome;
  if (control.problems.length > 0) fail(`backpressure: ${control.problems.join('; ')}`);
  if (control.isPaused) fail(`the source was left paused (${control.pauses} pauses, ${control.resumes} resumes)`);
  if (outcome.end === 'error') {
    const error = outcome.error;
    if (!(error instanceof MultipartError)) fail(`the parse failed with something other than a MultipartError: ${describe(error)}`);
    if (!PARSE_CODES.has(error.code)) fail(`the parse failed with ${error.code}, not a parse error code: ${error.message}`);
    // The part at fault is the one being read or the next one, never one further on.
    if (error.partIndex !== undefined && (error.partIndex < outcome.parts.length - 1 || error.partIndex > outcome.parts.length)) {
      fail(`${error.code} names part ${error.partIndex} after ${outcome.parts.length} parts`);
    }
    if (error.code.startsWith('LIMIT_')) {
      const configured = resolveLimits(options.limits)[LIMIT_OF_CODE[error.code]];
      if (error.limit !== configured) fail(`${error.code} reports limit ${error.limit}, configured ${configured}`);
    }
  }
  const limits = resolveLimits(options.limits);
  let handedOut = 0;
  let at = 0;
  let files = 0;
  for (const [i, part] of outcome.parts.entries()) {
    if (part.problems.length > 0) fail(`part ${part.index}: ${part.problems.join('; ')}`);
    if (part.index !== i) fail(`part ${i} has index ${part.index}`);
    checkPartHead(part, options);
    if (part.filename !== undefined) files++;
    const bytes = bytesOf(part);
    handedOut += bytes.length;
    const limit = part.filename === undefined ? limits.fieldSize : limits.fileSize;
    if (bytes.length > limit) fail(`part ${part.index} handed out ${bytes.length} bytes over its limit of ${limit}`);
    // A decoded part's bytes are not the body's (base64 and quoted-printable decode to fewer).
    const isDecoded = options.decodeTransferEncoding && part.headers['content-transfer-encoding'] !== undefined;
    if (bytes.length > 0 && !isDecoded) {
      const found = body.indexOf(bytes, at);
      if (found === -1) fail(`part ${part.index} handed out bytes that are not the body's next ones`);
      at = found + bytes.length;
    }
    // A read body$ ends as the parse does: complete after a delimiter, else with the parse's error.
    if (part.isRead && consumption.kind !== 'mixed') {
      const isLast = i === outcome.parts.length - 1;
      if (part.end === 'open') fail(`part ${part.index}'s body$ neither completed nor failed`);
      if (part.end === 'error' && !(isLast && outcome.end === 'error' && part.error === outcome.error)) {
        fail(`part ${part.index}'s body$ failed with ${describe(part.error)} but the parse ended ${outcome.end}`);
      }
    }
  }
  if (handedOut > body.length) fail(`handed out ${handedOut} bytes from a body of ${body.length}`);
  if (outcome.parts.length > limits.parts) fail(`${outcome.parts.length} parts over limits.parts = ${limits.parts}`);
  if (files > limits.files) fail(`${files} files over limits.files = ${limits.files}`);
  if (outcome.parts.length - files > limits.fields) fail(`${outcome.parts.length - files} fields over limits.fields = ${limits.fields}`);
}

/** What holds for every part's head, whatever the bytes. */
function checkPartHead(part, options) {
  for (const [name, value] of Object.entries(part.headers)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name) || typeof value !== 'string') fail(`part ${part.index} has header ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
  }
  const contentType = Object.hasOwn(part.headers, 'content-type') ? part.headers['content-type'] : 'text/plain';
  if (part.contentType !== contentType) fail(`part ${part.index} has contentType ${JSON.stringify(part.contentType)} and Content-Type ${JSON.stringify(contentType)}`);
  // Never a path unless asked for (README: basename only, '.' and '..' become '').
  if (part.filename !== undefined && !options.preservePath && (/[/\\]/.test(part.filename) || part.filename === '.' || part.filename === '..')) {
    fail(`part ${part.index} has filename ${JSON.stringify(part.filename)} without preservePath`);
  }
}

/** What may not depend on how the body is cut: parts, the bytes of each part that ended, and the end. */
function settle(outcome) {
  const lastIsCut = outcome.end === 'error';
  return {
    parts: outcome.parts.map((part, i) => ({
      index: part.index,
      name: part.name,
      filename: part.filename,
      contentType: part.contentType,
      headers: { ...part.headers },
      bytes: lastIsCut && i === outcome.parts.length - 1 ? undefined : bytesOf(part).toString('latin1'),
    })),
    end: outcome.end === 'error' ? outcome.error.code : outcome.end,
    partIndex: outcome.error?.partIndex,
  };
}

/** The same, from the parser's own events (lib/parser), with the native or the portable search. */
function traceParser(contentType, chunks, options, usesPortableSearch) {
  const type = resolveMultipartType(contentType);
  const limits = resolveLimits(options.limits);
  const state = createParserState(type.boundary, {
    limits,
    isFormData: type.subtype === 'form-data',
    preservePath: options.preservePath,
    defParamCharset: options.defParamCharset,
    decodesTransferEncoding: options.decodeTransferEncoding,
    usesPortableSearch,
  });
  const parts = [];
  let end = 'none';
  let error;
  const take = (events) => {
    for (const event of events) {
      if (event.type === EVENT_PART_START) {
        const { index, name, filename, contentType: type, headers } = event.part;
        parts.push({ index, name, filename, contentType: type, headers, chunks: [], problems: [] });
      } else if (event.type === EVENT_DATA) parts[parts.length - 1].chunks.push(Buffer.from(event.data));
      else if (event.type === EVENT_END) end = 'complete';
      else if (event.type === EVENT_ERROR) {
        end = 'error';
        error = event.error;
      } else if (event.type !== EVENT_PART_END) fail(`unknown event ${event.type}`);
    }
  };
  for (const chunk of chunks) {
    take(step(state, chunk).events);
    if (end !== 'none') break;
  }
  if (end === 'none') take(finish(state).events);
  return { parts, end, error };
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * @param {Buffer} data
 */
module.exports.fuzz = function fuzz(data) {
  const { contentType, body, sizes, asViews, options, consumption, usesSamplingPreamble } = decodeInput(data);
  const chunks = cut(body, sizes, asViews);
  const outcome = parseChunks(contentType, chunks, options, consumption);
  checkOutcome(outcome, body, options, consumption);
  if (consumption.kind === 'mixed') return;

  // Differential checks: the same body, cut differently or searched differently, ends the same.
  const expected = settle(outcome);
  if (chunks.length > 1) {
    const whole = parseChunks(contentType, [body], options, { kind: 'concat' });
    checkOutcome(whole, body, options, { kind: 'concat' });
    if (!same(settle(whole), expected)) fail(`the body in one chunk parses differently:\n${JSON.stringify(settle(whole))}\nvs chunked\n${JSON.stringify(expected)}`);
  }

  if (outcome.error instanceof MultipartError && ['NOT_MULTIPART', 'MISSING_BOUNDARY', 'INVALID_BOUNDARY'].includes(outcome.error.code)) return;
  for (const usesPortableSearch of [false, true]) {
    const traced = settle(traceParser(contentType, chunks, options, usesPortableSearch));
    if (!same(traced, expected)) fail(`the parser's own events (${usesPortableSearch ? 'portable' : 'native'} search) differ from parseMultipart's:\n${JSON.stringify(traced)}\nvs\n${JSON.stringify(expected)}`);
  }

  if (usesSamplingPreamble && outcome.error?.code !== 'LIMIT_PREAMBLE_SIZE') {
    // The preamble is skipped: with it in front (and the preamble and body limits moved by its
    // length), the parts and the end are the same, now found by the sampling search.
    const limits = { ...options.limits, preambleSize: Infinity };
    if (options.limits?.bodySize !== undefined) limits.bodySize = options.limits.bodySize + SAMPLING_PREAMBLE.length + CRLF.length;
    const prefixed = traceParser(contentType, [SAMPLING_PREAMBLE, CRLF, ...chunks], { ...options, limits }, false);
    const traced = settle(prefixed);
    // Except the empty form: a closing delimiter after preamble bytes and no part is refused.
    const isEmptyForm = expected.parts.length === 0 && expected.end === 'complete';
    const wanted = isEmptyForm ? { parts: [], end: 'MALFORMED_PREAMBLE' } : expected;
    if (!same(traced, wanted)) fail(`with a 256 KiB preamble (sampling search) the body parses differently:\n${JSON.stringify(traced)}\nvs\n${JSON.stringify(wanted)}`);
  }
};

module.exports.decodeInput = decodeInput;
module.exports.BOUNDARIES = BOUNDARIES;
