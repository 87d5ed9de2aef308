/**
 * GridFS storage (the seed's store): each file streamed into a `GridFSBucket` upload stream under a
 * generated ObjectId; abort removes the chunks already written.
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { GridFSBucket, ObjectId, type Db, type GridFSBucketReadStream, type GridFSBucketWriteStream } from 'mongodb';
import { readRange } from '../byte-range.js';
import { checksumOf, ContentDigest } from '../content-digest.js';
import type { ByteRange, Checksum, FileInfo, FileStorage, FileWriter, StoredFile } from '../file-storage.js';
import { fileNotFound, storedFileOf } from '../stored-file.js';

export type { Checksum } from '../file-storage.js';

/** Options of the GridFS storage. */
export interface GridFSStorageOptions {
  /** The database, from the official `mongodb` driver (6 or later). */
  readonly db: Db;
  /** The bucket: collections `<bucketName>.files` and `<bucketName>.chunks`. Default 'fs'. */
  readonly bucketName?: string;
  /** Bytes per GridFS chunk. Default the driver's, 255 KiB. */
  readonly chunkSizeBytes?: number;
  /** 'sha256' to compute each file's SHA-256 as it is written (`StoredFile.sha256`, in `metadata`). Default false. */
  readonly checksum?: Checksum;
}

/** What this storage keeps in a files document's `metadata`. */
interface FileMetadata {
  fieldName: string;
  index: number;
  contentType: string;
  /** Set once every byte was written; a files document without it is not one of ours, or not whole. */
  complete?: true;
  /** With `checksum: 'sha256'`, set with `complete`. */
  sha256?: string;
}

interface FileDocument {
  _id: ObjectId;
  length: number;
  filename: string;
  metadata?: Partial<FileMetadata>;
}

const OBJECT_ID = /^[0-9a-f]{24}$/i;

/**
 * The driver's read stream, made to close its cursor when it is destroyed before its end. The
 * driver closes it only at the end or in `abort()`; `destroy()`, which `pipeline` calls when an HTTP
 * client leaves mid-download, would leave the cursor open on the server (until its idle timeout,
 * 10 minutes on mongod) for a file of more chunks than the first batch holds.
 */
function releasingCursor(stream: GridFSBucketReadStream): GridFSBucketReadStream {
  stream.once('close', () => {
    // abort() on a destroyed stream only kills the cursor (none yet: nothing to kill).
    if (!stream.readableEnded) stream.abort().catch(() => undefined);
  });
  return stream;
}

/**
 * Whether a files document is one of ours, whole: marked `complete`, or, as versions before the
 * checksum became optional wrote it, carrying the `sha256` that was set at the same moment.
 */
function isComplete(metadata: Partial<FileMetadata>): boolean {
  return metadata.complete === true || typeof metadata.sha256 === 'string';
}

/**
 * Stores files in MongoDB GridFS, the way the seed did: `openUploadStreamWithId` with a new
 * ObjectId, the client's filename as the GridFS `filename`, and `metadata: { fieldName, index,
 * contentType, complete }` (and `sha256` with `checksum: 'sha256'`). Ids are the ObjectIds as 24
 * hex characters.
 *
 * The SHA-256 is known only after the last byte. The driver writes the files document when the
 * stream finishes, from the `metadata` object it was given, so the writer adds `complete: true`
 * (and the `sha256`) to that object before ending the stream: the document appears complete, in
 * one insert. Should a driver copy the metadata earlier, close sets them with an `updateOne` on
 * `<bucketName>.files` instead; `stat` and `open` treat a files document without
 * `metadata.complete` (or the `sha256` that earlier versions set in its place) as not (yet) stored:
 * another tool's upload, or one still being written.
 *
 * Abort waits for the chunk insert in flight, then calls the stream's `abort()`, which deletes
 * the chunks written so far; a file whose close had already stored it is deleted.
 *
 * Errors are the driver's own, unchanged (a `MongoServerError`, a network error): a failed chunk
 * insert rejects that `write` or the next one, or `close`. `open` rejects with an Error whose `code`
 * is 'ENOENT' for an id with no stored file; `stat` resolves undefined then, and `remove` resolves.
 *
 * @param options the database, the bucket name, the chunk size and the checksum.
 * @returns a FileStorage whose ids are ObjectId hex strings.
 * @example
 * const storage = createGridFSStorage({ db: new MongoClient(uri).db('uploads') });
 * multipart(req).pipe(storeParts(storage), toArray())
 */
export function createGridFSStorage(options: GridFSStorageOptions): FileStorage<string> {
  const bucketName = options.bucketName ?? 'fs';
  const checksum = checksumOf(options.checksum);
  const bucket = new GridFSBucket(options.db, { bucketName, ...(options.chunkSizeBytes === undefined ? {} : { chunkSizeBytes: options.chunkSizeBytes }) });
  const files = options.db.collection<FileDocument>(`${bucketName}.files`);
  const objectId = (id: string): ObjectId | undefined => (OBJECT_ID.test(id) ? new ObjectId(id) : undefined);
  const locationOf = (id: string): string => `gridfs:${bucketName}/${id}`;

  async function remove(id: string): Promise<void> {
    const oid = objectId(id);
    if (oid === undefined) return;
    // Deletes the files document and every chunk; rejects with "File not found" when there was
    // no files document, even though it deleted chunks (those of an unfinished file) too.
    await bucket.delete(oid).catch((error: unknown) => {
      if (!/file not found/i.test(error instanceof Error ? error.message : String(error))) throw error;
    });
  }

  async function stat(id: string): Promise<StoredFile<string> | undefined> {
    const oid = objectId(id);
    if (oid === undefined) return undefined;
    const doc = await files.findOne({ _id: oid });
    const metadata = doc?.metadata;
    if (doc === null || metadata === undefined || !isComplete(metadata)) return undefined;
    const info = { index: metadata.index ?? 0, fieldName: metadata.fieldName ?? '', filename: doc.filename, contentType: metadata.contentType ?? 'application/octet-stream', headers: {} };
    const sha256 = typeof metadata.sha256 === 'string' ? metadata.sha256 : undefined;
    return storedFileOf(oid.toHexString(), info, doc.length, sha256, locationOf(oid.toHexString()));
  }

  async function create(info: FileInfo): Promise<FileWriter<string>> {
    const oid = new ObjectId();
    const id = oid.toHexString();
    const metadata: FileMetadata = { fieldName: info.fieldName, index: info.index, contentType: info.contentType };
    const stream: GridFSBucketWriteStream = bucket.openUploadStreamWithId(oid, info.filename, { metadata });
    // The stream's first error, seen by the next write or close; never unhandled.
    let failure: unknown;
    stream.on('error', (error) => {
      failure ??= error;
    });
    // Settles when the last write's chunk inserts are acknowledged: abort waits for it so no insert
    // lands after the chunks were deleted.
    let lastWrite: Promise<void> = Promise.resolve();
    const digest = new ContentDigest(checksum);
    // False once close or abort began.
    let isOpen = true;

    return {
      async write(chunk: Buffer, offset: number): Promise<void> {
        if (failure !== undefined) throw failure;
        if (!isOpen) throw new Error(`File ${id} is no longer open.`);
        const fresh = digest.take(chunk, offset);
        if (fresh.length === 0) return;
        let accepted = true;
        lastWrite = new Promise<void>((resolve) => {
          accepted = stream.write(fresh, () => resolve());
        });
        // Resolves when the stream took the bytes; rejects when it fails first.
        if (!accepted) await once(stream, 'drain');
      },
      async close(): Promise<StoredFile<string>> {
        if (!isOpen) throw new Error(`File ${id} is no longer open.`);
        isOpen = false;
        if (failure !== undefined) throw failure;
        const sha256 = digest.digest();
        metadata.complete = true;
        if (sha256 !== undefined) metadata.sha256 = sha256;
        try {
          stream.end();
          await once(stream, 'finish');
          if (stream.gridFSFile?.metadata === undefined || !isComplete(stream.gridFSFile.metadata)) {
            await files.updateOne({ _id: oid }, { $set: sha256 === undefined ? { 'metadata.complete': true } : { 'metadata.complete': true, 'metadata.sha256': sha256 } });
          }
        } catch (error) {
          // Chunks (and maybe the files document) of a file that will not be reported as stored.
          await remove(id).catch(() => undefined);
          throw error;
        }
        return storedFileOf(id, info, digest.size, sha256, locationOf(id));
      },
      async abort(): Promise<void> {
        if (isOpen) {
          isOpen = false;
          await lastWrite;
          // Deletes the chunks written so far; nothing was in flight (see lastWrite).
          await stream.abort();
          return;
        }
        // close had begun: whatever it stored goes.
        await remove(id);
      },
    };
  }

  return {
    create,
    stat,
    remove,
    async open(id: string, range?: ByteRange): Promise<Readable> {
      const file = await stat(id);
      if (file === undefined) throw fileNotFound(id);
      const oid = new ObjectId(id);
      // The driver's `end` is exclusive (and may not pass the file's length: readRange clips).
      return readRange(range, file.size, (within) => releasingCursor(bucket.openDownloadStream(oid, within === undefined ? {} : { start: within.start, end: within.end + 1 })));
    },
  };
}
