/**
 * memoryStorage: multer's memory storage engine: each file as one Buffer on the file object.
 */
import type { MulterFile, StorageEngine, UploadRequest } from './storage-engine.js';

// A brand shared by the ESM and CJS builds, so fromMulterStorage knows it can read the files back.
const MEMORY = Symbol.for('rx-multipart.express.MemoryStorage');

/** The engine {@link memoryStorage} makes. */
class MemoryStorage implements StorageEngine {
  constructor() {
    Object.defineProperty(this, MEMORY, { value: true });
  }

  _handleFile(_req: UploadRequest, file: MulterFile, callback: (error?: unknown, info?: Partial<MulterFile>) => void): void {
    const chunks: Buffer[] = [];
    const { stream } = file;
    let isAnswered = false;
    const answer = (error: unknown, info?: Partial<MulterFile>): void => {
      if (isAnswered) return;
      isAnswered = true;
      callback(error, info);
    };
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => {
      const buffer = Buffer.concat(chunks);
      answer(null, { buffer, size: buffer.length });
    });
    // multer's listens for 'end' only, so it never answers a stream destroyed by a failed upload.
    stream.once('error', (error) => answer(error));
    stream.once('close', () => answer(new Error('file.stream closed before its end.')));
  }

  _removeFile(_req: UploadRequest, file: MulterFile, callback: (error: Error | null) => void): void {
    delete (file as Partial<MulterFile>).buffer;
    callback(null);
  }
}

/**
 * multer's memory storage engine: the file object gains `buffer` (the whole file) and `size`.
 * Every byte of every file is held in memory until the request is answered: the finite default
 * `limits.fileSize` (100 MiB) and `limits.bodySize` (1 GiB) bound one request, not the process.
 *
 * @returns a storage engine for `multer({ storage })` or `fromMulterStorage`.
 * @example const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 5 * 1024 * 1024 } });
 */
export function memoryStorage(): StorageEngine {
  return new MemoryStorage();
}

/** True for an engine made by {@link memoryStorage} (of either build). */
export function isMemoryStorage(engine: StorageEngine): boolean {
  return (engine as { [MEMORY]?: unknown })[MEMORY] === true;
}
