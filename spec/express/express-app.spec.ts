/**
 * rx-multipart/express in Express 4 and 5 over loopback HTTP, where it differs from multer by
 * design: errors carry the HTTP status, every limit is finite, a malformed body is the library's
 * typed error, a throwing fileFilter fails the request instead of the process, and a client that
 * goes away leaves nothing behind and does not hang the middleware.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BOUNDARY, partHead } from '../support/form-body';
import { EXPRESS_VERSIONS, startUploadApp, type Failure, type RouteAnswer, type UploadApp } from './support/apps';
import { sendBody, sendForm, type Entry } from './support/clients';
import { disposition, rawBody } from './support/raw-body';

const MiB = 1024 * 1024;
// Far longer than anything here takes; only a hang waits this long.
const DEADLINE_MS = 10_000;

/** Resolves with the next failure the app's error handler sees on `side`. */
function nextFailure(app: UploadApp, side: Failure['side']): Promise<Failure> {
  return new Promise<Failure>((resolve) => {
    const listen = (failure: Failure): void => {
      if (failure.side !== side) return;
      app.events.off('failure', listen);
      resolve(failure);
    };
    app.events.on('failure', listen);
  });
}

/** Polls `check` until it holds or the deadline passes; returns its last value. */
async function eventually<T>(read: () => T, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  let value = read();
  while (!check(value) && Date.now() < deadline) {
    await sleep(20);
    value = read();
  }
  return value;
}

describe.each(EXPRESS_VERSIONS)('rx-multipart/express on %s', (_version, express) => {
  let app: UploadApp;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'rx-multipart-express-'));
    app = await startUploadApp(express, { multer: join(root, 'multer'), rx: join(root, 'rx') });
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(readdirSync(app.folders.rx).filter((name) => !name.startsWith('.'))).toEqual([]);
  });

  it('should answer a file over limits.fileSize with 413 and LIMIT_FILE_SIZE (status on the MulterError)', async () => {
    const reply = await sendForm('fetch', `${app.url}/rx/limited`, [['f', { filename: 'big.bin', data: Buffer.alloc(2048) }]], { 'x-limits': JSON.stringify({ fileSize: 1024 }) });
    expect(reply.status).toBe(413);
    expect((reply.json as RouteAnswer).error).toMatchObject({ name: 'MulterError', code: 'LIMIT_FILE_SIZE', isMulterError: true, storageErrors: 0 });
  });

  it('should answer an unexpected file with 400 and LIMIT_UNEXPECTED_FILE', async () => {
    const reply = await sendForm('form-data', `${app.url}/rx/single`, [['other', { filename: 'o.txt', data: 'o' }]]);
    expect(reply.status).toBe(400);
    expect((reply.json as RouteAnswer).error).toMatchObject({ code: 'LIMIT_UNEXPECTED_FILE', field: 'other', filename: 'o.txt' });
  });

  it("should refuse the 1001st part by default, where multer's parts and fields limits are infinite", async () => {
    const entries = Array.from({ length: 1001 }, (_, i): Entry => [`f${i}`, 'v']);
    const viaMulter = await sendForm('fetch', `${app.url}/multer/none`, entries);
    const viaRx = await sendForm('fetch', `${app.url}/rx/none`, entries);
    expect(viaMulter.status).toBe(200);
    expect(viaRx.status).toBe(413);
    expect((viaRx.json as RouteAnswer).error).toMatchObject({ code: 'LIMIT_PART_COUNT', isMulterError: true });
  });

  it('should answer a body without its closing delimiter with 400 UNEXPECTED_END, the library error', async () => {
    const reply = await sendBody(`${app.url}/rx/any`, rawBody([{ head: disposition('f', 'f.txt'), data: 'cut here' }], false));
    expect(reply.status).toBe(400);
    expect((reply.json as RouteAnswer).error).toMatchObject({ name: 'MultipartError', code: 'UNEXPECTED_END', isMulterError: false });
  });

  it('should answer a malformed part header with 400 MALFORMED_HEADER, after storing and removing the file before it', async () => {
    const body = rawBody([{ head: disposition('ok', 'ok.bin'), data: Buffer.alloc(MiB, 3) }, { head: 'Content-Disposition form-data', data: 'x' }]);
    const reply = await sendBody(`${app.url}/rx/any`, body);
    expect(reply.status).toBe(400);
    expect((reply.json as RouteAnswer).error).toMatchObject({ code: 'MALFORMED_HEADER' });
  });

  it('should answer multipart/mixed with 415 NOT_MULTIPART (busboy refuses it too)', async () => {
    const reply = await sendBody(`${app.url}/rx/any`, rawBody([{ head: 'Content-Type: text/plain', data: 'x' }]), { 'content-type': `multipart/mixed; boundary=${BOUNDARY}` });
    expect(reply.status).toBe(415);
    expect((reply.json as RouteAnswer).error).toMatchObject({ code: 'NOT_MULTIPART' });
  });

  it('should fail the request with the error a fileFilter throws, and keep serving', async () => {
    const reply = await sendForm('fetch', `${app.url}/rx/filtered`, [['a', { filename: 'a.txt', data: 'a' }]], { 'x-filter': 'throw' });
    expect(reply.status).toBe(500);
    expect((reply.json as RouteAnswer).error).toMatchObject({ name: 'Error', message: 'threw for a.txt', isMulterError: false });
    const next = await sendForm('fetch', `${app.url}/rx/any`, [['a', { filename: 'a.txt', data: 'a' }]]);
    expect(next.status).toBe(200);
    rmSync(join(app.folders.rx, readdirSync(app.folders.rx)[0]!));
  });

  it('should remove the partial file and call next(UNEXPECTED_END) when the client goes away mid-file, then serve the next request', async () => {
    const head = Buffer.from(partHead({ name: 'avatar', filename: 'cut.bin' }));
    const file = Buffer.alloc(8 * MiB, 5);
    const failure = nextFailure(app, 'rx');
    const upload = request(`${app.url}/rx/single`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': head.length + file.length + 100 } });
    upload.on('error', () => undefined);
    upload.write(head);
    upload.write(file.subarray(0, 4 * MiB));
    // Cut once the engine has the file open: the case that leaves multer's partial file behind.
    expect(await eventually(() => readdirSync(app.folders.rx).length, (count) => count === 1)).toBe(1);
    upload.destroy();
    const { error } = await failure;
    expect(error).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(readdirSync(app.folders.rx)).toEqual([]);
    const next = await sendForm('fetch', `${app.url}/rx/none`, [['still', 'serving']]);
    expect(next).toMatchObject({ status: 200, json: { body: { still: 'serving' } } });
  });

  it('should leave nothing when the client goes away with one file stored and the next one begun', async () => {
    const first = Buffer.concat([Buffer.from(partHead({ name: 'photos', filename: '1.bin' })), Buffer.alloc(MiB, 1), Buffer.from('\r\n'), Buffer.from(partHead({ name: 'photos', filename: '2.bin' })), Buffer.alloc(64 * 1024, 2)]);
    const failure = nextFailure(app, 'rx');
    const upload = request(`${app.url}/rx/array`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': first.length + MiB } });
    upload.on('error', () => undefined);
    upload.write(first);
    expect(await eventually(() => readdirSync(app.folders.rx).length, (count) => count === 2)).toBe(2);
    upload.destroy();
    expect((await failure).error).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(readdirSync(app.folders.rx)).toEqual([]);
  });

  it('should answer the client before it stops sending: the body after an error is drained', async () => {
    // The answer is read only if the server drained the 4 MiB sent after the error instead of
    // closing the connection under the client's upload.
    const reply = await sendForm('fetch', `${app.url}/rx/single`, [['one', { filename: 'x', data: 'x' }], ['rest', { filename: 'big.bin', data: Buffer.alloc(4 * MiB) }]]);
    expect(reply).toMatchObject({ status: 400, json: { error: { code: 'LIMIT_UNEXPECTED_FILE', field: 'one' } } });
  });

  it('should close the connection instead of draining a body past drainLimit', async () => {
    const head = Buffer.from(partHead({ name: 'other', filename: 'o.bin' }));
    const failure = nextFailure(app, 'rx');
    const upload = request(`${app.url}/rx/single`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': head.length + 64 * MiB } });
    const closed = new Promise<void>((resolve) => upload.once('close', resolve));
    upload.on('error', () => undefined);
    upload.write(head);
    // Keeps sending past the default drainLimit (16 MiB) after the LIMIT_UNEXPECTED_FILE.
    const chunk = Buffer.alloc(MiB);
    for (let sent = 0; sent < 40 && !upload.destroyed; sent++) {
      if (!upload.write(chunk)) await Promise.race([new Promise((resolve) => upload.once('drain', resolve)), closed]);
    }
    expect((await failure).error).toMatchObject({ code: 'LIMIT_UNEXPECTED_FILE' });
    await closed;
    expect(upload.destroyed).toBe(true);
  });
});
