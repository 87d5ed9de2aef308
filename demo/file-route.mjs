/**
 * GET and HEAD /files/:id: a stored file streamed back with its type, length and a safe
 * Content-Disposition, answering conditional requests (If-Match, If-None-Match, If-Range) and
 * range requests (Range) as RFC 9110 §13 to §15 describe them, so that caches revalidate and
 * interrupted downloads resume (`curl -C -`). Every storage serves a range through `open(id, range)`.
 */
import { pipeline } from 'node:stream/promises';
import { coalesceRanges, parseRange } from './byte-ranges.mjs';
import { partOverhead, planByteranges, streamByteranges } from './byteranges-body.mjs';
import { contentDisposition } from './content-disposition.mjs';
import { plainError } from './error-answer.mjs';
import { expectLength } from './exact-length.mjs';
import { evaluatePreconditions, isRangeCurrent } from './preconditions.mjs';
import { sendJson } from './send-json.mjs';

// More parts than this (after overlapping and nearby ranges are merged) and the Range header is
// ignored: the whole file goes out with 200. RFC 9110 §14.2 lets a server ignore a Range header,
// and names many small ranges as a sign of "a broken client or a deliberate denial-of-service
// attack"; each part costs a stat and a read from the storage (two requests, for S3 and GridFS).
const MAX_PARTS = 16;

/**
 * @typedef {object} FileSettings
 * @property {import('rx-multipart').FileStorage<unknown>} storage
 * @property {(id: string) => unknown | undefined} parseId
 * @property {(error: unknown, where: string) => void} report
 */

/**
 * @typedef {import('./byte-ranges.mjs').ByteRange} ByteRange
 * @typedef {{ status: 200 } | { status: 416 } | { status: 206, range: ByteRange }
 *   | { status: 206, plan: import('./byteranges-body.mjs').ByterangesPlan }} Answer
 */

/**
 * Serves the file `rawId` (as it appears in the URL, percent-encoded) and settles the exchange.
 *
 * In order (RFC 9110 §13.2.2): 404 for no such file; If-Match not matching → 412; If-None-Match
 * matching → 304; then Range, honoured only when If-Range (if any) holds: 206 with one range,
 * 206 multipart/byteranges with several, 416 when none is satisfiable; else 200 with the file.
 * HEAD answers exactly the status and headers GET would, without a body.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {import('./exchange.mjs').Exchange} exchange
 * @param {FileSettings} settings
 * @param {string} rawId
 */
export async function handleFile(req, res, exchange, settings, rawId) {
  try {
    const file = await find(settings, rawId);
    if (file === undefined) {
      sendJson(res, exchange, 404, plainError(404, 'No such file'));
      return;
    }
    // Stored files never change: their SHA-256 names the bytes, or, from a storage made without
    // a checksum, their id does. Either way a strong validator (RFC 9110 §8.8.1).
    const etag = `"${file.sha256 ?? String(file.id)}"`;
    const type = headerSafeType(file.contentType);
    const validators = {
      ETag: etag,
      'Cache-Control': 'private, no-cache',
      // RFC 9110 §14.3: tells clients (download managers, `curl -C -`) that ranges work here.
      'Accept-Ranges': 'bytes',
      // The bytes are a client's: never sniffed into something executable, never run as a page
      // of this origin even if opened directly.
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "sandbox; default-src 'none'",
    };

    const precondition = evaluatePreconditions(req.headers, etag);
    if (precondition === 412) {
      sendJson(res, exchange, 412, plainError(412, 'Precondition failed'), { ETag: etag });
      return;
    }
    if (precondition === 304) {
      // RFC 9110 §15.4.5: the ETag and Cache-Control a 200 would carry, no representation
      // metadata (no Content-Type, no Content-Length), no content.
      res.writeHead(304, validators);
      res.end();
      return;
    }

    const answer = chooseAnswer(req.headers, file.size, etag, type);
    if (answer.status === 416) {
      // RFC 9110 §15.5.17: the current length, so that the client can ask again.
      sendJson(res, exchange, 416, plainError(416, 'Range not satisfiable'), { 'Content-Range': `bytes */${file.size}`, 'Accept-Ranges': 'bytes' });
      return;
    }
    /** @type {Record<string, string>} */
    const headers = { 'Content-Type': type, 'Content-Length': String(file.size), 'Content-Disposition': contentDisposition(file.filename), ...validators };
    let length = file.size;
    if ('range' in answer) {
      length = answer.range.end - answer.range.start + 1;
      headers['Content-Range'] = `bytes ${answer.range.start}-${answer.range.end}/${file.size}`;
    } else if ('plan' in answer) {
      length = answer.plan.length;
      headers['Content-Type'] = answer.plan.contentType;
    }
    headers['Content-Length'] = String(length);

    if (req.method === 'HEAD') {
      res.writeHead(answer.status, headers);
      res.end();
      return;
    }
    // Opened before the head is sent: a file removed since `find` is still a 404.
    const body = await openBody(settings, file.id, answer);
    if (body === null) {
      sendJson(res, exchange, 404, plainError(404, 'No such file'));
      return;
    }
    res.writeHead(answer.status, headers);
    exchange.files = 1;
    exchange.abort = () => body.destroy();
    // pipeline waits for the client's socket to drain, and destroys every stream on failure: a
    // client that leaves releases the storage's stream (file descriptor, S3 socket, GridFS
    // cursor); a storage that fails mid-file, or gives a wrong length, cuts the connection, so
    // the client sees a short transfer it can resume.
    await pipeline(body, expectLength(length, (bytes) => (exchange.bytesOut += bytes)), res).catch((error) => {
      if (/** @type {{ code?: unknown }} */ (error).code !== 'ERR_STREAM_PREMATURE_CLOSE') settings.report(error, `${req.method} ${req.url}`);
    });
  } catch (error) {
    settings.report(error, `${req.method} ${req.url}`);
    if (!res.headersSent) sendJson(res, exchange, 500, plainError(500, 'Internal server error'));
    else res.destroy();
  } finally {
    exchange.settle();
  }
}

/**
 * What a GET of an existing file answers once its preconditions passed (HEAD answers the same).
 * @param {import('node:http').IncomingHttpHeaders} headers
 * @param {number} size
 * @param {string} etag
 * @param {string} type
 * @returns {Answer}
 */
function chooseAnswer(headers, size, etag, type) {
  // RFC 9110 §13.1.5: a false If-Range means the Range header is ignored; an If-Range without a
  // Range header is ignored too (parseRange of nothing).
  const ranges = isRangeCurrent(headers['if-range'], etag) ? parseRange(headers.range, size) : undefined;
  if (ranges === undefined) return { status: 200 };
  if (ranges.length === 0) return { status: 416 };
  // One range is its own plan: no need to price a part to merge neighbours.
  const parts = ranges.length === 1 ? ranges : coalesceRanges(ranges, partOverhead(size, type));
  // RFC 9110 §15.3.7.2: never a multipart answer for a single part.
  if (parts.length === 1) return { status: 206, range: /** @type {ByteRange} */ (parts[0]) };
  if (parts.length > MAX_PARTS) return { status: 200 };
  return { status: 206, plan: planByteranges(parts, size, type) };
}

/**
 * The stored file for a URL id, or undefined: an id the storage cannot have made, or one it no
 * longer has (removed between the lookup and the read counts as missing too).
 * @param {FileSettings} settings
 * @param {string} rawId
 */
async function find(settings, rawId) {
  let decoded;
  try {
    decoded = decodeURIComponent(rawId);
  } catch {
    return undefined;
  }
  const id = settings.parseId(decoded);
  if (id === undefined) return undefined;
  return settings.storage.stat(id);
}

/**
 * The body of a 200 or 206 answer, or null when the file was removed since it was looked up.
 * @param {FileSettings} settings
 * @param {unknown} id
 * @param {Exclude<Answer, { status: 416 }>} answer
 * @returns {Promise<import('node:stream').Readable | null>}
 */
async function openBody(settings, id, answer) {
  if (!('plan' in answer)) return open(settings, id, 'range' in answer ? answer.range : undefined);
  const { plan } = answer;
  const first = await open(settings, id, /** @type {ByteRange} */ (plan.parts[0]?.range));
  return first === null ? null : streamByteranges(plan, (range) => settings.storage.open(id, range), first);
}

/**
 * The file's bytes (a range of them when given), or null when it was removed since it was looked up.
 * @param {FileSettings} settings
 * @param {unknown} id
 * @param {ByteRange | undefined} range
 * @returns {Promise<import('node:stream').Readable | null>}
 */
async function open(settings, id, range) {
  try {
    return await settings.storage.open(id, range);
  } catch (error) {
    if ((await settings.storage.stat(id)) === undefined) return null;
    throw error;
  }
}

/**
 * The stored Content-Type when Node can send it as a header, else application/octet-stream.
 * It came from a part header, so it has no CR or LF, but it may hold bytes above 0x7e.
 * @param {string} type
 */
function headerSafeType(type) {
  return /^[\x20-\x7e]+$/.test(type) ? type : 'application/octet-stream';
}
