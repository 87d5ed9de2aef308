/**
 * The contract every FileStorage passes: byte-exact round trips, unique ids, abort and remove
 * leaving nothing behind (proved by listing the backend itself), concurrent files kept apart.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FileInfo, FileStorage, FileWriter, StoredFile } from '../../lib/index';

/** A storage under test, and a look at its backend. */
export interface StorageUnderTest {
  /** Made with the defaults: no checksum. */
  readonly storage: FileStorage<string>;
  /** The same backend, made with `checksum: 'sha256'`. */
  readonly hashing: FileStorage<string>;
  /** Every raw entry the backend holds (object keys, GridFS documents, folder entries), sorted. */
  inspect(): Promise<string[]>;
  teardown?(): Promise<void>;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export function fileInfo(index = 0, filename = 'report.bin'): FileInfo {
  return { index, fieldName: 'upload', filename, contentType: 'application/octet-stream', headers: {} };
}

/** Writes `bytes` in `chunkSize` pieces, one positional write at a time, and closes. */
export async function storeBytes(storage: FileStorage<string>, bytes: Buffer, chunkSize = 64 * KiB, info = fileInfo()): Promise<StoredFile<string>> {
  const writer = await storage.create(info);
  for (let at = 0; at < bytes.length; at += chunkSize) await writer.write(bytes.subarray(at, at + chunkSize), at);
  return writer.close();
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Registers the contract suite for one adapter. */
export function describeStorageContract(name: string, setup: () => Promise<StorageUnderTest>): void {
  describe(`${name} storage contract`, () => {
    let subject: StorageUnderTest;
    let before: string[];

    beforeAll(async () => {
      subject = await setup();
    });
    afterAll(async () => {
      await subject?.teardown?.();
    });
    beforeEach(async () => {
      before = await subject.inspect();
    });

    describe.each([
      ['0 bytes', 0],
      ['1 byte', 1],
      ['300 KiB', 300 * KiB],
      ['64 MiB', 64 * MiB],
    ])('a file of %s', (_label, size) => {
      it('should round-trip byte-exact with its size, and no sha256 by default', async () => {
        const bytes = randomBytes(size);
        const file = await storeBytes(subject.storage, bytes);
        expect(file.size).toBe(size);
        expect(file).not.toHaveProperty('sha256');
        const stat = await subject.storage.stat(file.id);
        expect(stat).toEqual(expect.objectContaining({ id: file.id, size, filename: 'report.bin', fieldName: 'upload' }));
        expect(stat).not.toHaveProperty('sha256');
        const back = await readAll(await subject.storage.open(file.id));
        expect(back.length).toBe(size);
        expect(back.equals(bytes)).toBe(true);
        await subject.storage.remove(file.id);
        expect(await subject.inspect()).toEqual(before);
      });
    });

    describe.each([
      ['0 bytes', 0],
      ['300 KiB', 300 * KiB],
      ['8 MiB', 8 * MiB],
    ])("with checksum 'sha256', a file of %s", (_label, size) => {
      it('should carry the SHA-256 of its bytes in close and stat, a retried write counted once', async () => {
        const bytes = randomBytes(size);
        const writer = await subject.hashing.create(fileInfo());
        for (let at = 0, n = 0; at < size; at += 64 * KiB, n++) {
          await writer.write(bytes.subarray(at, at + 64 * KiB), at);
          if (n % 3 === 1) await writer.write(bytes.subarray(at, at + 64 * KiB), at); // the retry of a write that landed
        }
        const file = await writer.close();
        expect(file).toMatchObject({ size, sha256: sha256(bytes) });
        expect(await subject.hashing.stat(file.id)).toEqual(expect.objectContaining({ id: file.id, size, sha256: file.sha256 }));
        expect((await readAll(await subject.hashing.open(file.id))).equals(bytes)).toBe(true);
        await subject.hashing.remove(file.id);
        expect(await subject.inspect()).toEqual(before);
      });
    });

    it('should read back a byte range', async () => {
      const bytes = randomBytes(300 * KiB);
      const file = await storeBytes(subject.storage, bytes);
      const back = await readAll(await subject.storage.open(file.id, { start: 1000, end: 200_999 }));
      expect(back.equals(bytes.subarray(1000, 201_000))).toBe(true);
      await subject.storage.remove(file.id);
    });

    // Ranges are inclusive, as in HTTP: { start, end } reads bytes start..end, the end clipped to the
    // last byte, and nothing when the range starts at or past the end. The edges sit on 128 KiB, the
    // GridFS chunk size the contract runs with, and the size is odd so that the last chunk is short.
    describe('a byte range of a file of 300 KiB + 7 bytes', () => {
      const SIZE = 300 * KiB + 7;
      const CHUNK = 128 * KiB;
      let bytes: Buffer;
      let file: StoredFile<string>;
      beforeAll(async () => {
        bytes = randomBytes(SIZE);
        file = await storeBytes(subject.storage, bytes);
      });
      afterAll(async () => {
        await subject.storage.remove(file.id);
      });

      it.each([
        ['the first byte', 0, 0],
        ['the last byte', SIZE - 1, SIZE - 1],
        ['the first byte of the second chunk', CHUNK, CHUNK],
        ['the last byte of the first chunk', CHUNK - 1, CHUNK - 1],
        ['two bytes across a chunk boundary', CHUNK - 1, CHUNK],
        ['bytes across two chunk boundaries', CHUNK - 10, 2 * CHUNK + 9],
        ['whole chunks', CHUNK, 2 * CHUNK - 1],
        ['a chunk boundary to the end', 2 * CHUNK, SIZE - 1],
        ['the whole file', 0, SIZE - 1],
        ['a range reaching past the end', SIZE - 10, SIZE + 1000],
        ['the last byte and far past the end', SIZE - 1, 10 * SIZE],
        ['the first byte to far past the end', 0, Number.MAX_SAFE_INTEGER],
      ])('should read %s', async (_what, start, end) => {
        const back = await readAll(await subject.storage.open(file.id, { start, end }));
        expect(back.length).toBe(Math.min(end, SIZE - 1) - start + 1);
        expect(back.equals(bytes.subarray(start, end + 1))).toBe(true);
      });

      it.each([
        ['starts at the end', SIZE, SIZE + 5],
        ['starts past the end', SIZE + 100, SIZE + 200],
      ])('should read no byte of a range that %s', async (_what, start, end) => {
        expect((await readAll(await subject.storage.open(file.id, { start, end }))).length).toBe(0);
      });

      it.each([
        ['an end before its start', { start: 10, end: 9 }],
        ['a negative start', { start: -1, end: 9 }],
        ['a fractional end', { start: 0, end: 1.5 }],
        ['a NaN start', { start: Number.NaN, end: 9 }],
      ])('should reject %s with a RangeError, never serve the whole file', async (_what, range) => {
        const opened = subject.storage.open(file.id, range).then(readAll);
        // By name and code: an error made by Node's own modules comes from another realm than jest's RangeError.
        await expect(opened).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      });
    });

    describe.each([
      ['0 bytes', 0],
      ['1 byte', 1],
    ])('a byte range of a file of %s', (_label, size) => {
      it.each([
        ['its first byte', 0, 0],
        ['0 to past the end', 0, 100],
      ])('should read %s as the bytes the file has', async (_what, start, end) => {
        const bytes = randomBytes(size);
        const file = await storeBytes(subject.storage, bytes);
        const back = await readAll(await subject.storage.open(file.id, { start, end }));
        expect(back.equals(bytes)).toBe(true);
        await subject.storage.remove(file.id);
      });
    });

    it('should give every file its own id', async () => {
      const files = [];
      for (let i = 0; i < 20; i++) files.push(await storeBytes(subject.storage, Buffer.from(`file ${i}`), 64, fileInfo(i, 'same-name.txt')));
      expect(new Set(files.map((file) => file.id)).size).toBe(20);
      for (const file of files) await subject.storage.remove(file.id);
      expect(await subject.inspect()).toEqual(before);
    });

    it('should not use the client filename in the id', async () => {
      const file = await storeBytes(subject.storage, Buffer.from('x'), 64, fileInfo(0, '../../etc/passwd'));
      expect(file.id).not.toContain('passwd');
      expect(file.id).not.toContain('/');
      expect((await subject.storage.stat(file.id))?.filename).toBe('../../etc/passwd');
      await subject.storage.remove(file.id);
    });

    it('should leave nothing behind when a file is aborted mid-way', async () => {
      const writer = await subject.storage.create(fileInfo());
      const bytes = randomBytes(8 * MiB);
      for (let at = 0; at < 6 * MiB; at += 256 * KiB) await writer.write(bytes.subarray(at, at + 256 * KiB), at);
      await writer.abort(new Error('client went away'));
      expect(await subject.inspect()).toEqual(before);
    });

    it('should leave nothing behind when a file is aborted before its first byte', async () => {
      const writer = await subject.storage.create(fileInfo());
      await writer.abort(new Error('refused'));
      expect(await subject.inspect()).toEqual(before);
    });

    it('should take a retried write at the same offset once', async () => {
      const writer = await subject.storage.create(fileInfo());
      const bytes = randomBytes(200 * KiB);
      await writer.write(bytes.subarray(0, 100 * KiB), 0);
      await writer.write(bytes.subarray(0, 100 * KiB), 0); // the retry of a write that did land
      await writer.write(bytes.subarray(100 * KiB), 100 * KiB);
      const file = await writer.close();
      expect(file.size).toBe(bytes.length);
      expect((await readAll(await subject.storage.open(file.id))).equals(bytes)).toBe(true);
      await subject.storage.remove(file.id);
    });

    it('should keep concurrent files apart', async () => {
      const contents = Array.from({ length: 5 }, () => randomBytes(512 * KiB));
      const writers: FileWriter<string>[] = await Promise.all(contents.map((_bytes, i) => subject.storage.create(fileInfo(i))));
      // Interleave the writes of all five files, 32 KiB at a time.
      for (let at = 0; at < 512 * KiB; at += 32 * KiB) {
        await Promise.all(writers.map((writer, i) => writer.write(contents[i]!.subarray(at, at + 32 * KiB), at)));
      }
      const files = await Promise.all(writers.map((writer) => writer.close()));
      for (const [i, file] of files.entries()) {
        expect((await readAll(await subject.storage.open(file.id))).equals(contents[i]!)).toBe(true);
      }
      for (const file of files) await subject.storage.remove(file.id);
      expect(await subject.inspect()).toEqual(before);
    });

    it('should remove a file, and accept removing it twice', async () => {
      const file = await storeBytes(subject.storage, Buffer.from('gone soon'));
      await subject.storage.remove(file.id);
      await subject.storage.remove(file.id);
      expect(await subject.storage.stat(file.id)).toBeUndefined();
      expect(await subject.inspect()).toEqual(before);
    });

    it('should answer stat with undefined and reject open for an unknown id', async () => {
      const file = await storeBytes(subject.storage, Buffer.from('x'));
      await subject.storage.remove(file.id);
      expect(await subject.storage.stat(file.id)).toBeUndefined();
      await expect(subject.storage.open(file.id)).rejects.toThrow();
    });
  });
}
