/**
 * GridFS storage (the seed's store): each file streamed into a `GridFSBucket` upload stream with
 * a generated ObjectId; abort removes the chunks already written.
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { GridFSBucket, ObjectId, type Db, type GridFSBucketWriteStream } from 'mongodb';
import { ContentDigest } from '../content-digest.js';
import type { ByteRange, FileInfo, FileStorage, FileWriter, StoredFile } from '../file-storage.js';

/** Options of the GridFS storage. */
export interface GridFSStorageOptions {
  /** The database (from the official `mongodb` driver). */
  readonly db: Db;
  /** The bucket: collections `<bucketName>.files` and `<bucketName>.chunks`. Default 'fs'. */
  readonly bucketName?: string;
  /** Bytes per GridFS chunk. Default the driver's (255 KiB). */
  readonly chunkSizeBytes?: number;
}

interface FileDocument {
  _id: ObjectId;
  length: number;
  filename: string;
  metadata?: { fieldName?: string; index?: number; contentType?: string; sha256?: string };
}

/**
 * Stores files in MongoDB GridFS. Ids are the files' ObjectIds as 24 hex characters. The SHA-256,
 * known only at the end, is set on the `files` document when the file is closed.
 *
 * @param options the database, the bucket name and the chunk size.
 * @returns a FileStorage.
 * @example
 * const storage = createGridFSStorage({ db: new MongoClient(uri).db('uploads') });
 * multipart(req).pipe(storeParts(storage), toArray())
 */
export function createGridFSStorage(options: GridFSStorageOptions): FileStorage<string> {
  const bucketName = options.bucketName ?? 'fs';
  const bucket = new GridFSBucket(options.db, { bucketName, ...(options.chunkSizeBytes === undefined ? {} : { chunkSizeBytes: options.chunkSizeBytes }) });
  const files = options.db.collection<FileDocument>(`${bucketName}.files`);
  const idOf = (id: string): ObjectId | undefined => (/^[0-9a-f]{24}$/i.test(id) ? new ObjectId(id) : undefined);

  async function stat(id: string): Promise<StoredFile<string> | undefined> {
    const oid = idOf(id);
    if (oid === undefined) return undefined;
    const doc = await files.findOne({ _id: oid });
    if (doc === null || doc.metadata?.sha256 === undefined) return undefined;
    return {
      id,
      index: doc.metadata.index ?? 0,
      fieldName: doc.metadata.fieldName ?? '',
      filename: doc.filename,
      contentType: doc.metadata.contentType ?? 'application/octet-stream',
      size: doc.length,
      sha256: doc.metadata.sha256,
      location: `gridfs:${bucketName}/${id}`,
    };
  }

  return {
    stat,
    async create(info: FileInfo): Promise<FileWriter<string>> {
      const oid = new ObjectId();
      const stream: GridFSBucketWriteStream = bucket.openUploadStreamWithId(oid, info.filename, {
        metadata: { fieldName: info.fieldName, index: info.index, contentType: info.contentType },
      });
      // Kept so a failure is seen by the next call, never unhandled.
      let failure: unknown;
      stream.on('error', (error) => (failure ??= error));
      const digest = new ContentDigest();
      let isOpen = true;
      return {
        async write(chunk: Buffer, offset: number): Promise<void> {
          if (failure !== undefined) throw failure;
          const fresh = digest.take(chunk, offset);
          if (fresh.length === 0 || stream.write(fresh)) return;
          await once(stream, 'drain');
        },
        async close(): Promise<StoredFile<string>> {
          isOpen = false;
          if (failure !== undefined) throw failure;
          stream.end();
          await once(stream, 'finish');
          const sha256 = digest.digest();
          await files.updateOne({ _id: oid }, { $set: { 'metadata.sha256': sha256 } });
          return {
            id: oid.toHexString(),
            index: info.index,
            fieldName: info.fieldName,
            filename: info.filename,
            contentType: info.contentType,
            size: digest.size,
            sha256,
            location: `gridfs:${bucketName}/${oid.toHexString()}`,
          };
        },
        async abort(): Promise<void> {
          if (isOpen) {
            isOpen = false;
            // Deletes the chunks written so far.
            await stream.abort().catch(() => undefined);
          }
          // Whatever the abort could not reach (a file that finished first).
          await bucket.delete(oid).catch(() => undefined);
        },
      };
    },
    async open(id: string, range?: ByteRange): Promise<Readable> {
      const oid = idOf(id);
      if (oid === undefined || (await stat(id)) === undefined) throw Object.assign(new Error(`No stored file has id ${JSON.stringify(id)}.`), { code: 'ENOENT' });
      return bucket.openDownloadStream(oid, range === undefined ? {} : { start: range.start, end: range.end + 1 });
    },
    async remove(id: string): Promise<void> {
      const oid = idOf(id);
      if (oid === undefined) return;
      await bucket.delete(oid).catch((error: unknown) => {
        if (!/file not found/i.test(String((error as Error).message))) throw error;
      });
    },
  };
}
