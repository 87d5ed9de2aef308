/** An S3-protocol server for the S3 tests: s3rver on a free loopback port, files in a temp folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { run(): Promise<AddressInfo>; close(): Promise<void> };

export interface S3UnderTest {
  readonly client: S3Client;
  readonly bucket: string;
  /** Where s3rver keeps objects and upload parts: a look at the backend itself. */
  readonly directory: string;
  readonly startMs: number;
  stop(): Promise<void>;
}

export async function startS3(bucket = 'uploads'): Promise<S3UnderTest> {
  const started = Date.now();
  const directory = mkdtempSync(join(tmpdir(), 'rx-multipart-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const { port } = await server.run();
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    client,
    bucket,
    directory,
    startMs: Date.now() - started,
    stop: async () => {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
