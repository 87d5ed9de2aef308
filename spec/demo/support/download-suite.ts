/**
 * The download behaviour of `GET`/`HEAD /files/:id` (RFC 9110 §13 to §15), checked the same way
 * against the demo on each storage: real curl for ranges, resumed downloads and a client that
 * leaves mid-file (download-curl-cases.ts); Node's fetch for the status and header matrix
 * (download-fetch-cases.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from './clients';
import { describeCurlCases } from './download-curl-cases';
import { describeFetchCases } from './download-fetch-cases';
import { LARGE_SIZE, SIZE, type Answer, type DemoUnderTest, type DownloadFixture } from './download-fixture';

export type { DemoUnderTest } from './download-fixture';

interface UploadAnswer {
  result: { fileIds: string[] };
}

/** Registers the download suite for the demo that `start` starts. */
export function describeDownloads(name: string, start: () => Promise<DemoUnderTest>): void {
  describe(`downloads from the demo on ${name} storage`, () => {
    const f = {
      urlOf: (fileId: string): string => `${f.subject.demo.url}/files/${fileId}`,
      output: (file: string): string => join(f.scratch, file),
      async request(fileId: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
        const response = await fetch(f.urlOf(fileId), { method, headers });
        return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
      },
    } as DownloadFixture;

    beforeAll(async () => {
      f.subject = await start();
      f.scratch = mkdtempSync(join(tmpdir(), 'rx-demo-downloads-'));
      f.bytes = randomBytes(SIZE);
      f.largeBytes = randomBytes(LARGE_SIZE);
      const ids = await upload(f.subject, f.bytes, Buffer.alloc(0), f.largeBytes);
      expect(ids).toHaveLength(3);
      [f.id, f.emptyId, f.largeId] = ids as [string, string, string];
      f.etag = `"${sha256(f.bytes)}"`;
    });
    afterAll(async () => {
      await f.subject?.stop();
      if (f.scratch !== undefined) rmSync(f.scratch, { recursive: true, force: true });
    });

    describeCurlCases(f);
    describeFetchCases(f);
  });
}

/** Uploads `files` in one form; resolves with their ids in order. */
async function upload(subject: DemoUnderTest, ...files: Buffer[]): Promise<string[]> {
  const form = new FormData();
  for (const [index, file] of files.entries()) form.append('file', new Blob([file]), `file-${index}.bin`);
  const response = await fetch(`${subject.demo.url}/upload`, { method: 'POST', body: form });
  expect(response.status).toBe(200);
  return ((await response.json()) as UploadAnswer).result.fileIds;
}
