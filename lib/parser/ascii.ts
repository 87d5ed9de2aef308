/**
 * ASCII helpers for header text: character classes and lower-casing without allocation.
 */

// RFC 9110 §5.6.2 tchar.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** Whether the UTF-16 code unit is an RFC 9110 tchar. */
export function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/** Space or horizontal tab (RFC 9110 OWS). */
export function isWhitespace(code: number): boolean {
  return code === 32 /* SP */ || code === 9 /* HT */;
}

/**
 * `text.slice(start, end).toLowerCase()`, but returns the matching constant from `known` when
 * there is one: a fresh string costs 70-100 ns to make and again to use as a property key.
 * @param known lower-case strings of tchars.
 */
export function lowerCaseSlice(text: string, start: number, end: number, known: readonly string[]): string {
  const length = end - start;
  for (const candidate of known) {
    if (candidate.length === length && equalsIgnoringCase(text, start, candidate)) return candidate;
  }
  return text.slice(start, end).toLowerCase();
}

// `known` is lower case. OR-ing 0x20 lower-cases an ASCII letter; it is applied to letters only,
// since it would also map CR to '-'.
function equalsIgnoringCase(text: string, start: number, known: string): boolean {
  for (let i = 0; i < known.length; i++) {
    const code = text.charCodeAt(start + i);
    const expected = known.charCodeAt(i);
    if (code !== expected && ((code | 0x20) !== expected || expected < 97 /* a */ || expected > 122 /* z */)) return false;
  }
  return true;
}
