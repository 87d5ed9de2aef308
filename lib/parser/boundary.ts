/**
 * The boundary: taken from a Content-Type header value or given bare, and checked against
 * RFC 2046 §5.1.1.
 */
import { MultipartError } from '../errors.js';
import { isTchar } from './ascii.js';
import { parseHeaderParams } from './header-params.js';

/** What a parse needs to know from the Content-Type. */
export interface MultipartType {
  /** The lower-cased subtype (`form-data`, `mixed` ...), or undefined for a bare boundary. */
  readonly subtype: string | undefined;
  /** The boundary, without the leading `--`. */
  readonly boundary: string;
}

// RFC 2046 §5.1.1: bchars := bcharsnospace / " "; a boundary is 1 to 70 of them, not ending in a space.
const BCHARS = new Uint8Array(128);
for (const c of "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ") BCHARS[c.charCodeAt(0)] = 1;
const MAX_BOUNDARY = 70;

/**
 * Reads `multipart/<subtype>; boundary=...`, or takes the value as a bare boundary when it is not
 * shaped like a media type (`type/subtype` optionally followed by `;`).
 * @returns the subtype and boundary, or the error to report (NOT_MULTIPART, MISSING_BOUNDARY,
 *   INVALID_BOUNDARY).
 */
export function resolveMultipartType(contentTypeOrBoundary: string): MultipartType | MultipartError {
  const slash = mediaTypeSlash(contentTypeOrBoundary);
  if (slash === -1) return checkBoundary(contentTypeOrBoundary, undefined);
  const { type, params, hasDuplicate } = parseHeaderParams(contentTypeOrBoundary, false);
  if (!type.startsWith('multipart/')) {
    return new MultipartError('NOT_MULTIPART', { message: `Content-Type ${JSON.stringify(type)} is not multipart/*.` });
  }
  const boundary = params['boundary'];
  if (boundary === undefined) return new MultipartError('MISSING_BOUNDARY');
  if (hasDuplicate) return new MultipartError('INVALID_BOUNDARY', { message: 'The Content-Type repeats a parameter.' });
  return checkBoundary(boundary, type.slice('multipart/'.length));
}

// Index of the '/' of a leading `token/token`, or -1 when the value is not shaped like a media type.
function mediaTypeSlash(value: string): number {
  let at = 0;
  while (at < value.length && (value.charCodeAt(at) === 32 || value.charCodeAt(at) === 9)) at++;
  const typeStart = at;
  while (at < value.length && isTchar(value.charCodeAt(at))) at++;
  if (at === typeStart || value.charCodeAt(at) !== 47 /* / */) return -1;
  const slash = at++;
  const subtypeStart = at;
  while (at < value.length && isTchar(value.charCodeAt(at))) at++;
  if (at === subtypeStart) return -1;
  while (at < value.length && (value.charCodeAt(at) === 32 || value.charCodeAt(at) === 9)) at++;
  return at === value.length || value.charCodeAt(at) === 59 /* ; */ ? slash : -1;
}

function checkBoundary(boundary: string, subtype: string | undefined): MultipartType | MultipartError {
  const length = boundary.length;
  let isValid = length >= 1 && length <= MAX_BOUNDARY && boundary.charCodeAt(length - 1) !== 32;
  for (let i = 0; isValid && i < length; i++) {
    const code = boundary.charCodeAt(i);
    isValid = code < 128 && BCHARS[code] === 1;
  }
  if (!isValid) {
    return new MultipartError('INVALID_BOUNDARY', {
      message: `Invalid boundary ${JSON.stringify(boundary.slice(0, 80))}: RFC 2046 allows 1-70 characters of [0-9A-Za-z'()+_,-./:=? ], not ending in a space.`,
    });
  }
  return { subtype, boundary };
}
