/**
 * The options of the Nest integration: module defaults, route overrides, and how they merge.
 */
import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';
import type { ParseOptions } from '../operators/parse-multipart.js';
import type { StoreOptions } from '../operators/store-parts.js';
import type { Limits } from '../parser/limits.js';
import type { Checksum, FileStorage } from '../storage/file-storage.js';

/**
 * Options of `MultipartInterceptor(options)` and `MultipartModule.register(options)`. Names follow
 * multer where the meaning is the same (`storage`, `dest`, `limits`, `preservePath`,
 * `defParamCharset`); route options are spread over the module's, `limits` key by key.
 *
 * @publicApi
 */
export interface MultipartOptions {
  /** Where files go. Default: a disk storage in `dest`. */
  readonly storage?: FileStorage<unknown>;
  /** Folder of the default disk storage, used when `storage` is not given. Default `<os.tmpdir()>/rx-multipart`. */
  readonly dest?: string;
  /** Checksum of the default disk storage: 'sha256' fills each file's `sha256`. Default false (none). */
  readonly checksum?: Checksum;
  /**
   * Limits of the parse, each merged over its default (multer's names: `fileSize`, `files`, `fields`,
   * `parts`, `fieldSize`, `fieldNameSize`, `headerPairs`; and `headerSize`, `preambleSize`, `bodySize`).
   * Default: the library's finite defaults (`DEFAULT_LIMITS`).
   */
  readonly limits?: Limits;
  /** Keep the client's path in `filename` instead of its basename. Default false. */
  readonly preservePath?: boolean;
  /** Charset of part header bytes: 'utf8' or 'latin1'. Default 'utf8'. */
  readonly defParamCharset?: ParseOptions['defParamCharset'];
  /**
   * 'store' (default): every file is stored before the handler runs, which gets them with
   * `@UploadedParts()`. 'stream': the handler gets the live `Observable<Part>` with
   * `@MultipartParts()` and stores what it wants itself (through `@UploadStorage()` to keep the
   * all-or-nothing cleanup).
   */
  readonly mode?: 'store' | 'stream';
  /**
   * Decides whether a file is stored, from its headers, the fields before it and its first bytes,
   * before anything of it is stored (see `storeParts`). Refused: 415 FILE_REJECTED. Default: every file.
   */
  readonly accept?: StoreOptions['accept'];
  /** Retries of each failed storage call, a count or a policy. Default 0. */
  readonly retry?: StoreOptions['retry'];
  /** Milliseconds each storage call may take before the upload fails with TIMEOUT (408). Default 60000. */
  readonly storageTimeout?: number;
  /** Bytes handed out and not yet stored above which the request is paused. Default 1 MiB. */
  readonly highWaterMark?: number;
  /** Milliseconds a paused request may wait on a part nobody reads before STALLED. Default 30000. */
  readonly stallTimeout?: number;
  /**
   * Bytes of an unread body read and dropped after a failure or an early answer, so that the client
   * can read the answer; past them the connection is closed. Default 16 MiB.
   */
  readonly drainLimit?: number;
}

/** Module-wide defaults: the same options as a route's. @publicApi */
export type MultipartModuleOptions = MultipartOptions;

/** A class that makes the module's options. @publicApi */
export interface MultipartOptionsFactory {
  createMultipartOptions(): MultipartModuleOptions | Promise<MultipartModuleOptions>;
}

/** Options of `MultipartModule.registerAsync`, as for `MulterModule.registerAsync`. @publicApi */
export interface MultipartModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Makes the options from the providers named in `inject`. */
  readonly useFactory?: (...args: never[]) => MultipartModuleOptions | Promise<MultipartModuleOptions>;
  /** Providers handed to `useFactory`, in order. */
  readonly inject?: ReadonlyArray<InjectionToken | OptionalFactoryDependency>;
  /** A factory class, instantiated by the module. */
  readonly useClass?: Type<MultipartOptionsFactory>;
  /** A factory provider that exists already (imported). */
  readonly useExisting?: Type<MultipartOptionsFactory>;
}

/**
 * The injection token of the module's options. A string, not a symbol: the ESM and CommonJS builds
 * of this package, loaded side by side, then still name the same provider.
 */
export const MULTIPART_MODULE_OPTIONS = 'RX_MULTIPART_MODULE_OPTIONS';

/**
 * The route's options spread over the module's; `limits` merged key by key, so that a route that
 * sets `fileSize` keeps the module's `files` (multer's `mergeMulterOptions` does the same).
 * @throws TypeError for a limit that is not a number >= 0, at bootstrap rather than per request.
 */
export function mergeMultipartOptions(moduleOptions: MultipartModuleOptions = {}, routeOptions: MultipartOptions = {}): MultipartOptions {
  const limits = moduleOptions.limits === undefined && routeOptions.limits === undefined ? undefined : { ...moduleOptions.limits, ...routeOptions.limits };
  for (const [key, value] of Object.entries(limits ?? {})) {
    if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value) || value < 0)) {
      throw new TypeError(`MultipartInterceptor: limits.${key} must be a number >= 0 (Infinity lifts it), not ${String(value)}.`);
    }
  }
  const merged = { ...moduleOptions, ...routeOptions };
  return limits === undefined ? merged : { ...merged, limits };
}
