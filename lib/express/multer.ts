/**
 * multer(options): the drop-in for multer's export, with `.single()`, `.array()`, `.fields()`,
 * `.none()`, `.any()`, and `diskStorage`, `memoryStorage`, `MulterError` as its properties.
 */
import { diskStorage, type DiskStorageOptions as DiskOptions } from './disk-storage.js';
import { fromMulterStorage } from './from-multer-storage.js';
import { memoryStorage } from './memory-storage.js';
import { MulterError, type ErrorCode as MulterErrorCode } from './multer-error.js';
import { resolveSettings, type Field as UploadField, type Limits as UploadLimits, type Options as UploadOptions, type UploadSettings } from './multer-options.js';
import type { FileFilterCallback as FilterCallback, StorageEngine as Engine } from './storage-engine.js';
import { createUploadMiddleware, type UploadMiddleware } from './upload-middleware.js';

/** What `multer(options)` returns: one method per way of taking files. */
export interface Multer {
  /** One file in field `name`, as `req.file`; a second, or a file in another field: `LIMIT_UNEXPECTED_FILE`. */
  single(name: string): UploadMiddleware;
  /** Files in field `name` (at most `maxCount`), as the array `req.files`. */
  array(name: string, maxCount?: number): UploadMiddleware;
  /** Files in the fields listed, as `req.files[name]` arrays. */
  fields(fields: readonly UploadField[]): UploadMiddleware;
  /** Text fields only: any file is `LIMIT_UNEXPECTED_FILE`. */
  none(): UploadMiddleware;
  /** Files in any field, as the array `req.files`: use it only where every file is handled. */
  any(): UploadMiddleware;
}

/** The methods, over one instance's settings. */
class Uploads implements Multer {
  constructor(private readonly settings: UploadSettings) {}

  single(name: string): UploadMiddleware {
    return createUploadMiddleware(this.settings, [{ name, maxCount: 1 }], 'VALUE');
  }

  array(name: string, maxCount?: number): UploadMiddleware {
    return createUploadMiddleware(this.settings, [{ name, maxCount }], 'ARRAY');
  }

  fields(fields: readonly UploadField[]): UploadMiddleware {
    return createUploadMiddleware(this.settings, fields, 'OBJECT');
  }

  none(): UploadMiddleware {
    return createUploadMiddleware(this.settings, [], 'NONE');
  }

  any(): UploadMiddleware {
    return createUploadMiddleware(this.settings, undefined, 'ARRAY');
  }
}

/**
 * multer's export, from rx-multipart: `multer(options)` makes the middleware factory, with multer's
 * options (`dest`, `storage`, `limits`, `fileFilter`, `preservePath`, `defParamCharset`,
 * `defCharset`, `highWaterMark`, `fileHwm`, `streamHandler`) and its methods. Code written for
 * multer 2.x runs with the `require` changed; what differs (finite limits, nothing left behind,
 * backpressure, `status` on errors) is in docs/express.md.
 *
 * Without `storage` or `dest`, files are kept in memory (`file.buffer`), as with multer.
 *
 * @param options multer's options, and `timeout`, `stallTimeout`, `drainLimit`.
 * @returns an object with `single`, `array`, `fields`, `none`, `any`.
 * @throws TypeError for options that are not an object, a limit that is not a non-negative integer
 *   or Infinity, an unknown `defParamCharset`, a `streamHandler` that is not a function.
 * @example
 * const multer = require('rx-multipart/express');
 * const upload = multer({ dest: 'uploads/', limits: { fileSize: 5 * 1024 * 1024 } });
 * app.post('/profile', upload.single('avatar'), (req, res) => res.json({ path: req.file.path, body: req.body }));
 */
export function multer(options?: UploadOptions): Multer {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError('Expected object for argument options');
  }
  return new Uploads(resolveSettings(options ?? {}, (dest) => (dest ? diskStorage({ destination: dest }) : memoryStorage())));
}

multer.diskStorage = diskStorage;
multer.memoryStorage = memoryStorage;
multer.MulterError = MulterError;
multer.fromMulterStorage = fromMulterStorage;

type MulterMethods = Multer;
type MulterErrorClass = MulterError;

/** The types of multer's namespace (`multer.Options`, `multer.StorageEngine` ...), as @types/multer names them. */
export namespace multer {
  export type Options = UploadOptions;
  export type Limits = UploadLimits;
  export type Field = UploadField;
  export type StorageEngine = Engine;
  export type FileFilterCallback = FilterCallback;
  export type DiskStorageOptions = DiskOptions;
  export type ErrorCode = MulterErrorCode;
  export type Multer = MulterMethods;
  export type MulterError = MulterErrorClass;
}
