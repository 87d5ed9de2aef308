/**
 * The byte-range rules every storage's `open(id, range)` shares, so that all of them read the same
 * bytes for the same range whatever their backend does at the edges (S3 answers 416 for a range
 * that starts at the end, ignores a malformed one and sends the whole object; the GridFS driver
 * fails a start past the length; `fs.createReadStream` clips).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ByteRange } from './file-storage.js';

/**
 * The part of an inclusive `range` that lies in a file of `size` bytes: its end clipped to the last
 * byte, or undefined when it starts at or past the end, so there is no byte to read.
 *
 * @param range the range asked for: `start` and `end` whole numbers, `0 <= start <= end`.
 * @param size the file's size in bytes.
 * @returns the range to read, or undefined for none.
 * @throws RangeError with `code` 'ERR_OUT_OF_RANGE' (as Node's own checks) when `range` is not a
 *   range: a bound that is not a whole number >= 0, or an end before the start.
 * @example
 * clipRange({ start: 90, end: 199 }, 100); // { start: 90, end: 99 }
 * clipRange({ start: 100, end: 199 }, 100); // undefined
 */
export function clipRange(range: ByteRange, size: number): ByteRange | undefined {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw Object.assign(new RangeError(`Not a byte range: ${JSON.stringify({ start, end })}; it needs whole numbers with 0 <= start <= end.`), {
      code: 'ERR_OUT_OF_RANGE',
    });
  }
  if (start >= size) return undefined;
  return end < size ? range : { start, end: size - 1 };
}

/**
 * Reads `range` of a file of `size` bytes by the rules above: the whole file when no range is
 * given, the range clipped to the file, or an empty stream when no byte of it is in the file.
 *
 * @param range the range asked for, or undefined for the whole file.
 * @param size the file's size in bytes.
 * @param read opens the file, whole (no argument) or the clipped range (inclusive `end`).
 * @returns what `read` returns, or an empty stream.
 * @throws RangeError (ERR_OUT_OF_RANGE) from {@link clipRange}, before `read` is called.
 * @example
 * return readRange(range, file.size, (within) => bucket.openDownloadStream(oid, within && { start: within.start, end: within.end + 1 }));
 */
export function readRange<R extends Readable | Promise<Readable>>(range: ByteRange | undefined, size: number, read: (within?: ByteRange) => R): R | Readable {
  if (range === undefined) return read();
  const within = clipRange(range, size);
  return within === undefined ? emptyStream() : read(within);
}

/**
 * Reads `range` of bytes held in memory (the whole of them when no range is given).
 * @example readBufferRange({ start: 6, end: 10 }, bytes) // a stream of bytes 6 to 10
 */
export function readBufferRange(range: ByteRange | undefined, bytes: Buffer): Readable {
  return readRange(range, bytes.length, (within) => Readable.from([within === undefined ? bytes : bytes.subarray(within.start, within.end + 1)]));
}

/**
 * Reads `range` of the file at `path`, `size` bytes long (the whole file when no range is given).
 * @example readFileRange({ start: 6, end: 10 }, path, (await stat(path)).size)
 */
export function readFileRange(range: ByteRange | undefined, path: string, size: number): Readable {
  return readRange(range, size, (within) => createReadStream(path, within === undefined ? {} : { start: within.start, end: within.end }));
}

/** A byte stream that ends at once: what a range with no byte in the file reads. */
function emptyStream(): Readable {
  return new Readable({
    read() {
      this.push(null);
    },
  });
}
