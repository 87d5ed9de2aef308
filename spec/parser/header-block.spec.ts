/** parseHeaderBlock: a part's header lines as lower-cased names to values. */
import { HeaderBlockError, parseHeaderBlock } from '../../lib/parser/header-block';

const PAIRS = 2000;

function headersOf(text: string, maxPairs = PAIRS): Record<string, string> {
  const headers = parseHeaderBlock(text, maxPairs);
  if (headers instanceof HeaderBlockError) throw new Error(`expected headers, got ${headers.code}: ${headers.message}`);
  return headers;
}

function errorOf(text: string, maxPairs = PAIRS): HeaderBlockError {
  const headers = parseHeaderBlock(text, maxPairs);
  if (!(headers instanceof HeaderBlockError)) throw new Error(`expected an error, got ${JSON.stringify(headers)}`);
  return headers;
}

describe('parseHeaderBlock', () => {
  describe('names and values', () => {
    it('should read each line as a name and a value', () => {
      expect({ ...headersOf('Content-Disposition: form-data; name="a"\r\nContent-Type: text/plain') }).toEqual({
        'content-disposition': 'form-data; name="a"',
        'content-type': 'text/plain',
      });
    });

    it('should lower-case header names in any case', () => {
      expect(Object.keys(headersOf('CONTENT-TYPE: a\r\nx-CuStOm: b'))).toEqual(['content-type', 'x-custom']);
    });

    it('should trim whitespace around a value', () => {
      expect(headersOf('X-A: \t value \t')['x-a']).toBe('value');
    });

    it('should read a value without whitespace after the colon', () => {
      expect(headersOf('X-A:value')['x-a']).toBe('value');
    });

    it('should read an empty value', () => {
      expect(headersOf('X-Empty:')['x-empty']).toBe('');
    });

    it('should give an empty record for an empty block', () => {
      expect(Object.keys(headersOf(''))).toEqual([]);
    });

    it('should store a header named __proto__ as an ordinary key', () => {
      const headers = headersOf('__proto__: x');
      expect([headers['__proto__'], Object.keys(headers)]).toEqual(['x', ['__proto__']]);
    });
  });

  describe('repeated headers', () => {
    it('should join a repeated header with ", "', () => {
      expect(headersOf('X-A: 1\r\nx-a: 2\r\nX-A: 3')['x-a']).toBe('1, 2, 3');
    });

    it('should refuse a repeated Content-Disposition with MALFORMED_HEADER', () => {
      expect(errorOf('Content-Disposition: form-data; name="a"\r\ncontent-disposition: form-data; name="b"').code).toBe('MALFORMED_HEADER');
    });

    it('should refuse a repeated Content-Type with MALFORMED_HEADER', () => {
      expect(errorOf('Content-Type: text/plain\r\nContent-Type: image/png').code).toBe('MALFORMED_HEADER');
    });
  });

  describe('continuation lines', () => {
    it('should unfold an obs-fold line into one space', () => {
      expect(headersOf('Content-Disposition: form-data;\r\n \t name="a"')['content-disposition']).toBe('form-data; name="a"');
    });

    it('should unfold several folded lines in order', () => {
      expect(headersOf('X-A: 1\r\n 2\r\n\t3')['x-a']).toBe('1 2 3');
    });

    it('should unfold a header folded over 32 lines', () => {
      const folded = `X-A: 0${Array.from({ length: 32 }, (_, i) => `\r\n ${i + 1}`).join('')}`;
      expect(headersOf(folded)['x-a']).toBe(Array.from({ length: 33 }, (_, i) => i).join(' '));
    });

    it('should refuse a header folded over more than 32 lines with MALFORMED_HEADER', () => {
      // Each folded line re-reads the value for an open quote: uncapped, 1500 folds per part made
      // a megabyte of body cost 16 s.
      const folded = `Content-Disposition: form-data; name="a"${Array.from({ length: 33 }, (_, i) => `\r\n ;x${i}=1`).join('')}`;
      expect(errorOf(folded).code).toBe('MALFORMED_HEADER');
    });

    it('should keep a raw CRLF inside a quoted string left open at the end of a line', () => {
      expect(headersOf('Content-Disposition: form-data; name="a\r\nb"')['content-disposition']).toBe('form-data; name="a\r\nb"');
    });

    it('should keep the whitespace that ends a line inside an open quoted string', () => {
      expect(headersOf('Content-Disposition: form-data; name="a \r\n b"')['content-disposition']).toBe('form-data; name="a \r\n b"');
    });

    it('should start a new header after the recovered quoted string closes', () => {
      const headers = headersOf('Content-Disposition: form-data; name="a\r\nb"\r\nContent-Type: text/plain');
      expect(headers['content-type']).toBe('text/plain');
    });

    it('should refuse a folded first line with MALFORMED_HEADER', () => {
      expect(errorOf(' X-A: 1').code).toBe('MALFORMED_HEADER');
    });
  });

  describe('malformed lines', () => {
    it('should refuse a line without a colon with MALFORMED_HEADER', () => {
      expect(errorOf('X-A: 1\r\nnot a header').code).toBe('MALFORMED_HEADER');
    });

    it('should refuse whitespace between a name and its colon with MALFORMED_HEADER', () => {
      expect(errorOf('Content-Type : text/plain').code).toBe('MALFORMED_HEADER');
    });

    it('should refuse a line with an empty name with MALFORMED_HEADER', () => {
      expect(errorOf(': value').code).toBe('MALFORMED_HEADER');
    });

    it('should refuse a name holding a character outside the RFC 9110 token set with MALFORMED_HEADER', () => {
      expect(errorOf('X(A): 1').code).toBe('MALFORMED_HEADER');
    });

    it('should refuse an empty line inside the block with MALFORMED_HEADER', () => {
      expect(errorOf('X-A: 1\r\n\r\nX-B: 2').code).toBe('MALFORMED_HEADER');
    });
  });

  describe('headerPairs', () => {
    it('should accept exactly maxPairs header lines', () => {
      expect(Object.keys(headersOf('A: 1\r\nB: 2\r\nC: 3', 3))).toHaveLength(3);
    });

    it('should refuse more than maxPairs header lines with LIMIT_HEADER_PAIRS', () => {
      expect(errorOf('A: 1\r\nB: 2\r\nC: 3', 2).code).toBe('LIMIT_HEADER_PAIRS');
    });

    it('should count every line of a repeated header', () => {
      expect(errorOf('A: 1\r\nA: 2\r\nA: 3', 2).code).toBe('LIMIT_HEADER_PAIRS');
    });

    it('should not count folded lines as pairs', () => {
      expect(headersOf('A: 1\r\n 2\r\n 3', 1)['a']).toBe('1 2 3');
    });
  });
});
