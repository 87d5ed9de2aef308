/**
 * The streaming Content-Transfer-Encoding decoders (RFC 2045 §6.7, §6.8): exact under any cut of
 * the encoded text, strict about bytes the encoding does not allow.
 */
import fc from 'fast-check';
import { createTransferDecoder, resolveTransferEncoding, type TransferDecoder } from '../../lib/parser/transfer-decoding';
import { encodeBase64, encodeQuotedPrintable } from '../support/transfer-encoders';

/** Decodes `text` cut at `cuts` (positions), then finishes; undefined with the reason when refused. */
function decode(kind: 'base64' | 'quoted-printable', text: string | Buffer, cuts: readonly number[] = []): { data?: Buffer; reason?: string } {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const decoder: TransferDecoder = createTransferDecoder(kind);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b).concat(bytes.length)) {
    const piece = decoder.decode(bytes.subarray(at, Math.max(at, cut)));
    if (piece === undefined) return { reason: decoder.reason };
    out.push(piece);
    at = Math.max(at, cut);
  }
  const tail = decoder.finish();
  if (tail === undefined) return { reason: decoder.reason };
  out.push(tail);
  return { data: Buffer.concat(out) };
}

const cutsOf = (length: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: length }), { maxLength: 8 });

describe('resolveTransferEncoding', () => {
  it.each([
    ['7bit', 'identity'],
    ['8BIT', 'identity'],
    [' binary ', 'identity'],
    ['Base64', 'base64'],
    ['quoted-printable', 'quoted-printable'],
    ['x-uuencode', undefined],
    ['gzip', undefined],
    ['', undefined],
  ])('should read %j as %s', (value, expected) => {
    expect(resolveTransferEncoding(value)).toBe(expected);
  });
});

describe('base64 decoder', () => {
  it('should decode any bytes encoded in 76-character lines, under any cut', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }).chain((data) => fc.tuple(fc.constant(data), cutsOf(encodeBase64(data).length))), ([data, cuts]) => {
        expect(decode('base64', encodeBase64(data), cuts)).toEqual({ data: Buffer.from(data) });
      }),
      { numRuns: 1000 },
    );
  });

  it('should decode text without line breaks, and with spaces and tabs between digits', () => {
    expect(decode('base64', 'aGVs bG8g\td29y bGQ=').data?.toString()).toBe('hello world');
  });

  it('should decode padding split from its quantum by a cut', () => {
    expect(decode('base64', 'YQ==', [3]).data?.toString()).toBe('a');
    expect(decode('base64', 'YWI=', [2, 3]).data?.toString()).toBe('ab');
  });

  it.each([
    ['a byte outside the alphabet', 'aGVs*bG8=', /0x2a is not base64/],
    ['a URL-safe digit', 'ab-_', /not base64/],
    ['"=" after one digit', 'a===', /no padding/],
    ['"=" at the start of a quantum', 'YWJj=', /no padding/],
    ['a digit after the padding', 'YQ==YQ==', /follows its padding/],
    ['a third "="', 'YQ===', /no padding/],
  ])('should refuse %s', (_what, text, reason) => {
    expect(decode('base64', text).reason).toMatch(reason);
  });

  it.each([
    ['an unfinished quantum', 'YWJ'],
    ['a quantum missing its second "="', 'YQ='],
  ])('should refuse a part that ends in %s', (_what, text) => {
    expect(decode('base64', text).reason).toMatch(/inside a base64 quantum/);
  });

  it('should decode an empty part to nothing', () => {
    expect(decode('base64', '')).toEqual({ data: Buffer.alloc(0) });
  });
});

describe('quoted-printable decoder', () => {
  it('should decode any bytes encoded by a reference encoder, under any cut', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }).chain((data) => fc.tuple(fc.constant(data), cutsOf(encodeQuotedPrintable(data).length))), ([data, cuts]) => {
        expect(decode('quoted-printable', encodeQuotedPrintable(data), cuts)).toEqual({ data: Buffer.from(data) });
      }),
      { numRuns: 1000 },
    );
  });

  it('should keep hard line breaks and drop the whitespace that ends a line, under any cut', () => {
    const text = 'first line  \t\r\nsecond =\r\nline \r\nlast  ';
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        expect(decode('quoted-printable', text, [i, j]).data?.toString()).toBe('first line\r\nsecond line\r\nlast');
      }
    }
  });

  it('should keep whitespace before a soft line break and inside a line', () => {
    expect(decode('quoted-printable', 'a \t=\r\nb  c').data?.toString()).toBe('a \tb  c');
  });

  it('should read a soft line break padded with whitespace, or ended by a bare LF', () => {
    expect(decode('quoted-printable', 'ab=  \r\ncd=\nef').data?.toString()).toBe('abcdef');
  });

  it('should read lower-case hex digits (RFC 2045 §6.7 rule 1: robust decoders do)', () => {
    expect(decode('quoted-printable', '=c3=a9t=C3=A9').data?.toString()).toBe('été');
  });

  it('should pass eight-bit bytes through as sent', () => {
    expect(decode('quoted-printable', Buffer.from([0x61, 0xe9, 0x62])).data).toEqual(Buffer.from([0x61, 0xe9, 0x62]));
  });

  it('should read a final "=" as a soft line break', () => {
    expect(decode('quoted-printable', 'abc=').data?.toString()).toBe('abc');
  });

  it.each([
    ['"=" and a non-hex byte', 'a=G1', /'G'/],
    ['"=" and one hex digit and a non-hex byte', 'a=4x', /hex digit followed by 'x'/],
    ['"=" CR without LF', 'a=\rb', /without LF/],
    ['"=" and whitespace and text', 'a= b', /whitespace and then 'b'/],
  ])('should refuse %s', (_what, text, reason) => {
    expect(decode('quoted-printable', text).reason).toMatch(reason);
  });

  it('should refuse a part that ends inside an escape', () => {
    expect(decode('quoted-printable', 'abc=4').reason).toMatch(/inside an "=" escape/);
  });

  it('should refuse a run of whitespace longer than a mail line, holding no more than that', () => {
    expect(decode('quoted-printable', ' '.repeat(998)).data).toEqual(Buffer.alloc(0));
    expect(decode('quoted-printable', ' '.repeat(999), [500]).reason).toMatch(/more than 998 spaces/);
  });
});
