/** GridFS storage against a real MongoDB-protocol server (CongoDB, or MONGODB_URI): the contract, and a form through storeParts. */
import { from, lastValueFrom, toArray } from 'rxjs';
import type { Db } from 'mongodb';
import { parseMultipart, storeParts } from '../../lib/index';
import { createGridFSStorage } from '../../lib/storage/gridfs/index';
import { startMongo, type MongoUnderTest } from '../support/mongo-server';
import { CONTENT_TYPE, formBody } from '../support/form-body';
import { describeStorageContract, readAll } from './storage-contract';

/** Every document of fs.files and fs.chunks. */
async function inspect(db: Db): Promise<string[]> {
  const files = await db.collection('fs.files').find({}).toArray();
  const chunks = await db.collection('fs.chunks').find({}, { projection: { data: 0 } }).toArray();
  return [...files.map((doc) => `fs.files:${String(doc._id)}`), ...chunks.map((doc) => `fs.chunks:${String(doc.files_id)}:${String(doc.n)}`)].sort();
}

describeStorageContract('gridfs', async () => {
  const mongo = await startMongo('contract');
  console.log(`${mongo.kind} ready in ${mongo.startMs} ms`);
  // CongoDB does not cut a find reply at 16 MiB as mongod does, and the driver's download asks for
  // 101 chunks at once: 128 KiB chunks keep that first batch under 16 MiB (12.6 MiB).
  return { storage: createGridFSStorage({ db: mongo.db, chunkSizeBytes: 128 * 1024 }), inspect: () => inspect(mongo.db), teardown: () => mongo.stop() };
});

describe('createGridFSStorage', () => {
  let mongo: MongoUnderTest;
  beforeAll(async () => {
    mongo = await startMongo('forms');
  });
  afterAll(() => mongo.stop());

  it('should store a form through storeParts, as the seed did, with ObjectId hex ids', async () => {
    const storage = createGridFSStorage({ db: mongo.db });
    const data = Buffer.alloc(600_000, 5);
    const body = formBody([{ name: 'title', data: 'trip' }, { name: 'photo', filename: 'été.png', contentType: 'image/png', data }]);
    const parts = await lastValueFrom(from([body]).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage), toArray()));
    const file = parts.find((part) => part.kind === 'file');
    const id = file?.kind === 'file' ? file.id : '';
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(await storage.stat(id)).toMatchObject({ filename: 'été.png', contentType: 'image/png', size: data.length, fieldName: 'photo' });
    expect((await readAll(await storage.open(id))).equals(data)).toBe(true);
  });

  it('should leave no files or chunks of a truncated form', async () => {
    const storage = createGridFSStorage({ db: mongo.db });
    const before = await inspect(mongo.db);
    const body = formBody([{ name: 'a', filename: 'a.bin', data: Buffer.alloc(400_000, 2) }, { name: 'b', filename: 'b.bin', data: Buffer.alloc(2_000_000, 3) }]);
    const failure = await lastValueFrom(from([body.subarray(0, body.length - 1000)]).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage), toArray())).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(await inspect(mongo.db)).toEqual(before);
  });
});
