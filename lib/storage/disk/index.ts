/**
 * Disk storage: each file goes to a temporary file in the target folder and is renamed into place
 * on close, with its metadata beside it. Ids are generated; a client's filename is never a path.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ContentDigest, skipBytes, type StagedBytes } from '../content-digest.js';
import type { ByteRange, FileInfo, FileStorage, FileWriter, StoredFile } from '../file-storage.js';
import { fileNotFound, randomId, storedFileOf } from '../stored-file.js';

/** Options of the disk storage. */
export interface DiskStorageOptions {
  /** The folder files are stored in; created if missing. */
  readonly directory: string;
  /** Permission bits of stored files. Default 0o600 (owner only). */
  readonly fileMode?: number;
}

/** The disk storage, with a listing of what it holds. */
export interface DiskStorage extends FileStorage<string> {
  /** The folder files are stored in. */
  readonly directory: string;
  /** The path of a stored file's bytes, or undefined for an id this storage cannot have made. */
  pathOf(id: string): string | undefined;
  /** Every stored file. */
  list(): Promise<StoredFile<string>[]>;
}

// 128 random bits, hex: unguessable, and the only names the storage ever builds a path from.
const ID = /^[0-9a-f]{32}$/;
const PARTIAL = '.partial';
const META = '.json';

/**
 * Stores files on local disk: `<directory>/<id>` with `<id>.json` metadata (filename, type, size,
 * sha256). Bytes go to `<id>.partial` first and become visible only on close (renamed, then the
 * metadata written); abort removes them.
 *
 * @param options the folder, and the file mode.
 * @returns a FileStorage with `list()` and `pathOf(id)`.
 * @example
 * multipart(req).pipe(storeParts(createDiskStorage({ directory: './uploads' })), toArray())
 */
export function createDiskStorage(options: DiskStorageOptions): DiskStorage {
  const directory = options.directory;
  const mode = options.fileMode ?? 0o600;
  let ready: Promise<unknown> | undefined;
  const pathOf = (id: string): string | undefined => (ID.test(id) ? join(directory, id) : undefined);

  async function stat(id: string): Promise<StoredFile<string> | undefined> {
    const path = pathOf(id);
    if (path === undefined) return undefined;
    let text: string;
    try {
      text = await readFile(path + META, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as StoredFile<string>;
    } catch {
      // Metadata being written (or cut by a crash while it was): the file is not stored.
      return undefined;
    }
  }

  return {
    directory,
    pathOf,
    stat,
    async create(info: FileInfo): Promise<FileWriter<string>> {
      ready ??= mkdir(directory, { recursive: true });
      await ready;
      const id = randomId();
      const path = join(directory, id);
      // 'wx': never follow or reuse an existing name.
      const handle = await open(path + PARTIAL, 'wx', mode);
      return new DiskWriter(id, path, handle, mode, info);
    },
    async open(id: string, range?: ByteRange): Promise<Readable> {
      const file = await stat(id);
      if (file === undefined) throw fileNotFound(id);
      return createReadStream(join(directory, id), range === undefined ? {} : { start: range.start, end: range.end });
    },
    async remove(id: string): Promise<void> {
      const path = pathOf(id);
      if (path === undefined) return;
      // Metadata first: once it is gone the file is no longer served.
      await rm(path + META, { force: true });
      await rm(path, { force: true });
    },
    async list(): Promise<StoredFile<string>[]> {
      let names: string[];
      try {
        names = await readdir(directory);
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
      const files: StoredFile<string>[] = [];
      for (const name of names) {
        if (!name.endsWith(META)) continue;
        const file = await stat(name.slice(0, -META.length));
        if (file !== undefined) files.push(file);
      }
      return files.sort((a, b) => a.id.localeCompare(b.id));
    },
  };
}

class DiskWriter implements FileWriter<string> {
  private readonly digest = new ContentDigest();
  private isOpen = true;

  constructor(
    private readonly id: string,
    private readonly path: string,
    private readonly handle: FileHandle,
    private readonly mode: number,
    private readonly info: FileInfo,
  ) {}

  write(chunk: Buffer, offset: number): Promise<void> {
    return this.writev([chunk], offset);
  }

  async writev(chunks: readonly Buffer[], offset: number): Promise<void> {
    const fresh = this.digest.peekAll(chunks, offset);
    if (fresh.length === 0) return;
    const landed = writeFully(this.handle, fresh, this.digest.size);
    // Hashed while the write runs on the thread pool; taken only once it has landed: a write that
    // failed is retried from the same offset and must not be skipped.
    let staged: StagedBytes;
    try {
      staged = this.digest.stage(fresh);
    } finally {
      await landed;
    }
    this.digest.commitStaged(staged);
  }

  async close(): Promise<StoredFile<string>> {
    this.isOpen = false;
    await this.handle.close();
    const file = storedFileOf(this.id, this.info, this.digest.size, this.digest.digest(), this.path);
    try {
      await rename(this.path + PARTIAL, this.path);
      // The metadata last, in place: it is what makes the file visible, and stat takes metadata
      // that does not parse (not yet whole) for no file, so a temporary name would add a rename.
      await writeFile(this.path + META, JSON.stringify(file), { mode: this.mode, flag: 'wx' });
    } catch (error) {
      await Promise.allSettled([rm(this.path + META, { force: true }), rm(this.path, { force: true }), rm(this.path + PARTIAL, { force: true })]);
      throw error;
    }
    return file;
  }

  async abort(): Promise<void> {
    if (this.isOpen) {
      this.isOpen = false;
      await this.handle.close().catch(() => undefined);
    }
    await rm(this.path + PARTIAL, { force: true });
  }
}

// One gathered write (no copy into one buffer); a positional write may be short, so finish it.
async function writeFully(handle: FileHandle, chunks: Buffer[], at: number): Promise<void> {
  let rest = chunks;
  let position = at;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, position);
    if (bytesWritten === 0) throw new Error('The disk took no byte of a write.');
    position += bytesWritten;
    rest = skipBytes(rest, bytesWritten);
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
