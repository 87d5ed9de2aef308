/**
 * FileStorage / FileWriter: where storeParts sends each file, one positional write at a time.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** What a storage is told about a file when it is created. */
export interface FileInfo {
  /** 0-based position of the part in the body. */
  readonly index: number;
  /** The part's Content-Disposition `name`. */
  readonly fieldName: string;
  /** The client's decoded filename (basename unless `preservePath`). Metadata only: never a path. */
  readonly filename: string;
  /** The part's Content-Type ('application/octet-stream' when a file part has none). */
  readonly contentType: string;
  /** Every header of the part, by lower-cased name. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A file that was stored completely. */
export interface StoredFile<Id = string> {
  /** The id the storage generated; the only handle to read or remove the file. */
  readonly id: Id;
  /** 0-based position of the part in the body. */
  readonly index: number;
  /** The part's field name. */
  readonly fieldName: string;
  /** The client's decoded filename (metadata, never a path). */
  readonly filename: string;
  /** The part's Content-Type. */
  readonly contentType: string;
  /** Bytes stored. */
  readonly size: number;
  /**
   * SHA-256 of the bytes stored, lower-case hex: present when the file was stored by a storage
   * made with `checksum: 'sha256'` (off by default; see {@link Checksum}). A storage answers what
   * was stored, whatever its own option: a file stored without a checksum has none.
   */
  readonly sha256?: string;
  /** Where the storage put it (a path, an `s3://` URL, a GridFS id), for logs. */
  readonly location: string;
}

/**
 * Receives one file's bytes. `write` calls come one at a time, in order; a retried write repeats
 * the same (chunk, offset), so a writer must treat bytes below what it already holds as written
 * (positional writes are idempotent). After `close` or `abort` no call follows.
 */
export interface FileWriter<Id = string> {
  /** Stores `chunk` at byte `offset` of the file. */
  write(chunk: Buffer, offset: number): Promise<void>;
  /**
   * Optional: stores `chunks`, one after the other, from byte `offset`, under the same rules as
   * `write`. storeParts uses it when present; without it, it joins the chunks into one `write`.
   */
  writev?(chunks: readonly Buffer[], offset: number): Promise<void>;
  /** Makes the file durable and visible; resolves with what was stored. */
  close(): Promise<StoredFile<Id>>;
  /** Drops the file: nothing of it may stay behind. Never rejects for a file already gone. */
  abort(reason: unknown): Promise<void>;
}

/** A place files go: disk, memory, S3, GridFS, or your own. */
export interface FileStorage<Id = string> {
  /** Starts a file. Nothing is visible until its writer's `close` resolves. */
  create(info: FileInfo): Promise<FileWriter<Id>>;
  /** What was stored under `id`, or undefined when there is no such file. */
  stat(id: Id): Promise<StoredFile<Id> | undefined>;
  /**
   * The file's bytes, from `start` to `end` inclusive when given: an end past the file is read as
   * its last byte, a start at or past the end reads no byte, and a range that is not one (a bound
   * not a whole number >= 0, an end before the start) rejects with a RangeError whose `code` is
   * 'ERR_OUT_OF_RANGE'. Rejects when there is no such file. Destroying the stream before its end
   * releases what it holds (file descriptor, connection, cursor).
   */
  open(id: Id, range?: ByteRange): Promise<Readable>;
  /** Removes a stored file; resolves also when it is already gone. */
  remove(id: Id): Promise<void>;
  /**
   * Optional: how many files this storage stores well at once; `storeParts` takes it when its own
   * `concurrency` option is not given (default 4).
   */
  readonly concurrency?: number;
  /**
   * Optional: this storage for one request, for a storage whose work depends on it (a multer
   * storage engine hands the request to its callbacks: `fromMulterStorage`). `MultipartInterceptor`
   * calls it once per request; with `storeParts`, call it yourself.
   */
  forRequest?(request: IncomingMessage): FileStorage<Id>;
}

/**
 * The checksum a storage computes while a file's bytes arrive: `'sha256'`, or `false` for none,
 * every storage's default. SHA-256 runs on the event loop: measured at 1.46 GiB/s on a core with
 * SHA extensions, that is 0.68 s of CPU per GiB stored, and 42 µs per 64 KiB chunk that every
 * other request waits behind. Turn it on when something reads `StoredFile.sha256`.
 */
export type Checksum = 'sha256' | false;

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}
