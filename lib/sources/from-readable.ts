/**
 * fromReadable: a Node Readable (an IncomingMessage, a file stream) as an Observable of chunks.
 */
import { Observable } from 'rxjs';
import { MultipartError } from '../errors.js';
import { withBackpressure } from '../operators/backpressure.js';
import { isConnectionLoss } from './connection-loss.js';

/**
 * Reads a Node Readable as an Observable of Buffers. The stream can be read once: a second
 * subscription (a `retry`, say) errors with SOURCE_CONSUMED instead of replaying a partial body.
 * A stream that closes before its end (a client that went away) errors with UNEXPECTED_END.
 * The Observable carries the stream's pause/resume, so `parseMultipart` piped straight onto it
 * applies backpressure to the stream.
 *
 * @param stream the readable, not yet read (no 'data' listener, not ended).
 * @returns a cold Observable of the stream's chunks.
 * @example fromReadable(req).pipe(parseMultipart(req.headers['content-type'] ?? ''))
 */
export function fromReadable(stream: NodeJS.ReadableStream): Observable<Buffer> {
  // Set on the first subscription: a stream's bytes are gone once read.
  let isConsumed = false;
  const source = new Observable<Buffer>((subscriber) => {
    const readable = stream as NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean; readableDidRead?: boolean };
    if (isConsumed || readable.readableEnded === true || readable.readableDidRead === true) {
      subscriber.error(new MultipartError('SOURCE_CONSUMED', { message: 'This request body was already read; a request cannot be read twice.' }));
      return;
    }
    isConsumed = true;
    if (readable.destroyed === true) {
      subscriber.error(new MultipartError('UNEXPECTED_END', { message: 'The stream was destroyed before it was read (the client went away).' }));
      return;
    }
    const onData = (chunk: Buffer | string): void => {
      if (typeof chunk === 'string') {
        subscriber.error(new MultipartError('INVALID_CHUNK', { message: 'The stream emits strings (was setEncoding called?); multipart needs bytes.' }));
        return;
      }
      subscriber.next(chunk);
    };
    const onEnd = (): void => subscriber.complete();
    const onError = (error: Error & { code?: string }): void => {
      // Node reports a client that went away as 'aborted' / ECONNRESET on the request.
      if (isConnectionLoss(error)) {
        subscriber.error(new MultipartError('UNEXPECTED_END', { message: 'The client went away before the body ended.', cause: error }));
      } else {
        subscriber.error(error);
      }
    };
    const onClose = (): void => {
      subscriber.error(new MultipartError('UNEXPECTED_END', { message: 'The stream closed before the body ended (the client went away).' }));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    // A stream paused by an earlier consumer would never flow.
    stream.resume();
    return () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
  });
  return withBackpressure(source, { pause: () => stream.pause(), resume: () => stream.resume() });
}
