/**
 * A Content-Disposition header that is safe for any stored filename (RFC 6266 with RFC 8187's
 * `filename*`), whatever bytes the client put in it.
 */

// RFC 8187 §3.2.1 attr-char: the only bytes `filename*` may carry unescaped.
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/**
 * `attachment; filename="<ASCII fallback>"` and, when the name is not plain ASCII,
 * `filename*=UTF-8''<percent-encoded UTF-8>` (RFC 6266 §4.3: a recipient that understands
 * `filename*` prefers it; older ones take the fallback).
 *
 * `attachment` always: the file is the client's, served from our origin, so a browser must
 * never render it as a page of ours.
 *
 * @param {string} filename the decoded filename from the upload (may be empty).
 * @returns {string} a header value of visible ASCII only.
 */
export function contentDisposition(filename) {
  const fallback = asciiFallback(filename);
  const header = `attachment; filename="${fallback}"`;
  return fallback === filename ? header : `${header}; filename*=UTF-8''${encodeExtValue(filename)}`;
}

/**
 * The filename reduced to printable ASCII that needs no escaping inside a quoted-string:
 * every other character (quotes, backslashes, controls, non-ASCII) becomes `_`. `%` goes too:
 * some browsers percent-decode the plain `filename` (RFC 6266 Appendix D). Path separators go
 * as well, in case a name with a path was stored (`preservePath`).
 * @param {string} filename
 * @returns {string}
 */
function asciiFallback(filename) {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%/]/gu, '_').trim();
  return ascii === '' || /^\.+$/.test(ascii) ? 'download' : ascii;
}

/**
 * RFC 8187 §3.2.1 ext-value: each UTF-8 byte that is not an attr-char as `%XX`.
 * (encodeURIComponent would leave `'`, `(`, `)` and `*` unescaped, which attr-char does not allow.)
 * @param {string} value
 * @returns {string}
 */
function encodeExtValue(value) {
  let encoded = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += byte < 0x80 && ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}
