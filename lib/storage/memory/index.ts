/**
 * Memory storage: files kept in the process, for tests and small forms, under a total size cap.
 */
import type { Readable } from 'node:stream';
import { MultipartError } from '../../errors.js';
import { readBufferRange } from '../byte-range.js';
import { checksumOf, ContentDigest } from '../content-digest.js';
import type { ByteRange, Checksum, FileInfo, FileStorage, FileWriter, StoredFile } from '../file-storage.js';
import { fileNotFound, randomId, storedFileOf } from '../stored-file.js';

export type { Checksum } from '../file-storage.js';

/** Options of the memory storage. */
export interface MemoryStorageOptions {
  /** Bytes all files together may hold, open ones included. Default 64 MiB. */
  readonly maxTotalSize?: number;
  /** 'sha256' to compute each file's SHA-256 as it is written (`StoredFile.sha256`). Default false. */
  readonly checksum?: Checksum;
}

/** The memory storage, with direct access to what it holds. */
export interface MemoryStorage extends FileStorage<string> {
  /** A stored file's bytes, or undefined. */
  read(id: string): Buffer | undefined;
  /** Every stored file. */
  list(): StoredFile<string>[];
  /** Bytes held now, open files included. */
  readonly totalSize: number;
}

const DEFAULT_MAX_TOTAL_SIZE = 64 * 1024 * 1024;

/**
 * Keeps files in memory. Going over `maxTotalSize` fails the write with LIMIT_STORAGE (413).
 *
 * @param options the total size cap, and the checksum.
 * @returns a FileStorage with `read(id)` and `list()`.
 * @example
 * const storage = createMemoryStorage({ maxTotalSize: 1024 * 1024 });
 * of(body).pipe(parseMultipart(contentType), storeParts(storage), toArray())
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const maxTotalSize = options.maxTotalSize ?? DEFAULT_MAX_TOTAL_SIZE;
  const checksum = checksumOf(options.checksum);
  const files = new Map<string, { file: StoredFile<string>; bytes: Buffer }>();
  let totalSize = 0;

  const storage: MemoryStorage = {
    get totalSize() {
      return totalSize;
    },
    async create(info: FileInfo): Promise<FileWriter<string>> {
      const id = randomId();
      const digest = new ContentDigest(checksum);
      // Copies: a parser's chunk may be a view of a larger buffer that must not stay alive.
      let chunks: Buffer[] = [];
      let isOpen = true;
      const release = (): void => {
        if (!isOpen) return;
        isOpen = false;
        totalSize -= digest.size;
        chunks = [];
      };
      return {
        async write(chunk: Buffer, offset: number): Promise<void> {
          if (!isOpen) throw new Error(`File ${id} is no longer open.`);
          if (totalSize + Math.max(0, offset + chunk.length - digest.size) > maxTotalSize) {
            throw new MultipartError('LIMIT_STORAGE', {
              limit: maxTotalSize,
              partIndex: info.index,
              fieldName: info.fieldName,
              filename: info.filename,
              message: `The memory storage is full: ${maxTotalSize} bytes.`,
            });
          }
          const fresh = digest.take(chunk, offset);
          if (fresh.length === 0) return;
          chunks.push(Buffer.from(fresh));
          totalSize += fresh.length;
        },
        async close(): Promise<StoredFile<string>> {
          if (!isOpen) throw new Error(`File ${id} is no longer open.`);
          isOpen = false;
          const file = storedFileOf(id, info, digest.size, digest.digest(), `memory:${id}`);
          files.set(id, { file, bytes: Buffer.concat(chunks) });
          chunks = [];
          return file;
        },
        async abort(): Promise<void> {
          release();
        },
      };
    },
    async stat(id: string): Promise<StoredFile<string> | undefined> {
      return files.get(id)?.file;
    },
    async open(id: string, range?: ByteRange): Promise<Readable> {
      const entry = files.get(id);
      if (entry === undefined) throw fileNotFound(id);
      return readBufferRange(range, entry.bytes);
    },
    async remove(id: string): Promise<void> {
      const entry = files.get(id);
      if (entry === undefined) return;
      files.delete(id);
      totalSize -= entry.bytes.length;
    },
    read(id: string): Buffer | undefined {
      return files.get(id)?.bytes;
    },
    list(): StoredFile<string>[] {
      return [...files.values()].map((entry) => entry.file);
    },
  };
  return storage;
}
