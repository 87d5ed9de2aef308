/**
 * toMulterError: the one place the library's errors become the ones multer's users match on.
 */
import { MultipartError, type MultipartErrorCode } from '../errors.js';
import { MulterError, type ErrorCode } from './multer-error.js';

/** What a library limit becomes, and which of the part's names multer's error carries. */
interface Mapping {
  readonly code: ErrorCode;
  /**
   * 'file': `field` and `filename` (multer's LIMIT_FILE_SIZE); 'field': `field` only (its
   * LIMIT_FIELD_VALUE); 'none': neither (its counting limits and LIMIT_FIELD_KEY).
   */
  readonly names: 'file' | 'field' | 'none';
}

// multer's codes for the library's; the limits multer lacks keep the library's code.
const MAPPINGS: Partial<Record<MultipartErrorCode, Mapping>> = {
  LIMIT_PARTS: { code: 'LIMIT_PART_COUNT', names: 'none' },
  LIMIT_FILES: { code: 'LIMIT_FILE_COUNT', names: 'none' },
  LIMIT_FIELDS: { code: 'LIMIT_FIELD_COUNT', names: 'none' },
  LIMIT_FIELD_NAME_SIZE: { code: 'LIMIT_FIELD_KEY', names: 'none' },
  LIMIT_FIELD_SIZE: { code: 'LIMIT_FIELD_VALUE', names: 'field' },
  LIMIT_FILE_SIZE: { code: 'LIMIT_FILE_SIZE', names: 'file' },
  LIMIT_HEADER_SIZE: { code: 'LIMIT_HEADER_SIZE', names: 'file' },
  LIMIT_HEADER_PAIRS: { code: 'LIMIT_HEADER_PAIRS', names: 'file' },
  LIMIT_PREAMBLE_SIZE: { code: 'LIMIT_PREAMBLE_SIZE', names: 'none' },
  LIMIT_BODY_SIZE: { code: 'LIMIT_BODY_SIZE', names: 'none' },
};

/**
 * The error a multer user's error handler expects for `error`:
 * - a limit of the parse: a {@link MulterError} with multer's code (`LIMIT_PARTS` →
 *   `LIMIT_PART_COUNT`, `LIMIT_FILES` → `LIMIT_FILE_COUNT`, `LIMIT_FIELDS` → `LIMIT_FIELD_COUNT`,
 *   `LIMIT_FIELD_NAME_SIZE` → `LIMIT_FIELD_KEY`, `LIMIT_FIELD_SIZE` → `LIMIT_FIELD_VALUE`,
 *   `LIMIT_FILE_SIZE`), or the library's code for a limit multer lacks (`LIMIT_HEADER_SIZE`,
 *   `LIMIT_HEADER_PAIRS`, `LIMIT_PREAMBLE_SIZE`, `LIMIT_BODY_SIZE`); `field` and `filename` set as
 *   multer sets them, `limit` and `cause` (the MultipartError) beside;
 * - a part without a field name (`INVALID_CONTENT_DISPOSITION` naming no field): `MISSING_FIELD_NAME`;
 * - anything else (a malformed body, a timeout, an engine's or fileFilter's own error): unchanged.
 *
 * @param error what the upload failed with.
 * @returns the MulterError, or `error` itself.
 * @example toMulterError(new MultipartError('LIMIT_FILES', { limit: 2 })).code // 'LIMIT_FILE_COUNT'
 */
export function toMulterError(error: unknown): unknown {
  if (!(error instanceof MultipartError)) return error;
  const details = { cause: error, ...(error.limit === undefined ? {} : { limit: error.limit }) };
  if (error.code === 'INVALID_CONTENT_DISPOSITION' && !error.fieldName) {
    return new MulterError('MISSING_FIELD_NAME', undefined, undefined, details);
  }
  const mapping = MAPPINGS[error.code];
  if (mapping === undefined) return error;
  const field = mapping.names === 'none' ? undefined : error.fieldName;
  const filename = mapping.names === 'file' ? error.filename : undefined;
  return new MulterError(mapping.code, field, filename, details);
}
