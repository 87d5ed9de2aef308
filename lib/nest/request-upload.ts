/**
 * RequestUpload: one request's upload as the interceptor and the parameter decorators share it,
 * with the files stored for it and the rule that removes them when the request fails.
 */
import type { IncomingMessage } from 'node:http';
import { map, Observable, Subject, toArray } from 'rxjs';
import { MultipartError } from '../errors.js';
import type { ParseOptions } from '../operators/parse-multipart.js';
import type { Part } from '../operators/part.js';
import { storeParts, type StoreOptions } from '../operators/store-parts.js';
import { multipart } from '../sources/multipart.js';
import type { FileStorage, FileWriter } from '../storage/file-storage.js';
import { DEFAULT_DRAIN_LIMIT, drainRequest } from './drain-request.js';
import type { MultipartOptions } from './multipart-options.js';
import { toUploadedForm, type UploadedForm } from './uploaded-form.js';

// Where a request carries its upload. Symbol.for: the ESM and CJS builds, loaded side by side (an
// interceptor from one, a decorator from the other), find the same one.
const UPLOAD = Symbol.for('rx-multipart.nest.RequestUpload');

const DEFAULT_STORAGE_TIMEOUT = 60_000;

const OPEN = 0;
const COMMITTED = 1;
const FAILED = 2;

/**
 * One request's upload. All or nothing: the files stored through `storage` for this request are
 * kept only by `commit()`; `fail()` removes them (and any that closes later), stops the parse and
 * drains the rest of the body.
 */
export class RequestUpload {
  /** The request's parts, read once; errors when the upload fails while it is being read. */
  readonly parts$: Observable<Part>;
  /** The storage, counting every file closed through it for this request. */
  readonly storage: FileStorage<unknown>;
  /** The stored form, once `store()` has emitted it. */
  form: UploadedForm<unknown> | undefined = undefined;
  /** True once the parse has read the closing delimiter: nothing of the body is left to store. */
  isBodyRead = false;
  private state = OPEN;
  // Ids of files closed for this request, not yet kept or removed.
  private readonly stored = new Set<unknown>();
  private readonly failure$ = new Subject<void>();
  // The failure's cleanup, shared by every caller of fail().
  private cleanup: Promise<void> | undefined = undefined;

  private constructor(
    private readonly req: IncomingMessage,
    private readonly base: FileStorage<unknown>,
    private readonly options: MultipartOptions,
  ) {
    this.storage = this.track(base);
    this.parts$ = this.readParts();
  }

  /** Starts the upload of `req` and attaches it to the request, for the decorators. */
  static start(req: IncomingMessage, storage: FileStorage<unknown>, options: MultipartOptions): RequestUpload {
    // A storage that works per request (a multer engine, through fromMulterStorage) is handed this one.
    const upload = new RequestUpload(req, storage.forRequest?.(req) ?? storage, options);
    Object.defineProperty(req, UPLOAD, { value: upload, configurable: true });
    return upload;
  }

  /** The upload attached to `req`, if a MultipartInterceptor started one. */
  static of(req: IncomingMessage): RequestUpload | undefined {
    return (req as { [UPLOAD]?: RequestUpload })[UPLOAD];
  }

  get isSettled(): boolean {
    return this.state !== OPEN;
  }

  /** Stores every part (files through `storage`, fields collected), then emits the form. */
  store(): Observable<UploadedForm<unknown>> {
    return this.parts$.pipe(
      storeParts(this.storage, this.storeOptions()),
      toArray(),
      map((parts) => (this.form = toUploadedForm(parts))),
    );
  }

  /**
   * The request succeeded: its files stay. What follows the closing delimiter is drained, without
   * waiting: the client has sent all it meant to, and a client that holds the body open must not
   * hold its own answer.
   */
  commit(): void {
    if (this.state !== OPEN) return;
    this.state = COMMITTED;
    this.stored.clear();
    void drainRequest(this.req, this.drainLimit());
  }

  /**
   * The request failed, was answered before its body was read, or was left (a timeout): the parse
   * stops, every file stored for it is removed, and the rest of the body is drained (or the
   * connection closed past `drainLimit`). Idempotent; never rejects.
   */
  fail(): Promise<void> {
    if (this.state === COMMITTED) return Promise.resolve();
    if (this.cleanup !== undefined) return this.cleanup;
    this.state = FAILED;
    this.failure$.next();
    const ids = [...this.stored];
    this.stored.clear();
    this.cleanup = Promise.all([Promise.allSettled(ids.map((id) => this.remove(id))), drainRequest(this.req, this.drainLimit())]).then(noop);
    return this.cleanup;
  }

  private readParts(): Observable<Part> {
    const parse = compact<ParseOptions>({
      limits: this.options.limits,
      preservePath: this.options.preservePath,
      defParamCharset: this.options.defParamCharset,
      highWaterMark: this.options.highWaterMark,
      stallTimeout: this.options.stallTimeout,
    });
    return new Observable<Part>((subscriber) => {
      if (this.state === FAILED) return subscriber.error(abandoned());
      subscriber.add(this.failure$.subscribe(() => subscriber.error(abandoned())));
      subscriber.add(
        multipart(this.req, parse).subscribe({
          next: (part) => subscriber.next(part),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            this.isBodyRead = true;
            subscriber.complete();
          },
        }),
      );
      return undefined;
    });
  }

  private storeOptions(): StoreOptions {
    const length = Number(this.req.headers['content-length']);
    return compact<StoreOptions>({
      accept: this.options.accept,
      retry: this.options.retry,
      timeout: this.options.storageTimeout,
      total: Number.isFinite(length) ? length : undefined,
    });
  }

  /**
   * The storage seen through this request: files it closes are counted, and one that closes after
   * the request failed is removed at once. Everything else goes to the storage itself (a Proxy, so
   * a storage's own extras such as `list()` stay usable, with their own `this`).
   */
  private track(base: FileStorage<unknown>): FileStorage<unknown> {
    const create = async (info: Parameters<FileStorage<unknown>['create']>[0]): Promise<FileWriter<unknown>> => {
      const writer = await base.create(info);
      if (this.state === FAILED) {
        await writer.abort(abandoned()).catch(noop);
        throw abandoned();
      }
      return {
        write: (chunk, offset) => writer.write(chunk, offset),
        abort: (reason) => writer.abort(reason),
        close: async () => {
          const file = await writer.close();
          this.keep(file.id);
          return file;
        },
      };
    };
    const remove = async (id: unknown): Promise<void> => {
      this.stored.delete(id);
      await base.remove(id);
    };
    return new Proxy(base, {
      get(target, key) {
        if (key === 'create') return create;
        if (key === 'remove') return remove;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private keep(id: unknown): void {
    if (this.state === OPEN) this.stored.add(id);
    else if (this.state === FAILED) void this.remove(id);
  }

  /** Removes a file, bounded by the storage timeout: a stalled storage must not hold the answer forever. */
  private remove(id: unknown): Promise<void> {
    const ms = this.options.storageTimeout ?? DEFAULT_STORAGE_TIMEOUT;
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
    // Through then(): a storage whose remove throws instead of rejecting must not break the cleanup.
    const removal = Promise.resolve(id).then((value) => this.base.remove(value)).catch(noop);
    return Promise.race([removal, expiry]).finally(() => clearTimeout(timer));
  }

  private drainLimit(): number {
    return this.options.drainLimit ?? DEFAULT_DRAIN_LIMIT;
  }
}

/** The error the parts of an abandoned upload end with. */
function abandoned(): MultipartError {
  return new MultipartError('UNEXPECTED_END', {
    message: 'The upload was abandoned before its body was read: the request failed, timed out or was answered early.',
  });
}

/** `value` without its undefined properties (exactOptionalPropertyTypes). */
function compact<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

function noop(): void {}
