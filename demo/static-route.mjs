/**
 * The upload page: three fixed files from demo/public, nothing else from the disk.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const PUBLIC = new URL('./public/', import.meta.url);

// URL path → [file, Content-Type]. A fixed table: no path from a request reaches the file system.
const PAGES = new Map([
  ['/', ['index.html', 'text/html; charset=utf-8']],
  ['/index.html', ['index.html', 'text/html; charset=utf-8']],
  ['/app.js', ['app.js', 'text/javascript; charset=utf-8']],
  ['/style.css', ['style.css', 'text/css; charset=utf-8']],
]);

// The page loads only its own script and style and talks only to its own origin.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * True when `path` is one of the page's files.
 * @param {string} path
 */
export function isPage(path) {
  return PAGES.has(path);
}

/**
 * Serves one of the page's files (read at each request, so editing them needs no restart).
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {import('./exchange.mjs').Exchange} exchange
 * @param {string} path one for which `isPage` is true.
 */
export async function handlePage(req, res, exchange, path) {
  const [name, type] = /** @type {[string, string]} */ (PAGES.get(path));
  try {
    const bytes = await readFile(fileURLToPath(new URL(name, PUBLIC)));
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': String(bytes.length),
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': CSP,
      'Referrer-Policy': 'no-referrer',
    });
    if (req.method === 'HEAD') {
      res.end();
    } else {
      exchange.bytesOut += bytes.length;
      res.end(bytes);
    }
  } finally {
    exchange.settle();
  }
}
