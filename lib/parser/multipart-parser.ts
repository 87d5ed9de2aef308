/**
 * The multipart state machine: stepped once per chunk, it turns bytes into events.
 *
 * `step(state, chunk)` is a reducer (the `scan` of the design): it advances `state` over the chunk
 * and leaves the chunk's events in `state.events`. Data events are subarrays of the chunk; only
 * bytes carried across a chunk edge (a possible partial delimiter, an unfinished header block)
 * are copied. Bad input ends in an error event, never a throw.
 */
import { MultipartError, type MultipartErrorCode } from '../errors.js';
import { createSearch, indexOfByte, type SearchFunction } from './boundary-search.js';
import { HeaderBlockError, parseHeaderBlock } from './header-block.js';
import type { ResolvedLimits } from './limits.js';
import { isPartHeadError, readPartHead, type PartHead } from './part-head.js';
import { decodeHeaderText, utf8Length, type HeaderCharset } from './text-decoding.js';
import { createTransferDecoder, resolveTransferEncoding, type TransferDecoder } from './transfer-decoding.js';

/** A part begins; its headers have been read. */
export const EVENT_PART_START = 0;
/** Bytes of the current part. */
export const EVENT_DATA = 1;
/** The current part ended (a delimiter followed its bytes). */
export const EVENT_PART_END = 2;
/** The closing delimiter was read: the body is complete. */
export const EVENT_END = 3;
/** The body is invalid or over a limit; no event follows. */
export const EVENT_ERROR = 4;

/** What one step produced, in body order. */
export type ParserEvent =
  | { readonly type: typeof EVENT_PART_START; readonly part: PartHead }
  | { readonly type: typeof EVENT_DATA; readonly data: Uint8Array }
  | { readonly type: typeof EVENT_PART_END }
  | { readonly type: typeof EVENT_END }
  | { readonly type: typeof EVENT_ERROR; readonly error: MultipartError };

/** How to parse, beyond the boundary. */
export interface ParserConfig {
  readonly limits: ResolvedLimits;
  /** The body is multipart/form-data: RFC 7578 rules for Content-Disposition apply. */
  readonly isFormData: boolean;
  /** Keep the client's path in filenames. */
  readonly preservePath: boolean;
  /** How header bytes are read: UTF-8 (browsers) or latin1 (busboy's default). */
  readonly defParamCharset: HeaderCharset;
  /** Decode base64 and quoted-printable parts (Content-Transfer-Encoding); refuse unknown encodings. */
  readonly decodesTransferEncoding?: boolean;
  /** Use the portable search even on Node (for tests). */
  readonly usesPortableSearch?: boolean;
}

// States, in the order a well-formed body visits them.
const PREAMBLE = 0; // before the first delimiter: bytes are skipped
const DELIMITER_TAIL = 1; // just after "--boundary": "--", padding or CRLF follows
const CLOSE_DASH = 2; // after "--boundary-": the second '-' closes the body
const PADDING = 3; // transport padding (RFC 2046 §5.1.1) before the CRLF
const DELIMITER_LF = 4; // after the CR that ends a delimiter line
const HEADERS = 5; // a part's header block
const BODY = 6; // a part's bytes
const DONE = 7; // closing delimiter read; the epilogue is ignored
const FAILED = 8; // an error event was emitted; input is ignored

const CR = 13;
const LF = 10;
const HYPHEN = 45;
// Transport padding is whitespace a gateway may add; real clients send none. Cap it.
const MAX_PADDING = 256;
// A lifted headerSize (Infinity, or merely large) must not be allocated up front: `new
// Uint8Array(Infinity)` throws. Up to this size the whole capacity is allocated at once (the
// default 16 KiB limit included); beyond it the buffer doubles as a block grows.
const MAX_PREALLOCATED_HEADER = 64 * 1024;

/** The parser state: one plain object, every field set in the constructor in a fixed order. */
export interface ParserState {
  /** One of the state constants. */
  state: number;
  /** The events of the last step. */
  events: ParserEvent[];
  /** "\r\n--" + boundary: the delimiter searched for (RFC 2046 §5.1.1). */
  readonly delimiter: Uint8Array;
  readonly findDelimiter: SearchFunction;
  /**
   * The delimiter prefixes that end with each byte value: a chunk can end inside a delimiter only
   * if its last byte is one of these prefixes' last byte. See {@link indexPrefixes}.
   */
  readonly prefixes: PrefixIndex;
  /**
   * How many bytes at the end of the previous chunk matched the start of the delimiter. They are
   * the delimiter's own first bytes, so the count is all that is carried.
   */
  carriedDelimiter: number;
  /** A header block split across chunks: a virtual CRLF, then its bytes (allocated on first use, grown for a large headerSize). */
  headerBuffer: Uint8Array | undefined;
  /** Bytes in headerBuffer (0 when nothing is carried). */
  headerLength: number;
  paddingLength: number;
  /** Body bytes read, against limits.bodySize. */
  bodyBytes: number;
  /** Preamble bytes skipped, against limits.preambleSize. */
  preambleBytes: number;
  /** Parts, files and fields started. */
  parts: number;
  files: number;
  fields: number;
  /** The current part, to name it in errors. */
  part: PartHead | undefined;
  /** Bytes of the current part so far (decoded, when it is), and the limit that applies to it. */
  partBytes: number;
  partLimit: number;
  /** Decodes the current part's Content-Transfer-Encoding; undefined for bytes as sent. */
  decoder: TransferDecoder | undefined;
  readonly config: ParserConfig;
}

const encoder = new TextEncoder();

/**
 * Creates the state for one body.
 * @param boundary the boundary, already validated (see resolveMultipartType).
 */
export function createParserState(boundary: string, config: ParserConfig): ParserState {
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  const usesNative = config.usesPortableSearch !== true;
  return {
    state: PREAMBLE,
    events: [],
    delimiter,
    findDelimiter: createSearch(delimiter, usesNative),
    prefixes: indexPrefixes(delimiter),
    // The first delimiter may open the body without a CRLF before it (RFC 2046 §5.1.1): start as
    // if a CRLF had been read, so one search finds "--boundary" at offset 0 and "\r\n--boundary" after a preamble.
    carriedDelimiter: 2,
    headerBuffer: undefined,
    headerLength: 0,
    paddingLength: 0,
    bodyBytes: 0,
    // The virtual CRLF above counts as skipped preamble if the body does not open with a delimiter.
    preambleBytes: -2,
    parts: 0,
    files: 0,
    fields: 0,
    part: undefined,
    partBytes: 0,
    partLimit: 0,
    decoder: undefined,
    config,
  };
}

/**
 * Advances the parser over one chunk. Its events replace `state.events`.
 * @returns the same state object (a `scan` accumulator).
 */
export function step(state: ParserState, chunk: Uint8Array): ParserState {
  state.events = [];
  if (state.state >= DONE) return state;
  let input = chunk;
  const room = state.config.limits.bodySize - state.bodyBytes;
  if (input.length > room) input = input.subarray(0, Math.max(0, room));
  state.bodyBytes += input.length;
  let at = 0;
  const length = input.length;
  while (at < length && state.state < DONE) {
    switch (state.state) {
      case PREAMBLE:
      case BODY:
        at = scanBody(state, input, at);
        break;
      case HEADERS:
        at = scanHeaders(state, input, at);
        break;
      case DELIMITER_TAIL: {
        const byte = input[at]!;
        if (byte === HYPHEN) state.state = CLOSE_DASH;
        else if (byte === CR) state.state = DELIMITER_LF;
        else if (byte === 32 || byte === 9) {
          state.state = PADDING;
          state.paddingLength = 0;
          break; // PADDING counts this byte
        } else return fail(state, 'MALFORMED_DELIMITER', 'A delimiter is followed by something other than "--" or CRLF.');
        at++;
        break;
      }
      case CLOSE_DASH:
        if (input[at] !== HYPHEN) return fail(state, 'MALFORMED_DELIMITER', 'A delimiter is followed by a single "-".');
        // No part, yet bytes before the closing delimiter: the opening boundary line is missing or
        // misspelled, and answering an empty form would drop the client's data without a word.
        // `--b--` alone (no preamble) stays the empty form.
        if (state.parts === 0 && state.preambleBytes > 0) {
          return fail(state, 'MALFORMED_PREAMBLE', `The closing delimiter follows ${state.preambleBytes} bytes of preamble and no part: the body's opening boundary line is missing or misspelled.`);
        }
        state.state = DONE;
        state.events.push({ type: EVENT_END });
        return state;
      case PADDING: {
        while (at < length && (input[at] === 32 || input[at] === 9)) {
          at++;
          if (++state.paddingLength > MAX_PADDING) return fail(state, 'MALFORMED_DELIMITER', `More than ${MAX_PADDING} bytes of padding after a delimiter.`);
        }
        if (at === length) break;
        if (input[at] !== CR) return fail(state, 'MALFORMED_DELIMITER', 'A delimiter line has something other than whitespace after the boundary.');
        state.state = DELIMITER_LF;
        at++;
        break;
      }
      case DELIMITER_LF:
        if (input[at] !== LF) return fail(state, 'MALFORMED_DELIMITER', 'A delimiter line ends in CR without LF.');
        state.state = HEADERS;
        at++;
        break;
    }
  }
  if (input.length < chunk.length && state.state < DONE) {
    const { bodySize } = state.config.limits;
    // Name the part being read, as every limit error does: its head once read, else its index.
    const partIndex = openPartIndex(state);
    return fail(state, 'LIMIT_BODY_SIZE', `The body is larger than limits.bodySize (${bodySize} bytes).`, bodySize, true, partIndex);
  }
  return state;
}

/**
 * Ends the input. A body without its closing delimiter is an error.
 * @returns the state, with an UNEXPECTED_END error event unless the body was complete.
 */
export function finish(state: ParserState): ParserState {
  state.events = [];
  if (state.state >= DONE) return state;
  const partIndex = openPartIndex(state);
  return fail(state, 'UNEXPECTED_END', partIndex === undefined
    ? 'The body ended before its closing delimiter.'
    : `The body ended inside part ${partIndex}, before its closing delimiter.`, undefined, true, partIndex);
}

/**
 * The index of the part being read: its bytes, or its header block (whose name is not known yet).
 * @returns the index, or undefined before the first part and between a delimiter and the next block.
 */
export function openPartIndex(state: ParserState): number | undefined {
  return state.part?.index ?? (state.state === HEADERS ? state.parts : undefined);
}

/** True once the closing delimiter has been read or an error emitted. */
export function isFinished(state: ParserState): boolean {
  return state.state >= DONE;
}

// Searches for the delimiter in PREAMBLE and BODY; bytes before it are the part's (or skipped).
function scanBody(state: ParserState, chunk: Uint8Array, from: number): number {
  const delimiter = state.delimiter;
  const length = chunk.length;
  let at = from;
  const carried = state.carriedDelimiter;
  if (carried > 0) {
    // Does this chunk finish the delimiter that the previous one began?
    const needed = delimiter.length - carried;
    const available = Math.min(needed, length - at);
    let matched = 0;
    while (matched < available && chunk[at + matched] === delimiter[carried + matched]) matched++;
    if (matched === available) {
      if (matched < needed) {
        state.carriedDelimiter = carried + matched;
        return length;
      }
      state.carriedDelimiter = 0;
      return endOfPart(state, at + needed);
    }
    // Not a delimiter after all: the carried bytes were data. The delimiter has a CR only at
    // its start, so no later match can begin inside them; searching this chunk from `at` is enough.
    state.carriedDelimiter = 0;
    if (!emitBytes(state, delimiter.slice(0, carried))) return length;
  }
  // Small parts are the common case in forms: when a part has just begun, try the first CR before
  // paying for a full search (measured: 18 ns for the byte search against 80 ns or more for the
  // pattern search call).
  let found = -1;
  if (state.partBytes === 0) {
    const cr = indexOfByte(chunk, CR, at);
    if (cr !== -1 && cr + delimiter.length <= length && isDelimiterAt(delimiter, chunk, cr)) found = cr;
    else if (cr !== -1) found = state.findDelimiter(chunk, cr);
  } else {
    found = state.findDelimiter(chunk, at);
  }
  if (found !== -1) {
    if (found > at && !emitBytes(state, view(chunk, at, found))) return length;
    return endOfPart(state, found + delimiter.length);
  }
  // No whole delimiter: keep back a tail that may begin one. Looked up by the chunk's last byte
  // (most bytes end no prefix at all), not searched: a second native search per chunk cost about
  // 40 ns, a sixth of the time per 1 KiB chunk.
  const tail = findPrefixAtEnd(state, chunk, at);
  const end = tail === -1 ? length : tail;
  if (end > at && !emitBytes(state, view(chunk, at, end))) return length;
  if (tail !== -1) state.carriedDelimiter = length - tail;
  return length;
}

// The chunk itself when the bytes span all of it (the common case for a large file in small
// chunks): a subarray costs an allocation per chunk, about a fifth of the per-chunk time at 1 KiB.
function view(chunk: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
}

function isDelimiterAt(delimiter: Uint8Array, chunk: Uint8Array, start: number): boolean {
  for (let i = 1; i < delimiter.length; i++) {
    if (chunk[start + i] !== delimiter[i]) return false;
  }
  return true;
}

// Where a proper prefix of the delimiter runs from to the end of the chunk (not before `from`),
// or -1. The delimiter has its only CR at its start, so at most one prefix can match.
function findPrefixAtEnd(state: ParserState, chunk: Uint8Array, from: number): number {
  const length = chunk.length;
  if (length === 0) return -1;
  const { longest, shorter } = state.prefixes;
  const delimiter = state.delimiter;
  // Longest first: k is the length of a prefix whose last byte is the chunk's.
  for (let k = longest[chunk[length - 1]!]!; k !== 0; k = shorter[k]!) {
    const start = length - k;
    if (start < from) continue;
    let j = 0;
    while (j < k - 1 && chunk[start + j] === delimiter[j]) j++;
    if (j === k - 1) return start;
  }
  return -1;
}

/**
 * The proper prefixes of the delimiter by their last byte, as two chains of lengths: `longest[b]`
 * is the length of the longest one ending with byte b (0: none), `shorter[k]` the next shorter one
 * ending with the same byte as prefix k (0: none); a delimiter is at most 74 bytes (RFC 2046 caps
 * the boundary at 70), so a byte holds a length. Two byte arrays (256 and m bytes), where an
 * array of 256 lists took about 6 KiB of a parse's heap, 1.1 MiB at 200 uploads at once
 * (docs/load.md, change 9), and its allocation led the cost of a parse's start.
 */
interface PrefixIndex {
  readonly longest: Uint8Array;
  readonly shorter: Uint8Array;
}

function indexPrefixes(delimiter: Uint8Array): PrefixIndex {
  const longest = new Uint8Array(256);
  const shorter = new Uint8Array(delimiter.length);
  // Shortest first, so that each longer prefix pushes the one before it down its chain.
  for (let k = 1; k < delimiter.length; k++) {
    const last = delimiter[k - 1]!;
    shorter[k] = longest[last]!;
    longest[last] = k;
  }
  return { longest, shorter };
}

// Bytes before a delimiter: the current part's data, or preamble to skip.
function emitBytes(state: ParserState, data: Uint8Array): boolean {
  if (state.state === PREAMBLE) {
    state.preambleBytes += data.length;
    const { preambleSize } = state.config.limits;
    if (state.preambleBytes > preambleSize) {
      fail(state, 'LIMIT_PREAMBLE_SIZE', `More than ${preambleSize} bytes before the first delimiter.`, preambleSize, false);
      return false;
    }
    return true;
  }
  if (state.decoder === undefined) return emitData(state, data);
  const decoded = state.decoder.decode(data);
  if (decoded === undefined) return failDecoding(state);
  return decoded.length === 0 || emitData(state, decoded);
}

function emitData(state: ParserState, data: Uint8Array): boolean {
  state.partBytes += data.length;
  if (state.partBytes > state.partLimit) {
    const isFile = state.part?.filename !== undefined;
    fail(state, isFile ? 'LIMIT_FILE_SIZE' : 'LIMIT_FIELD_SIZE', undefined, state.partLimit);
    return false;
  }
  state.events.push({ type: EVENT_DATA, data });
  return true;
}

function failDecoding(state: ParserState): false {
  const encoding = state.part?.headers['content-transfer-encoding'] ?? '';
  fail(state, 'MALFORMED_TRANSFER_ENCODING', `Part ${state.part?.index ?? ''} is not valid ${encoding}: ${state.decoder!.reason}.`);
  return false;
}

function endOfPart(state: ParserState, at: number): number {
  if (state.state === BODY) {
    const decoder = state.decoder;
    if (decoder !== undefined) {
      const tail = decoder.finish();
      if (tail === undefined) {
        failDecoding(state);
        return at;
      }
      if (tail.length > 0 && !emitData(state, tail)) return at;
      state.decoder = undefined;
    }
    state.events.push({ type: EVENT_PART_END });
    state.part = undefined;
  }
  state.state = DELIMITER_TAIL;
  return at;
}

// Finds the blank line ending a header block. The block is read from the chunk when it lies
// inside one, and copied into headerBuffer only when it spans chunks.
function scanHeaders(state: ParserState, chunk: Uint8Array, from: number): number {
  const { headerSize } = state.config.limits;
  const length = chunk.length;
  if (state.headerLength === 0) {
    // A CRLF right away: no headers at all.
    if (length - from >= 2 && chunk[from] === CR && chunk[from + 1] === LF) {
      return startPart(state, chunk, from, from) ? from + 2 : length;
    }
    const end = findHeaderEnd(chunk, from, Math.min(length, from + headerSize + 4));
    if (end !== -1) return startPart(state, chunk, from, end) ? end + 4 : length;
    if (length - from >= headerSize + 4) return failHeaderSize(state, length);
    // Carry: a virtual CRLF first, so that a block with no headers ("\r\n" split across chunks) and
    // a terminator split anywhere are both found by one search.
    state.headerBuffer ??= new Uint8Array(Math.min(headerSize + 6, MAX_PREALLOCATED_HEADER));
    state.headerBuffer[0] = CR;
    state.headerBuffer[1] = LF;
    state.headerLength = 2;
  }
  // The virtual CRLF, the block and its CRLFCRLF.
  const capacity = headerSize + 6;
  let buffer = state.headerBuffer!;
  const old = state.headerLength;
  if (old + length - from > buffer.length && buffer.length < capacity) {
    buffer = state.headerBuffer = growHeaderBuffer(buffer, old, Math.min(capacity, Math.max(old + length - from, buffer.length * 2)));
  }
  const taken = Math.min(buffer.length - old, length - from);
  buffer.set(chunk.subarray(from, from + taken), old);
  const filled = old + taken;
  const end = findHeaderEnd(buffer, Math.max(0, old - 3), filled);
  if (end !== -1) {
    state.headerLength = 0;
    // The block is buffer[2, end); `end === 0` means no headers at all.
    return startPart(state, buffer, Math.min(2, end), end) ? from + (end + 4 - old) : length;
  }
  if (filled >= capacity) return failHeaderSize(state, length);
  state.headerLength = filled;
  return length;
}

function growHeaderBuffer(buffer: Uint8Array, used: number, size: number): Uint8Array {
  const grown = new Uint8Array(size);
  grown.set(buffer.subarray(0, used));
  return grown;
}

// Index of the CRLFCRLF that ends a header block in bytes[from, to), or -1. Steps from CR to CR
// with the native byte search: a header line costs one call, not a loop over its bytes.
function findHeaderEnd(bytes: Uint8Array, from: number, to: number): number {
  let at = indexOfByte(bytes, CR, from);
  while (at !== -1 && at + 3 < to) {
    if (bytes[at + 1] === LF && bytes[at + 2] === CR && bytes[at + 3] === LF) return at;
    at = indexOfByte(bytes, CR, at + 1);
  }
  return -1;
}

function failHeaderSize(state: ParserState, length: number): number {
  const { headerSize } = state.config.limits;
  // The part's name is in the block that is too large; its index is known.
  fail(state, 'LIMIT_HEADER_SIZE', `A part's header block is larger than limits.headerSize (${headerSize} bytes).`, headerSize, false, state.parts);
  return length;
}

function startPart(state: ParserState, bytes: Uint8Array, start: number, end: number): boolean {
  const { config } = state;
  const { limits } = config;
  const index = state.parts;
  if (end - start > limits.headerSize) {
    failHeaderSize(state, 0);
    return false;
  }
  const headers = parseHeaderBlock(decodeHeaderText(bytes, start, end, config.defParamCharset), limits.headerPairs);
  if (headers instanceof HeaderBlockError) {
    fail(state, headers.code, `Part ${index}: ${headers.message}`, headers.code === 'LIMIT_HEADER_PAIRS' ? limits.headerPairs : undefined, false, index);
    return false;
  }
  const head = readPartHead(headers, index, config.isFormData, config.preservePath);
  if (isPartHeadError(head)) {
    fail(state, head.code, head.message, undefined, false, index, head.name, head.filename);
    return false;
  }
  state.part = head;
  state.parts = index + 1;
  const isFile = head.filename !== undefined;
  if (state.parts > limits.parts) return failPart(state, 'LIMIT_PARTS', limits.parts);
  if (isFile ? ++state.files > limits.files : ++state.fields > limits.fields) {
    return failPart(state, isFile ? 'LIMIT_FILES' : 'LIMIT_FIELDS', isFile ? limits.files : limits.fields);
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: measure only names that could be too long.
  if (head.name.length * 3 > limits.fieldNameSize && utf8Length(head.name) > limits.fieldNameSize) {
    return failPart(state, 'LIMIT_FIELD_NAME_SIZE', limits.fieldNameSize);
  }
  if (config.decodesTransferEncoding === true && !startDecoding(state, head)) return false;
  state.partBytes = 0;
  state.partLimit = isFile ? limits.fileSize : limits.fieldSize;
  state.state = BODY;
  state.events.push({ type: EVENT_PART_START, part: head });
  return true;
}

// The part's Content-Transfer-Encoding decides its decoder (RFC 2045 §6.1); none means bytes as sent.
function startDecoding(state: ParserState, head: PartHead): boolean {
  const value = head.headers['content-transfer-encoding'];
  if (value === undefined) return true;
  const encoding = resolveTransferEncoding(value);
  if (encoding === undefined) {
    fail(state, 'UNSUPPORTED_TRANSFER_ENCODING', `Part ${head.index} has Content-Transfer-Encoding ${JSON.stringify(value.slice(0, 60))}; only 7bit, 8bit, binary, base64 and quoted-printable are understood.`);
    return false;
  }
  if (encoding !== 'identity') state.decoder = createTransferDecoder(encoding);
  return true;
}

function failPart(state: ParserState, code: MultipartErrorCode, limit: number): false {
  fail(state, code, undefined, limit);
  return false;
}

/**
 * Emits the error event that ends the parse. By default it names the current part.
 * @param namesPart false for errors that are not about the current part.
 */
function fail(
  state: ParserState,
  code: MultipartErrorCode,
  message?: string,
  limit?: number,
  namesPart = true,
  partIndex = namesPart ? state.part?.index : undefined,
  fieldName = namesPart ? state.part?.name : undefined,
  filename = namesPart ? state.part?.filename : undefined,
): ParserState {
  state.state = FAILED;
  state.events.push({
    type: EVENT_ERROR,
    error: new MultipartError(code, {
      ...(message === undefined ? {} : { message }),
      ...(limit === undefined ? {} : { limit }),
      ...(partIndex === undefined ? {} : { partIndex }),
      ...(fieldName === undefined ? {} : { fieldName }),
      ...(filename === undefined ? {} : { filename }),
    }),
  });
  return state;
}
