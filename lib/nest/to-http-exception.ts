/**
 * toHttpException: the one place a MultipartError becomes a Nest HttpException.
 */
import {
  BadRequestException,
  HttpException,
  InternalServerErrorException,
  PayloadTooLargeException,
  RequestTimeoutException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { MultipartError, type MultipartErrorCode } from '../errors.js';

/** The body of an HTTP error made from a MultipartError: Nest's usual shape plus the `code`. @publicApi */
export interface MultipartErrorBody {
  readonly statusCode: number;
  readonly message: string;
  /** The MultipartError's code, e.g. 'LIMIT_FILE_SIZE'. */
  readonly code: MultipartErrorCode;
  /** The status phrase, as in Nest's own error bodies. */
  readonly error: string;
}

/**
 * Maps an upload error to the HttpException Nest should answer with. Matches on `code`, never on
 * the message (messages name the part and may change between releases):
 * - `LIMIT_*` → PayloadTooLargeException (413)
 * - `NOT_MULTIPART`, `FILE_REJECTED`, `UNSUPPORTED_TRANSFER_ENCODING` (status 415) → UnsupportedMediaTypeException (415)
 * - malformed bodies (status 400: boundary, delimiter, header, disposition, unexpected end) → BadRequestException (400)
 * - `TIMEOUT` → RequestTimeoutException (408)
 * - the 500s (STALLED, PART_CONSUMED ...), server-side faults → InternalServerErrorException, with a generic message
 *
 * The body is `{ statusCode, message, code, error }`, the MultipartError is the exception's `cause`.
 * Anything that is not a MultipartError (an HttpException, a storage's own error) is returned
 * unchanged, for Nest's exception filters.
 *
 * @param error what an upload failed with.
 * @returns the HttpException, or `error` itself.
 * @example
 * catchError((error) => throwError(() => toHttpException(error)))
 */
export function toHttpException(error: MultipartError): HttpException;
export function toHttpException<T>(error: T): HttpException | T;
export function toHttpException(error: unknown): unknown {
  if (!(error instanceof MultipartError)) return error;
  const options = { cause: error };
  const { code, status } = error;
  if (code.startsWith('LIMIT_')) return new PayloadTooLargeException(body(error, 413, 'Payload Too Large'), options);
  if (status === 415) return new UnsupportedMediaTypeException(body(error, 415, 'Unsupported Media Type'), options);
  if (code === 'TIMEOUT') return new RequestTimeoutException(body(error, 408, 'Request Timeout'), options);
  if (status === 400) return new BadRequestException(body(error, 400, 'Bad Request'), options);
  if (status >= 500) {
    // Our fault, not the client's: the details are for the log (the cause), not the answer.
    return new InternalServerErrorException({ statusCode: status, message: 'Internal server error', code, error: 'Internal Server Error' } satisfies MultipartErrorBody, options);
  }
  return new HttpException(body(error, status, error.name), status, options);
}

function body(error: MultipartError, statusCode: number, phrase: string): MultipartErrorBody {
  return { statusCode, message: error.message, code: error.code, error: phrase };
}
