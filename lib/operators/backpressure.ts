/**
 * How a parse slows its source: a `pause()`/`resume()` pair (a Node Readable fits as is), given as
 * `options.backpressure` or carried by a source made with `fromReadable`/`fromWebStream`/
 * `fromAsyncIterable`.
 */
import type { Observable } from 'rxjs';

/** Something that can stop and restart the flow of chunks. */
export interface Backpressure {
  pause(): void;
  resume(): void;
  /**
   * Optional: called once when the parse has read the closing delimiter, just before it
   * unsubscribes. What follows is epilogue: the source may read it and drop it (so a request's
   * connection stays fit for the answer) instead of aborting the read as an early unsubscribe does.
   */
  finish?(): void;
}

const BACKPRESSURE = Symbol('rx-multipart.backpressure');

type WithBackpressure = { [BACKPRESSURE]?: Backpressure };

/**
 * Marks a source Observable with the control that pauses it, so that `parseMultipart` applied
 * directly to it wires backpressure without being told. Operators piped in between drop the mark;
 * then pass `backpressureOf(source)` as `options.backpressure`.
 * @returns the same Observable.
 */
export function withBackpressure<T>(source: Observable<T>, control: Backpressure): Observable<T> {
  (source as WithBackpressure)[BACKPRESSURE] = control;
  return source;
}

/**
 * The control a source was marked with, if any: for `parseMultipart(..., { backpressure })` when
 * operators stand between the source and the parse (`timeout`, say), which drop the mark.
 * @returns the control of a `fromReadable`/`fromWebStream`/`fromAsyncIterable` source, or undefined.
 * @example
 * const chunks$ = fromAsyncIterable(body);
 * chunks$.pipe(timeout(10_000), parseMultipart(type, { backpressure: backpressureOf(chunks$) }))
 */
export function backpressureOf(source: Observable<unknown>): Backpressure | undefined {
  return (source as WithBackpressure)[BACKPRESSURE];
}
