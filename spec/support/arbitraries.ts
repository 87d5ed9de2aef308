/**
 * fast-check arbitraries for multipart bodies: RFC 2046 boundaries, forms a browser could send,
 * bytes full of delimiter look-alikes, noise made of multipart syntax, chunkings and mutations.
 */
import fc from 'fast-check';
import type { Limits } from '../../lib/parser/limits';
import { formBody, type FormPart } from './form-body';

/** RFC 2046 §5.1.1 bchars: bcharsnospace and the space (allowed anywhere but last). */
export const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

const bchar = fc.constantFrom(...BCHARS);

/**
 * A boundary of 1 to 70 bchars not ending in a space. Short ones are drawn as often as long ones:
 * the shorter the boundary, the likelier random bytes are to look like its delimiter.
 */
export const boundary: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: bchar, minLength: 1, maxLength: 3 }),
    fc.string({ unit: bchar, minLength: 1, maxLength: 70 }),
    fc.constantFrom('----WebKitFormBoundary7MA4YWxkTrZu0gW', '------------------------d74496d66958873e'),
  )
  .map((value) => (value.endsWith(' ') ? `${value.slice(0, -1)}_` : value));

/** `multipart/<subtype>; boundary=...`, quoted when the boundary is not a token, or at random when it is. */
export function contentTypeFor(subtype: string, value: string): fc.Arbitrary<string> {
  const isToken = [...value].every((c) => TCHARS.includes(c));
  return fc.boolean().map((isQuoted) => `multipart/${subtype}; boundary=${isQuoted || !isToken ? `"${value}"` : value}`);
}

/** The delimiter a boundary makes: CRLF, "--", the boundary (RFC 2046 §5.1.1). */
export const delimiterOf = (value: string): Buffer => Buffer.from(`\r\n--${value}`);

/**
 * Bytes an encoder could send inside a part: random bytes mixed with what looks like the
 * delimiter (its prefixes, the delimiter minus its last byte, the delimiter with one byte
 * changed, the boundary without its CRLF or with a bare CR or LF) and runs of CR and LF. An
 * encoder picks a boundary that does not occur in its data, so whole delimiters are broken (their
 * LF becomes 'X'); that can create no other, as the delimiter's only CR is its first byte.
 */
export function lookalikeBytes(value: string): fc.Arbitrary<Buffer> {
  const delimiter = delimiterOf(value);
  const piece = fc.oneof(
    fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes)),
    fc.integer({ min: 1, max: delimiter.length - 1 }).map((n) => delimiter.subarray(0, n)),
    fc.tuple(fc.nat(delimiter.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
      const changed = Buffer.from(delimiter);
      changed[at] = byte;
      return changed;
    }),
    fc.constantFrom(`--${value}`, `--${value}--`, `\r\n-${value}`, `\n--${value}`, `\r--${value}`, `\r\n--${value.toUpperCase()}`, `${value}\r\n`).map((text) => Buffer.from(text)),
    fc.array(fc.constantFrom('\r', '\n'), { minLength: 1, maxLength: 8 }).map((run) => Buffer.from(run.join(''))),
  );
  return fc.array(piece, { maxLength: 10 }).map((pieces) => breakDelimiters(Buffer.concat(pieces), delimiter));
}

function breakDelimiters(bytes: Buffer, delimiter: Buffer): Buffer {
  for (let at = bytes.indexOf(delimiter); at !== -1; at = bytes.indexOf(delimiter, at + 1)) bytes[at + 1] = 0x58; /* X */
  return bytes;
}

/**
 * A name or filename a user could type: letters, quotes, CR, LF, `;`, `=`, `%`, backslashes,
 * slashes, tabs, NUL, non-ASCII and any other grapheme. Left out are the two inputs the decoding
 * rules read the RFC way rather than the browser way (README, "Decoding rules"): a literal
 * `%22`/`%0D`/`%0A` and a doubled backslash.
 */
export const headerText: fc.Arbitrary<string> = fc
  .string({
    unit: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '"', '\r', '\n', ';', '=', '%', '2', '\\', '/', '-', '\t', '\0', '\u00e9', '\u65e5', '\u{1f600}') },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
    ),
    maxLength: 12,
  })
  .filter((text) => !/%(22|0d|0a)/i.test(text) && !text.includes('\\\\'));

const partContentType = fc.constantFrom('text/plain', 'application/octet-stream', 'image/png', 'text/plain; charset=utf-8', 'application/x-thing; a="b; c"');

/** One part of a form, a field or a file, with bytes full of look-alikes of `value`'s delimiter. */
export function formPart(value: string): fc.Arbitrary<FormPart> {
  return fc
    .record({
      name: headerText,
      filename: fc.option(headerText, { nil: undefined }),
      contentType: fc.option(partContentType, { nil: undefined }),
      data: lookalikeBytes(value),
    })
    .map(({ name, filename, contentType, data }): FormPart => ({
      name,
      data,
      ...(filename === undefined ? {} : { filename }),
      ...(contentType === undefined ? {} : { contentType }),
    }));
}

/** A form encoded the WHATWG way, with the Content-Type that announces it. */
export interface EncodedForm {
  readonly boundary: string;
  readonly contentType: string;
  readonly parts: readonly FormPart[];
  readonly body: Buffer;
}

export function encodedForm(maxParts: number): fc.Arbitrary<EncodedForm> {
  return boundary.chain((value) =>
    fc.record({ parts: fc.array(formPart(value), { maxLength: maxParts }), contentType: contentTypeFor('form-data', value) }).map(({ parts, contentType }) => ({
      boundary: value,
      contentType,
      parts,
      body: formBody(parts, value),
    })),
  );
}

/**
 * Bytes made of multipart syntax for `value` (delimiters, CRLFs, padding, header lines, quotes)
 * and random bytes: they reach every state of the parser, where uniform bytes rarely pass the
 * first delimiter.
 */
export function multipartNoise(value: string): fc.Arbitrary<Buffer> {
  const syntax = [
    `--${value}`, `\r\n--${value}`, '--', '-', '\r\n', '\r\n\r\n', '\r', '\n', ' ', '\t', ':', '"', ';', '\\',
    'Content-Disposition: form-data; name="f"', 'content-disposition: attachment', '; filename="a.txt"',
    "; filename*=UTF-8''%E2%82%AC", 'Content-Type: text/plain', '\r\n ', 'name="', 'X-A: 1',
  ];
  const piece = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...syntax).map((text) => Buffer.from(text)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)) },
  );
  return fc.array(piece, { maxLength: 30 }).map((pieces) => Buffer.concat(pieces));
}

/**
 * A body shaped like multipart, with every piece free to be wrong: a preamble, parts whose
 * delimiter lines may carry padding or junk and whose header lines come from a vocabulary of
 * valid, odd and malformed ones (folded, unnamed, repeated, an open quoted string, unknown
 * names), bytes full of look-alikes, then maybe the closing delimiter and an epilogue.
 */
export function multipartLike(value: string): fc.Arbitrary<Buffer> {
  const headerLine = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'Content-Disposition: form-data; name="f"',
        'content-disposition: form-data; name="g"; filename="a.txt"',
        "Content-Disposition: form-data; name=\"h\"; filename*=UTF-8''%E2%82%AC.txt",
        'Content-Disposition: attachment; filename="r.pdf"',
        'Content-Disposition: form-data; name="a"; name="b"',
        'Content-Disposition: form-data; name="open',
        'still open"',
        'Content-Type: text/plain',
        'CONTENT-TYPE: image/png',
        'X-A: 1',
        'X-Empty:',
        ' folded',
        '\tfolded',
        'no colon',
        ': no name',
        'Bad Name: 1',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'B', '-', ':', ' ', '"', ';', '=', '\\', '%', '\r', '\n'), maxLength: 20 }) },
  );
  const part = fc
    .record({
      padding: fc.constantFrom('', '', '', ' ', '\t ', 'x', '-', '--', '\r'),
      headers: fc.array(headerLine, { maxLength: 4 }),
      data: lookalikeBytes(value),
    })
    .map(({ padding, headers, data }) =>
      Buffer.concat([Buffer.from(`--${value}${padding}\r\n${headers.map((line) => `${line}\r\n`).join('')}\r\n`), data, Buffer.from('\r\n')]),
    );
  return fc
    .record({
      preamble: fc.constantFrom('', '', 'preamble\r\n', '\r\n', 'x'),
      parts: fc.array(part, { maxLength: 4 }),
      close: fc.constantFrom(`--${value}--`, `--${value}--\r\nepilogue`, `--${value}-`, `--${value}`, ''),
    })
    .map(({ preamble, parts, close }) => Buffer.concat([Buffer.from(preamble), ...parts, Buffer.from(close)]));
}

/** How a body is cut: at random points (as fractions of its length), or every `size` bytes. */
export type Chunking = { readonly kind: 'cuts'; readonly fractions: readonly number[] } | { readonly kind: 'every'; readonly size: number };

export const chunking: fc.Arbitrary<Chunking> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }).map((fractions): Chunking => ({ kind: 'cuts', fractions })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }).map((size): Chunking => ({ kind: 'every', size })) },
);

/** Cuts `body` as `how` says; every chunk is non-empty. */
export function cut(body: Buffer, how: Chunking): Buffer[] {
  if (how.kind === 'every') {
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += how.size) chunks.push(body.subarray(at, at + how.size));
    return chunks;
  }
  const points = [...new Set(how.fractions.map((f) => Math.floor(f * body.length)))].filter((p) => p > 0 && p < body.length).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(body.subarray(start, point));
    start = point;
  }
  if (start < body.length) chunks.push(body.subarray(start));
  return chunks;
}

/** A change to a body: a byte replaced, inserted or deleted, or the body cut short, at a fraction of its length. */
export interface Mutation {
  readonly at: number;
  readonly kind: 'flip' | 'insert' | 'delete' | 'truncate';
  readonly byte: number;
}

export const mutations: fc.Arbitrary<readonly Mutation[]> = fc.array(
  fc.record({
    at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    kind: fc.constantFrom('flip', 'flip', 'insert', 'delete', 'truncate'),
    byte: fc.oneof(fc.constantFrom(13, 10, 45, 32, 34, 58, 59), fc.integer({ min: 0, max: 255 })),
  }),
  { minLength: 1, maxLength: 4 },
);

export function mutate(body: Buffer, changes: readonly Mutation[]): Buffer {
  const bytes = [...body];
  for (const { at, kind, byte } of changes) {
    const i = Math.floor(at * bytes.length);
    if (kind === 'flip' && i < bytes.length) bytes[i] = byte;
    else if (kind === 'insert') bytes.splice(i, 0, byte);
    else if (kind === 'delete') bytes.splice(i, 1);
    else if (kind === 'truncate') bytes.length = i;
  }
  return Buffer.from(bytes);
}

/** Small limits, any subset of them: every LIMIT_* path is reachable by a short body. */
export const smallLimits: fc.Arbitrary<Limits> = fc.record(
  {
    parts: fc.nat(4),
    files: fc.nat(3),
    fields: fc.nat(3),
    fileSize: fc.nat(40),
    fieldSize: fc.nat(40),
    fieldNameSize: fc.nat(8),
    headerSize: fc.nat(120),
    headerPairs: fc.nat(3),
    preambleSize: fc.nat(40),
    bodySize: fc.nat(800),
  },
  { requiredKeys: [] },
);
