/**
 * The one place errors become HTTP answers. Every error answer has the seed's shape,
 * `{"error":{"code":<HTTP status>,"message":"..."}}`; 4xx answers other than 400 add the
 * MultipartError code as `error.type` (`code` stays the HTTP status, as the seed had it).
 */
import { MultipartError } from 'rx-multipart';

/** The seed's answer to a malformed body, kept to the byte: clients match on it. */
export const INVALID_MULTIPART = Object.freeze({ error: Object.freeze({ code: 400, message: 'Invalid multipart/form-data' }) });

/**
 * @typedef {{ error: { code: number, message: string, type?: string } }} ErrorBody
 */

/**
 * What to answer for an error of `multipart(req)` / `storeParts`.
 *
 * - a MultipartError with status 400 (malformed syntax, no boundary, a truncated body):
 *   exactly the seed's 400 answer;
 * - any other MultipartError with a 4xx status (413 limits, 415 not multipart or refused,
 *   408 timeout): that status, the error's message, and its code as `type`;
 * - anything else (a storage failure, STALLED, a bug): 500 with a generic message; the
 *   details go to the server's log, not to the client.
 *
 * Decided on `status` and `code`, never on a message: messages may change between releases.
 * @param {unknown} error
 * @returns {{ status: number, body: ErrorBody, isServerFault: boolean }}
 */
export function errorAnswer(error) {
  if (error instanceof MultipartError && error.status === 400) {
    return { status: 400, body: INVALID_MULTIPART, isServerFault: false };
  }
  if (error instanceof MultipartError && error.status > 400 && error.status < 500) {
    return { status: error.status, body: { error: { code: error.status, message: error.message, type: error.code } }, isServerFault: false };
  }
  return { status: 500, body: { error: { code: 500, message: 'Internal server error' } }, isServerFault: true };
}

/**
 * An error answer that is not about a body: 404, 405, 503.
 * @param {number} status
 * @param {string} message
 * @returns {ErrorBody}
 */
export function plainError(status, message) {
  return { error: { code: status, message } };
}
