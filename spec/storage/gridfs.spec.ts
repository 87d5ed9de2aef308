/** GridFS storage against a real MongoDB-protocol server (CongoDB, or MONGODB_URI): the contract, metadata, aborts, forms through storeParts. */
import { createHash, randomBytes } from 'node:crypto';
import { GridFSBucket, ObjectId, type Db } from 'mongodb';
import { from, lastValueFrom, toArray } from 'rxjs';
import { parseMultipart, storeParts } from '../../lib/index';
import { createGridFSStorage } from '../../lib/storage/gridfs/index';
import { startMongo, type MongoUnderTest } from '../support/mongo-server';
import { startWriteLoop, whenStill } from '../support/stalled-writes';
import { CONTENT_TYPE, formBody } from '../support/form-body';
import { describeStorageContract, fileInfo, readAll, storeBytes } from './storage-contract';

const MiB = 1024 * 1024;
// A real server (MONGODB_URI) is not ours to freeze.
const itWithOwnServer = process.env.MONGODB_URI ? it.skip : it;

/** Every document of `<bucket>.files` and `<bucket>.chunks`. */
async function inspect(db: Db, bucketName = 'fs'): Promise<string[]> {
  const files = await db.collection(`${bucketName}.files`).find({}).toArray();
  const chunks = await db.collection(`${bucketName}.chunks`).find({}, { projection: { data: 0 } }).toArray();
  return [
    ...files.map((doc) => `${bucketName}.files:${String(doc._id)}`),
    ...chunks.map((doc) => `${bucketName}.chunks:${String(doc.files_id)}:${String(doc.n)}`),
  ].sort();
}

/** Polls `check` every 10 ms until it holds; fails after 10 s (a state the server shows only when asked). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await check()); tries++) {
    if (tries === 1000) throw new Error('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function describeServer(mongo: MongoUnderTest): string {
  const timing = mongo.startMs === undefined ? '' : `package loaded in ${mongo.loadMs} ms, server started in ${mongo.startMs} ms, `;
  return `${mongo.kind}: ${timing}client connected after ${mongo.readyMs} ms`;
}

describeStorageContract('gridfs', async () => {
  const mongo = await startMongo('contract');
  console.log(describeServer(mongo));
  // CongoDB does not cut a find reply at 16 MiB as mongod does, and the driver's download asks for
  // 101 chunks at once: 128 KiB chunks keep that first batch under 16 MiB (12.6 MiB).
  return {
    storage: createGridFSStorage({ db: mongo.db, chunkSizeBytes: 128 * 1024 }),
    hashing: createGridFSStorage({ db: mongo.db, chunkSizeBytes: 128 * 1024, checksum: 'sha256' }),
    inspect: () => inspect(mongo.db),
    teardown: () => mongo.stop(),
  };
});

describe('createGridFSStorage', () => {
  let mongo: MongoUnderTest;
  let before: string[];
  beforeAll(async () => {
    mongo = await startMongo('forms');
  });
  afterAll(() => mongo.stop());
  beforeEach(async () => {
    before = await inspect(mongo.db);
  });

  it('should keep a non-ASCII filename and the part metadata in the files document', async () => {
    const storage = createGridFSStorage({ db: mongo.db, checksum: 'sha256' });
    const info = { ...fileInfo(2, 'été 日本 "q".png'), fieldName: 'phöto', contentType: 'image/png' };
    const file = await storeBytes(storage, Buffer.from('png bytes'), 64, info);
    expect(file.id).toMatch(/^[0-9a-f]{24}$/);
    expect(await storage.stat(file.id)).toEqual(file);
    const doc = await mongo.db.collection('fs.files').findOne({ filename: 'été 日本 "q".png' });
    expect(doc).toMatchObject({ length: 9, metadata: { fieldName: 'phöto', index: 2, contentType: 'image/png', complete: true, sha256: file.sha256 } });
    expect(String(doc?._id)).toBe(file.id);
    await storage.remove(file.id);
    expect(await inspect(mongo.db)).toEqual(before);
  });

  it('should mark a file complete without a checksum by default, and serve no files document left unmarked', async () => {
    const storage = createGridFSStorage({ db: mongo.db });
    const file = await storeBytes(storage, Buffer.from('plain'), 64);
    const doc = await mongo.db.collection('fs.files').findOne({ _id: new ObjectId(file.id) });
    expect(doc?.metadata).toEqual({ fieldName: 'upload', index: 0, contentType: 'application/octet-stream', complete: true });
    // Another tool's upload into the same bucket carries no such mark.
    const foreign = new GridFSBucket(mongo.db).openUploadStream('theirs.bin', { metadata: { fieldName: 'upload', index: 0 } });
    await new Promise((resolve, reject) => foreign.on('error', reject).end(Buffer.from('theirs'), () => resolve(undefined)));
    const foreignId = String(foreign.id);
    expect(await storage.stat(foreignId)).toBeUndefined();
    await expect(storage.open(foreignId)).rejects.toMatchObject({ code: 'ENOENT' });
    await new GridFSBucket(mongo.db).delete(foreign.id);
    await storage.remove(file.id);
    expect(await inspect(mongo.db)).toEqual(before);
  });

  it('should serve a files document written before the complete mark, by its sha256', async () => {
    const storage = createGridFSStorage({ db: mongo.db });
    const oid = new ObjectId();
    const sha256 = createHash('sha256').update('older').digest('hex');
    const older = new GridFSBucket(mongo.db).openUploadStreamWithId(oid, 'older.txt', { metadata: { fieldName: 'doc', index: 1, contentType: 'text/plain', sha256 } });
    await new Promise((resolve, reject) => older.on('error', reject).end(Buffer.from('older'), () => resolve(undefined)));
    expect(await storage.stat(oid.toHexString())).toEqual({
      id: oid.toHexString(), index: 1, fieldName: 'doc', filename: 'older.txt', contentType: 'text/plain', size: 5, sha256, location: `gridfs:fs/${oid.toHexString()}`,
    });
    expect((await readAll(await storage.open(oid.toHexString()))).toString()).toBe('older');
    await storage.remove(oid.toHexString());
    expect(await inspect(mongo.db)).toEqual(before);
  });

  it('should use its bucket name and chunk size', async () => {
    const storage = createGridFSStorage({ db: mongo.db, bucketName: 'uploads', chunkSizeBytes: 1000 });
    const bytes = randomBytes(2500);
    const file = await storeBytes(storage, bytes, 700);
    expect(file.location).toBe(`gridfs:uploads/${file.id}`);
    expect(await inspect(mongo.db, 'uploads')).toEqual([`uploads.chunks:${file.id}:0`, `uploads.chunks:${file.id}:1`, `uploads.chunks:${file.id}:2`, `uploads.files:${file.id}`]);
    expect((await readAll(await storage.open(file.id, { start: 990, end: 2010 }))).equals(bytes.subarray(990, 2011))).toBe(true);
    // A range running past the end is cut at the file's length.
    expect((await readAll(await storage.open(file.id, { start: 2400, end: 9999 }))).equals(bytes.subarray(2400))).toBe(true);
    await storage.remove(file.id);
    expect(await inspect(mongo.db, 'uploads')).toEqual([]);
  });

  // The driver's read stream closes its cursor at its end or in abort(), not in destroy(), which is
  // what pipeline calls when an HTTP client leaves mid-download. 16 KiB chunks: the driver's first
  // batch holds 101 of the file's 256, so the server keeps a cursor for the rest.
  itWithOwnServer.each([
    ['the whole file', undefined],
    ['a range', { start: 100_000, end: 4 * MiB - 100_000 }],
  ])('should close the server cursor when a read of %s is destroyed mid-file', async (_what, range) => {
    const storage = createGridFSStorage({ db: mongo.db, chunkSizeBytes: 16 * 1024 });
    const file = await storeBytes(storage, randomBytes(4 * MiB), MiB);
    const stream = await storage.open(file.id, range);
    await new Promise((resolve) => stream.once('data', resolve));
    expect(await mongo.openCursors!()).toBe(1);
    stream.destroy();
    await waitFor(async () => (await mongo.openCursors!()) === 0);
    await storage.remove(file.id);
  });

  itWithOwnServer('should leave no server cursor behind a read that ran to its end', async () => {
    const storage = createGridFSStorage({ db: mongo.db, chunkSizeBytes: 16 * 1024 });
    const bytes = randomBytes(4 * MiB);
    const file = await storeBytes(storage, bytes, MiB);
    expect((await readAll(await storage.open(file.id))).equals(bytes)).toBe(true);
    expect(await mongo.openCursors!()).toBe(0);
    await storage.remove(file.id);
  });

  it('should abort after several MiB, leaving no files document and no chunks', async () => {
    const storage = createGridFSStorage({ db: mongo.db });
    const writer = await storage.create(fileInfo());
    const bytes = randomBytes(5 * MiB);
    // 100 KiB writes: most return before their chunk insert is acknowledged.
    for (let at = 0; at < bytes.length; at += 100 * 1024) await writer.write(bytes.subarray(at, at + 100 * 1024), at);
    expect((await inspect(mongo.db)).filter((entry) => entry.startsWith('fs.chunks:')).length).toBeGreaterThanOrEqual(19);
    await writer.abort(new Error('client went away'));
    expect(await inspect(mongo.db)).toEqual(before);
  });

  itWithOwnServer('should stop taking bytes while the server answers nothing, and finish the file once it does', async () => {
    const chunkSizeBytes = 255 * 1024;
    const storage = createGridFSStorage({ db: mongo.db, chunkSizeBytes, checksum: 'sha256' });
    const bytes = randomBytes(16 * MiB);
    const writeSize = 64 * 1024;
    const writer = await storage.create(fileInfo());
    // The upload stream checks the bucket's indexes before its first write: let that through.
    await writer.write(bytes.subarray(0, writeSize), 0);
    mongo.pause!();
    let held: number;
    let loop: ReturnType<typeof startWriteLoop>;
    try {
      loop = startWriteLoop(writer, bytes, writeSize);
      held = await whenStill(loop.accepted);
    } finally {
      mongo.resume!();
    }
    // The driver fills one chunk, inserts it and calls back only when the insert is acknowledged;
    // its stream buffers 16 KiB beyond that. So a stalled server holds one chunk and a write.
    expect(held).toBeGreaterThanOrEqual(chunkSizeBytes - writeSize);
    expect(held).toBeLessThanOrEqual(chunkSizeBytes + 2 * writeSize);
    await loop.done;
    const file = await writer.close();
    expect(file).toMatchObject({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect((await readAll(await storage.open(file.id))).equals(bytes)).toBe(true);
    await storage.remove(file.id);
    expect(await inspect(mongo.db)).toEqual(before);
  });

  it('should answer stat with undefined and reject open for ids that are not ObjectIds', async () => {
    const storage = createGridFSStorage({ db: mongo.db });
    expect(await storage.stat('../etc/passwd')).toBeUndefined();
    expect(await storage.stat('zz'.repeat(12))).toBeUndefined();
    await expect(storage.open('not-an-id')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(storage.remove('not-an-id')).resolves.toBeUndefined();
  });

  it('should store a parsed form through storeParts, as the seed did, with ObjectId hex ids', async () => {
    const storage = createGridFSStorage({ db: mongo.db });
    const photo = randomBytes(600_000);
    const body = formBody([
      { name: 'title', data: 'trip' },
      { name: 'photo', filename: 'été.png', contentType: 'image/png', data: photo },
      { name: 'notes', filename: 'notes.txt', contentType: 'text/plain', data: 'short' },
    ]);
    const parts = await lastValueFrom(from([body]).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage), toArray()));
    const files = parts.flatMap((part) => (part.kind === 'file' ? [part] : []));
    expect(files.map((file) => file.id)).toEqual([expect.stringMatching(/^[0-9a-f]{24}$/), expect.stringMatching(/^[0-9a-f]{24}$/)]);
    expect(await storage.stat(files[0]!.id)).toMatchObject({ filename: 'été.png', contentType: 'image/png', size: photo.length, fieldName: 'photo' });
    expect((await readAll(await storage.open(files[0]!.id))).equals(photo)).toBe(true);
    for (const file of files) await storage.remove(file.id);
    expect(await inspect(mongo.db)).toEqual(before);
  });

  it('should leave no files or chunks of a truncated form', async () => {
    const storage = createGridFSStorage({ db: mongo.db });
    const body = formBody([
      { name: 'a', filename: 'a.bin', data: randomBytes(400_000) },
      { name: 'b', filename: 'b.bin', data: randomBytes(2_000_000) },
    ]);
    const failure = await lastValueFrom(from([body.subarray(0, body.length - 1000)]).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage), toArray())).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(await inspect(mongo.db)).toEqual(before);
  });
});
