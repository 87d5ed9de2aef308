/**
 * A `multipart/byteranges` body (RFC 9110 §14.6): several ranges of one file in one 206 answer,
 * each part with its Content-Type and Content-Range. Its length is known before the first byte,
 * so the answer has a Content-Length like any other.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * @typedef {import('./byte-ranges.mjs').ByteRange} ByteRange
 * @typedef {object} ByterangesPlan
 * @property {string} contentType `multipart/byteranges; boundary=...`.
 * @property {number} length the body's exact length in bytes.
 * @property {{ head: Buffer, range: ByteRange }[]} parts each part's delimiter and headers, and its range.
 * @property {Buffer} tail the close delimiter.
 */

/**
 * Lays out the body for `ranges` of a file of `size` bytes and type `type`.
 * @param {readonly ByteRange[]} ranges two or more disjoint ranges.
 * @param {number} size the file's size.
 * @param {string} type the file's Content-Type, repeated in each part (§14.6).
 * @returns {ByterangesPlan}
 * @example
 * const plan = planByteranges([{ start: 0, end: 99 }, { start: 900, end: 999 }], 1000, 'image/png');
 * res.writeHead(206, { 'Content-Type': plan.contentType, 'Content-Length': String(plan.length) });
 */
export function planByteranges(ranges, size, type) {
  const boundary = newBoundary();
  const parts = ranges.map((range, index) => ({ head: partHead(boundary, type, range, size, index === 0), range }));
  // The body ends with the close delimiter and a CRLF, as RFC 9110's example does.
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const length = parts.reduce((sum, part) => sum + part.head.length + (part.range.end - part.range.start + 1), tail.length);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, length, parts, tail };
}

/**
 * What sending one more part costs beyond its bytes: ranges closer than this are better sent as one
 * (see coalesceRanges). Measured on the longest Content-Range the file can have.
 * @param {number} size the file's size.
 * @param {string} type the file's Content-Type.
 * @returns {number} bytes: about 130 for `application/octet-stream`.
 */
export function partOverhead(size, type) {
  return partHead(newBoundary(), type, { start: size, end: size }, size, false).length;
}

/**
 * The body's bytes, each range read from the storage only when its turn comes. Destroying the
 * returned stream destroys the storage stream being read (a client that leaves mid-body).
 * @param {ByterangesPlan} plan
 * @param {(range: ByteRange) => Promise<Readable>} open the storage's bytes for a range.
 * @param {Readable} first the first part's bytes, opened already (so a file that vanished is a 404
 *   before any header was sent).
 * @returns {Readable}
 * @example
 * const first = await storage.open(id, plan.parts[0].range);
 * await pipeline(streamByteranges(plan, (range) => storage.open(id, range), first), res);
 */
export function streamByteranges(plan, open, first) {
  /** @type {Readable | undefined} */
  let current = first;
  async function* generate() {
    for (const [index, part] of plan.parts.entries()) {
      yield part.head;
      if (index > 0) {
        current = await open(part.range);
        // Destroyed while the part was being opened: the close handler below saw the previous one.
        if (body.destroyed) {
          current.destroy();
          return;
        }
      }
      // A for-await over a stream destroys it when the loop is left early.
      for await (const chunk of /** @type {Readable} */ (current)) yield chunk;
    }
    yield plan.tail;
  }
  const body = Readable.from(generate(), { objectMode: false });
  // The generator may be waiting for a chunk when the body is destroyed; it would only let go of
  // the storage stream at its next chunk, so the stream is destroyed from here.
  body.once('close', () => {
    current?.destroy();
    // A part not yet reached was never opened; the first one was, before the body existed.
    first.destroy();
  });
  return body;
}

/**
 * A boundary of 128 random bits: it must not occur in the parts, and cannot be checked against
 * bytes not yet read (RFC 2046 §5.1.1: at most 70 characters; these are 43).
 */
function newBoundary() {
  return `byteranges-${randomBytes(16).toString('hex')}`;
}

/**
 * A part's delimiter (preceded by the CRLF that ends the previous part's bytes) and headers.
 * @param {string} boundary
 * @param {string} type
 * @param {ByteRange} range
 * @param {number} size
 * @param {boolean} isFirst
 */
function partHead(boundary, type, range, size, isFirst) {
  return Buffer.from(`${isFirst ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`, 'latin1');
}
