/**
 * Finds a byte pattern in a chunk.
 *
 * A delimiter of 16 bytes or more is found by sampling: every occurrence of an m-byte pattern
 * covers exactly one of the 2-byte windows taken every m - 1 bytes, and a window that occurs
 * nowhere in the pattern (all but about 1 in 1500 in random data) rules out every occurrence
 * covering it. So the search reads 2 bytes in about 40, and its lookups (a bit per window) do not
 * wait on each other (Horspool's next position depends on the byte just read). Measured over a
 * 100 MiB body in 64 KiB chunks, it runs at about 1.5 times Node's native `Buffer.indexOf`, and at
 * 3 times over 1 KiB chunks, where the native call's own cost dominates. Data that keeps matching windows
 * (a file of near-delimiters) hands the rest of the chunk to the fallback after a few misses.
 *
 * The fallback, and the search for shorter patterns, is `Buffer.prototype.indexOf` on Node (it
 * accepts any Uint8Array as `this`), and a Boyer-Moore-Horspool search elsewhere.
 */

/** Index of the pattern in `haystack` at or after `from`, or -1. */
export type SearchFunction = (haystack: Uint8Array, from: number) => number;

type NativeIndexOf = (this: Uint8Array, value: Uint8Array | number, byteOffset: number) => number;

const nativeIndexOf = (globalThis as { Buffer?: { prototype: { indexOf: NativeIndexOf } } }).Buffer?.prototype.indexOf;
const typedArrayIndexOf = Uint8Array.prototype.indexOf;

/**
 * Index of `byte` in `bytes` at or after `from`, or -1. Node's memchr-based search when available:
 * V8's TypedArray indexOf is 45 times slower over 64 KiB.
 */
export function indexOfByte(bytes: Uint8Array, byte: number, from: number): number {
  return nativeIndexOf === undefined ? typedArrayIndexOf.call(bytes, byte, from) : nativeIndexOf.call(bytes, byte, from);
}

/** Patterns shorter than this go straight to the fallback: their sampling stride is too short to pay. */
const MIN_SAMPLED_LENGTH = 16;
/** Windows that matched the pattern without an occurrence, per call, before the fallback takes over. */
const MAX_MISSES = 4;
/** Bytes the fallback searches before the window set is built (and its 8 KiB allocated). */
const SAMPLING_AFTER = 256 * 1024;

/**
 * Creates a search for `pattern`.
 * @param pattern the bytes to find; 1 to 255 bytes without the native search (a RangeError otherwise).
 * @param useNative false forces the portable search (for tests and non-Node runtimes).
 */
export function createSearch(pattern: Uint8Array, useNative = nativeIndexOf !== undefined): SearchFunction {
  const fallback = useNative && nativeIndexOf !== undefined ? createNativeSearch(pattern, nativeIndexOf) : createHorspoolSearch(pattern);
  return pattern.length >= MIN_SAMPLED_LENGTH ? createSampledSearch(pattern, fallback) : fallback;
}

function createNativeSearch(pattern: Uint8Array, indexOf: NativeIndexOf): SearchFunction {
  return (haystack, from) => indexOf.call(haystack, pattern, from);
}

/**
 * The sampling search (see the top of this file). Its window set (8 KiB) is built once the
 * fallback has searched 256 KiB, so a body of small parts never pays for it.
 * @param pattern 3 to 255 bytes.
 * @param fallback searches the rest of a chunk where windows keep matching without an occurrence.
 * @param samplingAfter bytes searched by the fallback before sampling starts (0 in tests).
 */
export function createSampledSearch(pattern: Uint8Array, fallback: SearchFunction, samplingAfter = SAMPLING_AFTER): SearchFunction {
  const m = pattern.length;
  if (m < 3 || m > 255) throw new RangeError('pattern must be 3 to 255 bytes');
  let windows: Int32Array | undefined;
  let searched = 0;
  return (haystack, from) => {
    if (windows === undefined) {
      searched += haystack.length - from;
      if (searched < samplingAfter) return fallback(haystack, from);
      windows = indexWindows(pattern);
    }
    const found = searchWindows(haystack, from, pattern, windows);
    return found >= -1 ? found : fallback(haystack, -2 - found);
  };
}

/**
 * The pattern's windows as a set of bits: bit (a << 8 | b) is set when bytes a, b follow each other
 * somewhere in it. One bit per window, 8 KiB, where a table of each window's offset took a byte per
 * window, 64 KiB: every parse of a large body holds one for its life, so at 200 uploads at once
 * the table alone was 12.5 MiB (docs/load.md). Which offsets hold a window is read from the pattern
 * itself, on the rare window that is set. Measured over 100 MiB of random data in 64 KiB chunks,
 * the bits ran at 15.1-17.6 GB/s against 15.8-16.4 for the table: they stay in the L1 cache.
 */
function indexWindows(pattern: Uint8Array): Int32Array {
  const windows = new Int32Array(2048);
  for (let j = 0; j < pattern.length - 1; j++) {
    const window = (pattern[j]! << 8) | pattern[j + 1]!;
    windows[window >>> 5] = windows[window >>> 5]! | (1 << (window & 31));
  }
  return windows;
}

/**
 * The sampling loop, a plain function of its arguments. Measured on 100 files of 1 MiB: as a
 * closure over its tables it ran at 8 GB/s instead of 13 in one process of six (what V8 made of it
 * differed from one process to the next); as a plain function, 16 processes of 16 ran at 13-15 GB/s.
 * `(windows[w >>> 5] >>> w) & 1` is the bit of window w: a shift counts its right operand mod 32.
 * @returns the index of the first occurrence at or after `from`, -1 for none, or -2 - p to have the
 *   fallback search from p on (too many windows matched without an occurrence).
 */
function searchWindows(haystack: Uint8Array, from: number, pattern: Uint8Array, windows: Int32Array): number {
  const m = pattern.length;
  const stride = m - 1;
  const end = haystack.length;
  // Windows start at `at`, m - 1 apart; the first is the last window of an occurrence starting at `from`.
  let at = from + m - 2;
  // Eight windows at once while the eighth lies inside the haystack, then four: measured over
  // 100 MiB of random data in 64 KiB chunks, eight ran at 15.7 GB/s and four at 14.0-14.9.
  const eightFit = end - 1 - 7 * stride;
  const fourFit = end - 1 - 3 * stride;
  let misses = 0;
  for (;;) {
    if (at < eightFit) {
      const b = at + stride;
      const c = b + stride;
      const d = c + stride;
      const e = d + stride;
      const f = e + stride;
      const g = f + stride;
      const h = g + stride;
      const wa = (haystack[at]! << 8) | haystack[at + 1]!;
      const wb = (haystack[b]! << 8) | haystack[b + 1]!;
      const wc = (haystack[c]! << 8) | haystack[c + 1]!;
      const wd = (haystack[d]! << 8) | haystack[d + 1]!;
      const we = (haystack[e]! << 8) | haystack[e + 1]!;
      const wf = (haystack[f]! << 8) | haystack[f + 1]!;
      const wg = (haystack[g]! << 8) | haystack[g + 1]!;
      const wh = (haystack[h]! << 8) | haystack[h + 1]!;
      const any =
        ((windows[wa >>> 5]! >>> wa) & 1) |
        ((windows[wb >>> 5]! >>> wb) & 1) |
        ((windows[wc >>> 5]! >>> wc) & 1) |
        ((windows[wd >>> 5]! >>> wd) & 1) |
        ((windows[we >>> 5]! >>> we) & 1) |
        ((windows[wf >>> 5]! >>> wf) & 1) |
        ((windows[wg >>> 5]! >>> wg) & 1) |
        ((windows[wh >>> 5]! >>> wh) & 1);
      if (any === 0) {
        at = h + stride;
        continue;
      }
    } else if (at < fourFit) {
      const b = at + stride;
      const c = b + stride;
      const d = c + stride;
      const wa = (haystack[at]! << 8) | haystack[at + 1]!;
      const wb = (haystack[b]! << 8) | haystack[b + 1]!;
      const wc = (haystack[c]! << 8) | haystack[c + 1]!;
      const wd = (haystack[d]! << 8) | haystack[d + 1]!;
      const any =
        ((windows[wa >>> 5]! >>> wa) & 1) |
        ((windows[wb >>> 5]! >>> wb) & 1) |
        ((windows[wc >>> 5]! >>> wc) & 1) |
        ((windows[wd >>> 5]! >>> wd) & 1);
      if (any === 0) {
        at = d + stride;
        continue;
      }
    } else if (at + 1 >= end) {
      return -1;
    }
    const first = haystack[at]!;
    const second = haystack[at + 1]!;
    const window = (first << 8) | second;
    if (((windows[window >>> 5]! >>> window) & 1) !== 0) {
      // Each offset j where the pattern holds this window puts a candidate at `at - j`; the
      // greatest j first, so that the candidates come in increasing order.
      for (let j = m - 2; j >= 0; j--) {
        if (pattern[j] !== first || pattern[j + 1] !== second) continue;
        const start = at - j;
        if (start >= from && start + m <= end && isAt(haystack, start, pattern)) return start;
      }
      // Every occurrence starting at or before `at` covers a window already checked.
      if (++misses === MAX_MISSES) return -2 - (at + 1);
    }
    at += stride;
  }
}

function isAt(haystack: Uint8Array, start: number, pattern: Uint8Array): boolean {
  const m = pattern.length;
  if (haystack[start] !== pattern[0] || haystack[start + m - 1] !== pattern[m - 1]) return false;
  for (let i = 1; i < m - 1; i++) if (haystack[start + i] !== pattern[i]) return false;
  return true;
}

export function createHorspoolSearch(pattern: Uint8Array): SearchFunction {
  const last = pattern.length - 1;
  // A Uint8Array skip table is enough: delimiters are at most 74 bytes (RFC 2046 caps the
  // boundary at 70), so every shift fits in a byte. A 256-byte pattern would store its default
  // shift of 256 as 0 and loop forever; an empty one has no last byte to compare.
  if (pattern.length === 0 || pattern.length > 255) throw new RangeError('pattern must be 1 to 255 bytes');
  const skip = new Uint8Array(256).fill(pattern.length);
  for (let i = 0; i < last; i++) skip[pattern[i]!] = last - i;
  const tail = pattern[last]!;
  return (haystack, from) => {
    let at = from;
    const end = haystack.length - pattern.length;
    while (at <= end) {
      const byte = haystack[at + last]!;
      if (byte === tail) {
        let i = last - 1;
        while (i >= 0 && haystack[at + i] === pattern[i]) i--;
        if (i < 0) return at;
      }
      at += skip[byte]!;
    }
    return -1;
  };
}
