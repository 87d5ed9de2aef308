/** Disk storage: the contract, plus what only a folder can show. */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs, { readlinkSync, readdirSync } from 'node:fs';
import fsPromises from 'node:fs/promises';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskStorage, type DiskStorage, type StoredFile } from '../../lib/index';
import { diskEntriesFor, diskFolder } from '../support/disk-folder';
import { describeStorageContract, fileInfo, readAll, storeBytes } from './storage-contract';

describeStorageContract('disk', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'rx-multipart-disk-'));
  return {
    storage: createDiskStorage({ directory }),
    hashing: createDiskStorage({ directory, checksum: 'sha256' }),
    inspect: async () => diskFolder(directory),
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
    expect((await readdir(directory)).sort()).toEqual([file.id.slice(0, 1), 'index.jsonl'].sort());
    expect(await readdir(join(directory, file.id.slice(0, 1)))).toEqual([file.id]);
    expect(diskFolder(directory)).toEqual(diskEntriesFor([file.id]));
  });

  it('should keep the bytes hidden under a temporary name until close', async () => {
    const storage = createDiskStorage({ directory });
    const writer = await storage.create({ index: 0, fieldName: 'f', filename: 'a.txt', contentType: 'text/plain', headers: {} });
    await writer.write(Buffer.from('half'), 0);
    expect(await storage.list()).toEqual([]);
    const file = await writer.close();
    expect((await storage.list()).map((stored) => stored.id)).toEqual([file.id]);
  });

  it('should show a file only once its whole index line is written, and skip a line cut by a crash', async () => {
    const storage = createDiskStorage({ directory });
    const file = await storeBytes(storage, Buffer.from('hello'));
    const index = join(directory, 'index.jsonl');
    const written = await readFile(index, 'utf8');
    const line = written.split('\n').find((text) => text.includes(file.id))!;
    // What a reader can meet while the line is appended: nothing of it yet, or a part of it.
    for (const partial of ['', `\n${line.slice(0, 20)}`, `\n${line}`]) {
      const reader = createDiskStorage({ directory });
      await writeFile(index, partial);
      expect(await reader.stat(file.id)).toBeUndefined();
      expect(await reader.list()).toEqual([]);
      await expect(reader.open(file.id)).rejects.toMatchObject({ code: 'ENOENT' });
      // The rest of the line arrives: the same reader now sees the file.
      await appendFile(index, partial === '' ? `\n${line}\n` : partial === `\n${line}` ? '\n' : `${line.slice(20)}\n`);
      expect(await reader.stat(file.id)).toEqual(file);
    }
    // A line cut by a crash, then a whole one appended by the next process: the cut one counts for
    // nothing and does not swallow the next.
    await writeFile(index, `\n${line.slice(0, 30)}`);
    const after = createDiskStorage({ directory });
    const next = await storeBytes(after, Buffer.from('next'));
    expect((await createDiskStorage({ directory }).list()).map((stored) => stored.id)).toEqual([next.id]);
  });

  it('should see what another storage on the same folder stores and removes, and all of it after a restart', async () => {
    const one = createDiskStorage({ directory });
    const other = createDiskStorage({ directory });
    const a = await storeBytes(one, Buffer.from('from one'));
    expect(await other.stat(a.id)).toEqual(a);
    const b = await storeBytes(other, Buffer.from('from the other'));
    expect((await one.list()).map((file) => file.id).sort()).toEqual([a.id, b.id].sort());
    await other.remove(a.id);
    expect(await one.stat(a.id)).toBeUndefined();
    await expect(one.open(a.id)).rejects.toMatchObject({ code: 'ENOENT' });
    const restarted = createDiskStorage({ directory });
    expect(await restarted.list()).toEqual([b]);
    expect((await readAll(await restarted.open(b.id))).toString()).toBe('from the other');
  });

  it('should read an index replaced under it from the start', async () => {
    const storage = createDiskStorage({ directory });
    const kept = await storeBytes(storage, Buffer.from('kept'));
    const index = join(directory, 'index.jsonl');
    const keptLine = (await readFile(index, 'utf8')).split('\n').find((text) => text.includes(kept.id))!;
    const dropped = await storeBytes(storage, Buffer.from('dropped from the index'));
    expect(await storage.list()).toHaveLength(2);
    // A compacted index written beside and renamed over it: another file, longer than what was read.
    await writeFile(`${index}.new`, `\n${keptLine}\n${' '.repeat(400)}\n`);
    await rename(`${index}.new`, index);
    expect((await storage.list()).map((file) => file.id)).toEqual([kept.id]);
    expect(await storage.stat(dropped.id)).toBeUndefined();
  });

  it('should read an index rewritten in place (same inode, longer than what was read) from the start', async () => {
    const writerSide = createDiskStorage({ directory });
    const reader = createDiskStorage({ directory });
    const old = await storeBytes(writerSide, Buffer.from('old'));
    expect(await reader.stat(old.id)).toEqual(old);
    // The folder emptied and used again: the new index may get the old one's inode number. Here it
    // is the same file, truncated and written again, with more bytes than the reader has read.
    const index = join(directory, 'index.jsonl');
    const oldLine = (await readFile(index, 'utf8')).split('\n').find((text) => text.includes(old.id))!;
    const fresh = await storeBytes(createDiskStorage({ directory: join(directory, 'other') }), Buffer.from('new'));
    const freshLine = (await readFile(join(directory, 'other', 'index.jsonl'), 'utf8')).split('\n').find((text) => text.includes(fresh.id))!;
    await writeFile(index, `\n${freshLine}\n${' '.repeat(oldLine.length)}\n`);
    expect((await reader.list()).map((file) => file.id)).toEqual([fresh.id]);
    expect(await reader.stat(old.id)).toBeUndefined();
  });

  describe('compact', () => {
    const indexPath = (): string => join(directory, 'index.jsonl');
    const indexLines = async (): Promise<string[]> => (await readFile(indexPath(), 'utf8')).split('\n').filter((line) => line !== '');
    // The module object the storage calls through (a namespace import's properties cannot be spied on).
    const fsPromises = require('node:fs/promises') as typeof import('node:fs/promises');

    /** Six files stored, the second and fifth removed: eight lines, four files. */
    async function storeAndRemove(storage: DiskStorage): Promise<{ kept: StoredFile[]; removed: StoredFile[] }> {
      const files = [];
      for (let i = 0; i < 6; i++) files.push(await storeBytes(storage, Buffer.from(`file ${i}`), 64, fileInfo(i, `f${i}.txt`)));
      await storage.remove(files[1]!.id);
      await storage.remove(files[4]!.id);
      return { kept: files.filter((_file, i) => i !== 1 && i !== 4), removed: [files[1]!, files[4]!] };
    }

    /** The line of a file stored by a storage on another folder: what another process would append. */
    async function lineFromElsewhere(): Promise<{ file: StoredFile; line: string }> {
      const elsewhere = join(directory, '..', 'elsewhere');
      const file = await storeBytes(createDiskStorage({ directory: elsewhere }), Buffer.from('from elsewhere'));
      return { file, line: (await readFile(join(elsewhere, 'index.jsonl'), 'utf8')).split('\n').find((text) => text.includes(file.id))! };
    }

    it('should leave one line per stored file, after a first line of its own', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      await storage.compact();
      const lines = await indexLines();
      expect(Object.keys(JSON.parse(lines[0]!))).toEqual(['compacted']);
      expect(lines.slice(1).map((line) => JSON.parse(line).stored.id)).toEqual(kept.map((file) => file.id));
    });

    it('should answer with the index size before and after, and the files it lists', async () => {
      const storage = createDiskStorage({ directory });
      await storeAndRemove(storage);
      const before = (await readFile(indexPath())).length;
      const result = await storage.compact();
      expect(result).toEqual({ before, after: (await readFile(indexPath())).length, files: 4 });
      expect(result.after).toBeLessThan(before);
    });

    it('should serve the same files after it, here and after a restart', async () => {
      const storage = createDiskStorage({ directory });
      const { kept, removed } = await storeAndRemove(storage);
      const listed = await storage.list();
      await storage.compact();
      expect(await storage.list()).toEqual(listed);
      const restarted = createDiskStorage({ directory });
      expect(await restarted.list()).toEqual(listed);
      expect((await readAll(await restarted.open(kept[2]!.id))).toString()).toBe('file 3');
      expect(await restarted.stat(removed[0]!.id)).toBeUndefined();
    });

    it('should leave nothing beside the index: no new index, no lock', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      await storage.compact();
      expect(diskFolder(directory)).toEqual(diskEntriesFor(kept.map((file) => file.id)));
    });

    it('should let its own writers stay open across it', async () => {
      const storage = createDiskStorage({ directory });
      const writer = await storage.create(fileInfo(1, 'open.txt'));
      await writer.write(Buffer.from('written across the compaction'), 0);
      const { kept } = await storeAndRemove(storage); // the index is held open for appends meanwhile
      await storage.compact();
      const late = await writer.close();
      const ids = [...kept.map((file) => file.id), late.id];
      expect((await createDiskStorage({ directory }).list()).map((file) => file.id).sort()).toEqual([...ids].sort());
      expect(await indexLines()).toHaveLength(1 + ids.length);
    });

    it('should append its next lines to the new index only, not first to the old one', async () => {
      const storage = createDiskStorage({ directory });
      const writer = await storage.create(fileInfo(1, 'open.txt')); // keeps the index open for appends
      await storeAndRemove(storage);
      const old = await fsPromises.open(indexPath(), 'r');
      try {
        const oldSize = (await old.stat()).size;
        await storage.compact();
        await storeBytes(storage, Buffer.from('after'));
        expect((await old.stat()).size).toBe(oldSize);
      } finally {
        await old.close();
        await writer.abort(new Error('done'));
      }
    });

    it('should let another storage on the folder read the new index and append to it through a handle opened before', async () => {
      const storage = createDiskStorage({ directory });
      const other = createDiskStorage({ directory });
      const otherWriter = await other.create(fileInfo(0, 'other.txt'));
      const early = await storeBytes(other, Buffer.from('early')); // other's index handle now stays open
      const { kept } = await storeAndRemove(storage);
      expect(await other.list()).toHaveLength(5); // read up to the old index's end
      await storage.compact();
      expect((await other.list()).map((file) => file.id).sort()).toEqual([early.id, ...kept.map((file) => file.id)].sort());
      await otherWriter.write(Buffer.from('other'), 0);
      const late = await otherWriter.close();
      expect(await createDiskStorage({ directory }).stat(late.id)).toEqual(late);
    });

    it('should carry into the new index, before its rename, a line another process appends while it is written', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      const { file, line } = await lineFromElsewhere();
      const realOpen = fsPromises.open;
      const realRename = fsPromises.rename;
      let renamedText = '';
      const opened = jest.spyOn(fsPromises, 'open').mockImplementation(async (path, flags, mode) => {
        // The new index being made: another process appends to the old one now.
        if (flags === 'wx' && String(path).endsWith('.compacting')) await appendFile(indexPath(), `\n${line}\n`);
        return realOpen(path, flags, mode);
      });
      const renamed = jest.spyOn(fsPromises, 'rename').mockImplementation(async (from, to) => {
        if (String(from).endsWith('.compacting')) renamedText = await readFile(from, 'utf8');
        return realRename(from, to);
      });
      try {
        expect(await storage.compact()).toMatchObject({ files: 5 });
      } finally {
        opened.mockRestore();
        renamed.mockRestore();
      }
      expect(renamedText).toContain(file.id);
      expect((await createDiskStorage({ directory }).list()).map((stored) => stored.id).sort()).toEqual([...kept.map((stored) => stored.id), file.id].sort());
    });

    it('should carry over a line another process appends between its last read and its rename', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      const { file, line } = await lineFromElsewhere();
      const realRename = fsPromises.rename;
      const renamed = jest.spyOn(fsPromises, 'rename').mockImplementationOnce(async (from, to) => {
        await appendFile(indexPath(), `\n${line}\n`);
        return realRename(from, to);
      });
      try {
        expect(await storage.compact()).toMatchObject({ files: 5 });
        expect(renamed).toHaveBeenCalledTimes(1);
      } finally {
        renamed.mockRestore();
      }
      expect((await createDiskStorage({ directory }).list()).map((stored) => stored.id).sort()).toEqual([...kept.map((stored) => stored.id), file.id].sort());
    });

    it('should leave the index as it was, and no file beside it, when the new one cannot take its place', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      const before = await readFile(indexPath());
      const refused = jest.spyOn(fsPromises, 'rename').mockRejectedValueOnce(Object.assign(new Error('refused'), { code: 'EIO' }));
      try {
        await expect(storage.compact()).rejects.toMatchObject({ code: 'EIO' });
      } finally {
        refused.mockRestore();
      }
      expect(await readFile(indexPath())).toEqual(before);
      expect(diskFolder(directory)).toEqual(diskEntriesFor(kept.map((file) => file.id)));
      const next = await storeBytes(storage, Buffer.from('still storing'));
      expect(await storage.stat(next.id)).toEqual(next);
    });

    it('should remove what a compaction stopped by a crash left beside the index', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      await writeFile(`${indexPath()}.${'0'.repeat(32)}.compacting`, '\n{"compacted":"cut sh');
      await storage.compact();
      expect(diskFolder(directory)).toEqual(diskEntriesFor(kept.map((file) => file.id)));
    });

    it('should refuse to run while another compaction of the folder holds the lock, changing nothing', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      const before = await readFile(indexPath());
      await writeFile(`${indexPath()}.lock`, String(process.pid)); // a live process: this one
      await expect(storage.compact()).rejects.toMatchObject({ code: 'EBUSY' });
      expect(await readFile(indexPath())).toEqual(before);
      expect(await readFile(`${indexPath()}.lock`, 'utf8')).toBe(String(process.pid));
      await rm(`${indexPath()}.lock`);
      expect(await storage.compact()).toMatchObject({ files: kept.length });
    });

    it('should take over a lock whose process is gone', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      await writeFile(`${indexPath()}.lock`, gone);
      expect(await storage.compact()).toMatchObject({ files: kept.length });
      expect(diskFolder(directory)).toEqual(diskEntriesFor(kept.map((file) => file.id)));
    });

    it('should refuse to rename over an index replaced while it was compacting, and leave that index', async () => {
      const storage = createDiskStorage({ directory });
      const { kept } = await storeAndRemove(storage);
      const { file, line } = await lineFromElsewhere();
      const realRename = fsPromises.rename;
      const realStat = fsPromises.stat;
      // Just before the rename: someone else puts another index in place.
      const looked = jest.spyOn(fsPromises, 'stat').mockImplementation(async (path, options) => {
        if (path === indexPath() && looked.mock.calls.length === 1) {
          await writeFile(`${indexPath()}.theirs`, `\n${line}\n`);
          await realRename(`${indexPath()}.theirs`, indexPath());
        }
        return realStat(path, options as never);
      });
      try {
        await expect(storage.compact()).rejects.toMatchObject({ code: 'EAGAIN' });
      } finally {
        looked.mockRestore();
      }
      expect(await readFile(indexPath(), 'utf8')).toBe(`\n${line}\n`);
      expect((await createDiskStorage({ directory }).list()).map((stored) => stored.id)).toEqual([file.id]);
      expect(diskFolder(directory).filter((name) => !name.startsWith('index:'))).toEqual(kept.map((stored) => join(stored.id.slice(0, 1), stored.id)).sort());
    });

    it('should find nothing to compact in a folder without an index', async () => {
      expect(await createDiskStorage({ directory }).compact()).toEqual({ before: 0, after: 0, files: 0 });
    });
  });

  it('should store many files closing at once, each in the index once', async () => {
    const storage = createDiskStorage({ directory });
    const writers = await Promise.all(Array.from({ length: 40 }, (_unused, i) => storage.create(fileInfo(i, `f${i}.txt`))));
    await Promise.all(writers.map((writer, i) => writer.write(Buffer.from(`file ${i}`), 0)));
    const files = await Promise.all(writers.map((writer) => writer.close()));
    expect(diskFolder(directory)).toEqual(diskEntriesFor(files.map((file) => file.id)));
    const lines = (await readFile(join(directory, 'index.jsonl'), 'utf8')).split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(40);
    expect((await storage.list()).map((file) => file.filename).sort()).toEqual(files.map((file) => file.filename).sort());
  });

  it('should make its folders again when they are removed under it', async () => {
    const storage = createDiskStorage({ directory });
    const first = await storeBytes(storage, Buffer.from('first'));
    await rm(directory, { recursive: true });
    // Sixteen files: ids spread over the folders, so at least one goes to a folder made before.
    const files = [];
    for (let i = 0; i < 16; i++) files.push(await storeBytes(storage, Buffer.from(`again ${i}`)));
    expect(await storage.stat(first.id)).toBeUndefined();
    expect(diskFolder(directory)).toEqual(diskEntriesFor(files.map((file) => file.id)));
    expect(storage.concurrency).toBeGreaterThan(4);
  });

  it('should append to the index under its name even when the folder was emptied while a writer stayed open', async () => {
    const storage = createDiskStorage({ directory });
    const open = await storage.create(fileInfo(0, 'still open.bin'));
    await storeBytes(storage, Buffer.from('before')); // the index is now held open for appends
    await rm(directory, { recursive: true });
    const after = await storeBytes(storage, Buffer.from('after'));
    expect(await storage.stat(after.id)).toEqual(after);
    expect(await createDiskStorage({ directory }).stat(after.id)).toEqual(after);
    await open.abort(new Error('done'));
    expect(diskFolder(directory)).toEqual(diskEntriesFor([after.id]));
  });

  it('should read a line whose multi-byte characters are split between two reads', async () => {
    const storage = createDiskStorage({ directory });
    const file = await storeBytes(storage, Buffer.from('x'), 64, fileInfo(0, 'ünïcødé ✓ 文件.txt'));
    const index = join(directory, 'index.jsonl');
    const line = Buffer.from((await readFile(index, 'utf8')).split('\n').find((text) => text.includes(file.id))!);
    const cut = line.indexOf(Buffer.from('✓')) + 1; // inside the three bytes of ✓
    const reader = createDiskStorage({ directory });
    await writeFile(index, Buffer.concat([Buffer.from('\n'), line.subarray(0, cut)]));
    expect(await reader.list()).toEqual([]);
    await appendFile(index, Buffer.concat([line.subarray(cut), Buffer.from('\n')]));
    expect((await reader.stat(file.id))?.filename).toBe('ünïcødé ✓ 文件.txt');
  });

  it('should fail a close whose index line cannot be written, leave nothing, and store again once it can', async () => {
    const storage = createDiskStorage({ directory });
    const first = await storeBytes(storage, Buffer.from('first'));
    await rm(join(directory, 'index.jsonl'));
    await mkdir(join(directory, 'index.jsonl')); // appends now fail (EISDIR)
    const writer = await storage.create(fileInfo());
    await writer.write(Buffer.from('refused by the index'), 0);
    await expect(writer.close()).rejects.toMatchObject({ code: 'EISDIR' });
    // Only the first file's bytes (its line went with the old index): the refused file left nothing.
    const files = (await readdir(directory, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    expect(files.map((entry) => join(entry.parentPath, entry.name))).toEqual([first.location]);
    await rm(join(directory, 'index.jsonl'), { recursive: true });
    const later = await storeBytes(storage, Buffer.from('later'));
    expect(await storage.list()).toEqual([later]);
  });

  it('should keep the index open only while files are being written', async () => {
    const storage = createDiskStorage({ directory });
    const index = join(directory, 'index.jsonl');
    const openIndex = (): number => readdirSync('/proc/self/fd').filter((fd) => safeReadlink(`/proc/self/fd/${fd}`) === index).length;
    const writer = await storage.create(fileInfo());
    const kept = await storeBytes(storage, Buffer.from('first'));
    await waitFor(() => openIndex() === 1); // appended, and a writer is still open
    await writer.abort(new Error('refused'));
    await waitFor(() => openIndex() === 0);
    await storage.remove(kept.id);
    await waitFor(() => openIndex() === 0);
    expect(await storage.list()).toEqual([]);
  });

  it('should gather the chunks of a writev into the file in order, and hash them all', async () => {
    const storage = createDiskStorage({ directory, checksum: 'sha256' });
    const writer = await storage.create({ index: 0, fieldName: 'f', filename: 'a.bin', contentType: 'application/octet-stream', headers: {} });
    const chunks = [Buffer.from('one '), Buffer.from('two '), Buffer.from('three')];
    await writer.writev!(chunks, 0);
    // A retried writev overlapping what was taken: only its new tail is written.
    await writer.writev!([Buffer.from('two three'), Buffer.from(' four')], 4);
    const file = await writer.close();
    const expected = Buffer.from('one two three four');
    expect(await readFile(join(directory, file.id.slice(0, 1), file.id))).toEqual(expected);
    expect(storage.pathOf(file.id)).toBe(join(directory, file.id.slice(0, 1), file.id));
    expect(file).toMatchObject({ size: expected.length, sha256: createHash('sha256').update(expected).digest('hex') });
  });

  describe('writes on the descriptor', () => {
    const info = { index: 0, fieldName: 'f', filename: 'a.bin', contentType: 'application/octet-stream', headers: {} };
    const stored = (file: StoredFile<string>): Promise<Buffer> => readFile(join(directory, file.id.slice(0, 1), file.id));
    afterEach(() => jest.restoreAllMocks());

    it('should close only once the writes in flight have landed, a given-up one included', async () => {
      const storage = createDiskStorage({ directory });
      const writer = await storage.create(info);
      const bytes = Buffer.alloc(64 * 1024, 7);
      const real = fs.writev;
      // The first write answers 100 ms late, as one given up after a timeout while its retry lands.
      jest.spyOn(fs, 'writev').mockImplementationOnce(((fd: number, buffers: NodeJS.ArrayBufferView[], position: number, callback: (error: NodeJS.ErrnoException | null, written: number) => void) =>
        real(fd, buffers, position, (error, written) => setTimeout(() => callback(error, written), 100))) as unknown as typeof fs.writev);
      let settled = 0;
      void writer.writev!([bytes], 0).finally(() => settled++).catch(() => undefined);
      await writer.writev!([bytes], 0).finally(() => settled++);
      const file = await writer.close();
      expect(settled).toBe(2);
      expect((await stored(file)).equals(bytes)).toBe(true);
    });

    it('should abort a file under a write in flight, leaving nothing', async () => {
      const storage = createDiskStorage({ directory });
      const writer = await storage.create(info);
      const writing = writer.writev!([Buffer.alloc(4 * 1024 * 1024, 1)], 0);
      await writer.abort(new Error('left'));
      await writing.catch(() => undefined);
      expect(diskFolder(directory)).toEqual(diskEntriesFor([]));
    });

    it('should reject, not throw, a write after close and a write past the end', async () => {
      const storage = createDiskStorage({ directory });
      const writer = await storage.create(info);
      const gap = writer.write(Buffer.from('x'), 5);
      await expect(gap).rejects.toThrow(RangeError);
      await writer.close();
      const late = writer.write(Buffer.from('x'), 0);
      await expect(late).rejects.toMatchObject({ code: 'EBADF' });
    });

    it('should finish a short write where it stopped', async () => {
      const storage = createDiskStorage({ directory });
      const writer = await storage.create(info);
      const chunks = [Buffer.from('0123456789'), Buffer.from('abcdefghij')];
      const real = fs.writev;
      // The first write takes 4 bytes only, as a positional write may.
      jest.spyOn(fs, 'writev').mockImplementationOnce(((fd: number, buffers: NodeJS.ArrayBufferView[], position: number, callback: (error: NodeJS.ErrnoException | null, written: number) => void) =>
        real(fd, [(buffers[0] as Buffer).subarray(0, 4)], position, callback)) as unknown as typeof fs.writev);
      await writer.writev!(chunks, 0);
      const file = await writer.close();
      expect(fs.writev).toHaveBeenCalledTimes(2);
      expect((await stored(file)).toString()).toBe('0123456789abcdefghij');
      expect(file.size).toBe(20);
    });

    it('should hand the writes asked for in one turn of the event loop to the thread pool together, after it', async () => {
      const storage = createDiskStorage({ directory });
      const writers = await Promise.all([0, 1, 2].map((index) => storage.create({ ...info, index })));
      const spy = jest.spyOn(fs, 'writev');
      const deferrals = jest.spyOn(global, 'setImmediate');
      const writes = writers.slice(0, 2).map((writer, i) => writer.write(Buffer.from(`file ${i}`), 0));
      // A third asked for from a promise callback, still in the same turn.
      await Promise.resolve();
      writes.push(writers[2]!.write(Buffer.from('file 2'), 0));
      await Promise.resolve();
      expect(spy).not.toHaveBeenCalled();
      // All three go at the end of the turn, together (one deferral), in the order asked.
      await new Promise((resolve) => setImmediate(resolve));
      expect(spy).toHaveBeenCalledTimes(3);
      expect(deferrals).toHaveBeenCalledTimes(2); // the storage's one, and this test's own
      expect(spy.mock.calls.map(([, buffers]) => Buffer.concat(buffers as Buffer[]).toString())).toEqual(['file 0', 'file 1', 'file 2']);
      await Promise.all(writes);
      const files = await Promise.all(writers.map((writer) => writer.close()));
      expect(await Promise.all(files.map((file) => stored(file).then(String)))).toEqual(['file 0', 'file 1', 'file 2']);
    });

    it('should hand the opens of files to the thread pool with the writes, after the turn, and still close, rename and remove them', async () => {
      const storage = createDiskStorage({ directory });
      // The first file makes the folders; the calls below are those of every file after it.
      await (await storage.create(info)).abort(new Error('done'));
      const opens = jest.spyOn(fsPromises, 'open');
      const renames = jest.spyOn(fsPromises, 'rename');
      const removals = jest.spyOn(fsPromises, 'rm');
      try {
        const creating = [0, 1].map((index) => storage.create({ ...info, index }));
        await Promise.resolve();
        expect(opens).not.toHaveBeenCalled();
        await new Promise((resolve) => setImmediate(resolve));
        expect(opens).toHaveBeenCalledTimes(2);
        const [kept, dropped] = await Promise.all(creating);
        await kept!.write(Buffer.from('kept'), 0);
        const closing = kept!.close();
        const aborting = dropped!.abort(new Error('dropped'));
        // The close, rename and removal are handed over the same way, each in the turn it is asked for.
        const file = await closing;
        await aborting;
        expect(renames).toHaveBeenCalledTimes(1);
        expect(removals).toHaveBeenCalledTimes(1);
        expect((await stored(file)).toString()).toBe('kept');
        expect((await readdir(join(directory, file.id[0]!))).filter((name) => name.endsWith('.partial'))).toEqual([]);
      } finally {
        for (const spy of [opens, renames, removals]) spy.mockRestore();
      }
    });

    it('should count and hash a retried write once when the attempt it replaces lands before it is handed over', async () => {
      const storage = createDiskStorage({ directory, checksum: 'sha256' });
      const writer = await storage.create(info);
      const real = fs.writev;
      let landFirst!: () => void;
      // The first attempt's answer is held, as one given up after a timeout.
      jest.spyOn(fs, 'writev').mockImplementationOnce(((fd: number, buffers: NodeJS.ArrayBufferView[], position: number, callback: (error: NodeJS.ErrnoException | null, written: number) => void) =>
        real(fd, buffers, position, (error, written) => (landFirst = () => callback(error, written)))) as unknown as typeof fs.writev);
      const first = writer.write(Buffer.from('AAAA'), 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      // The retry is asked for; the first attempt lands before the retry is handed over.
      const retry = writer.write(Buffer.from('AAAA'), 0);
      landFirst();
      await first;
      await retry.catch(() => undefined);
      await writer.write(Buffer.from('BBBB'), 4);
      const file = await writer.close();
      expect((await stored(file)).toString()).toBe('AAAABBBB');
      expect(file.size).toBe(8);
      expect(file.sha256).toBe(createHash('sha256').update('AAAABBBB').digest('hex'));
    });

    it('should fail alone a write Node refuses at once, and still hand over the others of its turn', async () => {
      const storage = createDiskStorage({ directory });
      const writers = await Promise.all([storage.create(info), storage.create({ ...info, index: 1 })]);
      jest.spyOn(fs, 'writev').mockImplementationOnce((() => {
        throw Object.assign(new Error('bad file descriptor'), { code: 'EBADF' });
      }) as unknown as typeof fs.writev);
      const [refused, landed] = writers.map((writer, i) => writer.write(Buffer.from(`file ${i}`), 0));
      await expect(refused).rejects.toMatchObject({ code: 'EBADF' });
      await landed;
      await writers[0]!.abort(new Error('failed'));
      const file = await writers[1]!.close();
      expect((await stored(file)).toString()).toBe('file 1');
      expect(diskFolder(directory)).toEqual(diskEntriesFor([file.id]));
    });

    it('should fail a write the disk takes no byte of', async () => {
      const storage = createDiskStorage({ directory });
      const writer = await storage.create(info);
      jest.spyOn(fs, 'writev').mockImplementationOnce(((_fd: number, _buffers: unknown, _position: number, callback: (error: null, written: number) => void) =>
        setImmediate(() => callback(null, 0))) as unknown as typeof fs.writev);
      await expect(writer.write(Buffer.from('abc'), 0)).rejects.toThrow('The disk took no byte of a write.');
      await writer.abort(new Error('failed'));
      expect(diskFolder(directory)).toEqual(diskEntriesFor([]));
    });
  });

  it("should refuse a checksum it cannot compute, at creation", () => {
    expect(() => createDiskStorage({ directory, checksum: 'SHA256' as never })).toThrow(TypeError);
  });

  it('should read an index whose lines have a sha256 and lines that have none, after a restart', async () => {
    const plain = await storeBytes(createDiskStorage({ directory }), Buffer.from('plain'));
    const hashed = await storeBytes(createDiskStorage({ directory, checksum: 'sha256' }), Buffer.from('hashed'));
    const lines = (await readFile(join(directory, 'index.jsonl'), 'utf8')).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line).stored);
    expect(lines.map((stored) => 'sha256' in stored)).toEqual([false, true]);
    const restarted = createDiskStorage({ directory });
    expect(await restarted.stat(plain.id)).toEqual(plain);
    expect(await restarted.stat(hashed.id)).toEqual(hashed);
    expect(hashed.sha256).toBe(createHash('sha256').update('hashed').digest('hex'));
  });

  it('should refuse ids that are not its own, so no path can be smuggled in', async () => {
    const storage = createDiskStorage({ directory });
    expect(storage.pathOf('../etc/passwd')).toBeUndefined();
    expect(await storage.stat('../../etc/passwd')).toBeUndefined();
    await expect(storage.open('..%2f..%2fetc')).rejects.toThrow();
  });
});

function safeReadlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Waits (up to 2 s) for a condition the storage reaches after a promise it does not return. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 2 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
