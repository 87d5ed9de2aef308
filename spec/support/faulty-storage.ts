/** A storage wrapper that injects the faults a real storage cannot be made to produce on demand. */
import type { FileInfo, FileStorage, FileWriter, StoredFile } from '../../lib/index';

export interface Faults {
  /** Fail the Nth write (1-based, counted over the whole storage) with this error. */
  failWrite?: { readonly nth: number; readonly error: Error };
  /** Never answer the Nth write (1-based), or each of several: a stalled storage. The retry then writes again. */
  stallWrite?: { readonly nth: number | readonly number[] };
  /** Pass the Nth write on only after `ms` milliseconds: an answer that comes after the timeout. */
  lateWrite?: { readonly nth: number; readonly ms: number };
  /** Fail every close with this error. */
  failClose?: Error;
  /** Milliseconds each write waits before it is passed on: a slow storage. */
  writeDelay?: number;
}

export interface FaultyStorage extends FileStorage<string> {
  /** Writes seen so far, retries included. */
  readonly writes: number;
  /** Writers aborted so far. */
  readonly aborts: number;
  readonly faults: Faults;
}

export function withFaults(inner: FileStorage<string>, faults: Faults = {}): FaultyStorage {
  let writes = 0;
  let aborts = 0;
  return {
    faults,
    get writes() {
      return writes;
    },
    get aborts() {
      return aborts;
    },
    async create(info: FileInfo): Promise<FileWriter<string>> {
      const writer = await inner.create(info);
      return {
        async write(chunk: Buffer, offset: number): Promise<void> {
          const nth = ++writes;
          if (faults.writeDelay !== undefined) await new Promise((resolve) => setTimeout(resolve, faults.writeDelay));
          if (faults.failWrite?.nth === nth) throw faults.failWrite.error;
          const stalled = faults.stallWrite?.nth;
          if (stalled === nth || (Array.isArray(stalled) && stalled.includes(nth))) return new Promise<void>(() => undefined);
          if (faults.lateWrite?.nth === nth) await new Promise((resolve) => setTimeout(resolve, faults.lateWrite!.ms));
          return writer.write(chunk, offset);
        },
        async close(): Promise<StoredFile<string>> {
          if (faults.failClose !== undefined) throw faults.failClose;
          return writer.close();
        },
        async abort(reason: unknown): Promise<void> {
          aborts++;
          return writer.abort(reason);
        },
      };
    },
    stat: (id) => inner.stat(id),
    open: (id, range) => inner.open(id, range),
    remove: (id) => inner.remove(id),
  };
}
