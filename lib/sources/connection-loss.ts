/**
 * Whether a source's error means the connection went away mid-body: the body is then truncated,
 * which rx-multipart reports as UNEXPECTED_END whatever the source type.
 */

// Codes of a connection that closed under a body being read: Node's for a request whose client
// left (also what Readable.toWeb(req) passes on), undici's for a fetch response whose server left.
const LOST_CONNECTION_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET']);

/**
 * True when `error`, or an error in its `cause` chain, is a connection that closed before the
 * body ended. fetch wraps the socket's error: `TypeError('terminated', { cause: SocketError })`.
 * @param error what the source failed with.
 * @returns whether to report it as UNEXPECTED_END.
 */
export function isConnectionLoss(error: unknown): boolean {
  // A few levels are enough for the wrappers we know; a cyclic `cause` must not loop forever.
  for (let at = error, depth = 0; typeof at === 'object' && at !== null && depth < 4; depth++) {
    const { code, message, cause } = at as { code?: unknown; message?: unknown; cause?: unknown };
    // Node's IncomingMessage fails with `Error('aborted')` when its client goes away.
    if ((typeof code === 'string' && LOST_CONNECTION_CODES.has(code)) || message === 'aborted') return true;
    at = cause;
  }
  return false;
}
