'use strict';
/**
 * Runs parseMultipart over chunks from a synchronous source and records everything the caller can
 * see: the parts, the bytes of each, how each body$ and the parse ended, any throw out of
 * `subscribe`, any error RxJS had to report on its own, the pause/resume calls of the backpressure
 * control and any timer left behind.
 */
const { concatMap, config, EMPTY, from, ignoreElements, mergeMap, Observable, take, tap } = require('rxjs');
const { load } = require('./library.js');

const { parseMultipart, MultipartError } = load('index.js');

// Errors RxJS could not deliver (a throw from a subscriber callback): RxJS reports them from a
// setTimeout, which a synchronous fuzzing loop never runs. Timers are tracked instead (below), and a
// report left pending is run at once so that its error lands here. (Notifications that reach a
// closed subscriber are not tracked: RxJS's own `from(array)` completes its subscriber after a
// `takeUntil` closed it, by design.)
let unhandled = [];
config.onUnhandledError = (error) => unhandled.push(error);

// Every timer set and not yet cleared, with where it was set: a parse of a synchronous source that
// has settled must leave none (a stall check left running would hold a server's event loop).
const pendingTimers = new Map();
for (const [set, clear, kind] of [['setTimeout', 'clearTimeout', 'timeout'], ['setInterval', 'clearInterval', 'interval']]) {
  const original = globalThis[set];
  const originalClear = globalThis[clear];
  globalThis[set] = function trackedTimer(callback, ...rest) {
    const handle = original.call(this, callback, ...rest);
    pendingTimers.set(handle, { kind, callback, stack: new Error('set here').stack });
    return handle;
  };
  globalThis[clear] = function trackedClear(handle) {
    pendingTimers.delete(handle);
    return originalClear.call(this, handle);
  };
}

/** Clears the timers left pending, runs the one-shot ones (RxJS's error reports), and describes them all. */
function takePendingTimers() {
  const left = [...pendingTimers.entries()];
  pendingTimers.clear();
  return left.map(([handle, timer]) => {
    clearTimeout(handle);
    clearInterval(handle);
    if (timer.kind === 'timeout') {
      try {
        timer.callback();
      } catch (error) {
        unhandled.push(error);
      }
    }
    return `${timer.kind} ${timer.stack.split('\n').slice(2, 8).join(' <')}`;
  });
}

/** What to do with each part. */
const READ = 0; // subscribe body$ and read it all
const DISCARD = 1; // part.discard()
const READ_FIRST = 2; // read the first chunk, then unsubscribe (the rest is drained)
const LEAVE = 3; // never touch it (its bytes stay queued)
const READ_TWICE = 4; // read it, and subscribe body$ a second time (PART_CONSUMED on that one)

/**
 * @typedef {object} Consumption
 * @property {'concat' | 'merge' | 'mixed' | 'write'} kind concatMap or mergeMap over the parts
 *   reading every body$; `mixed`: what `actions` says for each part (mergeMap); `write`: writeBody
 *   into a synchronous sink, one part at a time.
 * @property {readonly number[]} [actions] for `mixed`, one of the constants above per part (cycled).
 * @property {number} [takeParts] the consumer leaves after this many parts (take), for `mixed`.
 * @property {boolean} [joins] for `write`: false hands each batch as an array.
 */

/**
 * @typedef {object} PartRecord
 * @property {number} index
 * @property {string} name
 * @property {string | undefined} filename
 * @property {string} contentType
 * @property {Readonly<Record<string, string>>} headers
 * @property {Buffer[]} chunks the bytes body$ (or writeBody) delivered
 * @property {boolean} isRead body$ was subscribed to read all of it
 * @property {'open' | 'complete' | 'error'} end how body$ ended, as far as it was read
 * @property {unknown} error body$'s error
 * @property {string[]} problems breaks of the contract seen on this part (offsets, second subscription)
 */

/**
 * Parses `chunks` with `from(chunks)` as the source.
 * @param {string} contentType
 * @param {readonly Uint8Array[]} chunks
 * @param {object} options ParseOptions (backpressure is added)
 * @param {Consumption} consumption
 */
function parseChunks(contentType, chunks, options, consumption) {
  unhandled = [];
  takePendingTimers();
  const control = { pauses: 0, resumes: 0, isPaused: false, problems: [] };
  const backpressure = {
    pause() {
      if (control.isPaused) control.problems.push('pause() while paused');
      control.isPaused = true;
      control.pauses++;
    },
    resume() {
      if (!control.isPaused) control.problems.push('resume() while not paused');
      control.isPaused = false;
      control.resumes++;
    },
  };
  /** @type {PartRecord[]} */
  const parts = [];
  const outcome = { parts, end: 'none', error: undefined, threw: undefined, unhandled: [], control, timersLeft: [] };
  const consume = (part) => consumePart(part, record(part, parts), consumption);
  let parts$ = from(chunks).pipe(parseMultipart(contentType, { ...options, backpressure }));
  if (consumption.kind === 'mixed' && consumption.takeParts !== undefined) parts$ = parts$.pipe(take(consumption.takeParts));
  const read$ = parts$.pipe(consumption.kind === 'concat' || consumption.kind === 'write' ? concatMap(consume) : mergeMap(consume));
  try {
    read$.subscribe({
      complete: () => (outcome.end = 'complete'),
      error: (error) => {
        outcome.end = 'error';
        outcome.error = error;
      },
    });
  } catch (error) {
    outcome.threw = error;
  }
  outcome.timersLeft = takePendingTimers();
  outcome.unhandled = unhandled;
  return outcome;
}

function record(part, parts) {
  const entry = {
    index: part.index,
    name: part.name,
    filename: part.filename,
    contentType: part.contentType,
    headers: part.headers,
    chunks: [],
    isRead: false,
    end: 'open',
    error: undefined,
    problems: [],
  };
  parts.push(entry);
  return entry;
}

function consumePart(part, entry, consumption) {
  const action = consumption.kind === 'mixed' ? (consumption.actions?.[part.index % consumption.actions.length] ?? READ) : READ;
  const observe = {
    next: (chunk) => entry.chunks.push(chunk),
    complete: () => (entry.end = 'complete'),
    error: (error) => {
      entry.end = 'error';
      entry.error = error;
    },
  };
  if (consumption.kind === 'write') {
    entry.isRead = true;
    let written = 0;
    const sink = (batch, offset) => {
      const chunks = Array.isArray(batch) ? batch : [batch];
      if (offset !== written) entry.problems.push(`writeBody offset ${offset}, expected ${written}`);
      for (const chunk of chunks) {
        entry.chunks.push(Buffer.from(chunk)); // a copy: a joined batch is ours only for the call
        written += chunk.length;
      }
      return EMPTY;
    };
    const written$ = consumption.joins === false ? part.writeBody(sink, { joins: false }) : part.writeBody(sink);
    return written$.pipe(tap({ complete: observe.complete, error: observe.error }), ignoreElements());
  }
  switch (action) {
    case DISCARD:
      part.discard();
      return EMPTY;
    case LEAVE:
      return EMPTY;
    case READ_FIRST:
      return part.body$.pipe(take(1), tap({ next: observe.next, error: observe.error }), ignoreElements());
    case READ_TWICE:
      entry.isRead = true;
      return new Observable((subscriber) => {
        const reading = part.body$.pipe(tap(observe), ignoreElements()).subscribe(subscriber);
        // A second subscription must fail with PART_CONSUMED, on its own Observable only.
        part.body$.subscribe({
          next: () => entry.problems.push('a second body$ subscription got bytes'),
          complete: () => entry.problems.push('a second body$ subscription completed'),
          error: (error) => {
            if (!(error instanceof MultipartError) || error.code !== 'PART_CONSUMED') entry.problems.push(`a second body$ subscription failed with ${describe(error)}`);
          },
        });
        return reading;
      });
    default:
      entry.isRead = true;
      return part.body$.pipe(tap(observe), ignoreElements());
  }
}

/** A short description of any thrown value, for finding messages. */
function describe(error) {
  if (error instanceof MultipartError) return `MultipartError ${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}\n${error.stack}`;
  return String(error);
}

/** The bytes a part record holds. */
function bytesOf(entry) {
  return Buffer.concat(entry.chunks);
}

module.exports = { parseChunks, describe, bytesOf, MultipartError, READ, DISCARD, READ_FIRST, LEAVE, READ_TWICE };
