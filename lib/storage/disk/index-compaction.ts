/**
 * Compaction of the disk storage's index: the index written again beside itself with one line per
 * stored file, then renamed over the old one.
 */
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomId } from '../stored-file.js';
import { applyLines, readAt, type IndexedFile } from './index-lines.js';

/** What a compaction did: the index's size in bytes before and after it, and the files it lists. */
export interface IndexCompaction {
  readonly before: number;
  readonly after: number;
  readonly files: number;
}

const COMPACTING = '.compacting';
/** How many times lines appended meanwhile are carried into the new index before it is renamed. */
const CARRY_ROUNDS = 8;

/**
 * Writes the index at `path` again with one line per stored file, and renames that over it.
 * - The new file opens with a line naming a random id, so readers tell it from the old one by its
 *   first bytes too.
 * - Lines appended to the old index meanwhile are carried over: into the new file until no more
 *   come, then, after the rename, those of its last instant. Only a line appended at the moment
 *   of that last read is lost, hence: run it when nothing else stores into the folder.
 * - The new file is flushed to disk before the rename, so a crash leaves the old index or the new
 *   one, never a short one.
 * - Temporary files a crashed compaction left are removed first.
 */
export async function rewriteIndex(path: string, mode: number): Promise<IndexCompaction> {
  await removeLeftovers(path);
  let old: FileHandle;
  try {
    old = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { before: 0, after: 0, files: 0 };
    throw error;
  }
  const temporary = `${path}.${randomId()}${COMPACTING}`;
  let isRenamed = false;
  try {
    const before = (await old.stat()).size;
    const files = new Map<string, IndexedFile>();
    let read = await applyWholeLines(old, 0, files);
    const fresh = await open(temporary, 'wx', mode);
    try {
      await fresh.writeFile(`\n${JSON.stringify({ compacted: randomId() })}\n${[...files.values()].map((file) => `${JSON.stringify({ stored: file })}\n`).join('')}`);
      for (let round = 0; round < CARRY_ROUNDS; round++) {
        const carried = await carryLines(old, read, fresh, files);
        if (carried === 0) break;
        read += carried;
      }
      await fresh.sync();
    } finally {
      await fresh.close();
    }
    await rename(temporary, path);
    isRenamed = true;
    await syncFolder(dirname(path));
    const appended = await open(path, 'a');
    try {
      await carryLines(old, read, appended, files);
    } finally {
      await appended.close();
    }
    return { before, after: (await stat(path)).size, files: files.size };
  } finally {
    await old.close();
    if (!isRenamed) await rm(temporary, { force: true });
  }
}

/** Applies the whole lines of `handle` from `position` to `files`; returns the bytes they took. */
async function applyWholeLines(handle: FileHandle, position: number, files: Map<string, IndexedFile>): Promise<number> {
  const bytes = await readAt(handle, position, (await handle.stat()).size - position);
  // The bytes after the last newline may be a line still being appended: left for the next read.
  const whole = bytes.lastIndexOf(0x0a) + 1;
  applyLines(bytes.toString('utf8', 0, whole), files);
  return whole;
}

/**
 * Appends to `target` the whole lines `old` holds from `position`, each batch led by a newline as
 * every append is, and applies them to `files`; returns the bytes of `old` they took (0: none).
 */
async function carryLines(old: FileHandle, position: number, target: FileHandle, files: Map<string, IndexedFile>): Promise<number> {
  const bytes = await readAt(old, position, (await old.stat()).size - position);
  const whole = bytes.lastIndexOf(0x0a) + 1;
  if (whole === 0) return 0;
  const lines = Buffer.concat([Buffer.from('\n'), bytes.subarray(0, whole)]);
  const { bytesWritten } = await target.write(lines);
  if (bytesWritten !== lines.length) throw new Error(`The disk took ${bytesWritten} of ${lines.length} bytes of a compacted index.`);
  applyLines(bytes.toString('utf8', 0, whole), files);
  return whole;
}

/** Removes the temporary files of compactions that a crash stopped before their rename. */
async function removeLeftovers(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return;
  }
  const leftovers = names.filter((name) => name.startsWith(prefix) && name.endsWith(COMPACTING));
  await Promise.all(leftovers.map((name) => rm(join(dirname(path), name), { force: true })));
}

/** Flushes a folder's entries (a rename into it) to disk, where the platform can open a folder. */
async function syncFolder(path: string): Promise<void> {
  let folder: FileHandle;
  try {
    folder = await open(path, 'r');
  } catch {
    return;
  }
  try {
    await folder.sync();
  } catch {
    // Some platforms and file systems refuse fsync on a folder; the rename stands all the same.
  } finally {
    await folder.close();
  }
}
