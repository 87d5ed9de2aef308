/**
 * A part's header block (the lines between a delimiter and the blank line) as a record of
 * lower-cased names to values.
 */
import type { MultipartErrorCode } from '../errors.js';
import { isTchar, isWhitespace, lowerCaseSlice } from './ascii.js';
import { parseHeaderParams } from './header-params.js';
import { HeaderRecord } from './header-record.js';

/** Why a header block was refused. */
export class HeaderBlockError {
  constructor(readonly code: MultipartErrorCode, readonly message: string) {}
}

/**
 * Splits header text into `name → value`. Names are lower-cased; repeated headers are joined with
 * ", " (RFC 9110 §5.3), except Content-Disposition and Content-Type, which must be single.
 *
 * Two kinds of line continue the previous header instead of starting one:
 * - a line inside a quoted string left open by the previous line: a raw CR LF that a client (Go's
 *   mime/multipart) put in a quoted name or filename. It is kept in the value as CR LF;
 * - a line starting with a space or tab (obs-fold, RFC 5322 §2.2.3): unfolded to one space.
 * Any other line without `name:` is malformed.
 *
 * @param text the block, without the blank line that ends it.
 * @param maxPairs limits.headerPairs.
 * @returns a record without prototype (a header named `__proto__` is just a header), or the error.
 */
export function parseHeaderBlock(text: string, maxPairs: number): Record<string, string> | HeaderBlockError {
  const headers = new HeaderRecord();
  const length = text.length;
  let pairs = 0;
  // The header being read: its name, and its value with the lines that continue it and its
  // trailing whitespace (inside a quoted string left open at the end of a line, that whitespace is
  // data). It is trimmed and stored once, when the next header starts or the block ends: storing it
  // at each line made V8 flatten and copy the whole value per line (quadratic, found by fuzzing).
  let lastName = '';
  let lastRaw = '';
  // Earlier values of headers seen on several lines, joined once at the end (RFC 9110 §5.3).
  let repeats: Map<string, string[]> | undefined;
  // Whether lastRaw ends inside an open quoted string; undefined until a line needs to know.
  let isOpen: boolean | undefined;
  // Folded lines of the current header: each one makes the open-quote test read the whole value
  // again, so they are capped (1500 folds per part made 1 MB of body cost 16 s).
  let folds = 0;

  const store = (): void => {
    if (lastName === '') return;
    const value = trimEnd(lastRaw);
    const earlier = headers[lastName];
    if (earlier !== undefined) {
      const list = (repeats ??= new Map()).get(lastName);
      if (list === undefined) repeats.set(lastName, [earlier]);
      else list.push(earlier);
    }
    headers[lastName] = value;
  };

  let start = 0;
  while (start < length) {
    let end = text.indexOf('\r\n', start);
    if (end === -1) end = length;
    let at = start;
    while (at < end && isTchar(text.charCodeAt(at))) at++;
    // RFC 9110 §5.1: a name is a token directly followed by ':'.
    if (at > start && at < end && text.charCodeAt(at) === 58 /* : */) {
      const name = lowerCaseSlice(text, start, at, KNOWN_NAMES);
      at++;
      while (at < end && isWhitespace(text.charCodeAt(at))) at++;
      if (++pairs > maxPairs) return new HeaderBlockError('LIMIT_HEADER_PAIRS', `More than ${maxPairs} header lines in a part.`);
      store();
      if (headers[name] !== undefined && (name === 'content-disposition' || name === 'content-type')) {
        return new HeaderBlockError('MALFORMED_HEADER', `The part repeats the ${name} header.`);
      }
      lastName = name;
      lastRaw = text.slice(at, end);
      isOpen = undefined;
      folds = 0;
    } else if (lastName === '') {
      return malformedLine(text, start, end);
    } else if ((isOpen ??= lastRaw.includes('"') && parseHeaderParams(lastRaw, false).isUnterminated)) {
      const line = text.slice(start, end);
      lastRaw = `${lastRaw}\r\n${line}`;
      // Re-reading the whole value for each line was quadratic (a 16 KiB block of short lines cost
      // 100 ms). Only this line can close the string: a quote before the line break was read as
      // data because something other than `; name=` or the end followed it, and a CR never reads
      // as either. So the value stays open exactly when the line, read inside a string, does.
      isOpen = parseHeaderParams(`;x="\r\n${line}`, false).isUnterminated;
    } else if (isWhitespace(text.charCodeAt(start))) {
      if (++folds > MAX_FOLDS) return new HeaderBlockError('MALFORMED_HEADER', `The ${lastName} header is folded over more than ${MAX_FOLDS} lines (obs-fold, RFC 5322 §2.2.3; RFC 7578 senders do not fold).`);
      at = start;
      while (at < end && isWhitespace(text.charCodeAt(at))) at++;
      lastRaw = `${trimEnd(lastRaw)} ${text.slice(at, end)}`;
      isOpen = undefined;
    } else {
      return malformedLine(text, start, end);
    }
    start = end + 2;
  }
  store();
  if (repeats !== undefined) {
    for (const [name, earlier] of repeats) headers[name] = `${earlier.join(', ')}, ${headers[name]!}`;
  }
  return headers;
}

// Real clients never fold (RFC 7578 §4.8 senders, browsers); a gateway might fold a long value once
// or twice.
const MAX_FOLDS = 32;

// Names real clients send.
const KNOWN_NAMES = ['content-disposition', 'content-type', 'content-transfer-encoding', 'content-length', 'content-id'];

function trimEnd(text: string): string {
  const last = text.charCodeAt(text.length - 1);
  return isWhitespace(last) ? text.trimEnd() : text;
}

function malformedLine(text: string, start: number, end: number): HeaderBlockError {
  return new HeaderBlockError('MALFORMED_HEADER', `A part header line is not "name: value": ${JSON.stringify(text.slice(start, Math.min(end, start + 80)))}.`);
}
