/**
 * How a parse slows its source: a `pause()`/`resume()` pair (a Node Readable fits as is), given as
 * `options.backpressure` or carried by a source made with `fromReadable`/`fromWebStream`.
 */
import type { Observable } from 'rxjs';

/** Something that can stop and restart the flow of chunks. */
export interface Backpressure {
  pause(): void;
  resume(): void;
}

const BACKPRESSURE = Symbol('rx-multipart.backpressure');

type WithBackpressure = { [BACKPRESSURE]?: Backpressure };

/**
 * Marks a source Observable with the control that pauses it, so that `parseMultipart` applied
 * directly to it wires backpressure without being told. Operators piped in between drop the mark.
 * @returns the same Observable.
 */
export function withBackpressure<T>(source: Observable<T>, control: Backpressure): Observable<T> {
  (source as WithBackpressure)[BACKPRESSURE] = control;
  return source;
}

/** The control a source was marked with, if any. */
export function backpressureOf(source: Observable<unknown>): Backpressure | undefined {
  return (source as WithBackpressure)[BACKPRESSURE];
}
