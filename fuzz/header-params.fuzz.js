'use strict';
/**
 * Fuzz target: the header readers on their own (lib/parser/header-params.ts parseHeaderParams,
 * part-head.ts readPartHead, boundary.ts resolveMultipartType, header-block.ts parseHeaderBlock),
 * checked for sane results and for linear time.
 *
 * Input layout (settings are single bytes from the end, the text is the front):
 *   1. which reader (READERS, modulo)
 *   2. flags: bit 0 the text is UTF-8 (else latin1, as Node hands header values over); bit 1 the
 *      WHATWG escapes are decoded (parseHeaderParams), or the body is multipart/form-data
 *      (readPartHead); bit 2 preservePath; bit 3 headerPairs lifted (Infinity, else the default 2000);
 *      bit 4 also timed at 1 MiB (below)
 *   3. where the repeated unit starts in the text, 4. its length (see below)
 *
 * Each input is read once as it is. Then, for linear time, the text is grown by repeating a unit of
 * it, prefix + unit × k + suffix, to 64 KiB and to 256 KiB, and each is read with the built-ins
 * counted (fuzz/support/step-counter.js). A reader that is linear does the same work per character
 * at both sizes; a quadratic one does four times as much per character at 256 KiB. More than twice
 * as much is a finding. With flag bit 4 the clock backs the count up, for work the count cannot see
 * (V8 flattening a string it built piece by piece): the text is also grown to 1 MiB, and more than
 * 8 times the time per character there than at 64 KiB (quadratic: 16), measured again up to three
 * times, is a finding too; so is a reader that runs past the per-input timeout.
 */
const { measure } = require('./support/step-counter.js');
const { load, loadPlain } = require('./support/library.js');
const { knownFindings } = require('./support/known-findings.js');

/**
 * The readers, from the instrumented build (for coverage, on the input as it is) or from an
 * uninstrumented copy (for the measurements: the fuzzer's calls at every branch would dominate
 * them and are not the library's cost).
 */
function loadReaders(loadModule) {
  return {
    ...loadModule('parser/header-params.js'),
    ...loadModule('parser/part-head.js'),
    ...loadModule('parser/boundary.js'),
    ...loadModule('parser/header-block.js'),
  };
}
const INSTRUMENTED = loadReaders(load);
const PLAIN = loadReaders(loadPlain);
// MultipartError's instanceof works across copies (a Symbol.for brand), HeaderBlockError's does not.
const { MultipartError } = load('errors.js');

const MEDIUM = 64 * 1024;
const LARGE = 256 * 1024;
/** Steps per character may grow this much from MEDIUM to LARGE (linear: 1; quadratic: 4). */
const MAX_STEP_GROWTH = 2;
/** The timed comparison: MEDIUM against this (16 times as long). */
const HUGE = 1024 * 1024;
/**
 * Time per character may grow this much from MEDIUM to HUGE (quadratic: 16). The clock in a
 * long-lived fuzzing process is noisy (garbage collection, code optimised and deoptimised, a shared
 * CPU: 3 times was seen for linear readers), so the bound is loose and confirmed by measuring again.
 */
const MAX_TIME_GROWTH = 8;
/** Below this, the HUGE run is too short for its time to mean anything. */
const MIN_TIMED_NANOSECONDS = 50e6;

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BCHAR = /^[0-9a-zA-Z'()+_,\-./:=? ]{1,70}$/;

/** The readers, each returning what it made and checking it. */
const READERS = [
  function readParams(text, flags, { parseHeaderParams }) {
    const { type, params, hasDuplicate, isUnterminated } = parseHeaderParams(text, (flags & 2) !== 0);
    // Trimmed of SP and HT (RFC 9110 OWS), not of every Unicode space.
    check(typeof type === 'string' && type === type.toLowerCase() && !/^[ \t]|[ \t]$/.test(type), `type ${JSON.stringify(type)} is not trimmed and lower-cased`);
    check(typeof hasDuplicate === 'boolean' && typeof isUnterminated === 'boolean', 'flags are not booleans');
    for (const [name, value] of Object.entries(params)) {
      check(name === name.toLowerCase() && typeof value === 'string', `parameter ${JSON.stringify(name)} = ${JSON.stringify(value)}`);
    }
    return params;
  },
  function readMultipartType(text, flags, { resolveMultipartType }) {
    const result = resolveMultipartType(text);
    if (result instanceof MultipartError) {
      check(['NOT_MULTIPART', 'MISSING_BOUNDARY', 'INVALID_BOUNDARY'].includes(result.code), `code ${result.code}`);
    } else {
      check(BCHAR.test(result.boundary) && !result.boundary.endsWith(' '), `accepted boundary ${JSON.stringify(result.boundary)}`);
      check(result.subtype === undefined || result.subtype === result.subtype.toLowerCase(), `subtype ${JSON.stringify(result.subtype)}`);
    }
    return result;
  },
  function readHeaderBlock(text, flags, library) {
    const result = library.parseHeaderBlock(text, flags & 8 ? Infinity : 2000);
    checkHeaderBlock(result, library);
    return result;
  },
  function readDisposition(text, flags, library) {
    const head = library.readPartHead({ 'content-disposition': text }, 0, (flags & 2) !== 0, (flags & 4) !== 0);
    checkPartHead(head, flags, library);
    return head;
  },
  function readBlockThenHead(text, flags, library) {
    const headers = library.parseHeaderBlock(text, flags & 8 ? Infinity : 2000);
    checkHeaderBlock(headers, library);
    if (headers instanceof library.HeaderBlockError) return headers;
    const head = library.readPartHead(headers, 0, (flags & 2) !== 0, (flags & 4) !== 0);
    checkPartHead(head, flags, library);
    return head;
  },
];

function check(condition, message) {
  if (!condition) throw new Error(`header-params target: ${message}`);
}

function checkHeaderBlock(result, { HeaderBlockError }) {
  if (result instanceof HeaderBlockError) {
    check(['MALFORMED_HEADER', 'LIMIT_HEADER_PAIRS'].includes(result.code), `header block error ${result.code}`);
    return;
  }
  for (const [name, value] of Object.entries(result)) check(TCHAR.test(name) && typeof value === 'string', `header ${JSON.stringify(name)}`);
}

function checkPartHead(head, flags, { isPartHeadError }) {
  if (isPartHeadError(head)) {
    check(head.code === 'INVALID_CONTENT_DISPOSITION', `part head error ${head.code}`);
    return;
  }
  check(typeof head.name === 'string' && typeof head.contentType === 'string', 'name or content type is not a string');
  if (head.filename !== undefined && (flags & 4) === 0) {
    // The basename rule: no path separator left, and never '.' or '..'.
    check(!/[/\\]/.test(head.filename) && head.filename !== '.' && head.filename !== '..', `filename ${JSON.stringify(head.filename)} is not a basename`);
  }
}

// Known findings (fuzz/support/known-findings.js), each `(reader, flags, text) => boolean`. None
// is open: the three ways a header block copied its value for every line are fixed.
const KNOWN_SLOW_TO_THE_CLOCK = knownFindings([]);
const KNOWN_SLOW = knownFindings([]);

/** Decodes the input (the layout above). */
function decodeInput(data) {
  let back = data.length;
  const int = () => (back > 0 ? data[--back] : 0);
  const reader = READERS[int() % READERS.length];
  const flags = int();
  const unitAt = int();
  const unitLength = int();
  const front = data.subarray(0, back);
  const text = front.toString(flags & 1 ? 'utf8' : 'latin1');
  const start = Math.min(unitAt, text.length);
  const unit = text.slice(start, start + Math.max(1, unitLength % 64));
  return { reader, flags, prefix: text.slice(0, start), unit, suffix: text.slice(start + unit.length) };
}

/** prefix + unit × k + suffix, about `size` characters long. */
function grow({ prefix, unit, suffix }, size) {
  return prefix + unit.repeat(Math.max(1, Math.ceil((size - prefix.length - suffix.length) / unit.length))) + suffix;
}

/**
 * @param {Buffer} data
 */
module.exports.fuzz = function fuzz(data) {
  const input = decodeInput(data);
  const { reader, flags } = input;
  reader(input.prefix + input.unit + input.suffix, flags, INSTRUMENTED);
  if (input.unit.length === 0) return;

  const medium = grow(input, MEDIUM);
  if (KNOWN_SLOW.some((isKnown) => isKnown(reader, flags, medium))) return;
  const large = grow(input, LARGE);
  const small = measure(() => reader(medium, flags, PLAIN));
  const big = measure(() => reader(large, flags, PLAIN));
  const stepGrowth = big.steps / large.length / (small.steps / medium.length);
  const where = `${reader.name} on ${JSON.stringify(input.prefix.slice(0, 200))} + ${JSON.stringify(input.unit)} × n + ${JSON.stringify(input.suffix.slice(0, 200))} (flags ${flags})`;
  check(stepGrowth <= MAX_STEP_GROWTH, `${small.steps} steps for ${medium.length} characters, ${big.steps} for ${large.length}: ${stepGrowth.toFixed(2)} times the work per character at 4 times the size, in ${where}`);
  if ((flags & 16) === 0 || KNOWN_SLOW_TO_THE_CLOCK.some((isKnown) => isKnown(reader, flags, medium))) return;

  // The clock, for what the count cannot see (V8 flattening a string it built piece by piece).
  const huge = grow(input, HUGE);
  let smallest = small.nanoseconds;
  let biggest = measure(() => reader(huge, flags, PLAIN), true).nanoseconds;
  let timeGrowth = biggest / huge.length / (smallest / medium.length);
  // Measured again while a pause could explain it: a run of several seconds is not noise.
  for (let retry = 0; retry < 3 && timeGrowth > MAX_TIME_GROWTH && biggest >= MIN_TIMED_NANOSECONDS && biggest < 5e9; retry++) {
    smallest = Math.min(smallest, measure(() => reader(medium, flags, PLAIN), true).nanoseconds);
    biggest = Math.min(biggest, measure(() => reader(huge, flags, PLAIN), true).nanoseconds);
    timeGrowth = biggest / huge.length / (smallest / medium.length);
  }
  check(timeGrowth <= MAX_TIME_GROWTH || biggest < MIN_TIMED_NANOSECONDS, `${(smallest / 1e6).toFixed(2)} ms for ${medium.length} characters, ${(biggest / 1e6).toFixed(2)} ms for ${huge.length}: ${timeGrowth.toFixed(1)} times the time per character at 16 times the size, in ${where}`);
};

module.exports.decodeInput = decodeInput;
module.exports.READERS = READERS;
