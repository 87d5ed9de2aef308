/** The disk index's queue: how appends and compactions share it (what the storage cannot time). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskIndex } from '../../lib/storage/disk/disk-index';
import type { StoredFile } from '../../lib/index';

describe('DiskIndex', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'rx-multipart-disk-index-'));
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  const file = (n: number): StoredFile<string> => ({
    id: n.toString(16).padStart(32, '0'),
    index: n,
    fieldName: 'f',
    filename: `${n}.txt`,
    contentType: 'text/plain',
    size: 1,
    sha256: '0'.repeat(64),
    location: 'not kept in the index',
  });

  it('should write lines queued before a compaction was asked for ahead of it', async () => {
    const index = new DiskIndex(join(directory, 'index.jsonl'), 0o600);
    const order: string[] = [];
    // The first line's write starts at once; the second line and the compaction queue behind it.
    const first = index.stored(file(1)).then(() => order.push('line 1'));
    const second = index.stored(file(2)).then(() => order.push('line 2'));
    const compacted = index.compact().then(() => order.push('compaction'));
    await Promise.all([first, second, compacted]);
    expect(order).toEqual(['line 1', 'line 2', 'compaction']);
    expect((await index.all()).map((stored) => stored.id)).toEqual([file(1).id, file(2).id]);
  });

  it('should run a compaction before the lines queued after it was asked for', async () => {
    const index = new DiskIndex(join(directory, 'index.jsonl'), 0o600);
    const order: string[] = [];
    const lines = [index.stored(file(1)).then(() => order.push('line 1'))];
    const compacted = index.compact().then(() => order.push('compaction'));
    // Queued after the compaction, while the first line is written.
    lines.push(index.stored(file(2)).then(() => order.push('line 2')));
    await Promise.all([...lines, compacted]);
    expect(order).toEqual(['line 1', 'compaction', 'line 2']);
  });

  it('should answer calls queued while the index is busy with one rewrite', async () => {
    const index = new DiskIndex(join(directory, 'index.jsonl'), 0o600);
    const written = index.stored(file(1));
    const [one, two] = await Promise.all([index.compact(), index.compact(), written]);
    expect(two).toBe(one);
    expect(one).toMatchObject({ files: 1 });
  });
});
