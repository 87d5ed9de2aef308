/**
 * Disk storage: each file goes to a temporary file in the target folder and is renamed into place
 * on close; a line appended to the folder's index then makes it visible, with its metadata. Ids
 * are generated; a client's filename is never a path.
 */
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { readFileRange } from '../byte-range.js';
import { checksumOf, ContentDigest, hashInto } from '../content-digest.js';
import type { ByteRange, Checksum, FileInfo, FileStorage, FileWriter, StoredFile } from '../file-storage.js';
import { fileNotFound, randomId, storedFileOf } from '../stored-file.js';
import { DiskIndex, ID, type IndexCompaction, type IndexedFile } from './disk-index.js';
import { handOver, submitWrite } from './hand-over.js';

export type { Checksum } from '../file-storage.js';
export type { IndexCompaction } from './disk-index.js';

/** Options of the disk storage. */
export interface DiskStorageOptions {
  /** The folder files are stored in; created if missing. */
  readonly directory: string;
  /** Permission bits of stored files. Default 0o600 (owner only). */
  readonly fileMode?: number;
  /** 'sha256' to compute each file's SHA-256 as it is written (`StoredFile.sha256`). Default false. */
  readonly checksum?: Checksum;
}

/** The disk storage, with a listing of what it holds. */
export interface DiskStorage extends FileStorage<string> {
  /** The folder files are stored in. */
  readonly directory: string;
  /** The path of a stored file's bytes, or undefined for an id this storage cannot have made. */
  pathOf(id: string): string | undefined;
  /** Every stored file. */
  list(): Promise<StoredFile<string>[]>;
  /**
   * Rewrites the folder's index with one line per stored file: each file stored and each removal
   * adds a line, so removed files keep taking room until this runs. This storage may go on
   * storing meanwhile; other storages on the folder should not (one of their lines can be lost,
   * see the README). One compaction runs at a time per folder, which a lock file enforces.
   * @returns the index's size in bytes before and after, and how many files it lists. Rejects with
   *   code 'EBUSY' while another compaction of the folder runs, 'EAGAIN' if the index was replaced
   *   meanwhile (nothing is changed then), or with the file system's error.
   * @example
   * const storage = createDiskStorage({ directory: './uploads' });
   * const { before, after } = await storage.compact(); // e.g. at start-up, or from a daily job
   */
  compact(): Promise<IndexCompaction>;
}

const PARTIAL = '.partial';
/** The folder's index of stored files (JSON lines); no id can take this name. */
const DISK_INDEX = 'index.jsonl';
// Measured end to end with 1000 files of 1 KiB: 4 at once left the thread pool waiting between
// each file's open, write, close and rename; 32 at once took a median 0.41 s, 16 took 0.48 s and
// 64 took 0.44 s.
const DISK_CONCURRENCY = 32;

/**
 * Stores files on local disk: the bytes in `<directory>/<d>/<id>`, where `<d>` is the id's first
 * hex digit, and the metadata (filename, type, size, sha256 if asked) in `<directory>/index.jsonl`. Bytes
 * go to `<id>.partial` first; on close they are renamed to `<id>`, and appending the file's line
 * to the index makes it visible. Abort removes them; remove appends a line that hides the file,
 * then deletes its bytes.
 *
 * @param options the folder, the file mode, and the checksum.
 * @returns a FileStorage with `list()`, `pathOf(id)` and `compact()`.
 * @example
 * multipart(req).pipe(storeParts(createDiskStorage({ directory: './uploads' })), toArray())
 */
export function createDiskStorage(options: DiskStorageOptions): DiskStorage {
  const directory = options.directory;
  const mode = options.fileMode ?? 0o600;
  const checksum = checksumOf(options.checksum);
  const index = new DiskIndex(join(directory, DISK_INDEX), mode);
  // Files spread over 16 folders by their id's first hex digit: creating 1000 files of 1 KiB from
  // the thread pool's 4 threads in one folder spent a fifth of the CPU spinning on that folder's
  // lock (perf); over 16 folders they took 305 ms instead of 439 ms, and 516 instead of 782 ms of CPU.
  const pathOf = (id: string): string | undefined => (ID.test(id) ? join(directory, id[0]!, id) : undefined);

  const located = (record: IndexedFile): StoredFile<string> => ({ ...record, location: pathOf(record.id)! });

  async function stat(id: string): Promise<StoredFile<string> | undefined> {
    if (pathOf(id) === undefined) return undefined;
    const record = await index.get(id);
    return record === undefined ? undefined : located(record);
  }

  return {
    directory,
    concurrency: DISK_CONCURRENCY,
    pathOf,
    stat,
    async create(info: FileInfo): Promise<FileWriter<string>> {
      const id = randomId();
      const path = pathOf(id)!;
      index.hold();
      try {
        const handle = await createPartial(path + PARTIAL, mode);
        return new DiskWriter(id, path, handle, index, info, new ContentDigest(checksum));
      } catch (error) {
        index.release();
        throw error;
      }
    },
    async open(id: string, range?: ByteRange): Promise<Readable> {
      const file = await stat(id);
      if (file === undefined) throw fileNotFound(id);
      return readFileRange(range, file.location, file.size);
    },
    async remove(id: string): Promise<void> {
      const path = pathOf(id);
      if (path === undefined) return;
      // Hidden first: once its line is appended the file is no longer served.
      if ((await index.get(id)) !== undefined) await index.removed(id);
      await handOver(() => rm(path, { force: true }));
    },
    async list(): Promise<StoredFile<string>[]> {
      const records = await index.all();
      return records.map(located).sort((a, b) => a.id.localeCompare(b.id));
    },
    compact: () => index.compact(),
  };
}

/**
 * Opens a new file, making its folder `<directory>/<d>` (and the storage's) when missing: on the first file,
 * and again if someone emptied the folder. 'wx': never follow or reuse an existing name.
 */
async function createPartial(path: string, mode: number): Promise<FileHandle> {
  try {
    return await handOver(() => open(path, 'wx', mode));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true });
    return handOver(() => open(path, 'wx', mode));
  }
}

class DiskWriter implements FileWriter<string> {
  private isOpen = true;
  private hasEnded = false;
  // Writes in flight on the descriptor, and who waits for there to be none.
  private writing = 0;
  private whenIdle: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;

  constructor(
    private readonly id: string,
    private readonly path: string,
    private readonly handle: FileHandle,
    private readonly index: DiskIndex,
    private readonly info: FileInfo,
    private readonly digest: ContentDigest<Checksum>,
  ) {}

  write(chunk: Buffer, offset: number): Promise<void> {
    return this.writev([chunk], offset);
  }

  writev(chunks: readonly Buffer[], offset: number): Promise<void> {
    if (!this.isOpen) return Promise.reject(Object.assign(new Error('The file was closed.'), { code: 'EBADF' }));
    let fresh: readonly Buffer[];
    try {
      // The usual case, the next bytes, without the copy of the array peekAll makes.
      fresh = offset === this.digest.size ? chunks : this.digest.peekAll(chunks, offset);
    } catch (error) {
      return Promise.reject(error);
    }
    if (fresh.length === 0) return DONE;
    this.writing++;
    // Reserved against the bytes taken now (a retry racing the attempt it replaces must not be
    // counted on top of it), hashed once the write is handed over, while it runs on the thread
    // pool, and taken only once it has landed: a write that failed is retried from the same offset
    // and must not be skipped.
    const staged = this.digest.reserve(fresh);
    let hashError: unknown;
    const landing = new Promise<void>((resolve, reject) =>
      submitWrite({
        fd: this.handle.fd,
        chunks: fresh,
        at: staged.base,
        length: staged.size - staged.base,
        submitted: () => {
          try {
            hashInto(staged, fresh);
          } catch (error) {
            // Not thrown into the batch: this write alone fails once it lands.
            hashError = error;
          }
        },
        done: (error) => {
          if (--this.writing === 0 && this.whenIdle !== undefined) {
            this.whenIdle.resolve();
            this.whenIdle = undefined;
          }
          if (error === undefined) resolve();
          else reject(error);
        },
      }),
    );
    return landing.then(() => {
      if (hashError !== undefined) throw hashError;
      this.digest.commitStaged(staged);
    });
  }

  /**
   * Resolves once no write is in flight, a given-up one included: the descriptor is closed only
   * then, since a write still running could land in another file that got its number.
   */
  private idle(): Promise<void> {
    if (this.writing === 0) return DONE;
    return (this.whenIdle ??= deferred()).promise;
  }

  async close(): Promise<StoredFile<string>> {
    this.isOpen = false;
    let isListed = false;
    try {
      await this.idle();
      await handOver(() => this.handle.close());
      const file = storedFileOf(this.id, this.info, this.digest.size, this.digest.digest(), this.path);
      await handOver(() => rename(this.path + PARTIAL, this.path));
      // The index line last: it is what makes the file visible.
      isListed = true;
      await this.index.stored(file);
      return file;
    } catch (error) {
      // A failed append may still have written this file's line whole (a batch cut short): hide it.
      if (isListed) await this.index.removed(this.id).catch(() => undefined);
      await Promise.allSettled([handOver(() => rm(this.path, { force: true })), handOver(() => rm(this.path + PARTIAL, { force: true }))]);
      throw error;
    } finally {
      this.end();
    }
  }

  async abort(): Promise<void> {
    try {
      if (this.isOpen) {
        this.isOpen = false;
        await this.idle();
        await handOver(() => this.handle.close()).catch(() => undefined);
      }
      await handOver(() => rm(this.path + PARTIAL, { force: true }));
    } finally {
      this.end();
    }
  }

  /** Tells the index this writer is done, once. */
  private end(): void {
    if (this.hasEnded) return;
    this.hasEnded = true;
    this.index.release();
  }
}

const DONE = Promise.resolve();

/** A promise and the function that resolves it. */
function deferred(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}
