/**
 * fromMulterStorage: a multer storage engine (multer-s3, multer-gridfs-storage, your own) as a
 * FileStorage, for `storeParts` and the Nest interceptor.
 */
import { stat as statFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { readBufferRange, readFileRange } from '../storage/byte-range.js';
import type { ByteRange, FileInfo, FileStorage, FileWriter, StoredFile } from '../storage/file-storage.js';
import { fileNotFound } from '../storage/stored-file.js';
import { isDiskStorage } from './disk-storage.js';
import { removeEngineFile, startEngineFile, storedOf, type EngineFileOptions, type EngineFileWriter } from './engine-file.js';
import { isMemoryStorage } from './memory-storage.js';
import type { MulterFile, StorageEngine, UploadRequest } from './storage-engine.js';

/** Options of {@link fromMulterStorage}. */
export interface FromMulterStorageOptions {
  /**
   * The request the engine's `_handleFile` and `_removeFile` (and the callbacks it was made with,
   * such as multer-s3's `key`) are handed, for a storage not made for one request with
   * `forRequest(req)`. Default: a stand-in, `{ headers: {}, body: {} }`.
   */
  readonly request?: object;
  /** Milliseconds `_removeFile` may take before a removal is given up. Default 60000. */
  readonly timeout?: number;
  /** `highWaterMark` of each `file.stream`: bytes it buffers before a write waits. Default: Node's (16 KiB on Node 20). */
  readonly highWaterMark?: number;
}

/**
 * A FileStorage over a multer storage engine. Ids are the engine's file objects (`fieldname`,
 * `originalname`, `encoding`, `mimetype`, and what the engine called back with: `path`, `key`,
 * `location` ...).
 */
export interface MulterStorage extends FileStorage<MulterFile> {
  /** The engine. */
  readonly engine: StorageEngine;
  /** The same storage with `request` handed to the engine: call it once per request. */
  forRequest(request: IncomingMessage): MulterStorage;
}

/** How the storage hands a file to the engine, and where removal failures go. */
export interface EngineStorageSettings {
  readonly request: object;
  readonly timeout: number;
  readonly highWaterMark: number | undefined;
  /**
   * The engine's work on a part's file: started here from a file object that describes the part
   * (fromMulterStorage), or the one the middleware started when fileFilter accepted the file.
   */
  readonly startFile: (info: FileInfo, options: EngineFileOptions) => EngineFileWriter;
  /** Called with what `_removeFile` failed with for a stored file. */
  readonly onRemoveError?: (error: unknown, file: MulterFile) => void;
  /** Called with each abort and removal as it starts, so a request can wait for its cleanup. */
  readonly onCleanup?: (work: Promise<void>) => void;
}

const DEFAULT_TIMEOUT = 60_000;

/**
 * Turns a multer storage engine into a {@link FileStorage}, so that an app moving from multer to
 * `storeParts` (or to `MultipartInterceptor`) keeps its engine. Each file is handed to `_handleFile`
 * as a readable `file.stream` that pauses the request when the engine reads slowly (each write
 * resolves once the stream has taken its chunk); `close` resolves when the engine calls back;
 * `abort` and `remove` call `_removeFile`.
 *
 * - Ids are the engine's file objects (`key` and `location` for multer-s3, `id` for GridFS,
 *   `path` for disk ...). `stat`, `open` and `remove` act on ids this storage gave out (the objects
 *   themselves: a file object rebuilt from JSON could name any path). `stat` and `open` read back
 *   files of this module's `diskStorage` and `memoryStorage`; for another engine they reject with
 *   `code: 'ENOTSUP'` (read the file through the engine's own client, e.g. GetObject with `key`).
 * - The engine is handed `options.request` (a stand-in by default). `forRequest(req)` gives the same
 *   storage for one request, with `req` handed over: `MultipartInterceptor` and the Express
 *   middleware call it for you; with `storeParts`, call it yourself.
 *
 * Errors: the engine's own, unchanged; a write fails when the engine answers with an error or
 * destroys `file.stream` before the end.
 *
 * @param engine a multer storage engine (`_handleFile`, `_removeFile`).
 * @param options the request handed to the engine, the removal timeout, the stream's buffer.
 * @returns a FileStorage whose ids are the engine's file objects.
 * @example
 * const storage = fromMulterStorage(multerS3({ s3, bucket: 'uploads' }));
 * multipart(req).pipe(storeParts(storage.forRequest(req)), toArray())
 */
export function fromMulterStorage(engine: StorageEngine, options: FromMulterStorageOptions = {}): MulterStorage {
  return createEngineStorage(engine, {
    request: options.request ?? { headers: {}, body: {} },
    timeout: options.timeout ?? DEFAULT_TIMEOUT,
    highWaterMark: options.highWaterMark,
    startFile: (info, fileOptions) => startEngineFile(engine, describeFile(info), fileOptions),
  });
}

/**
 * The storage behind {@link fromMulterStorage} and the Express middleware, which describes each
 * file itself (the object its `fileFilter` saw) and collects removal failures for `storageErrors`.
 */
export function createEngineStorage(engine: StorageEngine, settings: EngineStorageSettings): MulterStorage {
  // Ids given out by this storage and its per-request views are the only ones stat, open and remove
  // act on: a file object rebuilt from a client's JSON could name any path.
  return makeStorage(engine, settings, new WeakMap<object, number>());
}

/** `issued`: each id given out by the storage and its per-request views, with its part's index. */
function makeStorage(engine: StorageEngine, settings: EngineStorageSettings, issued: WeakMap<object, number>): MulterStorage {
  const request = settings.request as UploadRequest;
  const known = (id: MulterFile): boolean => typeof id === 'object' && id !== null && issued.has(id);
  const cleaning = (work: Promise<void>): Promise<void> => {
    settings.onCleanup?.(work.catch(noop));
    return work;
  };
  return {
    engine,
    forRequest: (req) => makeStorage(engine, { ...settings, request: req }, issued),
    async create(info: FileInfo): Promise<FileWriter<MulterFile>> {
      const writer = settings.startFile(info, engineFileOptions(settings, info.index));
      return {
        write: writer.write,
        writev: writer.writev,
        abort: (reason) => cleaning(writer.abort(reason)),
        async close() {
          const stored = await writer.close();
          issued.set(stored.id, stored.index);
          return stored;
        },
      };
    },
    async stat(id: MulterFile): Promise<StoredFile<MulterFile> | undefined> {
      if (!known(id)) return undefined;
      if (isMemoryStorage(engine) && Buffer.isBuffer(id.buffer)) return storedOf(id, issued.get(id) ?? 0, id.buffer.length);
      if (isDiskStorage(engine) && typeof id.path === 'string') {
        const found = await statFile(id.path).catch(() => undefined);
        return found?.isFile() === true ? storedOf(id, issued.get(id) ?? 0, found.size) : undefined;
      }
      throw cannotReadBack(engine);
    },
    async open(id: MulterFile, range?: ByteRange): Promise<Readable> {
      if (!known(id)) throw fileNotFound(id.fieldname ?? id);
      // The same range rules as every storage's (byte-range.ts): a range that is not one is a
      // RangeError, one past the end reads nothing.
      const { buffer, path } = id;
      if (isMemoryStorage(engine) && Buffer.isBuffer(buffer)) {
        return readBufferRange(range, buffer);
      }
      if (isDiskStorage(engine) && typeof path === 'string') {
        const found = await statFile(path).catch(() => undefined);
        if (found === undefined) throw fileNotFound(path);
        return readFileRange(range, path, found.size);
      }
      throw cannotReadBack(engine);
    },
    async remove(id: MulterFile): Promise<void> {
      if (!known(id)) return;
      await cleaning(removeEngineFile(engine, request, id, settings.timeout)).catch((error: unknown) => {
        settings.onRemoveError?.(error, id);
        throw error;
      });
      // Gone: stat answers undefined and open ENOENT from now on (the disk engine has also
      // deleted `path` from the object).
      issued.delete(id);
    },
  };
}

/** What one file of a storage needs: the request, the removal timeout, the stream's buffer. */
export function engineFileOptions(settings: Omit<EngineStorageSettings, 'startFile'>, index: number): EngineFileOptions {
  return {
    request: settings.request as UploadRequest,
    index,
    timeout: settings.timeout,
    ...(settings.highWaterMark === undefined ? {} : { highWaterMark: settings.highWaterMark }),
    ...(settings.onRemoveError === undefined ? {} : { onRemoveError: settings.onRemoveError }),
  };
}

/** The file object of a part stored through `storeParts`: multer's four fields, from the part. */
function describeFile(info: FileInfo): MulterFile {
  return {
    fieldname: info.fieldName,
    originalname: info.filename,
    encoding: info.headers['content-transfer-encoding']?.toLowerCase() ?? '7bit',
    mimetype: mediaTypeOf(info.contentType) ?? 'application/octet-stream',
  } as MulterFile;
}

/**
 * The media type of a Content-Type value, lower-cased, without parameters, as busboy reports a
 * part's `mimeType`; undefined when it is not `type/subtype`.
 */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return MEDIA_TYPE.exec(contentType)?.[1]?.toLowerCase();
}

// `type/subtype` in RFC 9110 tokens, then parameters or nothing.
const MEDIA_TYPE = /^[ \t]*([!#$%&'*+.^_`|~\w-]+\/[!#$%&'*+.^_`|~\w-]+)[ \t]*(?:;|$)/;

function cannotReadBack(engine: StorageEngine): Error {
  const name = (engine as { constructor?: { name?: unknown } }).constructor?.name;
  return Object.assign(
    new Error(`fromMulterStorage cannot read files back from this storage engine (${typeof name === 'string' ? name : 'unknown'}): only diskStorage and memoryStorage of rx-multipart/express can. Read the file through the engine's own client (its key, id or URL is in the file object).`),
    { code: 'ENOTSUP' },
  );
}

function noop(): void {}
