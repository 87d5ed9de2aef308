/**
 * Compaction of the disk storage's index: the index written again beside itself with one line per
 * stored file, then renamed over the old one.
 */
import { open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
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
const LOCK = '.lock';
const NOTHING: IndexCompaction = { before: 0, after: 0, files: 0 };
/**
 * How many times lines appended meanwhile are carried into the new index before its rename: each
 * round reads what came during the one before, so it stops as soon as a round finds nothing; the
 * bound only keeps a folder under a steady stream of appends from holding the compaction forever.
 */
const CARRY_ROUNDS = 8;
/** How old a lock without a process id must be to count as left by a crash between its creation and its first write. */
const UNWRITTEN_LOCK_MS = 10_000;

/**
 * Writes the index at `path` again with one line per stored file, and renames that over it.
 * - One compaction at a time per folder, across processes: `<index>.lock` ('wx') holds the
 *   compacting process's id, and a lock whose process is gone is taken over.
 * - Temporary files a crashed compaction left are removed first.
 * - The new file opens with a line naming a random id, so readers tell it from the old one by its
 *   first bytes too.
 * - Lines appended to the old index meanwhile are carried over: into the new file until no more
 *   come, then, after the rename, those that came since. An appender that looks at the index's
 *   name after the rename writes its line again; one whose line lands after that last read but
 *   who looked before the rename loses it, hence: compact when no other storage stores into the
 *   folder.
 * - The new file is flushed to disk before the rename, so a crash leaves the old index or the new
 *   one, never a short one; the rename is refused if the index was replaced meanwhile.
 * @param path the index; a folder or index that does not exist has nothing to compact.
 * @param mode the permission bits of the new index and of the lock.
 * @returns the index's size before and after, and the files it lists.
 * @example
 * await rewriteIndex('/srv/uploads/index.jsonl', 0o600); // { before: 48213, after: 20377, files: 112 }
 */
export async function rewriteIndex(path: string, mode: number): Promise<IndexCompaction> {
  const unlock = await takeLock(`${path}${LOCK}`, mode);
  if (unlock === undefined) return NOTHING;
  try {
    await removeLeftovers(path);
    return await rewriteLocked(path, mode);
  } finally {
    await unlock();
  }
}

async function rewriteLocked(path: string, mode: number): Promise<IndexCompaction> {
  let old: FileHandle;
  try {
    old = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return NOTHING;
    throw error;
  }
  const temporary = `${path}.${randomId()}${COMPACTING}`;
  let isRenamed = false;
  try {
    const { size: before, ino } = await old.stat();
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
    const current = await stat(path).catch(() => undefined);
    if (current?.ino !== ino) throw Object.assign(new Error(`The index ${path} was replaced while it was being compacted; nothing was changed.`), { code: 'EAGAIN' });
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

/**
 * Creates the lock at `lockPath` holding this process's id; resolves with its release, or undefined
 * when its folder does not exist. A lock whose process is gone (or unwritten for long) is taken
 * over once; one held by a live process rejects with code 'EBUSY'.
 */
async function takeLock(lockPath: string, mode: number): Promise<(() => Promise<void>) | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', mode);
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      return () => rm(lockPath, { force: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code !== 'EEXIST') throw error;
      if (attempt > 0 || !(await isLeftBehind(lockPath))) {
        throw Object.assign(new Error(`Another compaction holds ${lockPath}; remove it if no process is compacting this folder.`), { code: 'EBUSY' });
      }
      await rm(lockPath, { force: true });
    }
  }
}

/** Whether the lock at `lockPath` was left by a process that is gone. */
async function isLeftBehind(lockPath: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch {
    return true; // removed meanwhile: try again
  }
  const pid = Number(text);
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    const { mtimeMs } = await stat(lockPath).catch(() => ({ mtimeMs: 0 }));
    return Date.now() - mtimeMs > UNWRITTEN_LOCK_MS;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
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
