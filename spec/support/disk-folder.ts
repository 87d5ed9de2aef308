/**
 * What a disk storage folder holds, read from the folder itself: every file but the index, by its
 * path in the folder (`<d>/<id>`, `<d>/<id>.partial`), and `index:<id>` for each file the index
 * still lists (a line `{"stored":{...}}` not followed by a
 * line `{"removed":"<id>"}`). Lines that do not parse (cut by a crash) count for nothing.
 * Only Node built-ins: the Nest 11 fixture compiles this file on its own.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const INDEX = 'index.jsonl';

/** The files the folder's index lists as stored (id to the metadata of its line), in the order they were stored. */
export function indexedFiles(directory: string): Map<string, Record<string, unknown>> {
  const path = join(directory, INDEX);
  const live = new Map<string, Record<string, unknown>>();
  if (!existsSync(path)) return live;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    let record: { stored?: Record<string, unknown>; removed?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    if (typeof record !== 'object' || record === null) continue;
    if (typeof record.removed === 'string') live.delete(record.removed);
    else if (typeof record.stored?.id === 'string') live.set(record.stored.id, record.stored);
  }
  return live;
}

/** The ids the folder's index lists as stored, in the order they were stored. */
export function indexedIds(directory: string): string[] {
  return [...indexedFiles(directory).keys()];
}

/**
 * The folder's files, at any depth (the index as `index:<id>` per listed file), sorted; [] for no
 * folder. Folders themselves do not show: the storage keeps its 16 once made.
 */
export function diskFolder(directory: string): string[] {
  if (!existsSync(directory)) return [];
  const files = readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(directory, join(entry.parentPath ?? entry.path, entry.name)))
    .filter((path) => path !== INDEX);
  return [...files, ...indexedIds(directory).map((id) => `index:${id}`)].sort();
}

/** What `diskFolder` shows for these stored ids and nothing else: `<d>/<id>` and `index:<id>` each. */
export function diskEntriesFor(ids: readonly string[]): string[] {
  return ids.flatMap((id) => [join(id.slice(0, 1), id), `index:${id}`]).sort();
}
