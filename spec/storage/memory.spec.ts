/** Memory storage: the contract, plus its size cap. */
import { createMemoryStorage, MultipartError } from '../../lib/index';
import { describeStorageContract, fileInfo, storeBytes } from './storage-contract';

describeStorageContract('memory', async () => {
  const storage = createMemoryStorage({ maxTotalSize: 128 * 1024 * 1024 });
  const hashing = createMemoryStorage({ maxTotalSize: 128 * 1024 * 1024, checksum: 'sha256' });
  return { storage, hashing, inspect: async () => [...storage.list(), ...hashing.list()].map((file) => file.id).sort() };
});

describe('createMemoryStorage', () => {
  it("should refuse a checksum it cannot compute, at creation, rather than store without one", () => {
    expect(() => createMemoryStorage({ checksum: true as never })).toThrow(TypeError);
  });

  it('should compute no checksum when told false, as by default', async () => {
    const file = await storeBytes(createMemoryStorage({ checksum: false }), Buffer.from('x'));
    expect(file).toMatchObject({ size: 1 });
    expect(file).not.toHaveProperty('sha256');
  });

  it('should fail a write over its total size with LIMIT_STORAGE (413)', async () => {
    const storage = createMemoryStorage({ maxTotalSize: 1000 });
    await storeBytes(storage, Buffer.alloc(600));
    const writer = await storage.create(fileInfo(1));
    const failure = writer.write(Buffer.alloc(600), 0);
    await expect(failure).rejects.toBeInstanceOf(MultipartError);
    await expect(failure).rejects.toMatchObject({ code: 'LIMIT_STORAGE', status: 413, limit: 1000 });
  });

  it('should give back the room of an aborted file', async () => {
    const storage = createMemoryStorage({ maxTotalSize: 1000 });
    const writer = await storage.create(fileInfo());
    await writer.write(Buffer.alloc(900), 0);
    await writer.abort(new Error('gone'));
    expect(storage.totalSize).toBe(0);
    const file = await storeBytes(storage, Buffer.alloc(900));
    expect(file.size).toBe(900);
  });
});
