/**
 * One file through a multer storage engine: the readable `file.stream` the engine reads, fed by
 * positional writes that wait for the engine to take each chunk, and the engine's callback.
 */
import { Readable } from 'node:stream';
import type { FileWriter, StoredFile } from '../storage/file-storage.js';
import type { MulterFile, StorageEngine, UploadRequest } from './storage-engine.js';

/** How the engine answered `_handleFile`. */
type Outcome = { readonly error: unknown } | { readonly file: MulterFile };

/** What one file needs beyond the engine: where it is in the body, and how long to wait. */
export interface EngineFileOptions {
  /** The request the engine is handed. */
  readonly request: UploadRequest;
  /** 0-based position of the part in the body. */
  readonly index: number;
  /** `highWaterMark` of `file.stream`: bytes it buffers before a write waits. Default: Node's. */
  readonly highWaterMark?: number;
  /** Longest wait for `_removeFile` to call back, in milliseconds. */
  readonly timeout: number;
  /** Called with what `_removeFile` failed with for a file the engine had stored. */
  readonly onRemoveError?: (error: unknown, file: MulterFile) => void;
}

/**
 * After its stream is destroyed, how long an aborted file waits for the engine to call back before
 * `_removeFile` is called anyway. Engines built on `pipeline` (multer's disk engine, multer-s3)
 * answer within milliseconds; some never answer an aborted stream (multer's memory engine listens
 * for 'end' only), and the error answer must not wait for them.
 */
const ABORT_GRACE_MS = 1000;

/**
 * Starts storing `file` with `engine`: defines `file.stream` (not enumerable, as multer does) and
 * calls `_handleFile` at once. The writer's `write` resolves once the stream has taken the chunk
 * (its buffer is below `highWaterMark`), so an engine that reads slowly slows the parse, and with it
 * the request. `close` ends the stream and resolves with the engine's answer merged into the file
 * object (the id). `abort` destroys the stream, lets the engine answer, and removes whatever it
 * stored or was storing with `_removeFile`.
 *
 * @param engine the storage engine.
 * @param file the file object (`fieldname`, `originalname`, `encoding`, `mimetype`).
 * @param options the request, the part's index, the stream's buffer, the removal timeout.
 * @returns a FileWriter whose ids are the engine's file objects, and `remove` for one it stored.
 */
export function startEngineFile(engine: StorageEngine, file: MulterFile, options: EngineFileOptions): EngineFileWriter {
  const { request } = options;
  // Wake the writes waiting for the stream to want more bytes (or for the engine to answer): more
  // than one when a write timed out and its retry came while it still waited.
  let waiters: Array<() => void> = [];
  const stream = new Readable({
    ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
    read() {
      release();
    },
  });
  // An engine that destroys the stream (or fails) must not leave a write waiting.
  stream.once('close', release);
  Object.defineProperty(file, 'stream', { value: stream, configurable: true, enumerable: false, writable: true });

  // Bytes pushed into the stream: the offset the next new byte must have.
  let pushed = 0;
  let isEnded = false;
  // Set before the stream is destroyed by abort: an error the engine answers then is ours, and what
  // it wrote is removed.
  let isAborting = false;
  let outcome: Outcome | undefined;
  let settle!: (value: Outcome) => void;
  const answered = new Promise<Outcome>((resolve) => (settle = resolve));
  let aborting: Promise<void> | undefined;

  function release(): void {
    const waiting = waiters;
    waiters = [];
    for (const wake of waiting) wake();
  }

  const callback = (error?: unknown, info?: Partial<MulterFile>): void => {
    if (outcome !== undefined) return; // an engine that calls back twice: the first answer counts
    // multer merges the answer into a new object: `stream` (not enumerable) stays behind.
    outcome = error ? { error } : { file: { ...file, ...info } as MulterFile };
    // Answered before the end (an engine that stores nothing, or failed): later bytes are dropped.
    stream.resume();
    settle(outcome);
    release();
  };
  try {
    engine._handleFile(request, file, callback);
  } catch (error) {
    // multer lets a synchronous throw escape; here it fails the request like an error callback.
    callback(error ?? new Error('The storage engine threw.'));
  }

  async function writev(chunks: readonly Buffer[], offset: number): Promise<void> {
    if (offset > pushed) throw new RangeError(`write at offset ${offset} leaves a gap: ${pushed} bytes were written so far.`);
    // Positional writes: bytes below what was pushed already are a retry, taken once. Measured
    // against `pushed` at each chunk, not once: a retry that came while this write waited may have
    // pushed the rest of its chunks already.
    let at = offset;
    for (const chunk of chunks) {
      const end = at + chunk.length;
      if (end > pushed) {
        if (outcome !== undefined || stream.destroyed) break;
        const fresh = at >= pushed ? chunk : chunk.subarray(pushed - at);
        pushed = end;
        // The stream holds highWaterMark bytes: wait until the engine reads, answers or destroys it.
        if (!stream.push(fresh) && !stream.destroyed) await new Promise<void>((resolve) => waiters.push(resolve));
      }
      at = end;
    }
    if (outcome !== undefined && 'error' in outcome) throw outcome.error;
    if (stream.destroyed && outcome === undefined) throw new Error('The storage engine destroyed file.stream before the file ended.');
  }

  const removeStored = (stored: MulterFile): Promise<void> => removeEngineFile(engine, request, stored, options.timeout);

  return {
    write: (chunk, offset) => writev([chunk], offset),
    writev,
    async close(): Promise<StoredFile<MulterFile>> {
      if (!isEnded) {
        isEnded = true;
        stream.push(null);
      }
      const answer = await answered;
      if ('error' in answer) throw answer.error;
      const stored = answer.file;
      return storedOf(stored, options.index, typeof stored.size === 'number' ? stored.size : pushed);
    },
    abort(): Promise<void> {
      aborting ??= (async () => {
        if (outcome === undefined) {
          isAborting = true;
          // An engine not reading yet (still choosing a name) has no 'error' listener of its own.
          stream.on('error', noop);
          stream.destroy(new Error('The upload was aborted.'));
          await Promise.race([answered, delay(ABORT_GRACE_MS)]);
        }
        const answer = outcome;
        if (answer === undefined) {
          // Still busy after the grace: remove what it stored once it answers (or after the
          // timeout), without holding the request's error back.
          void Promise.race([answered, delay(options.timeout)])
            .then((late) => removeStored(late !== undefined && 'file' in late ? late.file : file))
            .catch(noop);
          return;
        }
        if ('file' in answer) {
          await removeStored(answer.file).catch((error: unknown) => options.onRemoveError?.(error, answer.file));
        } else if (isAborting) {
          // Failed because the upload was aborted while it stored: multer's disk engine, for one,
          // leaves the partial file for `_removeFile`. An error the engine answered by itself means
          // it stored nothing (multer's rule), so it is not removed.
          await removeStored(file).catch(noop);
        }
      })();
      return aborting;
    },
  };
}

/** The writer of one engine file. */
export type EngineFileWriter = FileWriter<MulterFile> & Required<Pick<FileWriter<MulterFile>, 'writev'>>;

// Each stored file object is removed once, however many of the cleanups ask (an abort racing the
// close of the same file, a remove after it): multer's disk engine deletes `path` from the object
// on its first call, and a second would unlink nothing.
const removals = new WeakMap<object, Promise<void>>();

/**
 * Calls the engine's `_removeFile` for `file`, once per file object, within `timeout`.
 * @returns a promise settled once the engine called back (rejected with its error) or after `timeout`.
 */
export function removeEngineFile(engine: StorageEngine, request: UploadRequest, file: MulterFile, timeout: number): Promise<void> {
  let removal = removals.get(file);
  if (removal === undefined) {
    removal = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, timeout);
      timer.unref();
      try {
        engine._removeFile(request, file, (error) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        });
      } catch (error) {
        // multer's disk engine throws synchronously for a file that has no path (fs.unlink(undefined)).
        clearTimeout(timer);
        reject(error);
      }
    });
    removals.set(file, removal);
  }
  return removal;
}

/** The StoredFile of a file object an engine answered with, `size` bytes long. */
export function storedOf(id: MulterFile, index: number, size: number): StoredFile<MulterFile> {
  return { id, index, fieldName: id.fieldname, filename: id.originalname, contentType: id.mimetype, size, location: locationOf(id) };
}

/** Where an engine says it put a file, for logs: a path, a URL, a key; else the field name. */
export function locationOf(file: MulterFile): string {
  const fields = file as unknown as Record<string, unknown>;
  for (const key of ['path', 'location', 'url', 'key', 'id'] as const) {
    const value = fields[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return `multer:${file.fieldname}`;
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}

function noop(): void {}
