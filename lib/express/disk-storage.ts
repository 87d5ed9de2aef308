/**
 * diskStorage: multer's disk storage engine, with the same options, callbacks and file fields.
 */
import { close, createWriteStream, fsync, mkdirSync, open, unlink, write, writev, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { handOverCall } from '../storage/disk/hand-over.js';
import { randomId } from '../storage/stored-file.js';
import { MulterError } from './multer-error.js';
import type { Callback, MulterFile, StorageEngine, UploadRequest } from './storage-engine.js';

/** Options of {@link diskStorage}, as multer's. */
export interface DiskStorageOptions {
  /**
   * The folder files go to: a string (created at once, recursively), or a function that calls back
   * with one (you create it). Default: `os.tmpdir()`.
   */
  destination?: string | Callback<(req: UploadRequest, file: MulterFile, callback: (error: Error | null, destination: string) => void) => void> | undefined;
  /**
   * Calls back with the file's name in its folder. Default: 32 random hex digits, no extension.
   * `file.originalname` is the client's: never use it unchecked (it may be `..` with `preservePath`).
   */
  filename?(req: UploadRequest, file: MulterFile, callback: (error: Error | null, filename: string) => void): void;
  /** fsync each file before its callback, so that a crash cannot lose it. Default false. */
  flush?: boolean | undefined;
}

type NameCallback = (req: UploadRequest, file: MulterFile, callback: (error: Error | null, name: string) => void) => void;

// A brand shared by the ESM and CJS builds, so fromMulterStorage knows it can read the files back.
const DISK = Symbol.for('rx-multipart.express.DiskStorage');

/** The engine {@link diskStorage} makes. */
class DiskStorage implements StorageEngine {
  private readonly getDestination: NameCallback;
  private readonly getFilename: NameCallback;
  private readonly flush: boolean;
  // Write streams still open, so `_removeFile` unlinks after the descriptor is closed (Windows
  // refuses to unlink an open file).
  private readonly openStreams = new WeakMap<object, WriteStream>();

  constructor(options: DiskStorageOptions) {
    const { destination } = options;
    if (typeof destination === 'string') {
      mkdirSync(destination, { recursive: true });
      this.getDestination = (_req, _file, callback) => callback(null, destination);
    } else {
      this.getDestination = destination ?? ((_req, _file, callback) => callback(null, tmpdir()));
    }
    this.getFilename = options.filename ?? randomName;
    this.flush = options.flush === true;
    Object.defineProperty(this, DISK, { value: true });
  }

  _handleFile(req: UploadRequest, file: MulterFile, callback: (error?: unknown, info?: Partial<MulterFile>) => void): void {
    let isAnswered = false;
    const answer = (error?: unknown, info?: Partial<MulterFile>): void => {
      if (isAnswered) return;
      isAnswered = true;
      callback(error, info);
    };
    // The name callbacks may answer later, from their own I/O (an `fs.mkdir` first): a throw
    // after that (a filename callback that throws, a name `createWriteStream` refuses, such as one
    // with a NUL) would reach no caller and end the process. It fails this file instead.
    const guard = (step: () => void): void => {
      try {
        step();
      } catch (error) {
        if (isAnswered) throw error;
        answer(error);
      }
    };
    guard(() =>
      this.getDestination(req, file, (destinationError, destination) =>
        guard(() => {
          if (destinationError) return answer(destinationError);
          this.getFilename(req, file, (filenameError, filename) => guard(() => this.writeFile(file, destination, filename, filenameError, answer)));
        }),
      ),
    );
  }

  /** Writes the file's stream to `destination/filename` once the names are chosen. */
  private writeFile(file: MulterFile, destination: string, filename: string, filenameError: Error | null, answer: (error?: unknown, info?: Partial<MulterFile>) => void): void {
    if (filenameError) return answer(filenameError);
    const path = join(destination, filename);
    // The upload failed while the names were being chosen: create nothing.
    if (file.stream.destroyed) return answer(new MulterError('STREAM_DESTROYED'));
    const out = createWriteStream(path, { fs: HANDED_OVER_FS });
    file.path = path;
    this.openStreams.set(file, out);
    out.once('close', () => this.openStreams.delete(file));
    pipeToFile(file.stream, out, (error) => {
      if (error) {
        // multer leaves the partial file here (for `_removeFile`, if the request fails as a
        // whole); this engine removes it before it answers, so an error never leaves one.
        return whenClosed(out, () => removeFile(path, () => answer(error)));
      }
      const done = (syncError: unknown): void => {
        if (syncError) return answer(syncError);
        answer(null, { destination, filename, path, size: out.bytesWritten });
      };
      if (this.flush) flushFile(path, done);
      else done(null);
    });
  }

  _removeFile(_req: UploadRequest, file: MulterFile, callback: (error: Error | null) => void): void {
    const fields = file as Partial<MulterFile>;
    const { path } = fields;
    delete fields.destination;
    delete fields.filename;
    delete fields.path;
    // Nothing was written (the upload failed before the file was opened): nothing to remove.
    if (typeof path !== 'string') return callback(null);
    const remove = (): void => removeFile(path, (error) => callback(error && error.code !== 'ENOENT' ? error : null));
    const out = this.openStreams.get(file);
    if (out === undefined) return remove();
    whenClosed(out, remove);
    out.destroy();
  }
}

/**
 * multer's disk storage engine: each file written to `destination` under `filename`; the file
 * object gains `destination`, `filename`, `path` and `size`. One difference: a file whose write
 * fails is removed before the engine answers (multer's leaves it).
 *
 * @param options `destination`, `filename`, `flush`, as multer's.
 * @returns a storage engine for `multer({ storage })` or `fromMulterStorage`.
 * @throws what `mkdirSync` throws for a `destination` string it cannot create.
 * @example
 * const storage = multer.diskStorage({
 *   destination: 'uploads/',
 *   filename: (req, file, cb) => cb(null, `${Date.now()}-${file.fieldname}`),
 * });
 */
export function diskStorage(options: DiskStorageOptions = {}): StorageEngine {
  return new DiskStorage(options);
}

/** True for an engine made by {@link diskStorage} (of either build). */
export function isDiskStorage(engine: StorageEngine): boolean {
  return (engine as { [DISK]?: unknown })[DISK] === true;
}

// A file's open, writes, close and removal go to the thread pool with the other disk calls of the
// same loop phase, at its end, as the disk storage's do: a WriteStream per file handing each call
// over alone cost forms of 100 files of 10 KiB, 50 at once, 1.3 to 1.7 times multer's CPU
// (docs/load.md, change 11). The stream itself, and so its errors and `bytesWritten`, is Node's.
const HANDED_OVER_FS = {
  open(path: string, flags: string, mode: number, callback: (error: NodeJS.ErrnoException | null, fd: number) => void): void {
    handOverCall(() => open(path, flags, mode, callback), (error) => callback(error, -1));
  },
  write(fd: number, buffer: Buffer, offset: number, length: number, position: number | null, callback: (error: NodeJS.ErrnoException | null, written: number, buffer: Buffer) => void): void {
    handOverCall(() => write(fd, buffer, offset, length, position, callback), (error) => callback(error, 0, buffer));
  },
  writev(fd: number, buffers: NodeJS.ArrayBufferView[], position: number | null, callback: (error: NodeJS.ErrnoException | null, written: number, buffers: NodeJS.ArrayBufferView[]) => void): void {
    handOverCall(() => writev(fd, buffers, position, callback), (error) => callback(error, 0, buffers));
  },
  close(fd: number, callback: (error?: NodeJS.ErrnoException | null) => void): void {
    handOverCall(() => close(fd, callback), callback);
  },
};

/**
 * `pipeline(source, out, callback)` for one stream into one file, without the AbortController that
 * pipeline makes for each call: aborted at the end, it made an AbortError whose stack trace kept
 * both streams (and what they held) alive long after, about twice multer's heap in a form of 100
 * small files, 50 forms at once (docs/load.md, change 11). As pipeline: the first error of either
 * stream destroys both, either closing before its end is an error (and destroys the other), and the
 * callback comes once, after the file is closed.
 */
function pipeToFile(source: Readable, out: WriteStream, callback: (error: Error | null) => void): void {
  let failure: Error | null = null;
  const fail = (error: Error): void => {
    failure ??= error;
    source.unpipe(out);
    if (!source.destroyed) source.destroy(error);
    if (!out.destroyed) out.destroy();
  };
  source.on('error', fail);
  out.on('error', fail);
  source.once('close', () => {
    if (!source.readableEnded) fail(prematureClose());
  });
  out.once('close', () => {
    // Destroyed before it finished, without an error (`_removeFile`): the source goes too.
    if (failure === null && !out.writableFinished) fail(prematureClose());
    callback(failure);
  });
  source.pipe(out);
}

/** The error pipeline reports for a stream that closed before its end. */
function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

function removeFile(path: string, callback: (error: NodeJS.ErrnoException | null) => void): void {
  handOverCall(() => unlink(path, callback), callback);
}

// 128 random bits as 32 hex digits, as multer's names, drawn with the disk storage's ids (many at a
// time): one `randomBytes` call per file is a call to the thread pool per file, which under load
// cost as much as the file's writes (docs/load.md, change 11).
function randomName(_req: UploadRequest, _file: MulterFile, callback: (error: Error | null, name: string) => void): void {
  callback(null, randomId());
}

function whenClosed(stream: WriteStream, then: () => void): void {
  if (stream.closed) then();
  else stream.once('close', then);
}

/** fsync: the write stream's descriptor is closed by now, so the file is opened again for it. */
function flushFile(path: string, done: (error: unknown) => void): void {
  open(path, 'r+', (openError, fd) => {
    if (openError) return done(openError);
    fsync(fd, (syncError) => close(fd, (closeError) => done(syncError ?? closeError)));
  });
}
