/**
 * drainRequest: reads and drops what is left of a request body, within a budget.
 */
import type { IncomingMessage } from 'node:http';

/** The bytes of a refused request read and dropped by default before it is destroyed instead. */
export const DEFAULT_DRAIN_LIMIT = 16 * 1024 * 1024;

/**
 * Reads the rest of `req` and drops it, so that the answer that follows is not sent to a client
 * still uploading: Node would then close a connection with unread bytes, and the client would see a
 * reset instead of the answer (multer drains for the same reason). Past `limit` bytes the request
 * is destroyed instead: draining a huge body only to refuse it costs more than a reset.
 *
 * @param req the request, read or not, paused or not.
 * @param limit bytes that may still be read.
 * @returns a promise settled when the body has ended or the request is gone; never rejects.
 */
export function drainRequest(req: IncomingMessage, limit: number): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let drained = 0;
    const onData = (chunk: Buffer | string): void => {
      drained += chunk.length;
      if (drained > limit) req.destroy();
    };
    const done = (): void => {
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    // A parse that paused the request, or a consumer that stopped reading, left it paused.
    req.resume();
  });
}
