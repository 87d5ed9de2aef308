/** Disk storage: the contract, plus what only a folder can show. */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskStorage } from '../../lib/index';
import { describeStorageContract, storeBytes } from './storage-contract';

describeStorageContract('disk', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'rx-multipart-disk-'));
  return {
    storage: createDiskStorage({ directory }),
    inspect: async () => (await readdir(directory)).sort(),
    teardown: () => rm(directory, { recursive: true, force: true }),
  };
});

describe('createDiskStorage', () => {
  let directory: string;
  beforeEach(async () => {
    directory = join(await mkdtemp(join(tmpdir(), 'rx-multipart-disk-')), 'uploads');
  });
  afterEach(() => rm(join(directory, '..'), { recursive: true, force: true }));

  it('should create its folder on the first file', async () => {
    const storage = createDiskStorage({ directory });
    const file = await storeBytes(storage, Buffer.from('hello'));
    expect((await readdir(directory)).sort()).toEqual([file.id, `${file.id}.json`]);
  });

  it('should keep the bytes hidden under a temporary name until close', async () => {
    const storage = createDiskStorage({ directory });
    const writer = await storage.create({ index: 0, fieldName: 'f', filename: 'a.txt', contentType: 'text/plain', headers: {} });
    await writer.write(Buffer.from('half'), 0);
    expect(await storage.list()).toEqual([]);
    const file = await writer.close();
    expect((await storage.list()).map((stored) => stored.id)).toEqual([file.id]);
  });

  it('should not show a file whose metadata is still being written (does not parse yet)', async () => {
    const storage = createDiskStorage({ directory });
    const file = await storeBytes(storage, Buffer.from('hello'));
    const metadata = await readFile(join(directory, `${file.id}.json`), 'utf8');
    // What a reader can meet while close writes the metadata: nothing yet, or a part of it.
    for (const partial of ['', metadata.slice(0, metadata.length - 1), metadata.slice(0, 20)]) {
      await writeFile(join(directory, `${file.id}.json`), partial);
      expect(await storage.stat(file.id)).toBeUndefined();
      expect(await storage.list()).toEqual([]);
      await expect(storage.open(file.id)).rejects.toMatchObject({ code: 'ENOENT' });
    }
    await writeFile(join(directory, `${file.id}.json`), metadata);
    expect(await storage.stat(file.id)).toEqual(file);
  });

  it('should gather the chunks of a writev into the file in order, and hash them all', async () => {
    const storage = createDiskStorage({ directory });
    const writer = await storage.create({ index: 0, fieldName: 'f', filename: 'a.bin', contentType: 'application/octet-stream', headers: {} });
    const chunks = [Buffer.from('one '), Buffer.from('two '), Buffer.from('three')];
    await writer.writev!(chunks, 0);
    // A retried writev overlapping what was taken: only its new tail is written.
    await writer.writev!([Buffer.from('two three'), Buffer.from(' four')], 4);
    const file = await writer.close();
    const expected = Buffer.from('one two three four');
    expect(await readFile(join(directory, file.id))).toEqual(expected);
    expect(file).toMatchObject({ size: expected.length, sha256: createHash('sha256').update(expected).digest('hex') });
  });

  it('should refuse ids that are not its own, so no path can be smuggled in', async () => {
    const storage = createDiskStorage({ directory });
    expect(storage.pathOf('../etc/passwd')).toBeUndefined();
    expect(await storage.stat('../../etc/passwd')).toBeUndefined();
    await expect(storage.open('..%2f..%2fetc')).rejects.toThrow();
  });
});
