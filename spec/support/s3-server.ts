/**
 * An S3-protocol server for the S3 tests: fauxqs in a child process on a free loopback port, its
 * objects and multipart-upload parts kept as files in a temporary folder that `inspect` lists.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

export interface S3UnderTest {
  readonly client: S3Client;
  readonly bucket: string;
  /** `http://127.0.0.1:<port>`: where another process (the demo) reaches the server. */
  readonly endpoint: string;
  /** Where fauxqs keeps objects (`buckets/<bucket>/objects`) and upload parts (`_multipart/<uploadId>/parts`). */
  readonly directory: string;
  /** Milliseconds to load the package in the child and to start the server, as the child measured them. */
  readonly loadMs: number;
  readonly startMs: number;
  /** Every leftover in the backend, sorted: files on disk, listed keys, in-progress multipart uploads. */
  inspect(): Promise<string[]>;
  /** Freezes the server process (SIGSTOP): requests stay unanswered, as with a stalled network. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  stop(): Promise<void>;
}

/** Starts fauxqs with `bucket` created; resolves once it accepts requests. */
export async function startS3(bucket = 'uploads'): Promise<S3UnderTest> {
  const directory = mkdtempSync(join(tmpdir(), 'rx-multipart-fauxqs-'));
  const child = spawn(process.execPath, [join(__dirname, 'servers', 'fauxqs.mjs'), directory, bucket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [port, loadMs, startMs, host] = await new Promise<string[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fauxqs exited with ${code} before it started`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('PORT ')) resolve(line.slice(5).split(' '));
    });
  });
  if (host !== '127.0.0.1') {
    child.kill('SIGTERM');
    throw new Error(`fauxqs listens on ${host}, not on loopback only`);
  }
  const endpoint = `http://127.0.0.1:${Number(port)}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [relative(directory, join(dir, entry.name))]));
  return {
    client,
    bucket,
    endpoint,
    directory,
    loadMs: Number(loadMs),
    startMs: Number(startMs),
    async inspect(): Promise<string[]> {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return [
        ...walk(directory).map((path) => `disk:${path}`),
        ...(listed.Contents ?? []).map((object) => `key:${object.Key}`),
        ...(uploads.Uploads ?? []).map((upload) => `upload:${upload.Key}:${upload.UploadId}`),
      ].sort();
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    stop: async () => {
      client.destroy();
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          // A paused server (a test that failed mid-way) would never see the SIGTERM.
          child.kill('SIGCONT');
          child.kill('SIGTERM');
        });
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
