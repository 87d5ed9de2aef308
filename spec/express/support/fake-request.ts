/**
 * The minimal request object unit tests of middleware use: a PassThrough with `headers`, fed a body
 * chunk by chunk, and the middleware called with it like Express would.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { CONTENT_TYPE } from '../../support/form-body';

/** The request as a test sees it after the middleware: what multer sets on it. */
export type FakeRequest = IncomingMessage & { body?: Record<string, unknown>; file?: Express.Multer.File; files?: Express.Multer.File[] | Record<string, Express.Multer.File[]> };

/** A PassThrough with headers, fed `chunks` (then ended) unless `keepOpen`. */
export function fakeRequest(chunks: Buffer | readonly Buffer[], options: { headers?: Record<string, string>; keepOpen?: boolean } = {}): FakeRequest & PassThrough {
  const list = Buffer.isBuffer(chunks) ? [chunks] : chunks;
  const length = list.reduce((sum, chunk) => sum + chunk.length, 0);
  const req = Object.assign(new PassThrough(), {
    headers: { 'content-type': CONTENT_TYPE, 'content-length': String(length), ...options.headers },
  }) as unknown as FakeRequest & PassThrough;
  if (options.keepOpen === true) {
    for (const chunk of list) req.write(chunk);
  } else {
    Readable.from(list).pipe(req);
  }
  return req;
}

/** What a middleware passed to `next`, and when. */
export interface Outcome {
  readonly error: unknown;
  readonly req: FakeRequest;
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** Calls `middleware(req, res, next)`; resolves once `next` is called (twice is a test failure). */
export function callMiddleware(middleware: Middleware, req: FakeRequest): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let calls = 0;
    middleware(req, {} as ServerResponse, (error?: unknown) => {
      calls++;
      if (calls > 1) reject(new Error('next was called twice'));
      else resolve({ error, req });
    });
  });
}
