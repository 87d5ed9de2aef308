/**
 * Properties (fast-check): any form, encoded the way browsers encode it, parses to exactly the
 * parts that were encoded under any chunking; random and mutated bytes end in parts or a
 * MultipartError, synchronously, never a throw and never a hang.
 */
import fc from 'fast-check';
import { concatMap, from, map, toArray } from 'rxjs';
import { MultipartError, parseMultipart } from '../../lib/index';
import { formBody, type FormPart } from '../support/form-body';

const BOUNDARY = 'fcBoundary0123';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const DELIMITER = `\r\n--${BOUNDARY}`;

/** Bytes full of the delimiter's look-alikes: its prefixes, itself minus the last byte, CR/LF runs. */
const trickyBytes = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.integer({ min: 1, max: DELIMITER.length - 1 }).map((n) => new Uint8Array(Buffer.from(DELIMITER.slice(0, n)))),
      fc.constantFrom('\r', '\n', '\r\n', '\r\n--', '--', `--${BOUNDARY}`, `\r\n-${BOUNDARY}`, `${DELIMITER.slice(0, -1)}X`).map((s) => new Uint8Array(Buffer.from(s))),
    ),
    { maxLength: 12 },
  )
  .map((pieces) => Buffer.concat(pieces))
  // An encoder picks a boundary that does not occur in the data (RFC 2046 §5.1.1); look-alikes stay.
  .filter((bytes) => !bytes.includes(DELIMITER));

// Names and filenames: printable and non-ASCII characters, quotes, CR and LF (escaped by the
// WHATWG encoding as %22 %0D %0A). Left out, as the decoding rules document: a literal "%22" (it
// decodes like the escape) and a doubled backslash (read as an RFC quoted-pair, `\\` → `\`).
const text = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '0', ' ', '"', '\r', '\n', ';', '=', 'é', '日', '😀', '\\', '-'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 12 })
  .filter((s) => !/%(22|0D|0A)/i.test(s) && !s.includes('\0') && !s.includes('\\\\'));
// A filename is reduced to its basename: keep path separators out of it, and `.` and `..`, which
// the basename rule reduces to ''.
const filename = text.filter((s) => !s.includes('/') && !s.includes('\\') && s !== '.' && s !== '..');

const formPart: fc.Arbitrary<FormPart> = fc.record(
  { name: text, filename: fc.option(filename, { nil: undefined }), data: trickyBytes },
  { requiredKeys: ['name', 'data'] },
).map((part): FormPart => (part.filename === undefined ? { name: part.name, data: part.data } : { name: part.name, filename: part.filename, data: part.data }));

/** Cut points as fractions of the body, so any chunking of any body can be drawn. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 });

function chunkAt(body: Buffer, fractions: readonly number[]): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * body.length)))].filter((p) => p > 0 && p < body.length).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(body.subarray(start, point));
    start = point;
  }
  chunks.push(body.subarray(start));
  return chunks;
}

type Outcome = { parts: Array<{ name: string; filename: string | undefined; data: Buffer }> } | { error: unknown } | undefined;

/** Parses synchronously: a `from(array)` source ends within the call, or the parse hung. */
function parseNow(chunks: readonly Uint8Array[], contentType = CONTENT_TYPE): Outcome {
  let outcome: Outcome;
  from(chunks)
    .pipe(
      parseMultipart(contentType),
      concatMap((part) => part.body$.pipe(toArray(), map((data) => ({ name: part.name, filename: part.filename, data: Buffer.concat(data) })))),
      toArray(),
    )
    .subscribe({ next: (parts) => (outcome = { parts }), error: (error: unknown) => (outcome = { error }) });
  return outcome;
}

describe('parse properties', () => {
  it('should parse any encoded form to exactly its parts, under any chunking', () => {
    fc.assert(
      fc.property(fc.array(formPart, { maxLength: 6 }), cuts, (parts, fractions) => {
        const outcome = parseNow(chunkAt(formBody(parts, BOUNDARY), fractions));
        expect(outcome).toEqual({
          parts: parts.map((part) => ({ name: part.name, filename: part.filename, data: Buffer.from(part.data) })),
        });
      }),
      { numRuns: 600 },
    );
  });

  it('should parse any form cut into one-byte chunks to the same parts as whole', () => {
    fc.assert(
      fc.property(fc.array(formPart, { maxLength: 3 }), (parts) => {
        const body = formBody(parts, BOUNDARY);
        const bytes = Array.from(body, (byte) => Buffer.from([byte]));
        expect(parseNow(bytes)).toEqual(parseNow([body]));
      }),
      { numRuns: 150 },
    );
  });

  it('should end random bytes in parts or a MultipartError, synchronously', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), cuts, fc.constantFrom(CONTENT_TYPE, 'multipart/mixed; boundary=a', 'b'), (bytes, fractions, type) => {
        const outcome = parseNow(chunkAt(Buffer.from(bytes), fractions), type);
        expect(outcome).toBeDefined();
        if (outcome !== undefined && 'error' in outcome) expect(outcome.error).toBeInstanceOf(MultipartError);
      }),
      { numRuns: 1000 },
    );
  });

  it('should end mutated valid bodies in parts or a MultipartError, synchronously', () => {
    const mutation = fc.array(
      fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), kind: fc.constantFrom('flip', 'insert', 'delete'), byte: fc.integer({ min: 0, max: 255 }) }),
      { minLength: 1, maxLength: 4 },
    );
    fc.assert(
      fc.property(fc.array(formPart, { minLength: 1, maxLength: 4 }), mutation, cuts, (parts, mutations, fractions) => {
        const bytes = [...formBody(parts, BOUNDARY)];
        for (const { at, kind, byte } of mutations) {
          const i = Math.floor(at * bytes.length);
          if (kind === 'flip') bytes[i] = byte;
          else if (kind === 'insert') bytes.splice(i, 0, byte);
          else bytes.splice(i, 1);
        }
        const outcome = parseNow(chunkAt(Buffer.from(bytes), fractions));
        expect(outcome).toBeDefined();
        if (outcome !== undefined && 'error' in outcome) expect(outcome.error).toBeInstanceOf(MultipartError);
      }),
      { numRuns: 1000 },
    );
  });
});
