'use strict';
/**
 * The two limits every parser is measured against, run over the same chunks:
 * - `search`: find every delimiter with Buffer.indexOf, carrying a possible partial delimiter
 *   across chunk edges (what any correct streaming parser must do at the least);
 * - `search+copy`: the same plus one copy of every byte (a parser that copies its input once).
 * Each returns the delimiters it found as `parts` so the run is checked like a parser's.
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

/** Parser drivers for the limits, shaped like the real parsers' (see parsers.js). */
const LIMITS = [
  {
    name: 'search',
    label: 'limit: search',
    load: async () => (input) => createDelimiterSearch(input.boundary)(input.chunks),
  },
  {
    name: 'search+copy',
    label: 'limit: search+copy',
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
];

module.exports = { LIMITS, createDelimiterSearch };
