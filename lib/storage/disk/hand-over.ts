/**
 * The hand-over to libuv's thread pool shared by the disk storages: the file-system calls asked for
 * during one phase of the event loop go to the pool together, at its end (setImmediate runs right
 * after the phase that reads the sockets). Handed over one by one between the reads, each could
 * wake a pool thread that had gone to sleep, and on a busy machine the woken thread takes the core
 * from the event loop (docs/load.md, changes 7 and 10).
 */
import { writev as fsWritev } from 'node:fs';
import { skipBytes } from '../content-digest.js';

/** A positional gathered write, made whole (a short write is finished) before `done`. */
export interface PendingWrite {
  readonly fd: number;
  readonly chunks: readonly Buffer[];
  readonly at: number;
  readonly length: number;
  /** Called once the write is handed over: work to overlap with it (the hashing). */
  readonly submitted: () => void;
  readonly done: (error?: Error) => void;
}

/** A call of the callback API, and where a throw of its own (a bad argument) goes. */
interface PendingCall {
  readonly call: () => void;
  readonly fail: (error: Error) => void;
}

let pendingWrites: PendingWrite[] = [];
// A file's other calls (open, close, rename, removal), of either API: in a form of small files they
// are three in four of its calls.
let pendingCalls: PendingCall[] = [];
let isFlushScheduled = false;

function scheduleFlush(): void {
  if (isFlushScheduled) return;
  isFlushScheduled = true;
  setImmediate(flush);
}

/** Makes `write` at the end of this phase. */
export function submitWrite(write: PendingWrite): void {
  pendingWrites.push(write);
  scheduleFlush();
}

/**
 * Makes a promise-returning file-system call at the end of this phase; its promise settles as the
 * call's, and a call that throws (a bad argument) rejects it alone.
 */
export function handOver<T>(call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => handOverCall(() => void call().then(resolve, reject), reject));
}

/**
 * Makes a callback-style file-system call (`fs.open(path, flags, mode, callback)`, say) at the end
 * of this phase. A call that throws instead of calling back goes to `fail`, alone.
 */
export function handOverCall(call: () => void, fail: (error: Error) => void): void {
  pendingCalls.push({ call, fail });
  scheduleFlush();
}

function flush(): void {
  isFlushScheduled = false;
  const calls = pendingCalls;
  pendingCalls = [];
  for (const { call, fail } of calls) {
    try {
      call();
    } catch (error) {
      // Later, as the call's own answer would come: a `fail` that throws cannot stop the batch.
      process.nextTick(fail, asError(error));
    }
  }
  const batch = pendingWrites;
  pendingWrites = [];
  for (const { fd, chunks, at, length, submitted, done } of batch) {
    // A write Node refuses at once (a bad descriptor) fails that write alone, not the batch.
    try {
      writeFully(fd, chunks, length, at, done);
    } catch (error) {
      done(asError(error));
      continue;
    }
    submitted();
  }
}

// One gathered write (no copy into one buffer); a positional write may be short, so finish it.
// fs.writev with a callback on the FileHandle's descriptor: the promise API costs two async frames
// and a promise request per write, which under load is a write per socket chunk (docs/load.md).
function writeFully(fd: number, chunks: readonly Buffer[], length: number, at: number, done: (error?: Error) => void): void {
  fsWritev(fd, chunks, at, (error, bytesWritten) => {
    if (error !== null) return done(error);
    if (bytesWritten === length) return done();
    if (bytesWritten === 0) return done(new Error('The disk took no byte of a write.'));
    writeFully(fd, skipBytes(chunks, bytesWritten), length - bytesWritten, at + bytesWritten, done);
  });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
