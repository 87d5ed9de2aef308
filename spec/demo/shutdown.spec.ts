/**
 * SIGTERM: the demo stops accepting connections, lets the uploads in flight finish within
 * SHUTDOWN_GRACE_MS, aborts the others (nothing of theirs stays stored) and exits 0.
 */
import { CONTENT_TYPE, formBody, partHead } from '../support/form-body';
import { openUpload, waitUntil } from './support/clients';
import { entriesFor, listFolder, startDemo, type DemoProcess } from './support/demo-process';

const KiB = 1024;

async function uploadOne(demo: DemoProcess, text: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([text]), 'kept.txt');
  const answer = (await (await fetch(`${demo.url}/upload`, { method: 'POST', body: form })).json()) as { result: { fileIds: string[] } };
  return answer.result.fileIds[0]!;
}

/** Starts an upload and sends part of its file, then waits until the server has the file open. */
async function startUpload(demo: DemoProcess, kept: readonly string[]): Promise<ReturnType<typeof openUpload>> {
  const upload = openUpload(`${demo.url}/upload`, { 'content-type': CONTENT_TYPE });
  await upload.write(partHead({ name: 'file', filename: 'in-flight.bin' }));
  await upload.write(Buffer.alloc(256 * KiB, 6));
  await waitUntil('the file is open on the server', () => listFolder(demo.uploadDir).some((name) => name.endsWith('.partial') && !entriesFor(kept).includes(name)));
  return upload;
}

describe('the demo service on SIGTERM', () => {
  let demo: DemoProcess | undefined;

  afterEach(async () => {
    await demo?.stop('SIGKILL');
    demo = undefined;
  });

  it('should refuse new connections, let an upload in flight finish within the grace period, then exit 0', async () => {
    demo = await startDemo({ SHUTDOWN_GRACE_MS: '20000' });
    const upload = await startUpload(demo, []);
    process.kill(demo.pid, 'SIGTERM');
    await demo.waitForLine(/^SIGTERM: stopping \(1 request\(s\) in flight/);
    await expect(fetch(`${demo.url}/`)).rejects.toThrow();

    await upload.write(Buffer.alloc(256 * KiB, 7));
    upload.request.end(Buffer.concat([Buffer.from('\r\n'), formBody([])]));
    const answer = await upload.answer;
    expect(answer.status).toBe(200);
    const { fileIds } = (JSON.parse(answer.body) as { result: { fileIds: string[] } }).result;
    expect(await demo.exited).toBe(0);
    expect(listFolder(demo.uploadDir)).toEqual(entriesFor(fileIds));
    expect(demo.lines.at(-1)).toBe('stopped');
  });

  it('should abort an upload still running when the grace period ends, answer 503 and leave only what earlier requests stored', async () => {
    demo = await startDemo({ SHUTDOWN_GRACE_MS: '300' });
    const kept = [await uploadOne(demo, 'stored before the shutdown')];
    const upload = await startUpload(demo, kept);
    const from = demo.lines.length;
    process.kill(demo.pid, 'SIGTERM');
    // The client sends nothing more: the upload can only end by the server's abort.
    const answer = await upload.answer;
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 503, message: 'The server is shutting down.' } });
    expect(answer.headers.connection).toBe('close');
    expect(await demo.exited).toBe(0);
    expect(await demo.waitForLine(/ POST \/upload /, from)).toMatch(/ POST \/upload 503 .* files=0$/);
    expect(listFolder(demo.uploadDir)).toEqual(entriesFor(kept));
  });
});
