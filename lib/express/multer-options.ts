/**
 * The options of `multer(options)`, with multer's names and meanings, and how they are resolved:
 * every limit finite by default (multer's are mostly Infinity).
 */
import type { Writable } from 'node:stream';
import { DEFAULT_DRAIN_LIMIT } from '../nest/drain-request.js';
import type { Limits as ParseLimits } from '../parser/limits.js';
import { DEFAULT_LIMITS } from '../parser/limits.js';
import type { HeaderCharset } from '../parser/text-decoding.js';
import type { Callback, FileFilter, FileFilterCallback, StorageEngine, UploadRequest } from './storage-engine.js';

/**
 * Limits of one request. multer's names and meanings; every one has a finite default here (multer
 * leaves all but `fieldSize` and `headerPairs` infinite). `Infinity` lifts one on purpose.
 */
export interface Limits {
  /** Most bytes in a field name. Default 100 (multer: Infinity). */
  fieldNameSize?: number | undefined;
  /** Most bytes in a field value. Default 1 MiB (as multer). */
  fieldSize?: number | undefined;
  /** Most text fields. Default 1000 (multer: Infinity). */
  fields?: number | undefined;
  /** Most bytes in one file. Default 100 MiB (multer: Infinity). */
  fileSize?: number | undefined;
  /** Most files. Default 100 (multer: Infinity). */
  files?: number | undefined;
  /** Most parts, fields and files together. Default 1000 (multer: Infinity). */
  parts?: number | undefined;
  /** Most header lines in one part. Default 2000 (as multer). */
  headerPairs?: number | undefined;
  /** Most '[' in a field name (`a[b][c]` has 2). Default 32 (multer: Infinity). */
  fieldNestingDepth?: number | undefined;
  /** Largest array index in a field name (`a[3]` uses 3). Default: the `fields` limit (multer: Infinity). */
  fieldArrayIndexLimit?: number | undefined;
  /** Most bytes in one part's header block. Default 16 KiB (not in multer). */
  headerSize?: number | undefined;
  /** Most bytes before the first part. Default 16 KiB (not in multer). */
  preambleSize?: number | undefined;
  /** Most bytes in the whole body. Default 1 GiB (not in multer). */
  bodySize?: number | undefined;
}

/** Feeds the body to the parse when the request's own stream was read already (multer's `streamHandler`). */
export type StreamHandler = Callback<(req: UploadRequest, sink: Writable) => void>;

/** Options of `multer(options)`. */
export interface Options {
  /** The storage engine. Takes precedence over `dest`. */
  storage?: StorageEngine | undefined;
  /** A folder for `diskStorage({ destination: dest })`, used when `storage` is not given. Without either, files are kept in memory. */
  dest?: string | undefined;
  /** Limits, or a function of the request that returns them (called once per request). */
  limits?: Limits | Callback<(req: UploadRequest) => Limits | undefined> | undefined;
  /** Keep the client's path in `originalname` instead of its basename. Default false. */
  preservePath?: boolean | undefined;
  /** Charset of part header parameters without an explicit one (filenames, field names): 'latin1' (default, as multer) or 'utf8'. */
  defParamCharset?: string | undefined;
  /** Charset of field values whose part names none. Default 'utf8'. */
  defCharset?: string | undefined;
  /** Decides which files are stored. Default: all. */
  fileFilter?(req: UploadRequest, file: Express.Multer.File, callback: FileFilterCallback): void;
  /** Bytes of the body held in memory (parsed, not yet stored) above which the request is paused. Default: the parse's, 1 MiB for an upload alone and less as more run at once (16 MiB shared, 64 KiB at least). */
  highWaterMark?: number | undefined;
  /** `highWaterMark` of each `file.stream`. Default: Node's (16 KiB on Node 20). */
  fileHwm?: number | undefined;
  /** Writes the body into `sink` and ends it, when the request's stream was consumed before (Cloud Functions' `req.rawBody`). Default: the request itself. */
  streamHandler?: StreamHandler | undefined;
  /** Milliseconds `fileFilter` and each step of a storage engine (taking a chunk, answering after the file's end, removing a file) may take before the upload fails with `TIMEOUT` (408). Default 60000, at most 2^31 - 1 (not in multer). */
  timeout?: number | undefined;
  /** Milliseconds a paused request may wait with no byte stored before it fails with `STALLED`. Default 30000, at most 2^31 - 1 (not in multer). */
  stallTimeout?: number | undefined;
  /** Bytes of a failed request's body read and dropped so the client gets the answer; past them the connection is closed. Default 16 MiB (not in multer). */
  drainLimit?: number | undefined;
}

/** A field `fields()` accepts files in, and at most how many. */
export interface Field {
  /** The field name. */
  name: string;
  /** Most files in it. Default: no count of its own (`limits.files` still holds). */
  maxCount?: number | undefined;
}

/** The options of one multer instance, resolved once. */
export interface UploadSettings {
  readonly storage: StorageEngine;
  readonly limits: Options['limits'];
  readonly fileFilter: FileFilter;
  readonly preservePath: boolean;
  readonly defParamCharset: HeaderCharset;
  readonly defCharset: string;
  readonly highWaterMark: number | undefined;
  readonly fileHwm: number | undefined;
  readonly streamHandler: StreamHandler | undefined;
  readonly timeout: number;
  readonly stallTimeout: number | undefined;
  readonly drainLimit: number;
}

/** One request's limits: those of the parse, and those of field names. */
export interface RequestLimits {
  readonly parse: ParseLimits;
  readonly fieldNestingDepth: number;
  readonly fieldArrayIndexLimit: number;
}

const DEFAULT_TIMEOUT = 60_000;
// A field name of `fieldNameSize` (100) bytes nests at most 33 levels; no form needs more than a few.
const DEFAULT_FIELD_NESTING_DEPTH = 32;

// The limits the parse enforces; the rest are checked on field names.
const PARSE_LIMITS = ['parts', 'files', 'fields', 'fileSize', 'fieldSize', 'fieldNameSize', 'headerSize', 'headerPairs', 'preambleSize', 'bodySize'] as const;

/**
 * Checks limits as multer does: each a non-negative integer or Infinity (busboy compares most with
 * `===`, so 1.5 would have disabled one silently).
 * @throws TypeError naming the first invalid limit.
 */
export function validateLimits(limits: object): void {
  for (const [key, value] of Object.entries(limits)) {
    if (value === undefined || value === null) continue;
    if ((Number.isInteger(value) && (value as number) >= 0) || value === Infinity) continue;
    throw new TypeError(`Expected limits.${key} to be a non-negative integer or Infinity`);
  }
}

/** One request's limits: the user's over the library's finite defaults, key by key. */
export function resolveRequestLimits(limits: Limits | undefined): RequestLimits {
  const parse: Record<string, number> = {};
  for (const key of PARSE_LIMITS) {
    const value = limits?.[key];
    if (typeof value === 'number') parse[key] = value;
  }
  const fields = parse['fields'] ?? DEFAULT_LIMITS.fields;
  return {
    parse,
    fieldNestingDepth: limits?.fieldNestingDepth ?? DEFAULT_FIELD_NESTING_DEPTH,
    // One field fills one slot: an index past the number of fields allowed only makes a sparse array.
    fieldArrayIndexLimit: limits?.fieldArrayIndexLimit ?? fields,
  };
}

/**
 * multer's `defParamCharset` as the parse takes it: UTF-8 or latin1 (ISO-8859-1).
 * @throws TypeError for another charset.
 */
function headerCharsetOf(charset: string | undefined): HeaderCharset {
  const label = (charset ?? 'latin1').toLowerCase();
  if (label === 'utf8' || label === 'utf-8') return 'utf8';
  if (label === 'latin1' || label === 'iso-8859-1' || label === 'binary') return 'latin1';
  throw new TypeError(`defParamCharset must be 'utf8' or 'latin1', not ${JSON.stringify(charset)}.`);
}

// Node runs a timer of more than 2^31 - 1 ms (Infinity included) after 1 ms: a "no timeout" would
// time out at once.
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** A timeout option: a positive number of milliseconds a Node timer can wait. */
function checkTimer(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0) || value > LONGEST_TIMER_MS) {
    throw new TypeError(`Expected ${name} to be a number of milliseconds from 1 to ${LONGEST_TIMER_MS} (Node's longest timer), not ${String(value)}`);
  }
}

/** The settings of `multer(options)`, checked once, when the instance is made. */
export function resolveSettings(options: Options, defaultStorage: (dest: string | undefined) => StorageEngine): UploadSettings {
  if (options.limits !== undefined && options.limits !== null && typeof options.limits !== 'function') validateLimits(options.limits);
  if (options.streamHandler !== undefined && typeof options.streamHandler !== 'function') throw new TypeError('Expected streamHandler to be a function');
  checkTimer('timeout', options.timeout);
  checkTimer('stallTimeout', options.stallTimeout);
  return {
    storage: options.storage ?? defaultStorage(options.dest),
    limits: options.limits ?? undefined,
    fileFilter: options.fileFilter ?? acceptAll,
    preservePath: options.preservePath === true,
    defParamCharset: headerCharsetOf(options.defParamCharset),
    defCharset: options.defCharset ?? 'utf8',
    highWaterMark: options.highWaterMark,
    fileHwm: options.fileHwm,
    streamHandler: options.streamHandler,
    timeout: options.timeout ?? DEFAULT_TIMEOUT,
    stallTimeout: options.stallTimeout,
    drainLimit: options.drainLimit ?? DEFAULT_DRAIN_LIMIT,
  };
}

const acceptAll: FileFilter = (_req, _file, callback) => callback(null, true);
