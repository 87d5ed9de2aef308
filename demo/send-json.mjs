/**
 * Sends a JSON answer with its exact length, counted in the exchange's log figures.
 */

/**
 * @param {import('node:http').ServerResponse} res
 * @param {import('./exchange.mjs').Exchange} exchange
 * @param {number} status
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
export function sendJson(res, exchange, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  // Node sends no body in answer to HEAD.
  if (res.req.method !== 'HEAD') exchange.bytesOut += bytes.length;
  res.end(bytes);
}
