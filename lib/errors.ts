/**
 * The one error type of rx-multipart, and the table of its codes.
 *
 * Every failure reaches a subscriber as a `MultipartError` (or a storage's own error, unchanged),
 * carrying a machine-readable `code` and the HTTP `status` a server should answer with. Match on
 * `code`, never on `message`: messages name the part and the limit and may change between releases.
 */

/** Every error code, with the HTTP status a server should answer and what it means. */
export const MULTIPART_ERROR_CODES = {
  NOT_MULTIPART: [415, 'The Content-Type is not multipart/*.'],
  MISSING_BOUNDARY: [400, 'The multipart Content-Type has no boundary parameter.'],
  INVALID_BOUNDARY: [400, 'The boundary is empty, longer than 70 characters or has a character RFC 2046 §5.1.1 forbids.'],
  MALFORMED_DELIMITER: [400, 'A boundary delimiter is followed by something other than "--", transport padding or CRLF.'],
  MALFORMED_HEADER: [400, 'A part header line is not `name: value`, or a header is repeated where it must not be.'],
  MALFORMED_PREAMBLE: [400, 'The closing delimiter came after preamble bytes and no part: the opening boundary line is missing or misspelled.'],
  MALFORMED_TRANSFER_ENCODING: [400, 'A base64 or quoted-printable part has bytes its Content-Transfer-Encoding does not allow (with decodeTransferEncoding).'],
  UNSUPPORTED_TRANSFER_ENCODING: [415, 'A part has a Content-Transfer-Encoding other than 7bit, 8bit, binary, base64 or quoted-printable (with decodeTransferEncoding).'],
  INVALID_CONTENT_DISPOSITION: [400, 'A multipart/form-data part lacks `Content-Disposition: form-data` with a `name` (RFC 7578 §4.2).'],
  UNEXPECTED_END: [400, 'The body ended (or the client went away) before the closing delimiter.'],
  LIMIT_PARTS: [413, 'More parts than limits.parts.'],
  LIMIT_FILES: [413, 'More file parts than limits.files.'],
  LIMIT_FIELDS: [413, 'More field parts than limits.fields.'],
  LIMIT_FILE_SIZE: [413, 'A file is larger than limits.fileSize.'],
  LIMIT_FIELD_SIZE: [413, 'A field value is larger than limits.fieldSize.'],
  LIMIT_FIELD_NAME_SIZE: [413, 'A field name is longer than limits.fieldNameSize bytes.'],
  LIMIT_HEADER_SIZE: [413, "A part's header block is larger than limits.headerSize."],
  LIMIT_HEADER_PAIRS: [413, 'A part has more header lines than limits.headerPairs.'],
  LIMIT_PREAMBLE_SIZE: [413, 'More bytes before the first delimiter than limits.preambleSize.'],
  LIMIT_BODY_SIZE: [413, 'The body is larger than limits.bodySize.'],
  LIMIT_STORAGE: [413, 'A storage ran out of the room it was given (for example the memory storage cap).'],
  FILE_REJECTED: [415, "A file was refused by the `accept` option before anything was stored."],
  TIMEOUT: [408, 'The source or a storage write did not answer within its timeout.'],
  SOURCE_ERROR: [400, 'The byte source failed; the original error is the `cause`.'],
  STALLED: [500, 'A part held bytes unconsumed for stallTimeout while the source was paused: subscribe its body$ or discard() it.'],
  PART_CONSUMED: [500, "A part's body was subscribed twice, or after discard()."],
  SOURCE_CONSUMED: [500, 'A request body was read a second time (a request cannot be replayed, e.g. by retry).'],
  INVALID_CHUNK: [500, 'The source emitted something other than bytes (a string from setEncoding, say).'],
  INTERNAL: [500, 'rx-multipart itself failed (a bug, not bad input); the thrown error is the `cause`.'],
} as const satisfies Record<string, readonly [number, string]>;

/** A machine-readable error code; see {@link MULTIPART_ERROR_CODES}. */
export type MultipartErrorCode = keyof typeof MULTIPART_ERROR_CODES;

/** Details an error can carry, each naming where it happened. */
export interface MultipartErrorDetails {
  /** Overrides the default message taken from the code table. */
  readonly message?: string;
  /** The limit that was exceeded, in its own unit (bytes or a count). */
  readonly limit?: number;
  /** 0-based index of the part concerned. */
  readonly partIndex?: number;
  /** The `name` of the part concerned. */
  readonly fieldName?: string;
  /** The decoded filename of the part concerned, when it is a file. */
  readonly filename?: string;
  /** The error that caused this one. */
  readonly cause?: unknown;
}

// A brand shared by every copy of this module (ESM and CJS builds loaded side by side), so that
// `instanceof MultipartError` holds across the dual-package boundary.
const BRAND = Symbol.for('rx-multipart.MultipartError');

/**
 * The typed error of rx-multipart: a `code` from {@link MULTIPART_ERROR_CODES}, the HTTP `status` a
 * server should answer, and where it happened (`partIndex`, `fieldName`, `filename`, `limit`).
 *
 * @example
 * parts$.subscribe({ error: (e) => { if (e instanceof MultipartError) res.writeHead(e.status) } });
 */
export class MultipartError extends Error {
  /** The machine-readable code. */
  readonly code: MultipartErrorCode;
  /** The HTTP status a server should answer with (400, 408, 413, 415 or 500). */
  readonly status: number;
  /** The limit that was exceeded, when a `LIMIT_*` code. */
  readonly limit: number | undefined;
  /** 0-based index of the part concerned, when one is. */
  readonly partIndex: number | undefined;
  /** The part's field name, when a part is concerned. */
  readonly fieldName: string | undefined;
  /** The part's filename, when a file part is concerned. */
  readonly filename: string | undefined;

  constructor(code: MultipartErrorCode, details: MultipartErrorDetails = {}) {
    const [status, description] = MULTIPART_ERROR_CODES[code];
    super(details.message ?? describe(code, description, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MultipartError';
    this.code = code;
    this.status = status;
    this.limit = details.limit;
    this.partIndex = details.partIndex;
    this.fieldName = details.fieldName;
    this.filename = details.filename;
  }

  /** True for a `MultipartError` from any copy of this package (ESM or CJS). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }
}
Object.defineProperty(MultipartError.prototype, BRAND, { value: true });

function describe(code: MultipartErrorCode, description: string, details: MultipartErrorDetails): string {
  if (details.partIndex === undefined) {
    return details.limit === undefined ? description : `${description} (limit ${details.limit})`;
  }
  const what = details.filename === undefined ? 'field' : `file ${JSON.stringify(details.filename)} in field`;
  const where = `part ${details.partIndex} (${what} ${JSON.stringify(details.fieldName ?? '')})`;
  const limit = details.limit === undefined ? '' : `: limit ${details.limit}`;
  return `${code} at ${where}${limit}. ${description}`;
}
