/**
 * One request and its answer, from arrival to the log line: the byte counts, the file count, what
 * aborts it at shutdown, and the lingering read of a body left unread by an early answer.
 */

// Status logged when the client went away before it could be answered (nginx's convention).
export const CLIENT_CLOSED = 499;
// How long the rest of a body is read and dropped after an early answer (a 413 halfway through
// an upload) before the connection is cut. Reading it lets the client see the answer: a socket
// closed under a client still sending makes many clients report a reset instead.
const LINGER_MS = 10_000;

/**
 * @typedef {object} Exchange
 * @property {number} bytesIn body bytes received.
 * @property {number} bytesOut body bytes sent.
 * @property {number} files files stored (uploads) or served (downloads).
 * @property {() => void} abort set by the handler: stops the work at shutdown.
 * @property {() => void} settle called by the handler once the work is over (cleanup included).
 * @property {Promise<void>} done resolves after the log line.
 */

/**
 * Starts tracking `req`/`res`. The log line is written once the handler settled and the answer
 * is sent or the connection is gone: for an upload that failed, after its cleanup.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {(line: string) => void} log
 * @returns {Exchange}
 */
export function startExchange(req, res, log) {
  const started = performance.now();
  /** @type {() => void} */
  let markSettled = () => {};
  const settled = new Promise((resolve) => (markSettled = () => resolve(undefined)));
  const answered = new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });

  /** @type {Exchange} */
  const exchange = {
    bytesIn: 0,
    bytesOut: 0,
    files: 0,
    abort: () => void req.destroy(),
    settle: () => markSettled(),
    done: Promise.all([settled, answered]).then(() => {
      const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED;
      const ms = Math.round(performance.now() - started);
      log(`${new Date().toISOString()} ${req.method} ${pathForLog(req.url)} ${status} in=${exchange.bytesIn}B out=${exchange.bytesOut}B ${ms}ms files=${exchange.files}`);
    }),
  };

  // The answer went out before the body was read (an error, a 404 to a POST): read and drop the
  // rest for a while, so the client sees the answer, then cut the connection.
  res.once('finish', () => {
    if (req.complete || req.destroyed) return;
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
    req.resume();
  });
  return exchange;
}

/**
 * The path without its query, with anything unprintable escaped: the log stays one line per
 * request whatever a client puts in its request line.
 * @param {string | undefined} url
 * @returns {string}
 */
function pathForLog(url) {
  const path = (url ?? '').split('?')[0] ?? '';
  return path.replace(/[^\x21-\x7e]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`) || '/';
}
