/**
 * The middleware each of multer's methods makes: one request's multipart body parsed with
 * backpressure, its fields into req.body, its files through a storage engine into req.file or
 * req.files; all or nothing, and never a hang.
 */
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { defer, merge, Observable, tap, throwError } from 'rxjs';
import { MultipartError } from '../errors.js';
import { drainRequest } from '../nest/drain-request.js';
import { parseMultipart, type ParseOptions } from '../operators/parse-multipart.js';
import type { Part } from '../operators/part.js';
import { storeParts } from '../operators/store-parts.js';
import { fromReadable } from '../sources/from-readable.js';
import { multipart } from '../sources/multipart.js';
import { admitParts, type AdmittedFile } from './admit-parts.js';
import { createFormBody } from './form-body.js';
import { createEngineStorage, mediaTypeOf } from './from-multer-storage.js';
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
  const storage = createEngineStorage(settings.storage, {
    request: req,
    timeout: settings.timeout,
    highWaterMark: settings.fileHwm,
    describe: (info) => admitted.get(info.index)!.file,
    onRemoveError: (error, file) => storageErrors.push(describeRemoveError(error, file)),
    onCleanup: (work) => {
      cleanups.add(work);
      void work.then(() => cleanups.delete(work));
    },
  });

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
        const answer = toMulterError(error);
        if (typeof answer === 'object' && answer !== null && Object.isExtensible(answer)) {
          (answer as { storageErrors?: unknown[] }).storageErrors = storageErrors;
        }
        // storeParts removes the files it closed before it passes the error on, but a file still
        // being written when the parse fails is aborted by its teardown, which runs after: wait
        // for every abort and removal of this request before answering.
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
    // The sink never ends if the request it is fed from is cut: watch the request too.
    return merge(fromReadable(sink).pipe(parseMultipart(contentType, { ...options, backpressure: sink })), requestLoss(req));
  });
}

/** Errors with UNEXPECTED_END when the request closes before its whole body was received. */
function requestLoss(req: IncomingMessage): Observable<never> {
  return new Observable<never>((subscriber) => {
    const onClose = (): void => {
      if (!req.complete) subscriber.error(new MultipartError('UNEXPECTED_END', { message: 'The client went away before the body ended.' }));
    };
    req.once('close', onClose);
    return () => req.off('close', onClose);
  });
}

/**
 * multer's test (type-is): the request has a body (a Transfer-Encoding, or a Content-Length) and a
 * multipart Content-Type. Anything else is left to the next middleware.
 */
export function isMultipartRequest(req: IncomingMessage): boolean {
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
