/**
 * multipart(req): the parts of an HTTP request, with backpressure wired to its socket.
 */
import type { IncomingMessage } from 'node:http';
import { defer, Observable, throwError } from 'rxjs';
import { MultipartError } from '../errors.js';
import { parseMultipart, type ParseOptions } from '../operators/parse-multipart.js';
import type { Part } from '../operators/part.js';
import { fromReadable } from './from-readable.js';

/**
 * Parses an incoming request's multipart body. Reads the boundary from its Content-Type, pauses
 * the request while too many bytes wait to be consumed (TCP then slows the client), and reports a
 * client that goes away as UNEXPECTED_END.
 *
 * Errors: NOT_MULTIPART (no or another Content-Type) and everything `parseMultipart` reports.
 * The request can be read once; `retry` around this Observable errors with SOURCE_CONSUMED.
 *
 * @param req the request, body not yet read.
 * @param options limits and decoding; `backpressure` defaults to the request.
 * @returns a cold Observable of the request's parts.
 * @example
 * multipart(req).pipe(storeParts(createDiskStorage({ directory: './uploads' })), toArray())
 */
export function multipart(req: IncomingMessage, options: ParseOptions = {}): Observable<Part> {
  return defer(() => {
    const contentType = req.headers['content-type'];
    if (contentType === undefined) {
      return throwError(() => new MultipartError('NOT_MULTIPART', { message: 'The request has no Content-Type; multipart/form-data expected.' }));
    }
    return fromReadable(req).pipe(parseMultipart(contentType, { backpressure: req, ...options }));
  });
}
