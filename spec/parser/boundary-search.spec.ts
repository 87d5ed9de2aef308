/** createSearch (native and portable Horspool) and indexOfByte. */
import fc from 'fast-check';
import { createSearch, indexOfByte } from '../../lib/parser/boundary-search';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

// The reference: compare at every offset.
function naiveIndexOf(haystack: Uint8Array, pattern: Uint8Array, from: number): number {
  for (let at = Math.max(0, from); at + pattern.length <= haystack.length; at++) {
    let i = 0;
    while (i < pattern.length && haystack[at + i] === pattern[i]) i++;
    if (i === pattern.length) return at;
  }
  return -1;
}

describe.each([
  ['native', true],
  ['portable', false],
])('createSearch (%s)', (_kind, useNative) => {
  const search = (haystack: string, pattern: string, from = 0): number => createSearch(bytes(pattern), useNative)(bytes(haystack), from);

  it('should find the pattern at the start of the haystack', () => {
    expect(search('\r\n--b rest', '\r\n--b')).toBe(0);
  });

  it('should find the pattern in the middle of the haystack', () => {
    expect(search('data\r\n--b rest', '\r\n--b')).toBe(4);
  });

  it('should find the pattern at the very end of the haystack', () => {
    expect(search('data\r\n--b', '\r\n--b')).toBe(4);
  });

  it('should return -1 when only a prefix of the pattern ends the haystack', () => {
    expect(search('data\r\n--', '\r\n--b')).toBe(-1);
  });

  it('should return -1 when the haystack is shorter than the pattern', () => {
    expect(search('\r\n', '\r\n--b')).toBe(-1);
  });

  it('should return the first occurrence at or after from', () => {
    expect(search('xAByABzAB', 'AB', 2)).toBe(4);
  });

  it('should return -1 when from is past the last occurrence', () => {
    expect(search('xAByAB', 'AB', 5)).toBe(-1);
  });

  it('should find an occurrence overlapping the one before it', () => {
    expect(search('aaaa', 'aaa', 1)).toBe(1);
  });

  it('should find a pattern whose last byte also occurs earlier in it', () => {
    expect(search('abaabab', 'abab')).toBe(3);
  });

  it('should find a 74-byte delimiter, the longest RFC 2046 allows', () => {
    const delimiter = `\r\n--${'Zz'.repeat(35)}`;
    expect(search(`${delimiter.slice(0, -1)}y${delimiter}`, delimiter)).toBe(delimiter.length);
  });

  it('should search only the bytes of a subarray view', () => {
    const whole = bytes('AB--------AB');
    const view = whole.subarray(2, 10);
    expect(createSearch(bytes('AB'), useNative)(view, 0)).toBe(-1);
  });

  it('should agree with a byte-by-byte search on any haystack, pattern and start', () => {
    // A four-letter alphabet makes matches and near-matches frequent.
    const small = fc.uint8Array({ min: 0, max: 3, maxLength: 80 });
    fc.assert(
      fc.property(small, fc.uint8Array({ min: 0, max: 3, minLength: 1, maxLength: 8 }), fc.nat(90), (haystack, pattern, from) => {
        expect(createSearch(pattern, useNative)(haystack, from)).toBe(naiveIndexOf(haystack, pattern, from));
      }),
      { numRuns: 500 },
    );
  });
});

describe('createSearch (portable only)', () => {
  it('should find a 255-byte pattern, the longest its byte-sized skip table can shift', () => {
    const pattern = Uint8Array.from({ length: 255 }, (_, i) => i);
    const haystack = new Uint8Array(600);
    haystack.set(pattern, 300);
    expect(createSearch(pattern, false)(haystack, 0)).toBe(300);
  });

  it('should refuse a pattern longer than 255 bytes with a RangeError', () => {
    expect(() => createSearch(new Uint8Array(256).fill(7), false)).toThrow(RangeError);
  });

  it('should refuse an empty pattern with a RangeError', () => {
    expect(() => createSearch(new Uint8Array(0), false)).toThrow(RangeError);
  });
});

describe('indexOfByte', () => {
  it('should find the first byte at or after from', () => {
    expect(indexOfByte(bytes('a\rb\rc'), 13, 2)).toBe(3);
  });

  it('should find the byte at from itself', () => {
    expect(indexOfByte(bytes('a\rb'), 13, 1)).toBe(1);
  });

  it('should return -1 when the byte is absent after from', () => {
    expect(indexOfByte(bytes('a\rb'), 13, 2)).toBe(-1);
  });

  it('should search only the bytes of a subarray view', () => {
    const view = bytes('\rabc\r').subarray(1, 4);
    expect(indexOfByte(view, 13, 0)).toBe(-1);
  });
});
