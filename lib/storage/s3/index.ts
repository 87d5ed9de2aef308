/**
 * S3 storage: each file is a multipart upload of unknown length (`@aws-sdk/lib-storage` Upload),
 * with its metadata in a small `<key>.json` object beside it.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ContentDigest } from '../content-digest.js';
import type { ByteRange, FileInfo, FileStorage, FileWriter, StoredFile } from '../file-storage.js';

/** Options of the S3 storage. */
export interface S3StorageOptions {
  /** The client (region, credentials, endpoint; `forcePathStyle` for S3-compatible servers). */
  readonly client: S3Client;
  /** The bucket files go to. */
  readonly bucket: string;
  /** Prepended to every key, e.g. 'uploads/'. Default ''. */
  readonly prefix?: string;
  /** Bytes per uploaded part (S3's minimum is 5 MiB). Default 5 MiB. */
  readonly partSize?: number;
  /** Parts uploaded at once per file. Default 2. */
  readonly queueSize?: number;
}

const ID = /^[0-9a-f]{32}$/;
const MiB = 1024 * 1024;

/**
 * Stores files in S3 (or an S3-compatible server) as multipart uploads of unknown length, at most
 * `partSize × (queueSize + 1)` bytes of a file in memory at once. Abort cancels the upload
 * (AbortMultipartUpload: no orphaned parts) and deletes anything already written.
 *
 * The file's description (filename, field, type, size, sha256) is stored as `<key>.json`, since
 * S3 user metadata is ASCII-only and must be set before the size and checksum are known.
 *
 * @param options the client, the bucket, a key prefix, part size and concurrency.
 * @returns a FileStorage whose ids are 32 hex characters (the key is prefix + id).
 * @example
 * const storage = createS3Storage({ client: new S3Client({}), bucket: 'uploads' });
 * multipart(req).pipe(storeParts(storage), toArray())
 */
export function createS3Storage(options: S3StorageOptions): FileStorage<string> {
  const { client, bucket } = options;
  const prefix = options.prefix ?? '';
  const partSize = Math.max(5 * MiB, options.partSize ?? 5 * MiB);
  const queueSize = options.queueSize ?? 2;
  const keyOf = (id: string): string => `${prefix}${id}`;

  async function remove(id: string): Promise<void> {
    if (!ID.test(id)) return;
    // DeleteObjects answers success for keys that are already gone.
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: `${keyOf(id)}.json` }, { Key: keyOf(id) }], Quiet: true } }));
  }

  async function stat(id: string): Promise<StoredFile<string> | undefined> {
    if (!ID.test(id)) return undefined;
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${keyOf(id)}.json` }));
      return JSON.parse(await answer.Body!.transformToString('utf8')) as StoredFile<string>;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  return {
    stat,
    remove,
    async create(info: FileInfo): Promise<FileWriter<string>> {
      const id = randomBytes(16).toString('hex');
      const key = keyOf(id);
      const body = new PassThrough({ highWaterMark: partSize });
      const upload = new Upload({ client, params: { Bucket: bucket, Key: key, Body: body, ContentType: info.contentType }, partSize, queueSize, leavePartsOnError: false });
      const done = upload.done();
      // Observed by write/close/abort; never an unhandled rejection.
      done.catch(() => undefined);
      const digest = new ContentDigest();
      let isOpen = true;
      return {
        async write(chunk: Buffer, offset: number): Promise<void> {
          const fresh = digest.take(chunk, offset);
          if (fresh.length === 0 || body.write(fresh)) return;
          // Resolve when the upload took the bytes, reject when it failed.
          await Promise.race([once(body, 'drain'), done.then(() => undefined)]);
        },
        async close(): Promise<StoredFile<string>> {
          isOpen = false;
          body.end();
          await done;
          const file: StoredFile<string> = {
            id,
            index: info.index,
            fieldName: info.fieldName,
            filename: info.filename,
            contentType: info.contentType,
            size: digest.size,
            sha256: digest.digest(),
            location: `s3://${bucket}/${key}`,
          };
          try {
            await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.json`, Body: JSON.stringify(file), ContentType: 'application/json' }));
          } catch (error) {
            await remove(id).catch(() => undefined);
            throw error;
          }
          return file;
        },
        async abort(): Promise<void> {
          if (isOpen) {
            isOpen = false;
            body.destroy();
          }
          // Cancels the parts in flight and sends AbortMultipartUpload.
          await upload.abort().catch(() => undefined);
          await done.catch(() => undefined);
          // A small file may have completed as one PutObject before the abort: delete it.
          await remove(id).catch(() => undefined);
        },
      };
    },
    async open(id: string, range?: ByteRange): Promise<Readable> {
      if ((await stat(id)) === undefined) throw Object.assign(new Error(`No stored file has id ${JSON.stringify(id)}.`), { code: 'ENOENT' });
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(id), ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }) }));
      return answer.Body as Readable;
    },
  };
}

function isNotFound(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}
