/**
 * storeParts: streams every file part into a FileStorage and collects every field, in body order,
 * all or nothing.
 */
import { concatWith, defer, ignoreElements, map, Observable, toArray, type OperatorFunction, type Subscription } from 'rxjs';
import { MultipartError } from '../errors.js';
import { isPromiseLike } from '../promise-like.js';
import { byteLength, joinChunks } from '../storage/content-digest.js';
import { detectType, SNIFF_SIZE } from '../storage/detect-type.js';
import type { FileInfo, FileStorage, FileWriter, StoredFile } from '../storage/file-storage.js';
import type { Part } from './part.js';
import { runningUploads } from './running-uploads.js';

/** A file part, stored. */
export interface StoredFilePart<Id = string> extends StoredFile<Id> {
  readonly kind: 'file';
}

/** A field part, collected. */
export interface StoredField {
  readonly kind: 'field';
  /** 0-based position of the part in the body. */
  readonly index: number;
  /** The field's name. */
  readonly name: string;
  /** The value, decoded as UTF-8 (or the charset its Content-Type names). */
  readonly value: string;
  /** The part's Content-Type ('text/plain' when absent). */
  readonly contentType: string;
}

/** What storeParts emits for each part, in body order. */
export type StoredPart<Id = string> = StoredFilePart<Id> | StoredField;

/** A file about to be stored, with what is known when it starts. */
export interface FileStartInfo extends FileInfo {
  /** Every field that came before this file in the body (a repeated name keeps its last value). */
  readonly fields: Readonly<Record<string, string>>;
}

/** What `accept` is shown: the file, the fields before it, and what its first bytes are. */
export interface AcceptInfo extends FileStartInfo {
  /** The media type the file's first bytes show (magic numbers), or undefined. See `detectType`. */
  readonly detectedType: string | undefined;
}

/** How often and how patiently a storage call is retried. */
export interface RetryPolicy {
  /** Retries after the first try. */
  readonly count: number;
  /** Milliseconds before the first retry, doubled for each next one. Default 100. */
  readonly delay?: number;
  /** Longest wait between two tries, in milliseconds. Default 5000. */
  readonly maxDelay?: number;
}

/** Progress of a request's storage. */
export interface StoreProgress {
  /** Body bytes of the parts stored or collected so far (headers and delimiters not counted). */
  readonly bytes: number;
  /** `options.total` (the request's Content-Length, say), when given. */
  readonly total: number | undefined;
  /** Files closed so far. */
  readonly files: number;
  /** The part being stored. */
  readonly partIndex: number;
}

/** Options of storeParts. */
export interface StoreOptions {
  /** Retries of each storage write (and create) that fails or times out: a count or a policy. Default 0. */
  readonly retry?: number | RetryPolicy;
  /** Milliseconds each storage call (create, write, close) may take before it fails with TIMEOUT. Default 60000. */
  readonly timeout?: number;
  /**
   * Decides whether a file is stored, before anything of it is: from its headers, the fields before
   * it and its first bytes (`sniffSize` of them, fewer when the file is shorter). Return `true` to
   * store it, `false` or a reason to refuse it with FILE_REJECTED (415).
   */
  readonly accept?: (file: AcceptInfo, firstBytes: Buffer) => boolean | string | PromiseLike<boolean | string>;
  /** Bytes handed to `accept`. Default 512, enough for `detectType`. */
  readonly sniffSize?: number;
  /** Limits for one file, decided when it starts: `fileSize` overrides the parse's limit downward. */
  readonly limits?: (file: FileStartInfo) => { readonly fileSize?: number } | undefined;
  /** Keep the files already stored when the request fails (the open file is still aborted). Default false. */
  readonly keepOnError?: boolean;
  /**
   * Files stored at once: the next file's create and writes overlap the earlier ones' writes and
   * closes (each file's writes stay in order), and the results still come in body order. Default:
   * the storage's `concurrency` (32 for disk), else 4, shared under load: the uploads storing at
   * once in the process share 256 files in progress, at least one each. A number is not shared.
   */
  readonly concurrency?: number;
  /** Called after each stored chunk and each field. */
  readonly progress?: (progress: StoreProgress) => void;
  /** The size `progress` reports against, e.g. `Number(req.headers['content-length'])`. */
  readonly total?: number;
}

const DEFAULT_TIMEOUT = 60_000;
// Measured with 1000 files of 1 KiB on disk: one file at a time spent 1.7 ms per file waiting on
// its create, write and close in turn; the thread pool that runs them has 4 threads.
const DEFAULT_CONCURRENCY = 4;
// The uploads storing at once share this many files in progress (at least one each): one upload
// alone keeps its storage's concurrency (32 on disk), but 200 uploads of 32 each had 6400 files
// waiting for the same 4 threads, whose pipelines and timers were most of the heap (docs/load.md).
// 64 left 50 uploads of 100 small files one file each, and their p99 latency 1.2 times multer's;
// 256 gives them five (p99 2.4-2.6 s against 2.9-3.7 s).
const SHARED_FILES = 256;

/** Files one upload may store at once when no `concurrency` was given: its share, at most `max`. */
function sharedConcurrency(max: number): number {
  return Math.max(1, Math.min(max, Math.floor(SHARED_FILES / Math.max(1, runningUploads.stores))));
}

// Node's timers hold 32-bit milliseconds: a longer delay (Infinity included) would fire at once.
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Stores the parts of a body: each file streamed into `storage` (one ordered write at a time, each
 * chunk holding the parse's backpressure until it is written; up to `concurrency` files at once),
 * each field collected. Emits one {@link StoredPart} per part, in body order, and completes after
 * the last.
 *
 * All or nothing: on any error (parse, limit, refusal, storage failure, timeout) and on unsubscribe,
 * the open file is aborted and every file already stored for this body is removed (unless
 * `keepOnError`); then the error is passed on unchanged (a storage's own error as it was thrown).
 *
 * Errors: everything the parse reports, FILE_REJECTED, LIMIT_FILE_SIZE (from `limits`), TIMEOUT,
 * and the storage's own errors.
 *
 * @param storage where files go.
 * @param options retry, timeout, accept, per-file limits, progress.
 * @returns an operator from parts to stored parts.
 * @example
 * multipart(req).pipe(
 *   storeParts(createDiskStorage({ directory: './uploads' }), { retry: 2, timeout: 10_000 }),
 *   toArray(),
 * )
 */
export function storeParts<Id = string>(storage: FileStorage<Id>, options: StoreOptions = {}): OperatorFunction<Part, StoredPart<Id>> {
  const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT;
  const retryPolicy = typeof options.retry === 'number' ? { count: options.retry } : options.retry;
  const retryCount = retryPolicy?.count ?? 0;
  const sniffSize = options.accept === undefined ? 0 : Math.max(1, options.sniffSize ?? SNIFF_SIZE);
  const fixedConcurrency = options.concurrency === undefined ? undefined : Math.max(1, options.concurrency);
  const maxConcurrency = Math.max(1, storage.concurrency ?? DEFAULT_CONCURRENCY);
  const concurrency = (): number => fixedConcurrency ?? sharedConcurrency(maxConcurrency);

  return (parts$) =>
    new Observable<StoredPart<Id>>((subscriber) => {
      // Files closed for this body: removed if the body fails.
      const stored: Id[] = [];
      // Storage calls in flight (writes, closes, aborts): a cleanup waits for them, so nothing it
      // removes can be re-created behind it.
      const pending = new Set<Promise<unknown>>();
      // Fields seen so far, for `accept` and `limits`.
      const fields: Record<string, string> = {};
      // Set once the subscriber has its completion or error, or has left: cleanup then runs once.
      let isSettled = false;
      // The body failed or was left: files that close from now on are removed, not kept.
      let isFailed = false;
      let bytes = 0;

      function track<T>(promise: Promise<T>): Promise<T> {
        pending.add(promise);
        const forget = (): void => void pending.delete(promise);
        promise.then(forget, forget);
        return promise;
      }

      /**
       * One storage call with the timeout, and the retries when `canRetry`. A result that arrives
       * after its caller left (timed out, or `hasLeft()`: the file failed or was unsubscribed) is
       * handed to `dispose`, so a late writer is aborted and a late file removed instead of being
       * left behind; the call then rejects with CANCELLED, which nobody hears.
       *
       * Promises and one timer, not an Observable pipeline: under load thousands of calls wait for
       * the thread pool at once, and each one's RxJS subscribers and `timeout` action were most of
       * the live heap (docs/load.md). Writes, one per socket chunk under load, have a lighter runner
       * of their own (in storeFile).
       */
      async function call<T>(part: Part, what: string, run: () => Promise<T>, canRetry: boolean, hasLeft: () => boolean, dispose?: (late: T) => void): Promise<T> {
        const retries = canRetry ? retryCount : 0;
        for (let attempt = 1; ; attempt++) {
          try {
            return await callOnce(part, what, run, hasLeft, dispose);
          } catch (error) {
            if (attempt > retries || error === CANCELLED || hasLeft()) throw error;
          }
          await sleep(backoff(retryPolicy!, attempt));
          if (hasLeft()) throw CANCELLED;
        }
      }

      function callOnce<T>(part: Part, what: string, run: () => Promise<T>, hasLeft: () => boolean, dispose: ((late: T) => void) | undefined): Promise<T> {
        return new Promise<T>((resolve, reject) => {
          // The timeout fired: the answer, when it comes, is late.
          let isLate = false;
          const timer = timeoutMs > MAX_TIMER ? undefined : setTimeout(() => {
            isLate = true;
            reject(timeoutError(part, what));
          }, timeoutMs);
          const answer = Promise.resolve().then(run);
          // Creates and closes are waited for by a cleanup (their late result is undone there);
          // writes are not, since a stalled write must not hold the error back.
          if (dispose !== undefined) void track(answer.catch(noop));
          answer.then(
            (value) => {
              clearTimeout(timer);
              if (!isLate && !hasLeft()) return resolve(value);
              dispose?.(value);
              reject(CANCELLED);
            },
            (error: unknown) => {
              clearTimeout(timer);
              reject(error);
            },
          );
        });
      }

      function timeoutError(part: Part, what: string): MultipartError {
        return new MultipartError('TIMEOUT', { ...where(part), message: `The storage did not finish ${what} of part ${part.index} within ${timeoutMs} ms.` });
      }

      /** A file closed for this body: kept for the answer, or removed at once when the body already failed. */
      function keep(id: Id): void {
        if (isSettled && isFailed && options.keepOnError !== true) void track(Promise.resolve().then(() => storage.remove(id)).catch(noop));
        else stored.push(id);
      }

      /** Drops a storage call's late result. */
      const abortLate = (late: FileWriter<Id>): void => void track(Promise.resolve().then(() => late.abort(new Error('The storage answered after the upload gave up.'))).catch(noop));
      const removeLate = (late: StoredFile<Id>): void => keep(late.id);

      function report(partIndex: number): void {
        options.progress?.({ bytes, total: options.total, files: stored.length, partIndex });
      }

      function storeField(part: Part): Observable<StoredPart<Id>> {
        return part.body$.pipe(
          toArray(),
          map((chunks): StoredField => {
            const raw = Buffer.concat(chunks);
            const value = decodeText(raw, part.contentType);
            fields[part.name] = value;
            bytes += raw.length;
            report(part.index);
            return { kind: 'field', index: part.index, name: part.name, value, contentType: part.contentType };
          }),
        );
      }

      function storeFile(part: Part): Observable<StoredPart<Id>> {
        return new Observable<StoredPart<Id>>((fileSubscriber) => {
          const info: FileInfo = {
            index: part.index,
            fieldName: part.name,
            filename: part.filename ?? '',
            contentType: part.headers['content-type'] === undefined ? 'application/octet-stream' : part.contentType,
            headers: part.headers,
          };
          const startInfo: FileStartInfo = { ...info, fields: { ...fields } };
          const fileSize = options.limits?.(startInfo)?.fileSize;
          let writer: FileWriter<Id> | undefined;
          // Batches (chunks, offset, bytes) held back until `accept` has seen the first bytes: at most
          // sniffSize + one batch.
          let sniffed: Array<readonly [readonly Buffer[], number, number]> = [];
          let sniffedBytes = 0;
          // The file was closed, aborted or given up: no storage call follows.
          let isFinished = false;
          // The file failed or its subscriber left: storage answers that come later are undone.
          let isLeft = false;
          const hasLeft = (): boolean => isLeft;

          // The write in flight, as plain state: writeBody hands over one batch at a time. Under load
          // every socket chunk is a write, and a promise chain, an async frame and a timer per write
          // were most of what the server allocated (docs/load.md); so one promise per write, and one
          // timer per file, re-armed for each attempt.
          let batch: readonly Buffer[] = NO_CHUNKS;
          let batchOffset = 0;
          let batchLength = 0;
          let joined: Buffer | undefined;
          let attempt = 0;
          // Attempts made, and the one whose answer is awaited (0: none); a late answer is ignored.
          let attempts = 0;
          let awaited = 0;
          let resolveWrite: () => void = noop;
          let rejectWrite: (error: unknown) => void = noop;
          let writeTimer: ReturnType<typeof setTimeout> | undefined;
          // Set once an attempt was given up (timed out) while its answer may still come: from then
          // on each attempt's callbacks carry its number; until then one pair serves every write.
          let hasAbandoned = false;
          const onWritten = (): void => void (hasAbandoned || writeSettled(awaited, WRITTEN));
          const onWriteFailed = (error: unknown): void => void (hasAbandoned || writeSettled(awaited, error));

          const writeChunks = (chunks: readonly Buffer[], offset: number, length: number): Promise<void> =>
            new Promise<void>((resolve, reject) => {
              batch = chunks;
              batchOffset = offset;
              batchLength = length;
              // Joined once for a writer without writev, not again on each retry.
              joined = undefined;
              attempt = 1;
              resolveWrite = resolve;
              rejectWrite = reject;
              // A microtask later, as every storage call: not inside the parse's delivery of the chunk.
              queueMicrotask(attemptWrite);
            });

          function attemptWrite(): void {
            const id = ++attempts;
            awaited = id;
            if (isLeft) return writeSettled(id, CANCELLED);
            if (timeoutMs <= MAX_TIMER) {
              if (writeTimer === undefined) writeTimer = setTimeout(writeTimedOut, timeoutMs);
              else writeTimer.refresh();
            }
            let answer: unknown;
            try {
              answer = writer!.writev !== undefined ? writer!.writev(batch, batchOffset) : writer!.write((joined ??= joinChunks(batch, batchLength)), batchOffset);
            } catch (error) {
              return writeSettled(id, error);
            }
            if (!isPromiseLike(answer)) writeSettled(id, WRITTEN);
            else if (!hasAbandoned) answer.then(onWritten, onWriteFailed);
            else answer.then(() => writeSettled(id, WRITTEN), (error: unknown) => writeSettled(id, error));
          }

          function dropBatch(): void {
            batch = NO_CHUNKS;
            joined = undefined;
          }

          // Armed for the attempt awaited when it fires (each attempt re-arms it): that one is late.
          function writeTimedOut(): void {
            if (awaited === 0) return;
            hasAbandoned = true;
            writeSettled(awaited, timeoutError(part, 'a write'));
          }

          function writeSettled(id: number, outcome: unknown): void {
            if (id === 0 || id !== awaited) return;
            awaited = 0;
            if (outcome === WRITTEN) {
              // Let go of the batch: kept until the next write, it would keep its socket chunks alive.
              dropBatch();
              if (isLeft) return rejectWrite(CANCELLED);
              bytes += batchLength;
              try {
                report(part.index);
              } catch (error) {
                // A progress callback that throws fails the upload with its error.
                return rejectWrite(error);
              }
              return resolveWrite();
            }
            if (attempt > retryCount || outcome === CANCELLED || isLeft) {
              dropBatch();
              return rejectWrite(outcome);
            }
            // Unref'd: a retry waiting after its upload failed must not keep the process up.
            setTimeout(() => (isLeft ? rejectWrite(CANCELLED) : attemptWrite()), backoff(retryPolicy!, attempt++)).unref?.();
          }

          const start = async (): Promise<void> => {
            if (options.accept !== undefined) {
              const first = firstBytes(sniffed, sniffSize);
              const verdict = await options.accept({ ...startInfo, detectedType: detectType(first) }, first);
              if (verdict !== true) {
                throw new MultipartError('FILE_REJECTED', {
                  ...where(part),
                  message: `File ${JSON.stringify(info.filename)} in field ${JSON.stringify(info.fieldName)} was refused${typeof verdict === 'string' ? `: ${verdict}` : ''}.`,
                });
              }
              if (isLeft) throw CANCELLED;
            }
            const created = await call(part, 'creating the file', () => storage.create(info), true, hasLeft, abortLate);
            // The file may have been left in the microtasks since the storage answered: its teardown
            // then found no writer to abort, so this one is undone here, not written.
            if (isLeft) {
              abortLate(created);
              throw CANCELLED;
            }
            writer = created;
            const held = sniffed;
            sniffed = [];
            for (const [chunks, offset, length] of held) {
              if (isLeft) throw CANCELLED;
              await writeChunks(chunks, offset, length);
            }
          };

          // Promises, which writeBody settles without an Observable per write.
          const write = (chunks: readonly Buffer[], offset: number): Promise<void> => {
            const length = byteLength(chunks);
            if (fileSize !== undefined && offset + length > fileSize) {
              return Promise.reject(new MultipartError('LIMIT_FILE_SIZE', { ...where(part), limit: fileSize }));
            }
            if (writer !== undefined) return writeChunks(chunks, offset, length);
            sniffed.push([chunks, offset, length]);
            sniffedBytes += length;
            return sniffedBytes < sniffSize ? DONE : start();
          };

          const finish = async (): Promise<StoredFile<Id>> => {
            if (writer === undefined) await start();
            if (isLeft) throw CANCELLED;
            const file = await call(part, 'closing the file', () => writer!.close(), false, hasLeft, removeLate);
            keep(file.id);
            return file;
          };

          // Batches as arrays: a writer with writev gathers them without a copy.
          const subscription = part.writeBody(write, { joins: false }).pipe(ignoreElements(), concatWith(defer(finish))).subscribe({
            next: (file) => {
              isFinished = true;
              fileSubscriber.next({ kind: 'file', ...file });
            },
            error: (error: unknown) => {
              isLeft = true;
              const aborting = abortOpen(error);
              // The abort first: the error then finds nothing of this file left.
              void aborting.then(() => fileSubscriber.error(error));
            },
            complete: () => fileSubscriber.complete(),
          });

          function abortOpen(reason: unknown): Promise<void> {
            const open = isFinished ? undefined : writer;
            isFinished = true;
            if (open === undefined) return Promise.resolve();
            // Not after the write in flight: a stalled storage could hold it forever. An abort must
            // cope with a write racing it (the disk writer's closed descriptor fails that write).
            return track(bounded(Promise.resolve().then(() => open.abort(reason)), timeoutMs).catch(noop));
          }

          return () => {
            isLeft = true;
            clearTimeout(writeTimer);
            subscription.unsubscribe();
            if (!isFinished) void abortOpen(new Error('The upload was cancelled.'));
          };
        });
      }

      async function cleanUp(): Promise<void> {
        isFailed = true;
        // Creates, closes, aborts and removals in flight, all within one timeout: a stalled
        // storage cannot hold the error back. A late create or close adds its undoing while we
        // wait, hence the loop.
        const deadline = Date.now() + timeoutMs;
        while (pending.size > 0 && Date.now() < deadline) await bounded(Promise.allSettled([...pending]), deadline - Date.now()).catch(noop);
        if (options.keepOnError === true) return;
        const ids = stored.splice(0);
        await bounded(Promise.allSettled(ids.map((id) => Promise.resolve().then(() => storage.remove(id)))), timeoutMs).catch(noop);
      }

      runningUploads.stores++;
      const settle = (): void => {
        if (isSettled) return;
        isSettled = true;
        runningUploads.stores--;
      };
      const subscription = parts$
        .pipe(mergeInOrder((part) => (part.filename === undefined ? storeField(part) : storeFile(part)), concurrency))
        .subscribe({
          next: (stored) => subscriber.next(stored),
          error: (error: unknown) => {
            settle();
            // After the files' teardown, which RxJS runs once this handler returns: their aborts
            // are then among the calls the cleanup waits for, so the error finds nothing left.
            void Promise.resolve()
              .then(cleanUp)
              .then(() => subscriber.error(error));
          },
          complete: () => {
            settle();
            subscriber.complete();
          },
        });

      return () => {
        subscription.unsubscribe();
        if (!isSettled) {
          settle();
          void cleanUp();
        }
      };
    });
}

/**
 * mergeMap with at most `limit()` inner Observables at once (read again whenever one may start, so
 * a share that shrinks as more uploads run applies at once), whose values come out in the order of
 * the values they were made from (an inner's values wait for every earlier inner's end). The parts
 * of a body arrive one after another anyway (a part is emitted once the one before it has ended),
 * so only their storage overlaps.
 */
function mergeInOrder<T, R>(project: (value: T) => Observable<R>, limit: () => number): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      // Values waiting for a free slot, with their positions.
      const waiting: Array<readonly [T, number]> = [];
      // Inners running, unsubscribed on teardown.
      const running = new Set<Subscription>();
      // Values of inners that ended before an earlier one, by position.
      const ended = new Map<number, R[]>();
      let received = 0;
      // The position whose values go out next.
      let next = 0;
      let isSourceDone = false;

      const emitReady = (): void => {
        for (let head = ended.get(next); head !== undefined; head = ended.get(next)) {
          ended.delete(next++);
          for (const value of head) subscriber.next(value);
        }
        if (isSourceDone && next === received) subscriber.complete();
      };
      const startWaiting = (): void => {
        while (waiting.length > 0 && running.size < limit() && !subscriber.closed) {
          const [value, position] = waiting.shift()!;
          const values: R[] = [];
          // Undefined while subscribing: an inner may complete within its subscribe call.
          let inner: Subscription | undefined;
          let isDone = false;
          inner = project(value).subscribe({
            next: (result) => values.push(result),
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              isDone = true;
              if (inner !== undefined) running.delete(inner);
              ended.set(position, values);
              emitReady();
              startWaiting();
            },
          });
          if (!isDone && !inner.closed) running.add(inner);
        }
      };
      const reading = source.subscribe({
        next: (value) => {
          waiting.push([value, received++]);
          startWaiting();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          isSourceDone = true;
          emitReady();
        },
      });
      return () => {
        reading.unsubscribe();
        for (const inner of running) inner.unsubscribe();
        running.clear();
        waiting.length = 0;
      };
    });
}

/** Milliseconds before retry `attempt` (1 for the first): exponential, capped. */
function backoff(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelay ?? 5000, (policy.delay ?? 100) * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  // Unref'd: a retry waiting after its upload failed must not keep the process up.
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

// A storage call whose caller left: the rejection nobody hears.
const CANCELLED = new Error('The storage call was given up.');
const NO_CHUNKS: readonly Buffer[] = [];
// A write's answer that is not an error.
const WRITTEN = Symbol('written');
// A write held back for `accept`: nothing to wait for.
const DONE = Promise.resolve();

function where(part: Part): { partIndex: number; fieldName: string; filename?: string } {
  return part.filename === undefined
    ? { partIndex: part.index, fieldName: part.name }
    : { partIndex: part.index, fieldName: part.name, filename: part.filename };
}

function firstBytes(sniffed: ReadonlyArray<readonly [readonly Buffer[], number, number]>, size: number): Buffer {
  const chunks = sniffed.flatMap(([batch]) => batch);
  const whole = joinChunks(chunks);
  return whole.length > size ? whole.subarray(0, size) : whole;
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

function decodeText(bytes: Buffer, contentType: string): string {
  const charset = CHARSET.exec(contentType)?.[1]?.toLowerCase();
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8') return bytes.toString('utf8');
  try {
    return new TextDecoder(charset, { ignoreBOM: true }).decode(bytes);
  } catch {
    // An unknown charset: UTF-8 is what browsers send.
    return bytes.toString('utf8');
  }
}

/** `promise`, or a rejection after `ms`: cleanup never waits forever on a stalled storage. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (ms > MAX_TIMER) return promise;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

function noop(): void {}
