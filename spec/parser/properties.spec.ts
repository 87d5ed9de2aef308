/**
 * Properties (fast-check). Any form, encoded the way browsers encode it, parses to exactly the
 * parts that were encoded, under any chunking, through parseMultipart and through the parser with
 * its portable search. Random and mutated bytes end in parts or a MultipartError, synchronously:
 * never a throw outside the Observable, never a hang. Events keep their grammar, the outcome does
 * not depend on the chunking, and size limits hold before bytes are handed out.
 */
import fc from 'fast-check';
import { concatMap, from, map, toArray } from 'rxjs';
import { MultipartError, parseMultipart } from '../../lib/index';
import type { MultipartErrorCode } from '../../lib/errors';
import { resolveLimits, type Limits, type ResolvedLimits } from '../../lib/parser/limits';
import { createParserState, EVENT_DATA, EVENT_END, EVENT_ERROR, EVENT_PART_END, EVENT_PART_START, finish, step } from '../../lib/parser/multipart-parser';
import {
  boundary,
  chunking,
  contentTypeFor,
  cut,
  encodedForm,
  formPart,
  multipartLike,
  multipartNoise,
  mutate,
  mutations,
  smallLimits,
  type EncodedForm,
} from '../support/arbitraries';
import { formBody, partHead, type FormPart } from '../support/form-body';
import { encodeBase64, encodeQuotedPrintable } from '../support/transfer-encoders';

interface OutcomePart {
  readonly name: string;
  readonly filename: string | undefined;
  readonly contentType: string;
  readonly data: Buffer;
}

type Outcome = { readonly parts: readonly OutcomePart[] } | { readonly error: unknown } | undefined;

/**
 * Parses with parseMultipart, reading every body$; filenames keep their paths (preservePath). A
 * `from(array)` source emits within the subscribe call, so the parse has completed or errored when
 * it returns; undefined means it hung.
 */
function parseNow(chunks: readonly Uint8Array[], contentType: string, decodeTransferEncoding = false): Outcome {
  let outcome: Outcome;
  from(chunks)
    .pipe(
      parseMultipart(contentType, { preservePath: true, decodeTransferEncoding }),
      concatMap((part) => part.body$.pipe(toArray(), map((data) => ({ name: part.name, filename: part.filename, contentType: part.contentType, data: Buffer.concat(data) })))),
      toArray(),
    )
    .subscribe({ next: (parts) => (outcome = { parts }), error: (error: unknown) => (outcome = { error }) });
  return outcome;
}

/**
 * The codes a parse can end in. `from(array)` never fails, so neither SOURCE_ERROR nor INTERNAL (a
 * throw inside the library) may appear.
 */
const PARSE_ERROR_CODES: readonly MultipartErrorCode[] = [
  'NOT_MULTIPART', 'MISSING_BOUNDARY', 'INVALID_BOUNDARY', 'MALFORMED_DELIMITER', 'MALFORMED_HEADER', 'MALFORMED_PREAMBLE', 'INVALID_CONTENT_DISPOSITION', 'UNEXPECTED_END',
  'MALFORMED_TRANSFER_ENCODING', 'UNSUPPORTED_TRANSFER_ENCODING',
  'LIMIT_PARTS', 'LIMIT_FILES', 'LIMIT_FIELDS', 'LIMIT_FILE_SIZE', 'LIMIT_FIELD_SIZE', 'LIMIT_FIELD_NAME_SIZE', 'LIMIT_HEADER_SIZE', 'LIMIT_HEADER_PAIRS',
  'LIMIT_PREAMBLE_SIZE', 'LIMIT_BODY_SIZE',
];

/** The parse completed, or failed with a MultipartError of its own (not a throw, not a hang). */
function expectPartsOrParseError(outcome: Outcome): void {
  expect(outcome).toBeDefined();
  if (outcome === undefined || !('error' in outcome)) return;
  expect(outcome.error).toBeInstanceOf(MultipartError);
  expect(PARSE_ERROR_CODES).toContain((outcome.error as MultipartError).code);
}

/** The parts a form encoded, as a parser must give them back (filenames with their paths: preservePath). */
const expectedParts = (parts: readonly FormPart[]): OutcomePart[] =>
  parts.map((part) => ({ name: part.name, filename: part.filename, contentType: part.contentType ?? 'text/plain', data: Buffer.from(part.data) }));

interface TracePart {
  readonly name: string;
  readonly filename: string | undefined;
  readonly contentType: string;
  readonly data: Buffer;
  readonly isEnded: boolean;
}

/** What the parser emitted, and any break of the event grammar. */
interface Trace {
  readonly parts: readonly TracePart[];
  /** 'END', an error code, or undefined when neither came. */
  readonly end: 'END' | MultipartErrorCode | undefined;
  readonly error: MultipartError | undefined;
  readonly violations: readonly string[];
}

interface ParserOptions {
  readonly limits?: Limits;
  readonly isFormData?: boolean;
  readonly usesPortableSearch?: boolean;
}

/** Steps the parser itself over the chunks, then finishes it. */
function trace(chunks: readonly Uint8Array[], boundaryValue: string, options: ParserOptions = {}): Trace {
  const limits = resolveLimits(options.limits);
  if (typeof limits === 'string') throw new Error(`invalid limit ${limits}`);
  const state = createParserState(boundaryValue, {
    limits,
    isFormData: options.isFormData ?? true,
    preservePath: true,
    defParamCharset: 'utf8',
    usesPortableSearch: options.usesPortableSearch ?? false,
  });
  const parts: Array<{ name: string; filename: string | undefined; contentType: string; data: Uint8Array[]; isEnded: boolean }> = [];
  const violations: string[] = [];
  let current: (typeof parts)[number] | undefined;
  let end: Trace['end'];
  let error: MultipartError | undefined;
  const take = (events: ReturnType<typeof step>['events']): void => {
    for (const event of events) {
      if (end !== undefined) violations.push(`event ${event.type} after ${end}`);
      if (event.type === EVENT_PART_START) {
        if (current !== undefined) violations.push('PART_START inside a part');
        current = { name: event.part.name, filename: event.part.filename, contentType: event.part.contentType, data: [], isEnded: false };
        parts.push(current);
      } else if (event.type === EVENT_DATA) {
        if (current === undefined) violations.push('DATA outside a part');
        else current.data.push(event.data);
        if (event.data.length === 0) violations.push('empty DATA');
      } else if (event.type === EVENT_PART_END) {
        if (current === undefined) violations.push('PART_END outside a part');
        else current.isEnded = true;
        current = undefined;
      } else if (event.type === EVENT_END) {
        if (current !== undefined) violations.push('END inside a part');
        end = 'END';
      } else if (event.type === EVENT_ERROR) {
        if (!(event.error instanceof MultipartError)) violations.push('ERROR without a MultipartError');
        end = event.error.code;
        error = event.error;
      }
    }
  };
  for (const chunk of chunks) take(step(state, chunk).events);
  take(finish(state).events);
  if (end === undefined) violations.push('neither END nor ERROR after finish');
  return { parts: parts.map((part) => ({ ...part, data: Buffer.concat(part.data) })), end, error, violations };
}

/** A trace without what may depend on the chunking: the bytes of a part cut short by an error. */
const settled = (result: Trace): unknown => ({
  parts: result.parts.map((part) => ({ ...part, data: part.isEnded ? part.data : undefined })),
  end: result.end,
  partIndex: result.error?.partIndex,
});

/**
 * Any bytes for a parse: uniform bytes, multipart noise, a body shaped like multipart (mutated or
 * not), or a form as sent, mutated, or with noise inside.
 */
const anyBody = (value: string): fc.Arbitrary<Buffer> => {
  const body = fc.array(formPart(value), { maxLength: 4 }).map((parts) => formBody(parts, value));
  return fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
    multipartNoise(value),
    multipartLike(value),
    fc.tuple(multipartLike(value), mutations).map(([bytes, changes]) => mutate(bytes, changes)),
    body,
    fc.tuple(body, mutations).map(([bytes, changes]) => mutate(bytes, changes)),
    fc.tuple(body, multipartNoise(value), fc.double({ min: 0, max: 1, noNaN: true })).map(([bytes, noise, at]) => {
      const i = Math.floor(at * bytes.length);
      return Buffer.concat([bytes.subarray(0, i), noise, bytes.subarray(i)]);
    }),
  );
};

/** A form whose parts are sent base64, quoted-printable, 8bit or plain, with the header that says so. */
const transferEncodedForm = boundary.chain((value) =>
  fc.array(fc.tuple(formPart(value), fc.constantFrom('base64', 'quoted-printable', '8bit', undefined)), { minLength: 1, maxLength: 4 }).map((entries) => {
    const pieces: Buffer[] = [];
    for (const [part, encoding] of entries) {
      const data = Buffer.from(part.data);
      const text = encoding === 'base64' ? encodeBase64(data) : encoding === 'quoted-printable' ? encodeQuotedPrintable(data) : data;
      const head = partHead(part, value).replace(/\r\n\r\n$/, encoding === undefined ? '\r\n\r\n' : `\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`);
      pieces.push(Buffer.from(head), Buffer.from(text), Buffer.from('\r\n'));
    }
    pieces.push(Buffer.from(`--${value}--\r\n`));
    return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary="${value}"`, parts: entries.map(([part]) => part) };
  }),
);

/** A Content-Type for any body: form-data, another subtype, a bare boundary, or not multipart at all. */
const anyContentType = (value: string): fc.Arbitrary<string> =>
  fc.oneof(contentTypeFor('form-data', value), contentTypeFor('mixed', value), fc.constant(value), fc.constantFrom('text/plain', 'multipart/form-data'));

describe('parse properties', () => {
  describe('any form encoded the WHATWG way', () => {
    it('should parse to exactly its parts under any chunking', () => {
      fc.assert(
        fc.property(encodedForm(6), chunking, (form: EncodedForm, how) => {
          expect(parseNow(cut(form.body, how), form.contentType)).toEqual({ parts: expectedParts(form.parts) });
        }),
        { numRuns: 1000 },
      );
    });

    it('should parse to exactly its parts when every byte is its own chunk', () => {
      fc.assert(
        fc.property(encodedForm(3), (form) => {
          expect(parseNow(cut(form.body, { kind: 'every', size: 1 }), form.contentType)).toEqual({ parts: expectedParts(form.parts) });
        }),
        { numRuns: 500 },
      );
    });

    it('should parse to exactly its parts with the portable search under any chunking', () => {
      fc.assert(
        fc.property(encodedForm(6), chunking, (form, how) => {
          const result = trace(cut(form.body, how), form.boundary, { usesPortableSearch: true });
          expect(result.parts).toEqual(expectedParts(form.parts).map((part) => ({ ...part, isEnded: true })));
          expect([result.end, result.violations]).toEqual(['END', []]);
        }),
        { numRuns: 500 },
      );
    });

    it('should give the parts up to the first one over a limit, then that limit, never handing out more bytes than it allows', () => {
      fc.assert(
        fc.property(encodedForm(6), smallLimits, chunking, (form, limits, how) => {
          const lifted = { ...limits, bodySize: Infinity, headerSize: Infinity, headerPairs: Infinity };
          const result = trace(cut(form.body, how), form.boundary, { limits: lifted });
          const max = resolveLimits(lifted) as ResolvedLimits;
          // The first part over a count or name limit is refused before it starts; the first part
          // over its size limit starts and is cut off.
          let parts = 0;
          let files = 0;
          let fields = 0;
          let failing: { index: number; codes: MultipartErrorCode[]; isStarted: boolean; sizeLimit: number } | undefined;
          for (const [index, part] of form.parts.entries()) {
            const isFile = part.filename !== undefined;
            const codes: MultipartErrorCode[] = [];
            if (++parts > max.parts) codes.push('LIMIT_PARTS');
            if (isFile && ++files > max.files) codes.push('LIMIT_FILES');
            if (!isFile && ++fields > max.fields) codes.push('LIMIT_FIELDS');
            if (Buffer.byteLength(part.name) > max.fieldNameSize) codes.push('LIMIT_FIELD_NAME_SIZE');
            const sizeLimit = isFile ? max.fileSize : max.fieldSize;
            if (codes.length > 0) failing = { index, codes, isStarted: false, sizeLimit };
            else if (Buffer.from(part.data).length > sizeLimit) failing = { index, codes: [isFile ? 'LIMIT_FILE_SIZE' : 'LIMIT_FIELD_SIZE'], isStarted: true, sizeLimit };
            if (failing !== undefined) break;
          }
          const expected = expectedParts(form.parts).map((part) => ({ ...part, isEnded: true }));
          if (failing === undefined) {
            expect([result.parts, result.end]).toEqual([expected, 'END']);
            return;
          }
          expect(result.parts.slice(0, failing.index)).toEqual(expected.slice(0, failing.index));
          expect(result.parts).toHaveLength(failing.isStarted ? failing.index + 1 : failing.index);
          expect(failing.codes).toContain(result.end);
          expect(result.error?.partIndex).toBe(failing.index);
          if (failing.isStarted) {
            const cutOff = result.parts[failing.index]!;
            expect(cutOff.data.length).toBeLessThanOrEqual(failing.sizeLimit);
            expect(Buffer.from(form.parts[failing.index]!.data).subarray(0, cutOff.data.length).equals(cutOff.data)).toBe(true);
          }
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('any form with base64 and quoted-printable parts, decoded', () => {
    it('should parse to exactly the bytes that were encoded under any chunking', () => {
      fc.assert(
        fc.property(transferEncodedForm, chunking, (form, how) => {
          expect(parseNow(cut(form.body, how), form.contentType, true)).toEqual({ parts: expectedParts(form.parts) });
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('any bytes', () => {
    it('should end random bytes in parts or a MultipartError, synchronously', () => {
      const input = boundary.chain((value) => fc.tuple(anyBody(value), anyContentType(value), chunking));
      fc.assert(
        fc.property(input, ([body, contentType, how]) => {
          expectPartsOrParseError(parseNow(cut(body, how), contentType));
        }),
        { numRuns: 1000 },
      );
    });

    it('should end random and mutated bodies with transfer-encoded parts in parts or a MultipartError when decoding them', () => {
      const input = fc.oneof(
        transferEncodedForm.map((form) => [form.body, form.contentType] as const),
        fc.tuple(transferEncodedForm, mutations).map(([form, changes]) => [mutate(form.body, changes), form.contentType] as const),
        boundary.chain((value) => fc.tuple(anyBody(value), contentTypeFor('form-data', value))),
      );
      fc.assert(
        fc.property(input, chunking, ([body, contentType], how) => {
          expectPartsOrParseError(parseNow(cut(body, how), contentType, true));
        }),
        { numRuns: 1000 },
      );
    });

    it('should end mutated valid bodies in parts or a MultipartError, synchronously', () => {
      fc.assert(
        fc.property(encodedForm(4), mutations, chunking, (form, changes, how) => {
          expectPartsOrParseError(parseNow(cut(mutate(form.body, changes), how), form.contentType));
        }),
        { numRuns: 1000 },
      );
    });

    it('should emit events in order (a part starts, has bytes, ends) and end in exactly one END or ERROR', () => {
      const input = boundary.chain((value) => fc.tuple(fc.constant(value), anyBody(value), chunking, smallLimits, fc.boolean(), fc.boolean()));
      fc.assert(
        fc.property(input, ([value, body, how, limits, isFormData, usesPortableSearch]) => {
          expect(trace(cut(body, how), value, { limits, isFormData, usesPortableSearch }).violations).toEqual([]);
        }),
        { numRuns: 1000 },
      );
    });

    it('should reach the same parts and the same end whole or under any chunking, whatever the limits', () => {
      const input = boundary.chain((value) => fc.tuple(fc.constant(value), anyBody(value), chunking, smallLimits, fc.boolean()));
      fc.assert(
        fc.property(input, ([value, body, how, limits, isFormData]) => {
          const options = { limits, isFormData };
          expect(settled(trace(cut(body, how), value, options))).toEqual(settled(trace([body], value, options)));
        }),
        { numRuns: 1000 },
      );
    });
  });
});
