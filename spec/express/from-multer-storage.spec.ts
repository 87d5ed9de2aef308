/**
 * fromMulterStorage: multer storage engines (this module's, multer's own, a custom one, multer-s3
 * against the fauxqs S3 server) as FileStorages for storeParts, over loopback HTTP.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import realMulter from 'multer';
import { lastValueFrom, toArray } from 'rxjs';
import { fromMulterStorage, type MulterFile, type MulterStorage, type StorageEngine } from '../../lib/express/index';
import multer from '../../lib/express/index';
import { multipart, storeParts, type FileStorage, type StoredFilePart, type StoredPart } from '../../lib/index';
import { BOUNDARY, CONTENT_TYPE, formBody, partHead } from '../support/form-body';
import { startRequestQueue, type RequestQueue } from '../support/http';
import { startS3, type S3UnderTest } from '../support/s3-server';
import { readAll } from '../storage/storage-contract';

const multerS3 = require('multer-s3') as (options: { s3: unknown; bucket: string; key?: (req: IncomingMessage, file: MulterFile, callback: (error: Error | null, key?: string) => void) => void }) => StorageEngine;

const KiB = 1024;
const MiB = 1024 * KiB;

let server: RequestQueue;
let folder: string;
beforeAll(async () => (server = await startRequestQueue()));
afterAll(() => server.close());
beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'rx-multipart-from-multer-'))));
afterEach(() => rmSync(folder, { recursive: true, force: true }));

/** POSTs a form to the queue server and returns what the server's work resolved with (or threw). */
async function upload<T>(body: Buffer, work: (req: IncomingMessage) => Promise<T>): Promise<T> {
  const done = server.next((req) => work(req));
  // Settled before the answer is read, at times: the test awaits it below.
  done.catch(() => undefined);
  await fetch(server.url, { method: 'POST', body, headers: { 'content-type': CONTENT_TYPE } }).then((response) => response.text()).catch(() => undefined);
  return done;
}

const storeAll = (req: IncomingMessage, storage: MulterStorage): Promise<StoredPart<MulterFile>[]> => lastValueFrom(multipart(req).pipe(storeParts(storage.forRequest(req)), toArray()));
const filesOf = (parts: StoredPart<MulterFile>[]): StoredFilePart<MulterFile>[] => parts.filter((part): part is StoredFilePart<MulterFile> => part.kind === 'file');

describe('fromMulterStorage with storeParts', () => {
  it("should store each file through the engine, with the engine's file object as id", async () => {
    const storage = fromMulterStorage(multer.diskStorage({ destination: folder }));
    const parts = await upload(formBody([{ name: 'title', data: 't' }, { name: 'doc', filename: 'doc.txt', contentType: 'text/plain', data: 'hello' }, { name: 'big', filename: 'big.bin', data: Buffer.alloc(3 * MiB, 6) }]), (req) => storeAll(req, storage));
    const files = filesOf(parts);
    expect(parts.map((part) => part.kind)).toEqual(['field', 'file', 'file']);
    expect(files[0]).toMatchObject({ index: 1, fieldName: 'doc', filename: 'doc.txt', contentType: 'text/plain', size: 5, location: files[0]!.id.path });
    expect(files[0]!.id).toMatchObject({ fieldname: 'doc', originalname: 'doc.txt', encoding: '7bit', mimetype: 'text/plain', destination: folder, size: 5 });
    expect(readFileSync(files[1]!.id.path).equals(Buffer.alloc(3 * MiB, 6))).toBe(true);
  });

  it('should hand the engine the request given by forRequest, and a stand-in without it', async () => {
    const seen: unknown[] = [];
    const engine: StorageEngine = {
      _handleFile(req, file, callback) {
        seen.push(req.headers['content-type']);
        file.stream.resume();
        file.stream.on('end', () => callback(null, {}));
      },
      _removeFile: (_req, _file, callback) => callback(null),
    };
    const body = formBody([{ name: 'f', filename: 'f', data: 'x' }]);
    await upload(body, (req) => storeAll(req, fromMulterStorage(engine)));
    await upload(body, (req) => lastValueFrom(multipart(req).pipe(storeParts(fromMulterStorage(engine)), toArray())));
    expect(seen).toEqual([CONTENT_TYPE, undefined]);
  });

  it('should remove the files it stored when the body fails later (all or nothing)', async () => {
    const storage = fromMulterStorage(multer.diskStorage({ destination: folder }));
    let closed = 0;
    const counted = (req: IncomingMessage): FileStorage<MulterFile> => {
      const view = storage.forRequest(req);
      return { ...view, create: async (info) => {
        const writer = await view.create(info);
        return { ...writer, close: () => writer.close().then((file) => (closed++, file)) };
      } };
    };
    const first = Buffer.concat([Buffer.from(partHead({ name: 'a', filename: 'a.bin' })), Buffer.alloc(MiB, 1), Buffer.from(`\r\n--${BOUNDARY}\r\n`)]);
    const outcome = server.next((req) => lastValueFrom(multipart(req).pipe(storeParts(counted(req)), toArray())));
    outcome.catch(() => undefined);
    const { request } = await import('node:http');
    const client = request(server.url, { method: 'POST', headers: { 'content-type': CONTENT_TYPE, 'content-length': first.length + 18 } });
    client.on('error', () => undefined);
    client.write(first);
    // Once the first file is stored, a malformed header.
    while (closed === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    client.end('bad header\r\n\r\n\r\n--');
    await expect(outcome).rejects.toMatchObject({ code: 'MALFORMED_HEADER' });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('should pass an engine error on unchanged and leave nothing', async () => {
    const failing = multer.diskStorage({ destination: folder, filename: (_req, file, callback) => callback(file.originalname === 'b' ? new Error('no name for b') : null, file.originalname) });
    const body = formBody([{ name: 'a', filename: 'a', data: 'A' }, { name: 'b', filename: 'b', data: 'B' }]);
    await expect(upload(body, (req) => storeAll(req, fromMulterStorage(failing)))).rejects.toThrow('no name for b');
    expect(readdirSync(folder)).toEqual([]);
  });

  it('should read back files of diskStorage and memoryStorage with stat and open, ranges included', async () => {
    for (const engine of [multer.diskStorage({ destination: folder }), multer.memoryStorage()]) {
      const storage = fromMulterStorage(engine);
      const [file] = filesOf(await upload(formBody([{ name: 'f', filename: 'f.txt', data: 'abcdefgh' }]), (req) => storeAll(req, storage)));
      const { kind: _kind, ...stored } = file!;
      expect(await storage.stat(file!.id)).toEqual(stored);
      expect((await readAll(await storage.open(file!.id))).toString()).toBe('abcdefgh');
      expect((await readAll(await storage.open(file!.id, { start: 2, end: 4 }))).toString()).toBe('cde');
    }
  });

  it.each([
    ['diskStorage', () => multer.diskStorage({ destination: folder })],
    ['memoryStorage', () => multer.memoryStorage()],
  ])("should read ranges of %s's files by every storage's rules: clipped at the end, none past it, a RangeError for a non-range", async (_engine, makeEngine) => {
    const storage = fromMulterStorage(makeEngine());
    const [file] = filesOf(await upload(formBody([{ name: 'f', filename: 'f.txt', data: '0123456789' }]), (req) => storeAll(req, storage)));
    const read = async (start: number, end: number): Promise<string> => (await readAll(await storage.open(file!.id, { start, end }))).toString();
    expect(await read(7, 20)).toBe('789');
    expect(await read(10, 12)).toBe('');
    expect(await read(0, 0)).toBe('0');
    for (const range of [{ start: 5, end: 2 }, { start: -3, end: 20 }, { start: 1.5, end: 4 }]) {
      await expect(storage.open(file!.id, range).then(readAll)).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    }
  });

  it('should remove a stored file, and accept removing it twice', async () => {
    const storage = fromMulterStorage(multer.diskStorage({ destination: folder }));
    const [file] = filesOf(await upload(formBody([{ name: 'f', filename: 'f', data: 'x' }]), (req) => storeAll(req, storage)));
    await storage.remove(file!.id);
    await storage.remove(file!.id);
    expect(readdirSync(folder)).toEqual([]);
    expect(await storage.stat(file!.id)).toBeUndefined();
  });

  it('should act only on ids it gave out: a file object rebuilt from JSON could name any path', async () => {
    const storage = fromMulterStorage(multer.diskStorage({ destination: folder }));
    const [file] = filesOf(await upload(formBody([{ name: 'f', filename: 'f', data: 'x' }]), (req) => storeAll(req, storage)));
    const copy = JSON.parse(JSON.stringify(file!.id)) as MulterFile;
    expect(await storage.stat(copy)).toBeUndefined();
    await expect(storage.open(copy)).rejects.toMatchObject({ code: 'ENOENT' });
    await storage.remove(copy);
    expect(readdirSync(folder)).toHaveLength(1);
  });

  it('should refuse to read back from an engine it cannot read, with ENOTSUP', async () => {
    const storage = fromMulterStorage(realMulter.diskStorage({ destination: folder }) as unknown as StorageEngine);
    const [file] = filesOf(await upload(formBody([{ name: 'f', filename: 'f', data: 'x' }]), (req) => storeAll(req, storage)));
    await expect(storage.stat(file!.id)).rejects.toMatchObject({ code: 'ENOTSUP' });
    await expect(storage.open(file!.id)).rejects.toMatchObject({ code: 'ENOTSUP' });
  });

  it('should pause the request while the engine reads slowly: bytes received and not yet taken stay bounded', async () => {
    let consumed = 0;
    let worst = 0;
    const engine: StorageEngine = {
      _handleFile(req, file, callback) {
        const stream = file.stream as Readable;
        // 64 KiB per timer turn, at most: slower than loopback by far.
        const readSlowly = (): void => {
          const chunk = stream.read(Math.min(64 * KiB, stream.readableLength)) as Buffer | null;
          if (chunk !== null) consumed += chunk.length;
          worst = Math.max(worst, req.socket.bytesRead - consumed);
          if (!stream.readableEnded) setTimeout(readSlowly, 1);
        };
        stream.on('end', () => callback(null, { size: consumed }));
        readSlowly();
      },
      _removeFile: (_req, _file, callback) => callback(null),
    };
    const size = 24 * MiB;
    const [file] = filesOf(await upload(formBody([{ name: 'f', filename: 'big.bin', data: Buffer.alloc(size, 1) }]), (req) => storeAll(req, fromMulterStorage(engine))));
    expect(file!.size).toBe(size);
    // The parse's highWaterMark (1 MiB), the stream's buffer, a batch and the socket's chunks.
    expect(worst).toBeLessThan(4 * MiB);
  });

  it('should leave nothing when the client goes away mid-file', async () => {
    const storage = fromMulterStorage(multer.diskStorage({ destination: folder }));
    const head = Buffer.from(partHead({ name: 'f', filename: 'cut.bin' }));
    const outcome = server.next((req) => storeAll(req, storage));
    const { request } = await import('node:http');
    const client = request(server.url, { method: 'POST', headers: { 'content-type': CONTENT_TYPE, 'content-length': head.length + 8 * MiB } });
    client.on('error', () => undefined);
    client.write(head);
    client.write(Buffer.alloc(2 * MiB));
    while (readdirSync(folder).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    client.destroy();
    await expect(outcome).rejects.toMatchObject({ code: 'UNEXPECTED_END' });
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('multer-s3 3.0.1 against an S3 server (fauxqs)', () => {
  let s3: S3UnderTest;
  let before: string[];
  beforeAll(async () => (s3 = await startS3('multer-s3')), 60_000);
  afterAll(() => s3.stop());
  beforeEach(async () => (before = await s3.inspect()));

  const engine = (): StorageEngine => multerS3({ s3: s3.client, bucket: s3.bucket, key: (req, file, callback) => callback(null, `${String(req.headers['x-user'] ?? 'anonymous')}/${file.fieldname}`) });

  it('should store objects through storeParts, keyed by the request it was handed', async () => {
    const body = formBody([{ name: 'a', filename: 'a.txt', data: 'alpha' }, { name: 'b', filename: 'b.bin', data: Buffer.alloc(6 * MiB, 2) }]);
    const storage = fromMulterStorage(engine());
    const done = server.next((req) => storeAll(req, storage));
    await fetch(server.url, { method: 'POST', body, headers: { 'content-type': CONTENT_TYPE, 'x-user': 'ada' } });
    const files = filesOf(await done);
    expect(files.map((file) => [file.id.fieldname, (file.id as MulterFile & { key: string }).key, file.location])).toEqual([
      ['a', 'ada/a', expect.stringMatching(/\/multer-s3\/ada\/a$/)],
      ['b', 'ada/b', expect.stringMatching(/\/multer-s3\/ada\/b$/)],
    ]);
    const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'ada/b' }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(Buffer.alloc(6 * MiB, 2))).toBe(true);
    for (const file of files) await storage.remove(file.id);
    expect(await s3.inspect()).toEqual(before);
  });

  it('should delete the objects stored when the upload fails later, in the Express middleware', async () => {
    const middleware = multer({ storage: engine(), limits: { files: 2 } }).any();
    const body = formBody([{ name: 'a', filename: 'a', data: 'A' }, { name: 'b', filename: 'b', data: Buffer.alloc(6 * MiB, 3) }, { name: 'c', filename: 'c', data: 'C' }]);
    const done = server.next((req) => new Promise((resolve, reject) => middleware(req, {} as never, (error?: unknown) => (error ? reject(error) : resolve(undefined)))));
    await fetch(server.url, { method: 'POST', body, headers: { 'content-type': CONTENT_TYPE } });
    await expect(done).rejects.toMatchObject({ code: 'LIMIT_FILE_COUNT' });
    expect(await s3.inspect()).toEqual(before);
  });

  it('should leave no object and no upload part when the client goes away mid-file', async () => {
    const storage = fromMulterStorage(engine());
    const head = Buffer.from(partHead({ name: 'f', filename: 'cut.bin' }));
    const outcome = server.next((req) => storeAll(req, storage));
    const { request } = await import('node:http');
    const client = request(server.url, { method: 'POST', headers: { 'content-type': CONTENT_TYPE, 'content-length': head.length + 32 * MiB } });
    client.on('error', () => undefined);
    client.write(head);
    // Past lib-storage's 5 MiB part size: a multipart upload with a part is in progress.
    for (let i = 0; i < 12; i++) client.write(Buffer.alloc(MiB, i));
    while (!(await s3.inspect()).some((entry) => entry.includes('_multipart'))) await new Promise((resolve) => setTimeout(resolve, 20));
    client.destroy();
    await expect(outcome).rejects.toMatchObject({ code: 'UNEXPECTED_END' });
    expect(await s3.inspect()).toEqual(before);
  });
});
