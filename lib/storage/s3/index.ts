/**
 * S3 storage: each file is a multipart upload of unknown length (`@aws-sdk/lib-storage` Upload),
 * described by a small `<key>.json` object beside it.
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { readRange } from '../byte-range.js';
import { checksumOf, ContentDigest } from '../content-digest.js';
import type { ByteRange, Checksum, FileInfo, FileStorage, FileWriter, StoredFile } from '../file-storage.js';
import { fileNotFound, randomId, storedFileOf } from '../stored-file.js';

export type { Checksum } from '../file-storage.js';

/** Options of the S3 storage. */
export interface S3StorageOptions {
  /** The client (region, credentials, endpoint; `forcePathStyle: true` for most S3-compatible servers). */
  readonly client: S3Client;
  /** The bucket files go to; it must exist. */
  readonly bucket: string;
  /** Prepended to every key, e.g. 'uploads/'. Default ''. */
  readonly prefix?: string;
  /** Bytes per uploaded part; S3's minimum, 5 MiB, is also the floor here. Default 5 MiB. */
  readonly partSize?: number;
  /** Parts of one file uploaded at once. Default 2. */
  readonly queueSize?: number;
  /** 'sha256' to compute each file's SHA-256 as it is written (`StoredFile.sha256`, in the sidecar). Default false. */
  readonly checksum?: Checksum;
}

const ID = /^[0-9a-f]{32}$/;
const MiB = 1024 * 1024;
// S3 allows 2 KiB of user metadata in all; longer names live in the sidecar only.
const MAX_METADATA_VALUE = 512;

/**
 * Stores files in S3 (or an S3-compatible server) as multipart uploads of unknown length, holding
 * at most about `partSize × (queueSize + 2)` bytes of a file in memory. A file smaller than one
 * part is sent as a single PutObject at close.
 *
 * Size and SHA-256 (with `checksum: 'sha256'`) are known only when the last byte is in, after the object's metadata was sent;
 * rather than rewrite the object with a CopyObject (a second full copy of a large file on many
 * servers), the storage writes the whole description as a sidecar object `<key>.json` once the
 * upload completed. `stat` reads that sidecar, so a file is visible only when both exist. The
 * object also carries `x-amz-meta-filename` (percent-encoded, since S3 metadata is ASCII),
 * `-field` and `-index`, and its Content-Type, for tools that look at the bucket directly.
 *
 * Abort ends the body stream with an error, lets the parts in flight finish, then sends
 * AbortMultipartUpload, so no part stays behind; it also deletes the object and sidecar in case
 * the file had been completed.
 *
 * Errors are the SDK's own, unchanged (`AccessDenied`, `NoSuchBucket`, a network error): a failed
 * part upload rejects the next `write` or `close`, after the upload was aborted. `open` rejects with
 * an Error whose `code` is 'ENOENT' for an id with no stored file; `stat` resolves undefined then,
 * and `remove` resolves.
 *
 * @param options the client, the bucket, a key prefix, the part size, the parts in flight and the checksum.
 * @returns a FileStorage whose ids are 32 random hex characters; the key is `prefix + id`.
 * @example
 * const storage = createS3Storage({ client: new S3Client({}), bucket: 'uploads', prefix: 'forms/' });
 * multipart(req).pipe(storeParts(storage), toArray())
 */
export function createS3Storage(options: S3StorageOptions): FileStorage<string> {
  const { client, bucket } = options;
  const prefix = options.prefix ?? '';
  const partSize = Math.max(5 * MiB, options.partSize ?? 5 * MiB);
  const queueSize = Math.max(1, options.queueSize ?? 2);
  const checksum = checksumOf(options.checksum);
  const keyOf = (id: string): string => `${prefix}${id}`;

  async function remove(id: string): Promise<void> {
    if (!ID.test(id)) return;
    // DeleteObjects succeeds for keys that are already gone; in a bucket that is gone (or never
    // was) there is no file either, as `stat` says too.
    const answer = await client
      .send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: `${keyOf(id)}.json` }, { Key: keyOf(id) }], Quiet: true } }))
      .catch((error: unknown) => {
        if ((error as { name?: unknown }).name === 'NoSuchBucket') return undefined;
        throw error;
      });
    if (answer === undefined) return;
    const failed = answer.Errors?.find((error) => error.Code !== 'NoSuchKey');
    if (failed !== undefined) throw new Error(`S3 could not delete ${failed.Key}: ${failed.Code} ${failed.Message}`);
  }

  async function stat(id: string): Promise<StoredFile<string> | undefined> {
    if (!ID.test(id)) return undefined;
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${keyOf(id)}.json` }));
      return JSON.parse((await answer.Body?.transformToString('utf8')) ?? '') as StoredFile<string>;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async function create(info: FileInfo): Promise<FileWriter<string>> {
    const id = randomId();
    const key = keyOf(id);
    // Buffers at most one part ahead of the uploader; write() waits for 'drain' beyond that.
    const body = new PassThrough({ highWaterMark: partSize });
    // The uploader reads errors through its iterator; this keeps a destroy from being unhandled.
    body.on('error', () => undefined);
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: info.contentType, Metadata: describe(info) },
      partSize,
      queueSize,
      leavePartsOnError: false,
    });
    const done = upload.done();
    // The first failure of the upload, seen by the next write or close; never unhandled.
    let failure: unknown;
    done.catch((error: unknown) => {
      failure ??= error;
    });
    const digest = new ContentDigest(checksum);
    // False once close or abort began: the body is ended or destroyed.
    let isOpen = true;

    return {
      async write(chunk: Buffer, offset: number): Promise<void> {
        if (failure !== undefined) throw failure;
        if (!isOpen) throw new Error(`File ${id} is no longer open.`);
        const fresh = digest.take(chunk, offset);
        if (fresh.length === 0 || body.write(fresh)) return;
        // Resolves when the uploader took the bytes, rejects when the upload failed first.
        await Promise.race([once(body, 'drain'), done.then(() => undefined)]);
      },
      async close(): Promise<StoredFile<string>> {
        if (!isOpen) throw new Error(`File ${id} is no longer open.`);
        isOpen = false;
        body.end();
        await done;
        const file = storedFileOf(id, info, digest.size, digest.digest(), `s3://${bucket}/${key}`);
        try {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.json`, Body: JSON.stringify(file), ContentType: 'application/json' }));
        } catch (error) {
          await remove(id).catch(() => undefined);
          throw error;
        }
        return file;
      },
      async abort(reason: unknown): Promise<void> {
        if (isOpen) {
          isOpen = false;
          // The uploader's read fails, so it stops, waits for the parts in flight and sends
          // AbortMultipartUpload before `done` rejects. (Upload.abort() would reject `done` at once
          // and abort the upload only later, in the background.) A body that never ended cannot
          // have completed an object: there is nothing to delete.
          body.destroy(reason instanceof Error ? reason : new Error(`File ${id} was aborted.`));
          await done.catch(() => undefined);
          return;
        }
        await done.catch(() => undefined);
        // close had begun: whatever it stored goes (also after a failed close, whose
        // CompleteMultipartUpload may have landed although its answer was lost).
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
      // Clipped here: S3 answers 416 to a range that starts at the end (any range of an empty
      // object), and sends the whole object for a Range header it cannot parse.
      return readRange(range, file.size, async (within) => {
        try {
          const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(id), Range: within === undefined ? undefined : `bytes=${within.start}-${within.end}` }));
          // On Node the SDK's body is an IncomingMessage: a Readable.
          return answer.Body as Readable;
        } catch (error) {
          if (isNotFound(error)) throw fileNotFound(id);
          throw error;
        }
      });
    },
  };
}

/** The object's user metadata: ASCII only, so names are percent-encoded; overlong ones left out. */
function describe(info: FileInfo): Record<string, string> {
  const metadata: Record<string, string> = { index: String(info.index) };
  const filename = encodeURIComponent(info.filename);
  const field = encodeURIComponent(info.fieldName);
  if (filename.length <= MAX_METADATA_VALUE) metadata.filename = filename;
  if (field.length <= MAX_METADATA_VALUE) metadata.field = field;
  return metadata;
}

function isNotFound(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}
