/**
 * admitParts: what multer does with each part before storage: text fields into req.body as they
 * arrive, files through the middleware's field list (`maxCount`) and `fileFilter`.
 */
import { catchError, concatMap, defer, EMPTY, mergeMap, Observable, of, throwError, timeout, toArray, type OperatorFunction } from 'rxjs';
import { MultipartError } from '../errors.js';
import type { Part } from '../operators/part.js';
import { decodeCharset } from '../parser/text-decoding.js';
import { joinChunks } from '../storage/content-digest.js';
import { appendField, checkFieldName, type FormBody } from './form-body.js';
import { mediaTypeOf } from './from-multer-storage.js';
import { MulterError } from './multer-error.js';
import type { RequestLimits } from './multer-options.js';
import type { FileSlot, RequestFiles } from './request-files.js';
import type { FileFilter, MulterFile, UploadRequest } from './storage-engine.js';

/** A file part that passed: the object the engine gets, and its place in req.files. */
export interface AdmittedFile {
  readonly file: MulterFile;
  readonly slot: FileSlot;
}

/** What admitting one request's parts needs. */
export interface Admission {
  readonly request: UploadRequest;
  readonly body: FormBody;
  readonly limits: RequestLimits;
  /** Charset of field values whose part names none. */
  readonly defCharset: string;
  readonly fileFilter: FileFilter;
  /** Files each field may still take (`maxCount`); undefined for `any()`: every field, no count. */
  readonly quota: Record<string, number> | undefined;
  readonly files: RequestFiles;
  /** Filled here: each admitted file by its part's index, for req.files. */
  readonly admitted: Map<number, AdmittedFile>;
  /** Hands an admitted file to the storage engine, at once (multer calls `_handleFile` right after fileFilter). */
  readonly start: (index: number, file: MulterFile) => void;
  /** Milliseconds fileFilter may take to call back. */
  readonly timeout: number;
}

/**
 * Admits a request's parts one at a time, in body order: a text field is read and added to
 * req.body; a file is checked against the middleware's fields (`LIMIT_UNEXPECTED_FILE`), then
 * `fileFilter` decides: handed to the storage engine at once and passed on for its bytes, skipped
 * (drained), or the request fails with its error. So a storage engine's callbacks see every field
 * sent before their file and none after it, as with multer.
 * Like multer, a file part with an empty filename and a part typed application/octet-stream without
 * one are dropped.
 *
 * Errors: MulterError `LIMIT_UNEXPECTED_FILE`, `LIMIT_FIELD_NESTING`, `LIMIT_FIELD_ARRAY_INDEX`,
 * `INVALID_FIELD_NAME`; MultipartError `TIMEOUT` (fileFilter silent for `timeout`); fileFilter's own.
 *
 * @param admission the request, its body, limits, fileFilter and file places.
 * @returns an operator from parts to the file parts to store.
 */
export function admitParts(admission: Admission): OperatorFunction<Part, Part> {
  return concatMap((part) => (part.filename === undefined ? admitField(admission, part) : admitFile(admission, part)));
}

function admitField(admission: Admission, part: Part): Observable<Part> {
  // busboy takes such a part for a file without a name, and multer drops it.
  if (mediaTypeOf(part.contentType) === 'application/octet-stream') return discard(part);
  return part.body$.pipe(
    toArray(),
    mergeMap((chunks) => {
      const error = addField(admission, part.name, decodeValue(joinChunks(chunks), part.contentType, admission.defCharset));
      return error === undefined ? EMPTY : throwError(() => error);
    }),
  );
}

function addField(admission: Admission, name: string, value: string): MulterError | undefined {
  const { fieldNestingDepth, fieldArrayIndexLimit } = admission.limits;
  const exceeded = checkFieldName(name, fieldNestingDepth, fieldArrayIndexLimit);
  if (exceeded !== undefined) return new MulterError(exceeded, name);
  try {
    appendField(admission.body, name, value);
    return undefined;
  } catch (error) {
    return new MulterError('INVALID_FIELD_NAME', name, undefined, { cause: error });
  }
}

function admitFile(admission: Admission, part: Part): Observable<Part> {
  const originalname = part.filename ?? '';
  // multer ignores a file input sent with no file chosen (filename="").
  if (originalname === '') return discard(part);
  const { quota, files } = admission;
  const fieldname = part.name;
  const file = {
    fieldname,
    originalname,
    encoding: part.headers['content-transfer-encoding']?.toLowerCase() ?? '7bit',
    mimetype: mediaTypeOf(part.headers['content-type']) ?? 'text/plain',
  } as MulterFile;
  const slot = files.reserve(fieldname);
  if (quota !== undefined) {
    if ((quota[fieldname] ?? 0) <= 0) {
      files.drop(slot);
      part.discard();
      return throwError(() => new MulterError('LIMIT_UNEXPECTED_FILE', fieldname, originalname));
    }
    // Taken before fileFilter answers, given back if it refuses (multer's order).
    quota[fieldname]! -= 1;
  }
  const giveBack = (): void => {
    if (quota !== undefined) quota[fieldname]! += 1;
    files.drop(slot);
    part.discard();
  };
  return askFileFilter(admission, file).pipe(
    catchError((error: unknown) => {
      giveBack();
      return throwError(() => error);
    }),
    concatMap((isAccepted) => {
      if (!isAccepted) {
        giveBack();
        return EMPTY;
      }
      admission.admitted.set(part.index, { file, slot });
      // Before the next part is read: the engine's callbacks (diskStorage's destination and
      // filename) see the fields sent before the file, not those after it.
      admission.start(part.index, file);
      return of(part);
    }),
  );
}

/** fileFilter's answer: true to store, false to skip; its error, or TIMEOUT when it never calls back. */
function askFileFilter(admission: Admission, file: MulterFile): Observable<boolean> {
  const ask = new Observable<boolean>((subscriber) => {
    try {
      admission.fileFilter(admission.request, file, ((error: Error | null, acceptFile?: boolean) => {
        if (subscriber.closed) return; // called back twice: the first answer counts
        if (error) return subscriber.error(error);
        subscriber.next(acceptFile === true);
        subscriber.complete();
      }) as Parameters<FileFilter>[2]);
    } catch (error) {
      // multer lets a synchronous throw escape (and crash the process); here it fails the request.
      subscriber.error(error);
    }
  });
  const { timeout: ms } = admission;
  return ask.pipe(
    timeout({
      first: ms,
      with: () => throwError(() => new MultipartError('TIMEOUT', { fieldName: file.fieldname, filename: file.originalname, message: `fileFilter did not call back within ${ms} ms for file ${JSON.stringify(file.originalname)} in field ${JSON.stringify(file.fieldname)}.` })),
    }),
  );
}

function discard(part: Part): Observable<never> {
  return defer(() => {
    part.discard();
    return EMPTY;
  });
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/** A field's text: in the charset its Content-Type names, else `defCharset` (busboy's rule). */
function decodeValue(bytes: Buffer, contentType: string, defCharset: string): string {
  const charset = (CHARSET.exec(contentType)?.[1] ?? defCharset).toLowerCase();
  switch (charset) {
    case 'utf8':
    case 'utf-8':
      return bytes.toString('utf8');
    case 'latin1':
    case 'iso-8859-1':
    case 'binary':
    case 'us-ascii':
      return bytes.toString('latin1');
  }
  // Any other charset TextDecoder knows (its decoders cached); one it does not: UTF-8, what browsers send.
  return decodeCharset(bytes, charset) ?? bytes.toString('utf8');
}
