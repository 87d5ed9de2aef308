/** createSearch (sampling, native and portable Horspool) and indexOfByte. */
import fc from 'fast-check';
import { createSampledSearch, createSearch, indexOfByte } from '../../lib/parser/boundary-search';

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

describe('createSampledSearch', () => {
  const delimiter = bytes('\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW9');
  // The fallback is the reference search, counted, so a test can tell which search answered.
  const counted = (pattern: Uint8Array): { search: (haystack: Uint8Array, from: number) => number; calls: number[] } => {
    const calls: number[] = [];
    const fallback = (haystack: Uint8Array, from: number): number => {
      calls.push(from);
      return naiveIndexOf(haystack, pattern, from);
    };
    return { search: createSampledSearch(pattern, fallback, 0), calls };
  };

  it('should agree with a byte-by-byte search on any haystack, long pattern and start', () => {
    // Two letters: windows of the pattern are everywhere, so candidates, misses and the fallback all run.
    const letters = fc.uint8Array({ min: 0, max: 1, maxLength: 300 });
    fc.assert(
      fc.property(letters, fc.uint8Array({ min: 0, max: 1, minLength: 3, maxLength: 40 }), fc.nat(310), (haystack, pattern, from) => {
        expect(createSampledSearch(pattern, (h, f) => naiveIndexOf(h, pattern, f), 0)(haystack, from)).toBe(naiveIndexOf(haystack, pattern, from));
      }),
      { numRuns: 1000 },
    );
  });

  it('should agree with a byte-by-byte search where the pattern is planted in random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(2000), { maxLength: 4 }), fc.nat(2000), fc.nat(2000), (noise, places, from, cut) => {
        const haystack = Uint8Array.from(noise);
        for (const place of places) if (place + delimiter.length <= haystack.length) haystack.set(delimiter, place);
        const view = haystack.subarray(0, Math.min(cut, haystack.length));
        expect(counted(delimiter).search(view, from)).toBe(naiveIndexOf(view, delimiter, from));
      }),
      { numRuns: 1000 },
    );
  });

  // Seeded random bytes, the same in every run.
  const noise = (size: number): Uint8Array => {
    const out = new Uint8Array(size);
    let x = 7;
    for (let i = 0; i < size; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    return out;
  };

  it('should find a delimiter planted at any offset of random data', () => {
    const base = noise(3000);
    const { search } = counted(delimiter);
    const wrong: number[] = [];
    for (let place = 0; place + delimiter.length <= base.length; place++) {
      const haystack = Uint8Array.from(base);
      haystack.set(delimiter, place);
      if (search(haystack, 0) !== naiveIndexOf(haystack, delimiter, 0)) wrong.push(place);
    }
    expect(wrong).toEqual([]);
  });

  it('should find a delimiter planted at any offset after the fallback took over', () => {
    // Twenty near-delimiters whose sampled windows all match (see the test below), then random bytes.
    const near = delimiter.subarray(0, delimiter.length - 1);
    const base = new Uint8Array(1 + near.length * 20 + 500);
    for (let i = 0; i < 20; i++) base.set(near, 1 + i * near.length);
    base.set(noise(500), 1 + near.length * 20);
    const wrong: number[] = [];
    let fallbacks = 0;
    for (let place = 0; place + delimiter.length <= base.length; place++) {
      const haystack = Uint8Array.from(base);
      haystack.set(delimiter, place);
      const { search, calls } = counted(delimiter);
      if (search(haystack, 0) !== naiveIndexOf(haystack, delimiter, 0)) wrong.push(place);
      fallbacks += calls.length;
    }
    expect(wrong).toEqual([]);
    // Most placements leave four misses before the delimiter: the fallback answered those.
    expect(fallbacks).toBeGreaterThan(500);
  });

  it('should find a delimiter in random data without the fallback', () => {
    const haystack = noise(64 * 1024);
    haystack.set(delimiter, 50_000);
    const { search, calls } = counted(delimiter);
    expect(search(haystack, 0)).toBe(50_000);
    expect(calls).toEqual([]);
  });

  it('should hand the rest of the haystack to the fallback after a few misses', () => {
    // Near-delimiters: the delimiter minus its last byte, over and over, then the delimiter itself.
    // One byte first, so that every sampled window falls inside a near-delimiter and matches.
    const near = delimiter.subarray(0, delimiter.length - 1);
    const haystack = new Uint8Array(1 + near.length * 100 + delimiter.length);
    for (let i = 0; i < 100; i++) haystack.set(near, 1 + i * near.length);
    haystack.set(delimiter, 1 + near.length * 100);
    const { search, calls } = counted(delimiter);
    expect(search(haystack, 0)).toBe(1 + near.length * 100);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeLessThan(near.length * 10);
  });

  it('should search with the fallback alone until the fallback has searched samplingAfter bytes', () => {
    const calls: number[] = [];
    const search = createSampledSearch(delimiter, (haystack, from) => {
      calls.push(from);
      return naiveIndexOf(haystack, delimiter, from);
    }, 100);
    const haystack = new Uint8Array(60);
    search(haystack, 0);
    search(haystack, 0);
    expect(calls).toEqual([0]);
  });

  it('should refuse patterns shorter than 3 or longer than 255 bytes with a RangeError', () => {
    const fallback = (): number => -1;
    expect(() => createSampledSearch(new Uint8Array(2), fallback)).toThrow(RangeError);
    expect(() => createSampledSearch(new Uint8Array(256), fallback)).toThrow(RangeError);
  });
});

describe('createSearch (long delimiters)', () => {
  it.each([
    ['native', true],
    ['portable', false],
  ])('should find a browser-length delimiter past its sampling warm-up (%s)', (_kind, useNative) => {
    const delimiter = bytes('\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW9');
    const search = createSearch(delimiter, useNative);
    const chunk = new Uint8Array(64 * 1024).fill(0x41);
    chunk.set(delimiter, 40_000);
    // The first calls warm up on the fallback; the later ones sample.
    for (let i = 0; i < 10; i++) {
      expect(search(chunk, 0)).toBe(40_000);
      expect(search(chunk, 40_001)).toBe(-1);
    }
  });
});
