/** S3 storage against a real S3-protocol server (fauxqs) on loopback: the contract, metadata, aborts, forms through storeParts. */
import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { from, lastValueFrom, toArray } from 'rxjs';
import { parseMultipart, storeParts } from '../../lib/index';
import { createS3Storage } from '../../lib/storage/s3/index';
import { startS3, type S3UnderTest } from '../support/s3-server';
import { startWriteLoop, whenStill } from '../support/stalled-writes';
import { CONTENT_TYPE, formBody } from '../support/form-body';
import { describeStorageContract, fileInfo, readAll, storeBytes } from './storage-contract';

const MiB = 1024 * 1024;

describeStorageContract('s3', async () => {
  const s3 = await startS3();
  console.log(`fauxqs 2.4.1: package loaded in ${s3.loadMs} ms, server started in ${s3.startMs} ms`);
  return {
    storage: createS3Storage({ client: s3.client, bucket: s3.bucket }),
    hashing: createS3Storage({ client: s3.client, bucket: s3.bucket, checksum: 'sha256' }),
    inspect: () => s3.inspect(),
    teardown: () => s3.stop(),
  };
});

describe('createS3Storage', () => {
  let s3: S3UnderTest;
  let before: string[];
  beforeAll(async () => {
    s3 = await startS3('forms');
  });
  afterAll(() => s3.stop());
  beforeEach(async () => {
    before = await s3.inspect();
  });

  it('should keep a non-ASCII filename in the sidecar and percent-encoded on the object', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/' });
    const info = { ...fileInfo(3, 'été 日本 "q".png'), fieldName: 'phöto', contentType: 'image/png' };
    const file = await storeBytes(storage, Buffer.from('png bytes'), 64, info);
    expect(file.id).toMatch(/^[0-9a-f]{32}$/);
    expect(file.location).toBe(`s3://forms/uploads/${file.id}`);
    expect(await storage.stat(file.id)).toEqual(file);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `uploads/${file.id}` }));
    expect(head.ContentType).toBe('image/png');
    expect(head.Metadata).toEqual({ filename: encodeURIComponent('été 日本 "q".png'), field: 'ph%C3%B6to', index: '3' });
    await storage.remove(file.id);
    expect(await s3.inspect()).toEqual(before);
  });

  it('should read back a range that crosses a part boundary', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket });
    const bytes = randomBytes(11 * MiB);
    const file = await storeBytes(storage, bytes, 1 * MiB);
    const back = await readAll(await storage.open(file.id, { start: 5 * MiB - 10, end: 10 * MiB + 9 }));
    expect(back.equals(bytes.subarray(5 * MiB - 10, 10 * MiB + 10))).toBe(true);
    await storage.remove(file.id);
  });

  it('should abort a multipart upload after several parts, leaving no object, part or upload', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket });
    const writer = await storage.create(fileInfo());
    const bytes = randomBytes(18 * MiB);
    for (let at = 0; at < bytes.length; at += 512 * 1024) await writer.write(bytes.subarray(at, at + 512 * 1024), at);
    // Parts reach the backend while later bytes are still buffered: wait until fauxqs holds two on
    // disk (its ListMultipartUploads lists nothing).
    const parts = async (): Promise<number> => (await s3.inspect()).filter((entry) => /^disk:_multipart\/[^/]+\/parts\/\d+\.data$/.test(entry)).length;
    for (let tries = 0; tries < 100 && (await parts()) < 2; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await parts()).toBeGreaterThanOrEqual(2);
    await writer.abort(new Error('client went away'));
    expect(await s3.inspect()).toEqual(before);
  });

  it('should stop taking bytes while the server answers nothing, and finish the file once it does', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket, partSize: 5 * MiB, queueSize: 2, checksum: 'sha256' });
    const bytes = randomBytes(48 * MiB);
    const chunkSize = 256 * 1024;
    const writer = await storage.create(fileInfo());
    s3.pause();
    let held: number;
    let loop: ReturnType<typeof startWriteLoop>;
    try {
      loop = startWriteLoop(writer, bytes, chunkSize);
      held = await whenStill(loop.accepted);
    } finally {
      s3.resume();
    }
    // The parts the uploader holds (queueSize) and the body stream's two buffers of one part each:
    // the writer's documented bound, partSize × (queueSize + 2), give or take the write that crosses
    // each buffer's mark (measured: 4 parts and 3 writes of 256 KiB).
    expect(held).toBeGreaterThanOrEqual(5 * MiB);
    expect(held).toBeLessThanOrEqual(5 * MiB * (2 + 2) + 4 * chunkSize);
    await loop.done;
    const file = await writer.close();
    expect(file).toMatchObject({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect((await readAll(await storage.open(file.id))).equals(bytes)).toBe(true);
    await storage.remove(file.id);
    expect(await s3.inspect()).toEqual(before);
  });

  it.each([
    ['a one-part file, at close', 1 * MiB],
    ['a multipart file, at a write or close', 12 * MiB],
  ])('should pass the server\'s own error on unchanged, for %s', async (_label, size) => {
    const storage = createS3Storage({ client: s3.client, bucket: 'no-such-bucket' });
    const writer = await storage.create(fileInfo());
    const bytes = randomBytes(size);
    const failure = await (async () => {
      for (let at = 0; at < bytes.length; at += 1 * MiB) await writer.write(bytes.subarray(at, at + 1 * MiB), at);
      return writer.close();
    })().catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
    await writer.abort(failure);
    expect(await s3.inspect()).toEqual(before);
  });

  it('should answer stat with undefined and reject open for ids it never made', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket });
    expect(await storage.stat('../forms/x')).toBeUndefined();
    expect(await storage.stat('0'.repeat(32))).toBeUndefined();
    await expect(storage.open('0'.repeat(32))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(storage.remove('not-an-id')).resolves.toBeUndefined();
  });

  it('should store a parsed form through storeParts', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/' });
    const photo = randomBytes(6 * MiB);
    const body = formBody([
      { name: 'title', data: 'trip' },
      { name: 'photo', filename: 'été 日本.png', contentType: 'image/png', data: photo },
      { name: 'notes', filename: 'notes.txt', contentType: 'text/plain', data: 'short' },
    ]);
    const parts = await lastValueFrom(from([body]).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage), toArray()));
    const files = parts.flatMap((part) => (part.kind === 'file' ? [part] : []));
    expect(files).toMatchObject([
      { filename: 'été 日本.png', contentType: 'image/png', size: photo.length, fieldName: 'photo' },
      { filename: 'notes.txt', contentType: 'text/plain', size: 5, fieldName: 'notes' },
    ]);
    expect(await storage.stat(files[0]!.id)).toMatchObject({ filename: 'été 日本.png', size: photo.length });
    expect((await readAll(await storage.open(files[0]!.id))).equals(photo)).toBe(true);
    for (const file of files) await storage.remove(file.id);
    expect(await s3.inspect()).toEqual(before);
  });

  it('should leave nothing of a truncated form', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket });
    const body = formBody([
      { name: 'a', filename: 'a.bin', data: randomBytes(100_000) },
      { name: 'b', filename: 'b.bin', data: randomBytes(12 * MiB) },
    ]);
    const failure = await lastValueFrom(from([body.subarray(0, body.length - 1000)]).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage), toArray())).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(await s3.inspect()).toEqual(before);
  });
});
