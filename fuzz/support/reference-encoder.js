'use strict';
/**
 * A small reference encoder for multipart/form-data, and what a parser following the project's
 * decoding rules (README, "Decoding rules") must read back from what it writes.
 *
 * Names and filenames are written in one of the ways real clients write them:
 * - WHATWG HTML's multipart/form-data encoding (browsers, undici): quoted, with `"`, CR and LF as
 *   %22, %0D and %0A, everything else raw (UTF-8, or latin1 with defParamCharset 'latin1');
 * - RFC 9110 §5.6.4 quoted-pairs (Go, curl --form-escape): `"` and `\` escaped with a backslash
 *   (CR and LF as %0D and %0A: a raw line break would end the header line);
 * - a bare token (RFC 9110 §5.6.2) when the value is one;
 * - for filenames also RFC 8187 `filename*=UTF-8''...` (or ISO-8859-1), whole or as RFC 2231 §3
 *   continuations `filename*0*=...; filename*1*=...`, alone or after a `filename=` fallback.
 *
 * The expected value follows the README's rules, including the two it names as read the RFC way
 * where a browser is ambiguous: a literal %22/%0D/%0A is read as the character, and in browser
 * quoting a doubled backslash as one. A value a backslash client cannot send unambiguously (an
 * escaped `"` followed by `; name=` on the wire, see header-params.ts readQuoted) is written the
 * WHATWG way instead.
 */

/** RFC 2046 §5.1.1 bchars. */
const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
/** RFC 9110 §5.6.2 tchar. */
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 8187 §3.2.1 attr-char: what an ext-value may carry without percent-encoding. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/**
 * What each byte of a name or filename stands for: printable ASCII for itself, TAB, CR and LF for
 * themselves, the other control bytes for a token that tends to break encoders, and 0x80-0xFF for
 * U+0080-U+00FF.
 */
const TOKENS = Array.from({ length: 256 }, (_, byte) => String.fromCharCode(byte));
const SPECIAL_TOKENS = {
  0x00: '\0', 0x01: '%22', 0x02: '%0D', 0x03: '%0a', 0x04: '"; filename="x', 0x05: '\\"', 0x06: '\u00e9', 0x07: '\u65e5\u672c',
  0x08: '\u{1f600}', 0x0b: '\u00a0', 0x0c: '\u2028', 0x0e: "filename*=UTF-8''a", 0x0f: '; name="', 0x10: '\\', 0x11: '\r\n',
  0x12: '\r\n--', 0x13: '\r\n\r\n', 0x14: '\\\\', 0x15: '"', 0x16: '/', 0x17: '..', 0x18: 'C:\\dir\\', 0x19: '%',
  0x1a: '\ufeff', 0x1b: '\u00df', 0x1c: '\u0130', 0x1d: '%2', 0x1e: '\u0100', 0x1f: '\x7f',
};
for (const [byte, token] of Object.entries(SPECIAL_TOKENS)) TOKENS[byte] = token;

/** Boundaries a form may use (the last choice builds one from the input). */
const BOUNDARIES = [
  '----WebKitFormBoundary7MA4YWxkTrZu0gW', '------------------------d74496d66958873e', 'a', '-', 'AaB03x', ' x', "'()+_,-./:=?",
  'x'.repeat(70), '0123456789abcdef', '----formdata-undici-0123456789', 'b0undary', '=_-',
];

/** Part Content-Types (index 0: none, so 'text/plain' is expected). */
const CONTENT_TYPES = [
  undefined, 'text/plain', 'application/octet-stream', 'image/png', 'text/plain; charset=utf-8',
  'application/x-thing; a="b; c"', 'multipart/mixed; boundary=inner', 'text/html;charset="iso-8859-1"',
];

const FIELD = 0;
const FILE = 1;
const FILE_EXTENDED = 2; // filename* only
const FILE_BOTH = 3; // filename= and filename*

const WHATWG = 0;
const BACKSLASH = 1;
const TOKEN = 2;
const WHATWG_LOWER_HEX = 3;

/** Data bytes at or above this are instructions (see expandData). */
const DATA_ESCAPES = 0xf8;
/** Bodies are kept under this (0xFE doubles the data). */
const MAX_DATA = 320 * 1024;

/**
 * @typedef {object} FormPartSpec
 * @property {number} kind FIELD, FILE, FILE_EXTENDED or FILE_BOTH
 * @property {number} quoting WHATWG, BACKSLASH, TOKEN or WHATWG_LOWER_HEX
 * @property {number} contentTypeIndex into CONTENT_TYPES
 * @property {boolean} usesContinuations filename* as RFC 2231 continuations
 * @property {Buffer} nameBytes token bytes
 * @property {Buffer} filenameBytes token bytes
 * @property {Buffer} dataBytes data bytes with instructions
 */

/**
 * @typedef {object} FormSpec
 * @property {number} boundaryChoice index into BOUNDARIES, or BOUNDARIES.length for a custom one
 * @property {Buffer} boundaryBytes for a custom boundary: its characters (any bytes, mapped into bchars)
 * @property {number} flags bit 0 preservePath, 1 quoted boundary, 2-3 header name case, 4 preamble,
 *   5 epilogue, 6 Content-Type before Content-Disposition, 7 latin1 header bytes
 * @property {number} moreFlags bit 0 no space after ';', 1 'utf-8' in lower case, 2 language 'en',
 *   3 ISO-8859-1 for filename* where it can, 4 chunks as plain Uint8Array views
 * @property {FormPartSpec[]} parts
 * @property {number[]} chunkSizes
 */

/**
 * Reads a form from a fuzzer input. Settings are single bytes from the end, tokens and data bytes
 * from the front (a FuzzedDataProvider's two ends), in the order below; writeFormInput is its inverse.
 * @param {Buffer} data
 * @returns {FormSpec}
 */
function readFormInput(data) {
  let front = 0;
  let back = data.length;
  const int = () => (back > front ? data[--back] : 0);
  const bytes = (n) => {
    const taken = data.subarray(front, Math.min(front + n, back));
    front += taken.length;
    return taken;
  };
  const boundaryChoice = int() % (BOUNDARIES.length + 1);
  const boundaryBytes = boundaryChoice === BOUNDARIES.length ? bytes(1 + (int() % 70)) : Buffer.alloc(0);
  const flags = int();
  const count = int() % 8;
  const moreFlags = int();
  const parts = [];
  for (let i = 0; i < count; i++) {
    const bits = int();
    const nameBytes = bytes(int() % 32);
    const kind = bits & 3;
    const filenameBytes = kind === FIELD ? Buffer.alloc(0) : bytes(int() % 32);
    const dataLength = (int() | (int() << 8)) % 4096;
    parts.push({ kind, quoting: (bits >> 2) & 3, contentTypeIndex: (bits >> 4) & 7, usesContinuations: (bits & 128) !== 0, nameBytes, filenameBytes, dataBytes: bytes(dataLength) });
  }
  const chunkSizes = [];
  const chunkCount = int() % 16;
  for (let i = 0; i < chunkCount; i++) chunkSizes.push(1 + int());
  return { boundaryChoice, boundaryBytes, flags, moreFlags, parts, chunkSizes };
}

/**
 * The input that readFormInput reads as `spec` (for seeds).
 * @param {FormSpec} spec
 * @returns {Buffer}
 */
function writeFormInput(spec) {
  const front = [];
  const back = [];
  const int = (value) => back.push(value & 255);
  const bytes = (buffer) => front.push(buffer);
  int(spec.boundaryChoice);
  if (spec.boundaryChoice === BOUNDARIES.length) {
    int(spec.boundaryBytes.length - 1);
    bytes(spec.boundaryBytes);
  }
  int(spec.flags);
  int(spec.parts.length);
  int(spec.moreFlags);
  for (const part of spec.parts) {
    int(part.kind | (part.quoting << 2) | (part.contentTypeIndex << 4) | (part.usesContinuations ? 128 : 0));
    int(part.nameBytes.length);
    bytes(part.nameBytes);
    if (part.kind !== FIELD) {
      int(part.filenameBytes.length);
      bytes(part.filenameBytes);
    }
    int(part.dataBytes.length);
    int(part.dataBytes.length >> 8);
    bytes(part.dataBytes);
  }
  int(spec.chunkSizes.length);
  for (const size of spec.chunkSizes) int(size - 1);
  return Buffer.concat([...front, Buffer.from(back.reverse())]);
}

/** The text a run of token bytes stands for. */
function tokensToText(bytes) {
  let text = '';
  for (const byte of bytes) text += TOKENS[byte];
  return text;
}

/** Token bytes for a text (for seeds): exact for ASCII and U+0080-U+00FF, a stand-in for the rest. */
function textToTokens(text) {
  const bytes = [];
  for (const char of text) {
    const code = char.codePointAt(0);
    if (code === 0x22) bytes.push(0x15);
    else if (code === 0x5c) bytes.push(0x10);
    else if (code >= 0x20 && code < 0x7f) bytes.push(code);
    else if (code === 9 || code === 10 || code === 13) bytes.push(code);
    else if (code >= 0x80 && code <= 0xff) bytes.push(code);
    else bytes.push(code > 0xffff ? 0x08 : 0x07);
  }
  return Buffer.from(bytes.slice(0, 31));
}

/** A boundary from the spec. */
function boundaryOf(spec) {
  if (spec.boundaryChoice < BOUNDARIES.length) return BOUNDARIES[spec.boundaryChoice];
  let value = '';
  for (const byte of spec.boundaryBytes) value += BCHARS[byte % BCHARS.length];
  // An input that ran out leaves it short: a boundary has at least one character, and no final space.
  return value.endsWith(' ') || value === '' ? `${value.slice(0, -1)}_` : value;
}

/**
 * The bytes a part's data instructions stand for. Below 0xF8 a byte is itself; 0xF8 the delimiter
 * without its last byte; 0xF9 n: its first n % length bytes; 0xFA "--boundary" (no CRLF); 0xFB
 * the delimiter in upper case, or with a single '-'; 0xFC CRLF; 0xFD "\n--boundary--\r\n"; 0xFE
 * doubles the data so far (large bodies, up to MAX_DATA); 0xFF b: the byte b itself.
 */
function expandData(bytes, boundary) {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const upper = Buffer.from(`\r\n--${boundary.toUpperCase()}`);
  const pieces = [];
  let size = 0;
  const push = (piece) => {
    if (size + piece.length > MAX_DATA) return;
    pieces.push(piece);
    size += piece.length;
  };
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte < DATA_ESCAPES) {
      push(bytes.subarray(i, i + 1));
      continue;
    }
    switch (byte) {
      case 0xf8: push(delimiter.subarray(0, -1)); break;
      case 0xf9: push(delimiter.subarray(0, (bytes[++i] ?? 0) % delimiter.length)); break;
      case 0xfa: push(Buffer.from(`--${boundary}`)); break;
      case 0xfb: push(upper.equals(delimiter) ? Buffer.from(`\r\n-${boundary}`) : upper); break;
      case 0xfc: push(Buffer.from('\r\n')); break;
      case 0xfd: push(Buffer.from(`\n--${boundary}--\r\n`)); break;
      case 0xfe: push(Buffer.concat(pieces)); break;
      default: push(bytes.subarray(i + 1, i + 2)); i++;
    }
  }
  return breakDelimiters(Buffer.concat(pieces), delimiter);
}

// An encoder picks a boundary its data does not hold (RFC 2046 §5.1.1); here the data is made to
// fit the boundary instead: the LF of each whole delimiter becomes 'X'. That cannot make another,
// since the delimiter's only CR is its first byte.
function breakDelimiters(bytes, delimiter) {
  for (let at = bytes.indexOf(delimiter); at !== -1; at = bytes.indexOf(delimiter, at + 1)) bytes[at + 1] = 0x58;
  return bytes;
}

const BROWSER_ESCAPES = { '"': '%22', '\r': '%0D', '\n': '%0A' };

/** Writes a quoted name or filename; returns the parameter value and the text a parser must read. */
function quote(value, quoting) {
  if (quoting === TOKEN && TCHAR.test(value)) return { wire: value, expected: value };
  if (quoting === BACKSLASH) {
    const wire = value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, (c) => BROWSER_ESCAPES[c]);
    // An escaped `"` followed by `; name=` reads as a raw backslash and the closing quote (the
    // README's rule for browsers): a backslash client cannot send that unambiguously. Tested on the
    // wire, where %0D and %0A are token characters.
    if (!/"[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=/.test(wire)) return { wire: `"${wire}"`, expected: readLiteralEscapes(value, false) };
  }
  const escapes = quoting === WHATWG_LOWER_HEX ? { '"': '%22', '\r': '%0d', '\n': '%0a' } : BROWSER_ESCAPES;
  return { wire: `"${value.replace(/["\r\n]/g, (c) => escapes[c])}"`, expected: readLiteralEscapes(value, true) };
}

/**
 * What a parser reads for a value a client sent with raw backslashes and percent signs (the README's
 * two RFC readings): a literal %22/%0D/%0A (any hex case) is the character, and with
 * `readsDoubledBackslash` a doubled backslash is one backslash. One pass, left to right.
 */
function readLiteralEscapes(value, readsDoubledBackslash) {
  let text = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (readsDoubledBackslash && c === '\\' && value[i + 1] === '\\') {
      text += '\\';
      i++;
    } else if (c === '%' && /^(22|0[dDaA])$/.test(value.slice(i + 1, i + 3))) {
      text += { '22': '"', d: '\r', a: '\n' }[value.slice(i + 1, i + 3).toLowerCase().replace('0', '')];
      i += 2;
    } else {
      text += c;
    }
  }
  return text;
}

/** RFC 8187 ext-value of `value`, and its bytes: UTF-8, or ISO-8859-1 when asked and possible. */
function extValue(value, moreFlags) {
  const isLatin1 = (moreFlags & 8) !== 0 && [...value].every((c) => c.codePointAt(0) <= 0xff);
  const bytes = Buffer.from(value, isLatin1 ? 'latin1' : 'utf8');
  const charset = isLatin1 ? 'ISO-8859-1' : moreFlags & 2 ? 'utf-8' : 'UTF-8';
  const encoded = [];
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    encoded.push(byte < 0x80 && ATTR_CHAR.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`);
  }
  return { prefix: `${charset}'${moreFlags & 4 ? 'en' : ''}'`, encoded };
}

/** The basename rule of the README: after the last `/` or `\`; `.` and `..` become ''. */
function basename(filename) {
  const base = filename.slice(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1);
  return base === '.' || base === '..' ? '' : base;
}

/**
 * @typedef {object} ExpectedPart
 * @property {string} name
 * @property {string | undefined} filename
 * @property {string} contentType
 * @property {Buffer} data
 */

/**
 * Encodes a form.
 * @param {FormSpec} spec
 * @returns {{ contentType: string, body: Buffer, options: object, expected: ExpectedPart[], boundary: string }}
 */
function encodeForm(spec) {
  const boundary = boundaryOf(spec);
  const { flags, moreFlags } = spec;
  const preservePath = (flags & 1) !== 0;
  const separator = moreFlags & 1 ? ';' : '; ';
  const nameCase = (flags >> 2) & 3;
  const headerName = (name) => (nameCase === 1 ? name.toLowerCase() : nameCase === 2 ? name.toUpperCase() : name);
  const texts = spec.parts.map((part) => ({ name: tokensToText(part.nameBytes), filename: part.kind === FIELD ? undefined : tokensToText(part.filenameBytes) }));
  // Raw header bytes in latin1 only when every raw value fits (a browser would send UTF-8 otherwise).
  const isLatin1 = (flags & 128) !== 0 && texts.every(({ name, filename }) => [...name, ...(filename ?? '')].every((c) => c.codePointAt(0) <= 0xff));
  const pieces = [];
  // A preamble before a form with no part is refused (MALFORMED_PREAMBLE): it goes with parts only.
  if (flags & 16 && spec.parts.length > 0) pieces.push(Buffer.from('This is the preamble; it is ignored.\r\n'));
  const expected = [];
  for (const [i, part] of spec.parts.entries()) {
    const { name, filename } = texts[i];
    const quotedName = quote(name, part.quoting);
    let disposition = `form-data${separator}name=${quotedName.wire}`;
    let expectedFilename;
    if (filename !== undefined) {
      if (part.kind !== FILE_EXTENDED) {
        const quotedFilename = quote(filename, part.quoting);
        disposition += `${separator}filename=${quotedFilename.wire}`;
        expectedFilename = quotedFilename.expected;
      }
      if (part.kind === FILE_EXTENDED || part.kind === FILE_BOTH) {
        const { prefix, encoded } = extValue(filename, moreFlags);
        if (part.usesContinuations && encoded.length > 1) {
          // Cut into up to four segments, never inside a %XX.
          const cuts = [0, Math.ceil(encoded.length / 3), Math.ceil((2 * encoded.length) / 3), encoded.length].filter((c, k, all) => k === 0 || c > all[k - 1]);
          for (let k = 0; k + 1 < cuts.length; k++) {
            disposition += `${separator}filename*${k}*=${k === 0 ? prefix : ''}${encoded.slice(cuts[k], cuts[k + 1]).join('')}`;
          }
        } else {
          disposition += `${separator}filename*=${prefix}${encoded.join('')}`;
        }
        expectedFilename = filename;
      }
    }
    const contentType = CONTENT_TYPES[part.contentTypeIndex];
    const lines = [`${headerName('Content-Disposition')}: ${disposition}`];
    if (contentType !== undefined) {
      const line = `${headerName('Content-Type')}: ${contentType}`;
      if (flags & 64) lines.unshift(line);
      else lines.push(line);
    }
    const data = expandData(part.dataBytes, boundary);
    pieces.push(Buffer.from(`--${boundary}\r\n`), Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, isLatin1 ? 'latin1' : 'utf8'), data, Buffer.from('\r\n'));
    expected.push({
      name: quotedName.expected,
      filename: expectedFilename === undefined || preservePath ? expectedFilename : basename(expectedFilename),
      contentType: contentType ?? 'text/plain',
      data,
    });
  }
  pieces.push(Buffer.from(`--${boundary}--`));
  if (flags & 32) pieces.push(Buffer.from(`\r\nAn epilogue, ignored, even with a delimiter:\r\n--${boundary}\r\n`));
  else pieces.push(Buffer.from('\r\n'));
  const quotesBoundary = (flags & 2) !== 0 || !TCHAR.test(boundary);
  return {
    boundary,
    contentType: `multipart/form-data; boundary=${quotesBoundary ? `"${boundary}"` : boundary}`,
    body: Buffer.concat(pieces),
    // Names of up to 31 tokens can pass the default 100 bytes; the limit is not what is tested here.
    options: { preservePath, defParamCharset: isLatin1 ? 'latin1' : 'utf8', limits: { fieldNameSize: 4096 } },
    expected,
  };
}

module.exports = {
  BOUNDARIES, CONTENT_TYPES, TOKENS, FIELD, FILE, FILE_EXTENDED, FILE_BOTH, WHATWG, BACKSLASH, TOKEN, WHATWG_LOWER_HEX,
  readFormInput, writeFormInput, encodeForm, textToTokens, tokensToText, readLiteralEscapes,
};
