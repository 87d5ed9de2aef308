/**
 * GET and HEAD /files/:id: a stored file streamed back with its type, length and a safe
 * Content-Disposition.
 */
import { pipeline } from 'node:stream/promises';
import { contentDisposition } from './content-disposition.mjs';
import { plainError } from './error-answer.mjs';
import { sendJson } from './send-json.mjs';

/**
 * @typedef {object} FileSettings
 * @property {import('rx-multipart').FileStorage<any>} storage
 * @property {(id: string) => unknown | undefined} parseId
 * @property {(error: unknown, where: string) => void} report
 */

/**
 * Serves the file `rawId` (as it appears in the URL, percent-encoded) and settles the exchange.
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
    const stream = req.method === 'HEAD' ? undefined : await open(settings, file.id);
    if (stream === null) {
      sendJson(res, exchange, 404, plainError(404, 'No such file'));
      return;
    }
    res.writeHead(200, {
      'Content-Type': headerSafeType(file.contentType),
      'Content-Length': String(file.size),
      'Content-Disposition': contentDisposition(file.filename),
      // Stored files never change: their SHA-256 names the bytes, or, from a storage made without
      // a checksum, their id does.
      ETag: `"${file.sha256 ?? String(file.id)}"`,
      'Cache-Control': 'private, no-cache',
      // The bytes are a client's: never sniffed into something executable, never run as a page
      // of this origin even if opened directly.
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "sandbox; default-src 'none'",
    });
    if (stream === undefined) {
      res.end();
      return;
    }
    exchange.files = 1;
    exchange.abort = () => stream.destroy();
    stream.on('data', (chunk) => (exchange.bytesOut += chunk.length));
    // pipeline waits for the client's socket to drain, and destroys both sides on failure
    // (a client that leaves, a storage that fails mid-file: the short body tells the client).
    await pipeline(stream, res).catch(() => {});
  } catch (error) {
    settings.report(error, `${req.method} ${req.url}`);
    if (!res.headersSent) sendJson(res, exchange, 500, plainError(500, 'Internal server error'));
    else res.destroy();
  } finally {
    exchange.settle();
  }
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
 * The file's bytes, or null when it was removed since it was looked up.
 * @param {FileSettings} settings
 * @param {unknown} id
 * @returns {Promise<import('node:stream').Readable | null>}
 */
async function open(settings, id) {
  try {
    return await settings.storage.open(id);
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
