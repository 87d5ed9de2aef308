/**
 * The demo's request handling, apart from the server that listens: createApp gives a request
 * listener for `http.createServer` and the shutdown of the requests in flight.
 *
 *   POST /upload          multipart/form-data → 200 {"result":{"fileIds":[...],"fields":{...},"files":[...]}}
 *   GET|HEAD /files/:id   the stored file
 *   GET|HEAD /            the upload page (and /app.js, /style.css)
 */
import { plainError } from './error-answer.mjs';
import { startExchange } from './exchange.mjs';
import { handleFile } from './file-route.mjs';
import { sendJson } from './send-json.mjs';
import { handlePage, isPage } from './static-route.mjs';
import { handleUpload } from './upload-route.mjs';

const FILE_PATH = /^\/files\/([^/]+)$/;

/**
 * @typedef {object} AppOptions
 * @property {import('rx-multipart').FileStorage<any>} storage where uploads go.
 * @property {(id: string) => unknown | undefined} [parseId] the storage id for a URL id, or
 *   undefined when it cannot be one. Default: the id as it is.
 * @property {import('rx-multipart').Limits} [limits] parse limits, each over its default.
 * @property {number} [storageTimeoutMs] per storage call. Default 30000.
 * @property {(line: string) => void} [log] one line per request. Default: stdout.
 * @property {(error: unknown, where: string) => void} [report] server faults. Default: stderr.
 */

/**
 * @typedef {object} App
 * @property {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void} handle
 *   the request listener.
 * @property {(graceMs: number) => Promise<void>} close lets the requests in flight finish for
 *   `graceMs`, then aborts the rest (an upload aborted this way leaves nothing stored and is
 *   answered 503) and waits for their cleanup. New requests are answered with `Connection: close`.
 * @property {() => number} inFlight requests not yet logged.
 */

/**
 * @param {AppOptions} options
 * @returns {App}
 * @example
 * const app = createApp({ storage: createDiskStorage({ directory: './uploads' }) });
 * createServer(app.handle).listen(3000);
 */
export function createApp(options) {
  const log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
  const report = options.report ?? ((error, where) => console.error(`${where}:`, error));
  const upload = {
    storage: options.storage,
    limits: options.limits ?? {},
    storageTimeoutMs: options.storageTimeoutMs ?? 30_000,
    report,
  };
  const files = { storage: options.storage, parseId: options.parseId ?? ((id) => id), report };
  /** @type {Set<import('./exchange.mjs').Exchange>} */
  const exchanges = new Set();
  let isClosing = false;

  /** @type {App['handle']} */
  function handle(req, res) {
    const exchange = startExchange(req, res, log);
    exchanges.add(exchange);
    void exchange.done.then(() => exchanges.delete(exchange));
    if (isClosing) res.setHeader('Connection', 'close');

    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const fileMatch = FILE_PATH.exec(path);
    if (path === '/upload') {
      if (method === 'POST') handleUpload(req, res, exchange, upload);
      else refuseMethod(res, exchange, 'POST');
    } else if (fileMatch !== null) {
      if (method === 'GET' || method === 'HEAD') void handleFile(req, res, exchange, files, /** @type {string} */ (fileMatch[1]));
      else refuseMethod(res, exchange, 'GET, HEAD');
    } else if (isPage(path)) {
      if (method === 'GET' || method === 'HEAD') void handlePage(req, res, exchange, path).catch((error) => fail(res, exchange, error, path));
      else refuseMethod(res, exchange, 'GET, HEAD');
    } else {
      sendJson(res, exchange, 404, plainError(404, 'Not found'));
      exchange.settle();
    }
  }

  /**
   * @param {import('node:http').ServerResponse} res
   * @param {import('./exchange.mjs').Exchange} exchange
   * @param {string} allow
   */
  function refuseMethod(res, exchange, allow) {
    sendJson(res, exchange, 405, plainError(405, 'Method not allowed'), { Allow: allow });
    exchange.settle();
  }

  /**
   * @param {import('node:http').ServerResponse} res
   * @param {import('./exchange.mjs').Exchange} exchange
   * @param {unknown} error
   * @param {string} where
   */
  function fail(res, exchange, error, where) {
    report(error, where);
    sendJson(res, exchange, 500, plainError(500, 'Internal server error'));
  }

  /** @type {App['close']} */
  async function close(graceMs) {
    isClosing = true;
    const settled = Promise.all([...exchanges].map((exchange) => exchange.done));
    let timer;
    const graceOver = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([settled, graceOver]);
    clearTimeout(timer);
    // Aborted uploads answer after their cleanup, which storeParts bounds by its timeout.
    for (const exchange of exchanges) exchange.abort();
    await Promise.all([...exchanges].map((exchange) => exchange.done));
  }

  return { handle, close, inFlight: () => exchanges.size };
}
