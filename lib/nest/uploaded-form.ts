/**
 * UploadedForm: what a handler gets from @UploadedParts() once every part is stored.
 */
import type { StoredFilePart, StoredPart } from '../operators/store-parts.js';

/**
 * A stored file, with multer's names for three of its fields (`fieldname`, `originalname`,
 * `mimetype`) so that Nest's `ParseFilePipe` validators (`MaxFileSizeValidator`, `FileTypeValidator`
 * with `fallbackToMimetype`) and your own multer-era validators work on it. The aliases are not
 * enumerable: a file sent back as JSON shows each value once.
 *
 * @publicApi
 */
export interface UploadedFile<Id = string> extends StoredFilePart<Id> {
  /** `fieldName`, as multer names it. */
  readonly fieldname: string;
  /** `filename` (the client's), as multer names it. */
  readonly originalname: string;
  /** `contentType` (the client's), as multer names it. */
  readonly mimetype: string;
}

/**
 * Every part of a request, stored. `@UploadedParts()` gives this; `@UploadedParts('avatar')` gives
 * `files` of that field alone (an array, the shape `ParseFilePipe` validates file by file).
 *
 * @publicApi
 */
export interface UploadedForm<Id = string> {
  /** Every stored file, in body order. */
  readonly files: ReadonlyArray<UploadedFile<Id>>;
  /**
   * Field values by name (also set as the request's `body`, so `@Body()` and a ValidationPipe see
   * them). A repeated name keeps its last value; every value is in `parts`.
   */
  readonly fields: Readonly<Record<string, string>>;
  /** Every part in body order, files and fields, as `storeParts` emitted them. */
  readonly parts: ReadonlyArray<StoredPart<Id>>;
}

/** Shapes storeParts' output for a handler. */
export function toUploadedForm<Id>(parts: ReadonlyArray<StoredPart<Id>>): UploadedForm<Id> {
  const files: UploadedFile<Id>[] = [];
  // No prototype: a field named "__proto__" or "constructor" is a field like any other.
  const fields = Object.create(null) as Record<string, string>;
  for (const part of parts) {
    if (part.kind === 'field') fields[part.name] = part.value;
    else files.push(withMulterNames(part));
  }
  return { files, fields, parts };
}

function withMulterNames<Id>(file: StoredFilePart<Id>): UploadedFile<Id> {
  return Object.defineProperties({ ...file }, {
    fieldname: { value: file.fieldName, enumerable: false },
    originalname: { value: file.filename, enumerable: false },
    mimetype: { value: file.contentType, enumerable: false },
  }) as UploadedFile<Id>;
}
