/**
 * fromAsyncIterable: an AsyncIterable of chunks (an async generator, a Node stream, an undici body,
 * a file handle's readableWebStream ...) as an Observable, pulled one chunk at a time.
 */
import { Observable } from 'rxjs';
import { MultipartError } from '../errors.js';
import { withBackpressure } from '../operators/backpressure.js';
import { isPromiseLike } from '../promise-like.js';
import { isConnectionLoss } from './connection-loss.js';
import { fromWebStream } from './from-web-stream.js';

/** Bytes, one chunk per step, from an async or a sync iterable. */
export type ChunkIterable = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Reads an iterable one chunk at a time: the next chunk is asked for only after the last one was
 * handed on, and only while the parse is not paused, so `parseMultipart` piped straight onto it
 * holds at most `highWaterMark` plus one chunk of pulled bytes, however fast the iterator yields
 * (RxJS `from(iterable)` pulls as fast as it yields).
 *
 * Unsubscribing before the body is complete (an error, `take`, `timeout`, teardown) calls the
 * iterator's `return()` at once, also while a `next()` is pending, so what the iterator holds (a
 * connection, a file) is let go. An async generator can act on it only once its pending `await`
 * settles: that is how generators work. A Node Readable is also destroyed at once (what its
 * iterator's `return()` does, and `for await` with `break`). A Web ReadableStream is read through
 * {@link fromWebStream}, which cancels it at once.
 *
 * When `parseMultipart` piped straight onto it has read the closing delimiter, the rest (the
 * epilogue, usually a CRLF) is read and dropped, up to 64 KiB or 1024 chunks and for at most a second, so that the
 * iterator ends by itself: `return()` then would destroy a server's request before it could answer.
 * Past either bound it is let go.
 * In a server, `multipart(req)` is still the better source: it keeps the connection for the
 * answer also after an error, where this one releases it.
 *
 * Errors: an error the iterator throws is SOURCE_ERROR with the error as `cause` (UNEXPECTED_END
 * when it is a lost connection: a client that went away); a second subscription is SOURCE_CONSUMED
 * (an iterator's bytes are gone once pulled); a value that is not a Uint8Array is INVALID_CHUNK.
 *
 * @param iterable the chunks, not yet iterated.
 * @returns a cold Observable of the chunks, carrying its pause/resume for `parseMultipart`.
 * @example
 * fromAsyncIterable(body).pipe(parseMultipart(contentType), storeParts(storage), toArray())
 */
export function fromAsyncIterable(iterable: ChunkIterable): Observable<Uint8Array> {
  if (isWebStream(iterable)) return fromWebStream(iterable);
  // Set on the first subscription: an iterator cannot be read twice.
  let isConsumed = false;
  let isPaused = false;
  // The parse read the closing delimiter: the unsubscribe that follows drains instead of aborting.
  let isComplete = false;
  // Pulls again after a pause; set while a subscription is open.
  let restart: (() => void) | undefined;
  const source = new Observable<Uint8Array>((subscriber) => {
    // A Node Readable says whether someone else has read from it already: what is left is not the body.
    const stream = iterable as Partial<{ readableDidRead: boolean; readableEnded: boolean }>;
    if (isConsumed || stream.readableDidRead === true || stream.readableEnded === true) {
      subscriber.error(new MultipartError('SOURCE_CONSUMED', { message: 'This iterable was already read; its chunks cannot be read twice.' }));
      return;
    }
    isConsumed = true;
    let iterator: Iterator<Uint8Array> | AsyncIterator<Uint8Array>;
    try {
      iterator = openIterator(iterable);
    } catch (error) {
      subscriber.error(toSourceError(error));
      return;
    }
    // A next() is pending: no other may start.
    let isPulling = false;
    // The iterator is finished (done, or threw): it holds nothing that return() must free.
    let isFinished = false;
    // After the closing delimiter: epilogue bytes that may still be read and dropped.
    let drainBudget = -1;
    // A chunk is being handed on: the parse it feeds may resume the source from inside (a part's
    // reader subscribing), and a pull then would parse the next chunk before this one's events are
    // all out. The loop that is handing on pulls again once it returns.
    let isEmitting = false;

    // Takes one result; false when no further pull may follow.
    const take = (result: IteratorResult<Uint8Array>): boolean => {
      if (result.done === true) {
        isFinished = true;
        clearTimeout(drainTimer);
        subscriber.complete();
        return false;
      }
      const chunk: unknown = result.value;
      if (subscriber.closed) return drop(chunk);
      if (!(chunk instanceof Uint8Array)) {
        subscriber.error(new MultipartError('INVALID_CHUNK', { message: `The iterable yielded ${typeof chunk === 'string' ? 'a string' : typeof chunk}; multipart needs Uint8Array chunks.` }));
        return false;
      }
      // May pause the parse (and so this loop), or end it, before it returns.
      isEmitting = true;
      try {
        subscriber.next(chunk);
      } finally {
        isEmitting = false;
      }
      return true;
    };
    // Epilogue after the closing delimiter: dropped while the budget lasts.
    const drop = (chunk: unknown): boolean => {
      // Each chunk costs at least MIN_EPILOGUE_CHUNK: an iterator of empty chunks that settle in
      // microtasks would otherwise never use the budget up, nor let the timer that ends it run.
      drainBudget -= Math.max(MIN_EPILOGUE_CHUNK, chunk instanceof Uint8Array ? chunk.length : 0);
      if (drainBudget >= 0) return true;
      stopDraining();
      return false;
    };
    const fail = (error: unknown): void => {
      isPulling = false;
      isFinished = true;
      clearTimeout(drainTimer);
      if (!subscriber.closed) subscriber.error(toSourceError(error));
    };
    const settle = (result: IteratorResult<Uint8Array>): void => {
      isPulling = false;
      if (subscriber.closed && drainBudget < 0) return;
      if (take(result)) pull();
    };
    const pull = (): void => {
      if (isEmitting) return;
      while ((subscriber.closed ? drainBudget >= 0 : !isPaused) && !isPulling && !isFinished) {
        let result: IteratorResult<Uint8Array> | PromiseLike<IteratorResult<Uint8Array>>;
        try {
          result = iterator.next();
        } catch (error) {
          fail(error);
          return;
        }
        if (isPromiseLike(result)) {
          isPulling = true;
          result.then(settle, fail);
          return;
        }
        if (!take(result)) return;
      }
    };
    // Ends a drain that ran out of bytes or of time: the iterator is let go after all.
    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    const stopDraining = (): void => {
      clearTimeout(drainTimer);
      drainBudget = -1;
      if (!isFinished) release(iterator, iterable);
    };
    restart = pull;
    pull();
    return () => {
      restart = undefined;
      if (isFinished) return;
      if (isComplete) {
        // Read the epilogue to the iterator's end rather than abort it (see above), for a while.
        drainBudget = MAX_EPILOGUE_DRAIN;
        drainTimer = setTimeout(stopDraining, MAX_EPILOGUE_WAIT);
        drainTimer.unref?.();
        pull();
      } else {
        release(iterator, iterable);
      }
    };
  });
  return withBackpressure(source, {
    pause: () => {
      isPaused = true;
    },
    resume: () => {
      isPaused = false;
      restart?.();
    },
    finish: () => {
      isComplete = true;
    },
  });
}

// An epilogue is a CRLF in practice; a sender that writes more after the closing delimiter, or an
// iterator that never ends by itself (a socket, `events.on`), is not waited for past these.
const MAX_EPILOGUE_DRAIN = 64 * 1024;
const MAX_EPILOGUE_WAIT = 1000;
// So at most 1024 chunks are read for an epilogue, whatever their size.
const MIN_EPILOGUE_CHUNK = 64;

function openIterator(iterable: ChunkIterable): Iterator<Uint8Array> | AsyncIterator<Uint8Array> {
  const asyncIterator = (iterable as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator];
  if (typeof asyncIterator === 'function') return asyncIterator.call(iterable);
  const syncIterator = (iterable as Partial<Iterable<Uint8Array>>)[Symbol.iterator];
  if (typeof syncIterator === 'function') return syncIterator.call(iterable);
  throw new TypeError('fromAsyncIterable needs an AsyncIterable or an Iterable of Uint8Array chunks.');
}

/** Lets the iterator go: return() now, and a Node Readable destroyed now, not after its pending read. */
function release(iterator: Iterator<Uint8Array> | AsyncIterator<Uint8Array>, iterable: ChunkIterable): void {
  try {
    const returned = iterator.return?.();
    // A rejection of return() has nobody left to hear it.
    if (isPromiseLike(returned)) returned.then(undefined, noop);
  } catch {
    // Nor has a throw.
  }
  const stream = iterable as Partial<{ destroy(): void; destroyed: boolean; pipe: unknown; readableEnded: boolean }>;
  if (typeof stream.destroy === 'function' && typeof stream.pipe === 'function' && stream.destroyed !== true && stream.readableEnded !== true) {
    stream.destroy();
  }
}

function toSourceError(error: unknown): MultipartError {
  if (error instanceof MultipartError) return error;
  if (isConnectionLoss(error)) return new MultipartError('UNEXPECTED_END', { message: 'The connection closed before the body ended.', cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new MultipartError('SOURCE_ERROR', { message: `The iterable failed: ${message}`, cause: error });
}

function isWebStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof (value as Partial<ReadableStream> | null)?.getReader === 'function';
}

function noop(): void {}
