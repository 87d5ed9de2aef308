/**
 * fromWebStream: a WHATWG ReadableStream (fetch's `Response.body`, a Web `Request.body`) as an
 * Observable of chunks.
 */
import { Observable } from 'rxjs';
import { MultipartError } from '../errors.js';
import { withBackpressure } from '../operators/backpressure.js';
import { isConnectionLoss } from './connection-loss.js';

/**
 * Reads a Web ReadableStream as an Observable of Uint8Arrays, one read at a time: nothing is read
 * ahead while the parse is paused (the stream's own queue then fills and its source slows).
 * Unsubscribing cancels the stream. A locked stream (already being read) errors with SOURCE_CONSUMED.
 * A body cut by its connection (a fetch response whose server went away, `Readable.toWeb(req)` of
 * a request whose client did) errors with UNEXPECTED_END, as `fromReadable` reports it; other
 * errors of the stream pass unchanged (`parseMultipart` makes them SOURCE_ERROR).
 *
 * @param stream the stream, not locked.
 * @returns a cold Observable of its chunks.
 * @example fromWebStream(response.body!).pipe(parseMultipart(response.headers.get('content-type')!))
 */
export function fromWebStream(stream: ReadableStream<Uint8Array>): Observable<Uint8Array> {
  // Resolves the wait of a paused read loop; undefined while flowing.
  let resumeWaiter: (() => void) | undefined;
  let isPaused = false;
  const source = new Observable<Uint8Array>((subscriber) => {
    if (stream.locked) {
      subscriber.error(new MultipartError('SOURCE_CONSUMED', { message: 'This stream is locked: it is already being read.' }));
      return;
    }
    const reader = stream.getReader();
    let isDone = false;
    const pump = async (): Promise<void> => {
      try {
        while (!subscriber.closed) {
          if (isPaused) await new Promise<void>((resolve) => (resumeWaiter = resolve));
          if (subscriber.closed) break;
          const { done, value } = await reader.read();
          if (done) {
            isDone = true;
            subscriber.complete();
            return;
          }
          subscriber.next(value);
        }
      } catch (error) {
        isDone = true;
        subscriber.error(isConnectionLoss(error)
          ? new MultipartError('UNEXPECTED_END', { message: 'The connection closed before the body ended.', cause: error })
          : error);
      }
    };
    void pump();
    return () => {
      const waiter = resumeWaiter;
      resumeWaiter = undefined;
      waiter?.();
      // Cancel the body we will not read (fetch then closes the connection); a finished stream needs nothing.
      if (!isDone) reader.cancel().catch(() => undefined);
    };
  });
  return withBackpressure(source, {
    pause: () => {
      isPaused = true;
    },
    resume: () => {
      isPaused = false;
      const waiter = resumeWaiter;
      resumeWaiter = undefined;
      waiter?.();
    },
  });
}
