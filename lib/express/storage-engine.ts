/**
 * The types a multer user's code is written against: the file object (`Express.Multer.File`),
 * `req.file` / `req.files`, the storage engine contract and the callbacks that decide about a file.
 *
 * The global declarations are those of `@types/multer`, member for member, so that code written
 * for multer type-checks unchanged, and so that both can be loaded in one program (interfaces merge
 * only when every shared member has the same type).
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

declare global {
  // The namespace Express's own types (`@types/express-serve-static-core`) declare for their
  // augmentations; declaring it here also makes it exist without them.
  namespace Express {
    namespace Multer {
      /** A file of a multipart request, as multer describes it. */
      interface File {
        /** Name of the form field the file came in. */
        fieldname: string;
        /** The client's name for the file (decoded; a basename unless `preservePath`). Never a path. */
        originalname: string;
        /** The part's Content-Transfer-Encoding, '7bit' when absent (RFC 7578 §4.7 deprecates it). */
        encoding: string;
        /** The part's media type, lower-cased, without parameters; 'text/plain' when absent. */
        mimetype: string;
        /** Bytes stored. */
        size: number;
        /** The file's bytes, while a storage engine's `_handleFile` runs (not enumerable). */
        stream: Readable;
        /** `diskStorage`: the folder the file was saved in. */
        destination: string;
        /** `diskStorage`: the file's name in `destination` (random unless the `filename` option says). */
        filename: string;
        /** `diskStorage`: the full path of the saved file. */
        path: string;
        /** `memoryStorage`: the whole file. */
        buffer: Buffer;
      }
    }

    interface Request {
      /** The file `upload.single(name)` accepted. */
      file?: Multer.File | undefined;
      /** The files of `array()` and `any()` (an array), or of `fields()` (arrays by field name). */
      files?:
        | {
            [fieldname: string]: Multer.File[];
          }
        | Multer.File[]
        | undefined;
    }
  }
}

/**
 * A callback type whose parameters are checked both ways, as a method's are: so that a callback
 * written for @types/multer, its `req` annotated as Express's `Request` (narrower than
 * {@link UploadRequest}), is accepted under `strictFunctionTypes`.
 */
export type Callback<T extends (...args: never[]) => unknown> = { bivarianceHack(...args: Parameters<T>): ReturnType<T> }['bivarianceHack'];

/** A file object, as storage engines, `fileFilter`, `req.file` and `req.files` see it. */
export type MulterFile = Express.Multer.File;

/**
 * The request the middleware's callbacks and storage engines are given: the Node request (an
 * Express request when the app is an Express app) with what the global `Express.Request` holds
 * (`file`, `files`, and your own augmentations such as passport's `user`).
 */
export type UploadRequest = IncomingMessage & Express.Request;

/**
 * A multer storage engine: multer's own (`diskStorage`, `memoryStorage`) or a third party's
 * (multer-s3, multer-gridfs-storage, ...). See multer's StorageEngine.md. Methods, not function
 * properties, so that an engine typed against `@types/multer` (whose `req` is Express's Request) is
 * accepted as is.
 */
export interface StorageEngine {
  /**
   * Stores the file: reads `file.stream` to its end, then calls back with what to merge into the
   * file object (`path`, `key`, `size` ...), or with an error.
   */
  _handleFile(req: UploadRequest, file: MulterFile, callback: (error?: unknown, info?: Partial<MulterFile>) => void): void;
  /** Removes a file `_handleFile` stored (`file` carries what it called back with), then calls back. */
  _removeFile(req: UploadRequest, file: MulterFile, callback: (error: Error | null) => void): void;
}

/**
 * How `fileFilter` answers: `callback(null, true)` stores the file, `callback(null, false)` skips it
 * silently, `callback(error)` fails the request with that error.
 */
export interface FileFilterCallback {
  (error: Error): void;
  (error: null, acceptFile: boolean): void;
}

/**
 * Decides about each file before any of its bytes is stored: `file` has `fieldname`,
 * `originalname`, `encoding` and `mimetype`.
 */
export type FileFilter = Callback<(req: UploadRequest, file: MulterFile, callback: FileFilterCallback) => void>;
