/**
 * MulterError: the error multer's users match on (`err instanceof multer.MulterError`,
 * `err.code === 'LIMIT_FILE_SIZE'`), with the HTTP status to answer beside the code.
 */
import type { MultipartErrorDetails } from '../errors.js';

/**
 * Every code, with the HTTP status a server should answer and multer's message. The first twelve
 * are multer's (2.x); the last four are limits rx-multipart has and multer lacks, under the
 * library's own codes.
 */
export const MULTER_ERROR_CODES = {
  LIMIT_PART_COUNT: [413, 'Too many parts'],
  LIMIT_FILE_SIZE: [413, 'File too large'],
  LIMIT_FILE_COUNT: [413, 'Too many files'],
  LIMIT_FIELD_KEY: [413, 'Field name too long'],
  LIMIT_FIELD_VALUE: [413, 'Field value too long'],
  LIMIT_FIELD_COUNT: [413, 'Too many fields'],
  LIMIT_UNEXPECTED_FILE: [400, 'Unexpected file field'],
  MISSING_FIELD_NAME: [400, 'Field name missing'],
  LIMIT_FIELD_NESTING: [413, 'Field name nesting too deep'],
  LIMIT_FIELD_ARRAY_INDEX: [413, 'Field name array index too large'],
  INVALID_FIELD_NAME: [400, 'Invalid field name'],
  STREAM_DESTROYED: [500, 'File stream was destroyed'],
  LIMIT_HEADER_SIZE: [413, 'Part header too large'],
  LIMIT_HEADER_PAIRS: [413, 'Too many part headers'],
  LIMIT_PREAMBLE_SIZE: [413, 'Too many bytes before the first part'],
  LIMIT_BODY_SIZE: [413, 'Request body too large'],
} as const satisfies Record<string, readonly [number, string]>;

/** A MulterError code; see {@link MULTER_ERROR_CODES}. */
export type ErrorCode = keyof typeof MULTER_ERROR_CODES;

/** What a MulterError can say beyond multer's three arguments: the limit, and the `MultipartError` it was made from. */
export type MulterErrorDetails = Pick<MultipartErrorDetails, 'limit' | 'cause'>;

// A brand shared by every copy of this module (the ESM and CJS builds loaded side by side), so that
// `instanceof MulterError` holds across the dual-package boundary.
const BRAND = Symbol.for('rx-multipart.MulterError');

/**
 * multer's error: `name` 'MulterError', `code`, multer's `message`, `field` when it concerns a
 * field, `filename` (the client's, untrusted) when it concerns a file; and `status`, the HTTP
 * status to answer (413 for a limit, 400 otherwise), which Express's default error handler uses.
 *
 * @example
 * app.use((err, req, res, next) => {
 *   if (err instanceof multer.MulterError) return res.status(err.status).json({ code: err.code, field: err.field });
 *   next(err);
 * });
 */
export class MulterError extends Error {
  /** The machine-readable code: match on it, not on the message. */
  readonly code: ErrorCode;
  /** The HTTP status a server should answer with. */
  readonly status: number;
  // `declare`: no own property unless set (class fields would define each one as undefined).
  /** The form field concerned, when one is. */
  declare readonly field?: string;
  /** The client's filename, when a file is concerned (untrusted, like `originalname`). */
  declare readonly filename?: string;
  /** The limit exceeded, when the error comes from one of the parse's limits. */
  declare readonly limit?: number;

  /**
   * @param code one of {@link MULTER_ERROR_CODES}.
   * @param field the field concerned (left out when empty, as multer does).
   * @param filename the file concerned (left out when empty).
   * @param details the limit and the cause, when the error comes from the parse.
   */
  constructor(code: ErrorCode, field?: string, filename?: string, details: MulterErrorDetails = {}) {
    const entry = MULTER_ERROR_CODES[code] as readonly [number, string] | undefined;
    super(entry?.[1] ?? `Unknown error: ${String(code)}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MulterError';
    this.code = code;
    this.status = entry?.[0] ?? 500;
    // Only when given, as multer does: `'field' in err` tells a field error from another.
    if (field) this.field = field;
    if (filename) this.filename = filename;
    if (details.limit !== undefined) this.limit = details.limit;
  }

  /** True for a MulterError from any copy of this package (ESM or CJS). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }
}
Object.defineProperty(MulterError.prototype, BRAND, { value: true });
