/**
 * What a part is, read from its headers: index, name, filename, content type.
 */
import type { MultipartErrorCode } from '../errors.js';
import { parseHeaderParams } from './header-params.js';

/** A part's identity, known once its header block has been read. */
export interface PartHead {
  /** 0-based position in the body. */
  readonly index: number;
  /** Content-Disposition `name` ('' when absent). */
  readonly name: string;
  /** Defined exactly when the part is a file; decoded, and a basename unless `preservePath`. */
  readonly filename: string | undefined;
  /** The part's Content-Type value; 'text/plain' when absent (RFC 7578 §4.4). */
  readonly contentType: string;
  /** Every header, by lower-cased name. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Why a part's headers were refused. */
export interface PartHeadError {
  readonly code: MultipartErrorCode;
  readonly message: string;
  readonly name: string | undefined;
  readonly filename: string | undefined;
}

/**
 * Reads the part's name and filename from Content-Disposition.
 * @param isFormData the body is multipart/form-data, so RFC 7578 §4.2 applies: every part has
 *   `Content-Disposition: form-data` with a `name`.
 * @param preservePath keep the client's path in the filename instead of its basename.
 */
export function readPartHead(
  headers: Readonly<Record<string, string>>,
  index: number,
  isFormData: boolean,
  preservePath: boolean,
): PartHead | PartHeadError {
  const disposition = headers['content-disposition'];
  let name = '';
  let filename: string | undefined;
  if (disposition !== undefined) {
    // Browsers and undici escape `"` CR LF in these values as %22 %0D %0A (WHATWG HTML).
    const { type, params, hasDuplicate } = parseHeaderParams(disposition, true);
    // An extended `name*` (RFC 2231 / RFC 8187, as Python's email package writes non-ASCII names)
    // wins over `name` when it decodes, exactly as `filename*` wins over `filename`.
    const extendedName = params['name*'];
    name = extendedName ?? params['name'] ?? '';
    // RFC 7578 §4.2 / RFC 8187: filename* wins over filename when both are present and it decodes.
    filename = params['filename*'] ?? params['filename'];
    if (filename !== undefined && !preservePath) filename = basename(filename);
    if (isFormData && (type !== 'form-data' || (params['name'] === undefined && extendedName === undefined))) {
      return refuse('INVALID_CONTENT_DISPOSITION', `Part ${index} has Content-Disposition ${JSON.stringify(disposition.slice(0, 120))}; RFC 7578 §4.2 requires "form-data" with a name.`, name, filename);
    }
    if (hasDuplicate) {
      return refuse('INVALID_CONTENT_DISPOSITION', `Part ${index} repeats a Content-Disposition parameter.`, name, filename);
    }
  } else if (isFormData) {
    return refuse('INVALID_CONTENT_DISPOSITION', `Part ${index} has no Content-Disposition; RFC 7578 §4.2 requires one in multipart/form-data.`, undefined, undefined);
  }
  return { index, name, filename, contentType: headers['content-type'] ?? 'text/plain', headers };
}

function refuse(code: MultipartErrorCode, message: string, name: string | undefined, filename: string | undefined): PartHeadError {
  return { code, message, name, filename };
}

/**
 * The last path segment of a client's filename, across both separators (a Windows client sends
 * `C:\dir\a.txt`). '.' and '..' become ''. The result is still a client's string: never a path.
 */
export function basename(filename: string): string {
  const cut = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\'));
  const base = cut === -1 ? filename : filename.slice(cut + 1);
  return base === '.' || base === '..' ? '' : base;
}

/** Type guard: the header block was refused. */
export function isPartHeadError(value: PartHead | PartHeadError): value is PartHeadError {
  return 'code' in value;
}
