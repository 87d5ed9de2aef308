/** Downloads from the demo on its default storage, the disk: ranges, resumes, conditions, release of the file, and a stored file changed behind the storage's back. */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curlDownload } from './support/curl-downloads';
import { describeDownloads } from './support/download-suite';
import { startDemo, type DemoProcess } from './support/demo-process';
import { openFiles } from './support/held-resources';

describeDownloads('disk', async () => {
  const demo = await startDemo();
  return {
    demo,
    // The stored bytes are at <UPLOAD_DIR>/<first hex digit>/<id>.
    isReading: async (id) => openFiles(demo.pid, join(demo.uploadDir, id.slice(0, 1), id)).length > 0,
    stop: async () => void (await demo.stop()),
  };
});

describe('downloads from the demo on disk storage, when the stored bytes are not what the index says', () => {
  let demo: DemoProcess;
  let scratch: string;
  beforeAll(async () => {
    demo = await startDemo();
    scratch = mkdtempSync(join(tmpdir(), 'rx-demo-downloads-'));
  });
  afterAll(async () => {
    await demo?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function store(bytes: Buffer): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([bytes]), 'tampered.bin');
    const response = await fetch(`${demo.url}/upload`, { method: 'POST', body: form });
    return ((await response.json()) as { result: { fileIds: string[] } }).result.fileIds[0]!;
  }

  // Someone truncated or appended to the stored file behind the storage's back: the answer's
  // Content-Length (from the index) no longer matches. The connection is cut at once, so the client
  // sees a short transfer, never a body of the wrong length or a connection waiting for bytes.
  it.each([
    ['shorter', (path: string) => truncateSync(path, 100_000)],
    ['longer', (path: string) => appendFileSync(path, randomBytes(1000))],
  ])('should cut the connection and report the fault when the file on disk is %s', async (_what, tamper) => {
    const id = await store(randomBytes(300_000));
    tamper(join(demo.uploadDir, id.slice(0, 1), id));
    const from = demo.lines.length;
    const got = await curlDownload([`${demo.url}/files/${id}`], join(scratch, `${id}.bin`));
    // 18: "Partial file. Only a part of the file was transferred."
    expect([got.exitCode, got.status, got.headers['content-length']]).toEqual([18, 200, '300000']);
    expect(await demo.waitForLine(/LengthMismatch/, from)).toContain(`GET /files/${id}`);
    expect((await fetch(`${demo.url}/`)).status).toBe(200);
  });
});
