/**
 * The lines of the disk storage's index: what each one says, and how they are read and applied.
 */
import type { FileHandle } from 'node:fs/promises';
import type { StoredFile } from '../file-storage.js';

/** A stored file as the index keeps it: without its location, which follows from the folder and id. */
export type IndexedFile = Omit<StoredFile<string>, 'location'>;

/** What a line of the index says. Each append starts with a newline, so a line cut by a crash stands alone. */
export type IndexRecord = { readonly stored: IndexedFile } | { readonly removed: string };

/** 128 random bits, hex: unguessable, and the only names the storage ever builds a path from. */
export const ID = /^[0-9a-f]{32}$/;

/** Applies the index's lines in `text` to `live`, the stored files by id. */
export function applyLines(text: string, live: Map<string, IndexedFile>): void {
  for (const line of text.split('\n')) {
    const record = parseRecord(line);
    if (record === undefined) continue;
    if ('removed' in record) live.delete(record.removed);
    else live.set(record.stored.id, record.stored);
  }
}

/**
 * A line of the index, or undefined for an empty line, a line cut by a crash, or one this version
 * does not know (such as the line that opens a compacted index).
 */
function parseRecord(line: string): IndexRecord | undefined {
  if (line === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.removed === 'string') return { removed: record.removed };
  const stored = record.stored as Record<string, unknown> | undefined;
  if (typeof stored === 'object' && stored !== null && typeof stored.id === 'string' && ID.test(stored.id) && (stored.sha256 === undefined || typeof stored.sha256 === 'string') && typeof stored.size === 'number') {
    return { stored: stored as unknown as IndexedFile };
  }
  return undefined;
}

/** Up to `length` bytes of the file from `position` (fewer if it ends first). */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(bytes, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return bytes.subarray(0, got);
}
