/**
 * The edges of a body's framing: what may follow the closing delimiter, what may come before the
 * first one, and which part a body that ends early names; each under every cut into two or three
 * chunks.
 */
import { CLOSE, CRLF, errorOf, field, file, OPEN, parse, parseChunks, summary } from '../support/parser-driver';

const BODY = `${field('title', 'Hello')}${file('upload', 'a.txt', 'file\r\nbytes', 'text/plain')}${CLOSE}`;
const PARTS = [
  { name: 'title', filename: undefined, contentType: 'text/plain', data: 'Hello', isEnded: true },
  { name: 'upload', filename: 'a.txt', contentType: 'text/plain', data: 'file\r\nbytes', isEnded: true },
];

/** Every way to cut `body` into two or three chunks (empty chunks included). */
function* cuts(body: string): Generator<string[]> {
  for (let i = 0; i <= body.length; i++) {
    for (let j = i; j <= body.length; j++) yield [body.slice(0, i), body.slice(i, j), body.slice(j)];
  }
}

/** The distinct outcomes of parsing `body` under every cut into up to three chunks. */
function outcomes(body: string): unknown[] {
  const seen = new Map<string, unknown>();
  for (const chunks of cuts(body)) {
    const outcome = summary(parseChunks(chunks));
    seen.set(JSON.stringify(outcome), outcome);
  }
  return [...seen.values()];
}

describe('the framing of a body', () => {
  describe('after the closing delimiter', () => {
    it.each([
      ['nothing', ''],
      ['a lone CR', '\r'],
      ['a lone LF', '\n'],
      ['CRLF', CRLF],
      ['bytes without a line break', 'epilogue'],
      ['transport padding', ' \t'],
      ['a CR and bytes', '\rtrailing'],
      ['what looks like another part', `${CRLF}${field('late', 'x')}`],
      ['a truncated delimiter', `${CRLF}--AaB0`],
    ])('should complete with the parts whatever the cut when %s follows', (_what, epilogue) => {
      expect(outcomes(`${BODY}${epilogue}`)).toEqual([{ parts: PARTS, isComplete: true, error: undefined }]);
    });

    it('should complete the empty form "--boundary--" followed by a lone CR', () => {
      expect(outcomes(`${CLOSE}\r`)).toEqual([{ parts: [], isComplete: true, error: undefined }]);
    });
  });

  describe('before the first delimiter', () => {
    it('should refuse a closing delimiter after a preamble and no part with MALFORMED_PREAMBLE and status 400', () => {
      const error = errorOf(parse(`--AaB03y${CRLF}Content-Disposition: form-data; name="a"${CRLF}${CRLF}lost${CRLF}${CLOSE}${CRLF}`));
      expect([error.code, error.status]).toEqual(['MALFORMED_PREAMBLE', 400]);
    });

    it("should name the preamble's size in bytes", () => {
      const preamble = 'x'.repeat(37);
      expect(errorOf(parse(`${preamble}${CRLF}${CLOSE}`)).message).toMatch(/\b37 bytes\b/);
    });

    it('should refuse a preamble without a closing CRLF of its own under every cut', () => {
      expect(outcomes(`junk${CRLF}${CLOSE}${CRLF}`)).toEqual([{ parts: [], isComplete: false, error: 'MALFORMED_PREAMBLE' }]);
    });

    it.each([
      ['alone', CLOSE],
      ['after a CRLF', `${CRLF}${CLOSE}`],
      ['followed by CRLF', `${CLOSE}${CRLF}`],
    ])('should read the empty form %s as zero parts', (_what, body) => {
      expect(outcomes(body)).toEqual([{ parts: [], isComplete: true, error: undefined }]);
    });

    it('should still ignore a preamble before a first delimiter that opens a part', () => {
      expect(summary(parse(`preamble${CRLF}${BODY}`))).toEqual({ parts: PARTS, isComplete: true, error: undefined });
    });

    it('should still refuse a body of preamble alone with UNEXPECTED_END', () => {
      expect(errorOf(parse(`preamble${CRLF}`)).code).toBe('UNEXPECTED_END');
    });
  });

  describe('a body that ends early', () => {
    it('should name the part whose header block it ends in, by index', () => {
      const error = errorOf(parse(`${field('a', '1')}${OPEN}${CRLF}Content-Disposition: form-da`));
      expect([error.code, error.partIndex, error.fieldName]).toEqual(['UNEXPECTED_END', 1, undefined]);
    });

    it('should name the file it ends in, with its field name and filename', () => {
      const error = errorOf(parse(`${field('a', '1')}${file('up', 'u.bin', 'partial').slice(0, -2)}`));
      expect([error.code, error.partIndex, error.fieldName, error.filename]).toEqual(['UNEXPECTED_END', 1, 'up', 'u.bin']);
    });

    it('should name no part when it ends between a delimiter and the next header block', () => {
      const error = errorOf(parse(`${field('a', '1')}${OPEN}`));
      expect([error.code, error.partIndex]).toEqual(['UNEXPECTED_END', undefined]);
    });
  });
});
