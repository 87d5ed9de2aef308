/**
 * The `Range` request header (RFC 9110 §14.1, §14.2): which bytes of a file of known size a
 * client asks for, reduced to what the server will send.
 */

// RFC 9110 §14.1.1 int-range ("first-last" or "first-") and suffix-range ("-length"); no
// whitespace inside a range-spec.
const RANGE_SPEC = /^(?:(\d+)-(\d*)|-(\d+))$/;
// OWS around list elements (RFC 9110 §5.6.1, §5.6.3).
const OWS = /^[ \t]+|[ \t]+$/g;

/**
 * @typedef {{ start: number, end: number }} ByteRange an inclusive byte range, both ends in the file.
 */

/**
 * Parses a Range header value against a file of `size` bytes.
 *
 * - `undefined`: the header is to be ignored, and the whole file sent with 200: absent; another
 *   range unit than `bytes` (RFC 9110 §14.2: "An origin server MUST ignore a Range header field
 *   that contains a range unit it does not understand"); an invalid ranges-specifier (garbage, an
 *   int-range whose last-pos is below its first-pos, §14.1.1), which §14.2 lets a server ignore;
 *   or a set whose only satisfiable ranges are suffix ranges of an empty file. Those are
 *   satisfiable (§14.1.1: "When a selected representation has zero length, the only satisfiable
 *   form of range-spec is a suffix-range with a non-zero suffix-length") but select no byte, and a
 *   206 cannot say so: Content-Range needs a last-pos at or after its first-pos (§14.4). The whole,
 *   empty, file with 200 is the answer §14.2 allows ("A server MAY ignore the Range header field").
 * - `[]`: no range is satisfiable (§14.1.1: a first-pos at or past the size, a suffix of 0, any
 *   int-range of an empty file): 416.
 * - otherwise the satisfiable ranges, in the order asked, each clipped to the file: a last-pos past
 *   the end means the end (§14.1.2), a suffix longer than the file means all of it.
 *
 * @param {string | undefined} value the header as Node gives it (repeated headers joined by ", ").
 * @param {number} size the file's size in bytes.
 * @returns {ByteRange[] | undefined}
 * @example
 * parseRange('bytes=0-99', 1000);   // [{ start: 0, end: 99 }]
 * parseRange('bytes=-100', 1000);   // [{ start: 900, end: 999 }]
 * parseRange('bytes=1000-', 1000);  // []
 * parseRange('items=0-1', 1000);    // undefined
 */
export function parseRange(value, size) {
  if (value === undefined) return undefined;
  const equals = value.indexOf('=');
  // Range units are case-insensitive (§14.1).
  if (equals === -1 || value.slice(0, equals).toLowerCase() !== 'bytes') return undefined;
  // A recipient ignores empty list elements (§5.6.1.2); at least one range-spec is needed (1#).
  const specs = value.slice(equals + 1).split(',').map((spec) => spec.replace(OWS, '')).filter((spec) => spec !== '');
  if (specs.length === 0) return undefined;

  /** @type {ByteRange[]} */
  const ranges = [];
  let hasEmptySuffix = false;
  for (const spec of specs) {
    const match = RANGE_SPEC.exec(spec);
    if (match === null) return undefined;
    const [, first, last, suffix] = match;
    if (suffix !== undefined) {
      // Number() of a long digit string loses precision but not order, which is all that matters here.
      const length = Number(suffix);
      if (length === 0) continue;
      if (size === 0) hasEmptySuffix = true;
      else ranges.push({ start: Math.max(0, size - length), end: size - 1 });
    } else {
      const start = Number(first);
      const end = last === '' ? Infinity : Number(last);
      if (end < start) return undefined;
      if (start < size) ranges.push({ start, end: Math.min(end, size - 1) });
    }
  }
  return ranges.length === 0 && hasEmptySuffix ? undefined : ranges;
}

/**
 * Sorts ranges and merges those that overlap or lie closer than `maxGap` bytes apart (RFC 9110
 * §15.3.7.2: a server "MAY coalesce any of the ranges that overlap, or that are separated by a gap
 * that is smaller than the overhead of sending multiple parts, regardless of the order"; a client
 * reads each part's Content-Range rather than rely on the order it asked for).
 *
 * @param {readonly ByteRange[]} ranges satisfiable ranges, as parseRange gives them.
 * @param {number} maxGap bytes of gap worth sending rather than starting a new part.
 * @returns {ByteRange[]} disjoint ranges in ascending order.
 * @example
 * coalesceRanges([{ start: 500, end: 599 }, { start: 0, end: 99 }, { start: 50, end: 149 }], 80);
 * // [{ start: 0, end: 149 }, { start: 500, end: 599 }]
 */
export function coalesceRanges(ranges, maxGap) {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  /** @type {ByteRange[]} */
  const merged = [];
  for (const range of sorted) {
    const previous = merged.at(-1);
    if (previous !== undefined && range.start <= previous.end + 1 + maxGap) {
      merged[merged.length - 1] = { start: previous.start, end: Math.max(previous.end, range.end) };
    } else {
      merged.push(range);
    }
  }
  return merged;
}
