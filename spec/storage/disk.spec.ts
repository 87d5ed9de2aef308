/** Disk storage: the contract, plus what only a folder can show. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
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

  it('should refuse ids that are not its own, so no path can be smuggled in', async () => {
    const storage = createDiskStorage({ directory });
    expect(storage.pathOf('../etc/passwd')).toBeUndefined();
    expect(await storage.stat('../../etc/passwd')).toBeUndefined();
    await expect(storage.open('..%2f..%2fetc')).rejects.toThrow();
  });
});
