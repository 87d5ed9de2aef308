/** S3 storage against a real S3-protocol server (s3rver) on loopback: the contract, and a form stored through storeParts. */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { from, lastValueFrom, toArray } from 'rxjs';
import { parseMultipart, storeParts } from '../../lib/index';
import { createS3Storage } from '../../lib/storage/s3/index';
import { startS3, type S3UnderTest } from '../support/s3-server';
import { CONTENT_TYPE, formBody } from '../support/form-body';
import { describeStorageContract, readAll } from './storage-contract';

/** Every file s3rver holds on disk (objects, their metadata, upload parts), and every key the API lists. */
async function inspect(s3: S3UnderTest): Promise<string[]> {
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [relative(s3.directory, join(dir, entry.name))]));
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  return [...walk(s3.directory).map((path) => `disk:${path}`), ...(listed.Contents ?? []).map((object) => `key:${object.Key}`)].sort();
}

describeStorageContract('s3', async () => {
  const s3 = await startS3();
  console.log(`s3rver 3.7.1 started in ${s3.startMs} ms`);
  return { storage: createS3Storage({ client: s3.client, bucket: s3.bucket }), inspect: () => inspect(s3), teardown: () => s3.stop() };
});

describe('createS3Storage', () => {
  let s3: S3UnderTest;
  beforeAll(async () => {
    s3 = await startS3('forms');
  });
  afterAll(() => s3.stop());

  it('should store a form through storeParts and keep a non-ASCII filename', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/' });
    const body = formBody([{ name: 'title', data: 'trip' }, { name: 'photo', filename: 'été 日本.png', contentType: 'image/png', data: Buffer.alloc(6 * 1024 * 1024, 1) }]);
    const parts = await lastValueFrom(from([body]).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage), toArray()));
    const file = parts.find((part) => part.kind === 'file')!;
    expect(file).toMatchObject({ filename: 'été 日本.png', contentType: 'image/png', size: 6 * 1024 * 1024 });
    expect(await storage.stat(file.kind === 'file' ? file.id : '')).toMatchObject({ filename: 'été 日本.png' });
    expect((await readAll(await storage.open(file.kind === 'file' ? file.id : ''))).equals(Buffer.alloc(6 * 1024 * 1024, 1))).toBe(true);
  });

  it('should leave nothing of a truncated form', async () => {
    const storage = createS3Storage({ client: s3.client, bucket: s3.bucket });
    const before = await inspect(s3);
    const body = formBody([{ name: 'a', filename: 'a.bin', data: Buffer.alloc(100_000, 2) }, { name: 'b', filename: 'b.bin', data: Buffer.alloc(12 * 1024 * 1024, 3) }]);
    const failure = await lastValueFrom(from([body.subarray(0, body.length - 1000)]).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage), toArray())).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(await inspect(s3)).toEqual(before);
  });
});
