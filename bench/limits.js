'use strict';
/**
 * The limits every parser is measured against, run over the same chunks:
 * - `search`: find every delimiter with Buffer.indexOf, carrying a possible partial delimiter
 *   across chunk edges (what any correct streaming parser must do at the least);
 * - `search+copy`: the same plus one copy of every byte (a parser that copies its input once);
 * - `read`: read one byte of every 64-byte cache line and do nothing else. A delimiter shorter
 *   than a line (45 bytes in these bodies) may start in any line, so every correct parser brings
 *   every line of the body in from memory at least once: on a body larger than the caches, this
 *   is the machine's memory read speed, which no parser can beat.
 * `search` and `search+copy` return the delimiters they found as `parts`, so a run is checked like
 * a parser's; `read` returns the bytes it went over, checked against the body's length.
 */

/** Returns a search over chunks for `\r\n--boundary`; `sink` (a Buffer) makes it copy each chunk into it. */
function createDelimiterSearch(boundary, sink) {
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const length = delimiter.length;
  return function search(chunks) {
    let found = 0;
    let bytes = 0;
    // Bytes of the delimiter matched at the end of the previous chunk (a partial delimiter).
    let carried = 0;
    for (const chunk of chunks) {
      if (sink !== undefined) chunk.copy(sink, 0);
      bytes += chunk.length;
      let at = 0;
      if (carried > 0) {
        const needed = length - carried;
        const available = Math.min(needed, chunk.length);
        if (delimiter.compare(chunk, 0, available, carried, carried + available) === 0) {
          if (available === needed) {
            found++;
            at = needed;
            carried = 0;
          } else {
            carried += available;
            continue;
          }
        } else {
          // No match can start later inside the carried bytes: they are a delimiter prefix, whose
          // only CR is its first byte.
          carried = 0;
        }
      }
      for (let hit = chunk.indexOf(delimiter, at); hit !== -1; hit = chunk.indexOf(delimiter, at)) {
        found++;
        at = hit + length;
      }
      // The longest tail that is a prefix of the delimiter: it starts at a CR in the last length-1 bytes.
      for (let cr = chunk.indexOf(13, Math.max(at, chunk.length - length + 1)); cr !== -1; cr = chunk.indexOf(13, cr + 1)) {
        if (delimiter.compare(chunk, cr, chunk.length, 0, chunk.length - cr) === 0) {
          carried = chunk.length - cr;
          break;
        }
      }
    }
    return { parts: found, bytes, names: 0 };
  };
}

/** Reads one byte per 64 bytes of every chunk (a line each, whatever the chunk's alignment). */
function readEveryLine(chunks) {
  let bytes = 0;
  // Summed and returned, so the loads cannot be optimised away.
  let sum = 0;
  for (const chunk of chunks) {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i += 64) sum = (sum + chunk[i]) | 0;
  }
  return { parts: 0, bytes, names: 0, sum };
}

/** Parser drivers for the limits, shaped like the real parsers' (see parsers.js). */
const LIMITS = [
  {
    name: 'search',
    label: 'limit: search',
    checks: 'delimiters',
    load: async () => (input) => createDelimiterSearch(input.boundary)(input.chunks),
  },
  {
    name: 'search+copy',
    label: 'limit: search+copy',
    checks: 'delimiters',
    load: async () => {
      let sink;
      return (input) => {
        // Sized once to the largest chunk, outside the runs after the first (warm-up) one.
        if (sink === undefined) {
          let largest = 0;
          for (const chunk of input.chunks) largest = Math.max(largest, chunk.length);
          sink = Buffer.allocUnsafe(largest);
        }
        return createDelimiterSearch(input.boundary, sink)(input.chunks);
      };
    },
  },
  {
    name: 'read',
    label: 'limit: memory read',
    checks: 'body bytes',
    // Only where the body must come from memory: built whole, and larger than the caches.
    appliesTo: (benchCase) => benchCase.readsMemory === true,
    load: async () => (input) => readEveryLine(input.chunks),
  },
];

module.exports = { LIMITS, createDelimiterSearch, readEveryLine };
