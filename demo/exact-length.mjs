/**
 * A guard between a storage and an answer whose Content-Length is already sent.
 */
import { Transform } from 'node:stream';

/** The storage gave more or fewer bytes than the answer's Content-Length announced. */
export class LengthMismatch extends Error {
  /**
   * @param {number} expected
   * @param {number} got bytes seen when the mismatch showed (for too many: at least this).
   */
  constructor(expected, got) {
    super(`The storage gave ${got < expected ? got : `more than ${expected}`} bytes where ${expected} were announced.`);
    this.name = 'LengthMismatch';
  }
}

/**
 * Passes bytes through, failing with LengthMismatch unless exactly `length` go by. In a pipeline to
 * the response, the failure destroys the connection: the client sees a cut transfer (and can resume
 * it) instead of a wrong body, or a keep-alive connection waiting for bytes that never come.
 * @param {number} length the announced Content-Length.
 * @param {(bytes: number) => void} onBytes told the size of each chunk passed on (the log's figures).
 * @returns {Transform}
 * @example
 * res.writeHead(200, { 'Content-Length': String(file.size) });
 * await pipeline(await storage.open(id), expectLength(file.size, () => {}), res);
 */
export function expectLength(length, onBytes) {
  let seen = 0;
  return new Transform({
    transform(chunk, _encoding, callback) {
      seen += chunk.length;
      if (seen > length) {
        callback(new LengthMismatch(length, seen));
        return;
      }
      onBytes(chunk.length);
      callback(null, chunk);
    },
    flush(callback) {
      callback(seen === length ? null : new LengthMismatch(length, seen));
    },
  });
}
