/**
 * RequestFiles: where a request's files go, as multer places them: `req.file` for `single()`, an
 * array in `req.files` for `array()` and `any()`, arrays by field name for `fields()`, nothing for
 * `none()`. Each file takes its place in body order when it starts, and is filled in once stored.
 */
import type { MulterFile, UploadRequest } from './storage-engine.js';

/** How a middleware places its files. */
export type FileStrategy = 'VALUE' | 'ARRAY' | 'OBJECT' | 'NONE';

/** A file's place in req.files: `{ fieldname }` until it is stored. */
export type FileSlot = Partial<MulterFile> & { fieldname?: string };

/** The files of one request, placed on it. */
export class RequestFiles {
  // Places of files not stored (yet): dropped if the request fails, as multer drops those in progress.
  private readonly unfilled = new Set<FileSlot>();

  constructor(
    private readonly req: UploadRequest,
    private readonly strategy: FileStrategy,
  ) {
    if (strategy === 'ARRAY') req.files = [];
    else if (strategy === 'OBJECT') req.files = Object.create(null) as Record<string, MulterFile[]>;
  }

  /** Holds the place of a file that starts, so that files stay in body order whenever they finish. */
  reserve(fieldname: string): FileSlot {
    const slot: FileSlot = { fieldname };
    this.unfilled.add(slot);
    if (this.strategy === 'ARRAY') this.list().push(slot as MulterFile);
    else if (this.strategy === 'OBJECT') (this.byField()[fieldname] ??= []).push(slot as MulterFile);
    return slot;
  }

  /** A file skipped by fileFilter or failed: its place goes (and its field, when it held no other). */
  drop(slot: FileSlot): void {
    this.unfilled.delete(slot);
    if (this.strategy === 'ARRAY') remove(this.list(), slot);
    else if (this.strategy === 'OBJECT') {
      const byField = this.byField();
      const name = slot.fieldname ?? '';
      const files = byField[name];
      if (files === undefined) return;
      remove(files, slot);
      if (files.length === 0) delete byField[name];
    }
  }

  /** A file stored: `req.file` for single(), else its place filled with the stored file's fields. */
  fill(slot: FileSlot, file: MulterFile): void {
    this.unfilled.delete(slot);
    if (this.strategy === 'VALUE') {
      this.req.file = file;
      return;
    }
    // Deleted then assigned again, so that the keys keep the stored object's order.
    delete slot.fieldname;
    Object.assign(slot, file);
  }

  /** The request failed: the places of files not stored go. */
  dropUnfilled(): void {
    for (const slot of [...this.unfilled]) this.drop(slot);
  }

  private list(): MulterFile[] {
    return this.req.files as MulterFile[];
  }

  private byField(): Record<string, MulterFile[]> {
    return this.req.files as Record<string, MulterFile[]>;
  }
}

function remove<T>(items: T[], item: T): void {
  const at = items.indexOf(item);
  if (at !== -1) items.splice(at, 1);
}
