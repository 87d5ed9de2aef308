/**
 * rawOf: the Node request or response under a framework's own object.
 */

/**
 * The Node `IncomingMessage` / `ServerResponse` under a Nest platform's request or response:
 * Fastify wraps it in `raw`, Express extends it (so it is the object itself).
 */
export function rawOf<T>(value: object): T {
  const raw = (value as { raw?: unknown }).raw;
  return (typeof raw === 'object' && raw !== null ? raw : value) as T;
}
