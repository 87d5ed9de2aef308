/**
 * Telling a promise from other results without awaiting it: a promise is settled with `then`
 * directly, where an Observable per call would cost more than the work (docs/load.md).
 */

/**
 * Whether a value is thenable (a Promise or any PromiseLike).
 * @param value what a callback returned.
 * @returns true when `value.then` is a function.
 * @example
 * if (isPromiseLike(result)) result.then(done, failed);
 */
export function isPromiseLike<T = unknown>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as Partial<PromiseLike<T>> | null)?.then === 'function';
}
