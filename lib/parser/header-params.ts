/**
 * Parameters of a header value (`form-data; name="a"; filename*=UTF-8''b`), decoded the way real
 * clients encode them. The rules, and which client each one serves, are in the README.
 */
import { isTchar, isWhitespace, lowerCaseSlice } from './ascii.js';
import { HeaderRecord } from './header-record.js';
import { decodeCharset } from './text-decoding.js';

/** A header value split into its lower-cased type and its parameters. */
export interface HeaderParams {
  /** The part before the first `;`, trimmed and lower-cased (`form-data`, `multipart/mixed`). */
  readonly type: string;
  /**
   * Parameters by lower-cased name, values decoded. An extended parameter (RFC 8187 `name*`,
   * or RFC 2231 continuations `name*0*`, `name*1`) is stored under `name*`.
   */
  readonly params: Readonly<Record<string, string>>;
  /** True when a parameter name appeared twice (the first value is kept). */
  readonly hasDuplicate: boolean;
  /** True when a quoted string was still open at the end of the value. */
  readonly isUnterminated: boolean;
}

// Values real clients send, kept as constants (see lowerCaseSlice).
const KNOWN_TYPES = ['form-data', 'attachment', 'inline', 'multipart/form-data', 'multipart/mixed'];
const KNOWN_PARAMS = ['name', 'filename', 'filename*', 'name*', 'boundary', 'charset'];

/**
 * Parses `type; a=b; c="d"`.
 * @param value the header value, already decoded to text.
 * @param decodesWhatwgEscapes decode `%22`, `%0D`, `%0A` in quoted values (WHATWG form-data encoding,
 *   as browsers and undici send `name` and `filename`); off for other headers.
 */
export function parseHeaderParams(value: string, decodesWhatwgEscapes: boolean): HeaderParams {
  const length = value.length;
  let at = value.indexOf(';');
  const type = trimmedLowerCase(value, 0, at === -1 ? length : at, KNOWN_TYPES);
  const params = new HeaderRecord();
  // Set once a name repeats: Content-Disposition must not carry two `name`s (RFC 7578 §4.2).
  let hasDuplicate = false;
  // Set when a quoted string runs to the end of the value: the caller may join the next line.
  let isUnterminated = false;
  // RFC 2231 §3 continuations, collected by base name and joined at the end.
  let continuations: Map<string, Segment[]> | undefined;

  while (at !== -1 && at < length) {
    at++; // past ';'
    while (at < length && isWhitespace(value.charCodeAt(at))) at++;
    const nameStart = at;
    while (at < length && value.charCodeAt(at) !== 61 /* = */ && value.charCodeAt(at) !== 59 /* ; */) at++;
    if (at >= length) break;
    if (value.charCodeAt(at) === 59 /* ; */) continue; // a bare word: no value to take
    const name = trimmedLowerCase(value, nameStart, at, KNOWN_PARAMS);
    at++; // past '='
    while (at < length && isWhitespace(value.charCodeAt(at))) at++;
    let text: string;
    if (value.charCodeAt(at) === 34 /* " */) {
      const quoted = readQuoted(value, at, decodesWhatwgEscapes);
      text = quoted.text;
      if (quoted.isOpen) isUnterminated = true;
      at = value.indexOf(';', quoted.end);
    } else {
      const end = value.indexOf(';', at);
      text = value.slice(at, end === -1 ? length : end).trim();
      at = end;
    }
    if (name.length === 0) continue;
    const star = name.indexOf('*');
    if (star !== -1 && star !== name.length - 1) {
      const segment = parseSegmentName(name, text);
      if (segment !== undefined) {
        continuations ??= new Map();
        const list = continuations.get(segment.base);
        if (list === undefined) continuations.set(segment.base, [segment]);
        else list.push(segment);
        continue;
      }
    }
    if (star === name.length - 1) {
      const decoded = decodeExtendedValue(text);
      if (decoded === undefined) continue; // an unknown charset or no charset: fall back to `name`
      text = decoded;
    }
    if (params[name] !== undefined) hasDuplicate = true;
    else params[name] = text;
  }
  if (continuations !== undefined) joinContinuations(continuations, params);
  return { type, params, hasDuplicate, isUnterminated };
}

function trimmedLowerCase(text: string, start: number, end: number, known: readonly string[]): string {
  while (start < end && isWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isWhitespace(text.charCodeAt(end - 1))) end--;
  return lowerCaseSlice(text, start, end, known);
}

interface QuotedString {
  readonly text: string;
  /** Index just after the closing quote (or the end of the value). */
  readonly end: number;
  readonly isOpen: boolean;
}

/**
 * Reads a quoted string starting at the opening quote. A quote closes the string only where the
 * value could end there (end of value, or `;` and another `param=`); any other quote is data, so a
 * client that sends a raw quote is still read as it meant.
 */
function readQuoted(value: string, start: number, decodesWhatwgEscapes: boolean): QuotedString {
  const length = value.length;
  let text = '';
  let runStart = start + 1;
  let at = runStart;
  while (at < length) {
    const code = value.charCodeAt(at);
    if (code === 92 /* \ */) {
      const next = value.charCodeAt(at + 1);
      if (next === 34 /* " */ || next === 92 /* \ */) {
        // A browser sends a trailing backslash raw (`name="dir\"; filename="a"`): when `\"` is
        // followed by the end of the value or by `; param=`, it was a backslash and the closing
        // quote. (A quoted-pair client would have to send a value holding `"; x=` to be misread.)
        if (next === 34 && closesValue(value, at + 2) && (value.indexOf('"', at + 2) === -1 || followsParam(value, at + 2))) {
          return { text: text + value.slice(runStart, at + 1), end: at + 2, isOpen: false };
        }
        // RFC 9110 §5.6.4 quoted-pair, as Go, curl --form-escape and Python's email package send.
        text += value.slice(runStart, at) + value[at + 1];
        at += 2;
        runStart = at;
        continue;
      }
    } else if (code === 37 /* % */ && decodesWhatwgEscapes) {
      const escaped = whatwgEscape(value.charCodeAt(at + 1), value.charCodeAt(at + 2));
      if (escaped !== undefined) {
        text += value.slice(runStart, at) + escaped;
        at += 3;
        runStart = at;
        continue;
      }
    } else if (code === 34 /* " */ && closesValue(value, at + 1)) {
      return { text: text + value.slice(runStart, at), end: at + 1, isOpen: false };
    }
    at++;
  }
  return { text: text + value.slice(runStart), end: length, isOpen: true };
}

/** Whether `;` and a `name=` follow `at` (not merely the end of the value). */
function followsParam(value: string, at: number): boolean {
  while (at < value.length && isWhitespace(value.charCodeAt(at))) at++;
  return value.charCodeAt(at) === 59 /* ; */ && closesValue(value, at);
}

/** Whether a quoted string may end just before `at`: nothing follows, or `;` and a `name=`. */
function closesValue(value: string, at: number): boolean {
  const length = value.length;
  while (at < length && isWhitespace(value.charCodeAt(at))) at++;
  if (at === length) return true;
  if (value.charCodeAt(at) !== 59 /* ; */) return false;
  at++;
  while (at < length && isWhitespace(value.charCodeAt(at))) at++;
  if (at === length) return true;
  const nameStart = at;
  while (at < length && isTchar(value.charCodeAt(at))) at++;
  if (at === nameStart) return false;
  while (at < length && isWhitespace(value.charCodeAt(at))) at++;
  return value.charCodeAt(at) === 61 /* = */;
}

// WHATWG HTML "multipart/form-data encoding algorithm": browsers escape `"` CR LF as %22 %0D %0A.
function whatwgEscape(high: number, low: number): string | undefined {
  if (high !== 48 /* 0 */ && high !== 50 /* 2 */) return undefined;
  const lowerLow = low | 0x20;
  if (high === 50 && low === 50 /* 2 */) return '"';
  if (high === 48 && lowerLow === 100 /* d */) return '\r';
  if (high === 48 && lowerLow === 97 /* a */) return '\n';
  return undefined;
}

interface Segment {
  readonly base: string;
  readonly index: number;
  readonly isExtended: boolean;
  readonly text: string;
}

// `filename*0*`, `filename*1` (RFC 2231 §3 and §4.1).
function parseSegmentName(name: string, text: string): Segment | undefined {
  const match = /^(.+?)\*(\d{1,3})(\*?)$/.exec(name);
  if (match === null) return undefined;
  return { base: match[1]!, index: Number(match[2]), isExtended: match[3] === '*', text };
}

function joinContinuations(continuations: Map<string, Segment[]>, params: Record<string, string>): void {
  for (const [base, segments] of continuations) {
    segments.sort((a, b) => a.index - b.index);
    // Segments must run 0, 1, 2 ... without gaps or repeats; otherwise ignore them all.
    if (segments.some((segment, i) => segment.index !== i)) continue;
    const first = segments[0]!;
    if (!first.isExtended) {
      params[base] ??= segments.map((s) => s.text).join('');
      continue;
    }
    const quote = first.text.indexOf("'");
    const quote2 = quote === -1 ? -1 : first.text.indexOf("'", quote + 1);
    if (quote2 === -1) continue;
    const charset = first.text.slice(0, quote);
    const parts = segments.map((s, i) => {
      const text = i === 0 ? s.text.slice(quote2 + 1) : s.text;
      return s.isExtended ? percentDecode(text) : encoder.encode(text);
    });
    const bytes = concat(parts);
    const decoded = charset.length === 0 ? undefined : decodeCharset(bytes, charset);
    if (decoded !== undefined) params[`${base}*`] ??= decoded;
  }
}

const encoder = new TextEncoder();

/**
 * Decodes an RFC 8187 ext-value: `charset'language'percent-encoded`.
 * @returns the text, or undefined when malformed or in a charset this runtime cannot decode.
 */
export function decodeExtendedValue(text: string): string | undefined {
  const quote = text.indexOf("'");
  if (quote <= 0) return undefined;
  const quote2 = text.indexOf("'", quote + 1);
  if (quote2 === -1) return undefined;
  return decodeCharset(percentDecode(text.slice(quote2 + 1)), text.slice(0, quote));
}

function percentDecode(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  let out = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 37 /* % */ && i + 2 < bytes.length) {
      const value = (hexValue(bytes[i + 1]!) << 4) | hexValue(bytes[i + 2]!);
      if (value >= 0) {
        bytes[out++] = value;
        i += 2;
        continue;
      }
    }
    bytes[out++] = byte;
  }
  return bytes.subarray(0, out);
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -256; // makes the combined value negative
}

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}
