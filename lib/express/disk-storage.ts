/**
 * diskStorage: multer's disk storage engine, with the same options, callbacks and file fields.
 */
import { randomBytes } from 'node:crypto';
import { close, createWriteStream, fsync, mkdirSync, open, unlink, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
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
    const out = createWriteStream(path);
    file.path = path;
    this.openStreams.set(file, out);
    out.once('close', () => this.openStreams.delete(file));
    pipeline(file.stream, out, (error) => {
      if (error) {
        // multer leaves the partial file here (for `_removeFile`, if the request fails as a
        // whole); this engine removes it before it answers, so an error never leaves one.
        return whenClosed(out, () => unlink(path, () => answer(error)));
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
    const remove = (): void => unlink(path, (error) => callback(error && error.code !== 'ENOENT' ? error : null));
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

function randomName(_req: UploadRequest, _file: MulterFile, callback: (error: Error | null, name: string) => void): void {
  randomBytes(16, (error, bytes) => callback(error, error ? '' : bytes.toString('hex')));
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
