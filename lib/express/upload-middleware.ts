/**
 * The middleware each of multer's methods makes: one request's multipart body parsed with
 * backpressure, its fields into req.body, its files through a storage engine into req.file or
 * req.files; all or nothing, and never a hang.
 */
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { defer, Observable, tap, throwError } from 'rxjs';
import { MultipartError } from '../errors.js';
import { drainRequest } from '../nest/drain-request.js';
import { parseMultipart, type ParseOptions } from '../operators/parse-multipart.js';
import type { Part } from '../operators/part.js';
import { storeParts } from '../operators/store-parts.js';
import { fromReadable } from '../sources/from-readable.js';
import { multipart } from '../sources/multipart.js';
import { admitParts, type AdmittedFile } from './admit-parts.js';
import { createFormBody } from './form-body.js';
import { startEngineFile, type EngineFileWriter } from './engine-file.js';
import { createEngineStorage, engineFileOptions, mediaTypeOf } from './from-multer-storage.js';
import { resolveRequestLimits, validateLimits, type Field, type RequestLimits, type UploadSettings } from './multer-options.js';
import { RequestFiles, type FileStrategy } from './request-files.js';
import type { MulterFile, UploadRequest } from './storage-engine.js';
import { toMulterError } from './to-multer-error.js';

/**
 * Connect-style middleware: `(req, res, next)`. Express 4 and 5 take it as is; so does any server
 * that calls it with a Node request.
 */
export type UploadMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Makes the middleware of one multer method.
 *
 * Per request: a body that is not multipart (or has none) passes through untouched, as with multer.
 * Otherwise `req.body` becomes an object without prototype that gains each text field as it
 * arrives (bracket names nested as multer nests them); each file goes through the `fields` list and
 * `fileFilter`, then to the storage engine as a `file.stream` that pauses the request while the
 * engine is behind; `req.file` / `req.files` are filled in body order; `next()` is called once every
 * file is stored.
 *
 * On any error (a limit, fileFilter's or the engine's error, a malformed body, a client that went
 * away, a timeout): every file stored or being stored is removed with `_removeFile`, then the rest
 * of the body is drained (the connection closed past `drainLimit`), then `next(error)` is called
 * with multer's error (see `toMulterError`), carrying `storageErrors` (what `_removeFile` failed with).
 *
 * @param settings the instance's resolved options.
 * @param fields the fields files may come in, with their `maxCount`; undefined for `any()`.
 * @param strategy where files go: `req.file`, an array, arrays by field, or nowhere.
 * @returns the middleware.
 */
export function createUploadMiddleware(settings: UploadSettings, fields: readonly Field[] | undefined, strategy: FileStrategy): UploadMiddleware {
  return function multerMiddleware(req, _res, next) {
    // next() runs in the caller's async context (AsyncLocalStorage), not in a socket event's.
    const resource = new AsyncResource('rx-multipart.express');
    let isDone = false;
    const done = (error?: unknown): void => {
      if (isDone) return;
      isDone = true;
      resource.runInAsyncScope(next, null, error);
    };
    if (!isMultipartRequest(req)) return done();
    upload(req as UploadRequest, settings, fields, strategy, done);
  };
}

function upload(req: UploadRequest, settings: UploadSettings, fields: readonly Field[] | undefined, strategy: FileStrategy, done: (error?: unknown) => void): void {
  let drained: Promise<void> | undefined;
  // As soon as the upload fails, so that the client can read the answer and the body read while
  // files are removed counts against drainLimit.
  const drain = (): Promise<void> => (drained ??= drainRequest(req, settings.drainLimit));
  const fail = (error: unknown): void => void drain().then(() => done(error));

  let limits: RequestLimits;
  try {
    const given = typeof settings.limits === 'function' ? settings.limits(req) : settings.limits;
    if (given) validateLimits(given);
    limits = resolveRequestLimits(given ?? undefined);
  } catch (error) {
    return fail(error);
  }

  const body = createFormBody();
  (req as { body?: unknown }).body = body;
  const files = new RequestFiles(req, strategy);
  const admitted = new Map<number, AdmittedFile>();
  const storageErrors: unknown[] = [];
  // The aborts and removals of this request's files still running.
  const cleanups = new Set<Promise<void>>();
  const engineSettings = {
    request: req,
    timeout: settings.timeout,
    highWaterMark: settings.fileHwm,
    onRemoveError: (error: unknown, file: MulterFile) => void storageErrors.push(describeRemoveError(error, file)),
    onCleanup: (work: Promise<void>) => {
      cleanups.add(work);
      void work.then(() => cleanups.delete(work));
    },
  };
  // Files handed to the engine when fileFilter accepted them, until storeParts takes them for their bytes.
  const started = new Map<number, EngineFileWriter>();
  const storage = createEngineStorage(settings.storage, {
    ...engineSettings,
    startFile: (info, fileOptions) => {
      const writer = started.get(info.index);
      started.delete(info.index);
      return writer ?? startEngineFile(settings.storage, admitted.get(info.index)!.file, fileOptions);
    },
  });
  const start = (index: number, file: MulterFile): void => void started.set(index, startEngineFile(settings.storage, file, engineFileOptions(engineSettings, index)));

  readParts(req, settings, limits)
    .pipe(
      tap({ error: drain }),
      admitParts({
        request: req,
        body,
        limits,
        defCharset: settings.defCharset,
        fileFilter: settings.fileFilter,
        quota: fields === undefined ? undefined : quotaOf(fields),
        files,
        admitted,
        start,
        timeout: settings.timeout,
      }),
      tap({ error: drain }),
      storeParts(storage, { timeout: settings.timeout }),
    )
    .subscribe({
      next: (stored) => {
        const entry = admitted.get(stored.index);
        // Only files reach storeParts (admitParts takes the fields).
        if (entry !== undefined && stored.kind === 'file') files.fill(entry.slot, stored.id);
      },
      error: (error: unknown) => {
        files.dropUnfilled();
        // Files the engine had begun and storeParts never took (the error came first).
        for (const writer of started.values()) engineSettings.onCleanup(writer.abort(error).catch(noop));
        started.clear();
        const answer = toMulterError(error);
        if (typeof answer === 'object' && answer !== null && Object.isExtensible(answer)) {
          (answer as { storageErrors?: unknown[] }).storageErrors = storageErrors;
        }
        // storeParts has undone its own files before it passes the error on; the engines started
        // for files it had not yet taken (aborted above), and any abort that outlasted its time
        // limit, are waited for here: every abort and removal of this request, before answering.
        void settle(cleanups).then(() => fail(answer));
      },
      complete: () => {
        // The epilogue, if any: read and dropped, not waited for.
        void drain();
        done();
      },
    });
}

/** Resolves once no cleanup is running, including those started in the teardown that follows an error. */
async function settle(cleanups: Set<Promise<void>>): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  while (cleanups.size > 0) await Promise.allSettled([...cleanups]);
}

/** The request's parts: from the request itself, or from what `streamHandler` writes. */
function readParts(req: UploadRequest, settings: UploadSettings, limits: RequestLimits): Observable<Part> {
  const contentType = req.headers['content-type'] ?? '';
  const type = mediaTypeOf(contentType);
  if (type !== 'multipart/form-data') {
    // busboy, under multer, refuses every other multipart type.
    return throwError(() => new MultipartError('NOT_MULTIPART', { message: `The Content-Type is ${JSON.stringify(type ?? contentType)}; multipart/form-data expected.` }));
  }
  const options: ParseOptions = {
    limits: limits.parse,
    preservePath: settings.preservePath,
    defParamCharset: settings.defParamCharset,
    ...(settings.highWaterMark === undefined ? {} : { highWaterMark: settings.highWaterMark }),
    ...(settings.stallTimeout === undefined ? {} : { stallTimeout: settings.stallTimeout }),
  };
  const { streamHandler } = settings;
  if (streamHandler === undefined) return multipart(req, options);
  return defer(() => {
    const sink = new PassThrough();
    streamHandler(req, sink);
    return failOnLoss(req, fromReadable(sink).pipe(parseMultipart(contentType, { ...options, backpressure: sink })));
  });
}

/**
 * `parts$`, failed with UNEXPECTED_END if the request closes before its whole body was received:
 * a sink fed from the request never ends when the request is cut.
 */
function failOnLoss(req: IncomingMessage, parts$: Observable<Part>): Observable<Part> {
  return new Observable<Part>((subscriber) => {
    const onClose = (): void => {
      if (!req.complete) subscriber.error(new MultipartError('UNEXPECTED_END', { message: 'The client went away before the body ended.' }));
    };
    req.once('close', onClose);
    subscriber.add(() => req.off('close', onClose));
    subscriber.add(parts$.subscribe(subscriber));
  });
}

/**
 * multer's test (type-is): the request has a body (a Transfer-Encoding, or a Content-Length) and a
 * multipart Content-Type. Anything else is left to the next middleware.
 */
function isMultipartRequest(req: IncomingMessage): boolean {
  const hasBody = req.headers['transfer-encoding'] !== undefined || !Number.isNaN(Number(req.headers['content-length']));
  return hasBody && mediaTypeOf(req.headers['content-type'])?.startsWith('multipart/') === true;
}

/** Files each field may take: its `maxCount`, or no count of its own. */
function quotaOf(fields: readonly Field[]): Record<string, number> {
  const quota = Object.create(null) as Record<string, number>;
  for (const field of fields) quota[field.name] = typeof field.maxCount === 'number' ? field.maxCount : Infinity;
  return quota;
}

/** A `_removeFile` failure as multer reports it in `storageErrors`: the error, with `file` and `field`. */
function describeRemoveError(error: unknown, file: MulterFile): unknown {
  if (typeof error === 'object' && error !== null && Object.isExtensible(error)) {
    return Object.assign(error, { file, field: file.fieldname });
  }
  return error;
}

function noop(): void {}
