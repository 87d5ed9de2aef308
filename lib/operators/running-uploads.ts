/**
 * How many parses and stores run at once in this process: the defaults of `highWaterMark` and of
 * `storeParts`' concurrency are shares of a budget among them.
 */

/** Counts of what runs at once. */
export interface RunningUploads {
  /** `parseMultipart` subscriptions reading their source. */
  parses: number;
  /** `storeParts` subscriptions not yet settled. */
  stores: number;
}

// One record per process, whichever copies of the package it loaded (the ESM and CommonJS builds
// side by side, rx-multipart/express in CommonJS beside the ESM entry): each copy counting alone
// would give every upload twice its share.
const KEY = Symbol.for('rx-multipart.running-uploads');
const registry = globalThis as { [KEY]?: RunningUploads };

/** The process's counts. */
export const runningUploads: RunningUploads = (registry[KEY] ??= { parses: 0, stores: 0 });
