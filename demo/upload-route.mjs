/**
 * POST /upload: every file streamed into storage as it arrives, in body order, with the
 * request paused while the storage is behind (backpressure down to the client's TCP window).
 * All or nothing: any failure, a client that goes away, or a shutdown leaves nothing stored.
 */
import { Observable, Subject, toArray } from 'rxjs';
import { MultipartError, multipart, storeParts } from 'rx-multipart';
import { errorAnswer, plainError } from './error-answer.mjs';
import { sendJson } from './send-json.mjs';

/**
 * @typedef {object} UploadSettings
 * @property {import('rx-multipart').FileStorage<any>} storage
 * @property {import('rx-multipart').Limits} limits merged over the library's defaults key by key.
 * @property {number} storageTimeoutMs
 * @property {(error: unknown, where: string) => void} report logs a server fault.
 */

// The error a shutdown ends an upload with; answered 503 so that the client may try again.
class ShuttingDown extends Error {}

/**
 * Handles one upload and settles the exchange after the answer and any cleanup.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {import('./exchange.mjs').Exchange} exchange
 * @param {UploadSettings} settings
 */
export function handleUpload(req, res, exchange, settings) {
  // Emits once at shutdown, after the grace period: the upload then fails like any other
  // (open file aborted, stored ones removed) before it is answered.
  const shutdown$ = new Subject();
  exchange.abort = () => shutdown$.next(undefined);

  multipart(req, { limits: settings.limits })
    .pipe(
      failWhen(shutdown$, () => new ShuttingDown('The server is shutting down.')),
      storeParts(settings.storage, { timeout: settings.storageTimeoutMs }),
      toArray(),
    )
    .subscribe({
      next: (parts) => void answerStored(req, res, exchange, settings, parts),
      error: (error) => answerFailed(req, res, exchange, settings, error),
    });
  // After the subscription, which has made the request flow: a 'data' listener added before it
  // would start reading the body before the parser listens. Also reads the body left unread by
  // an early answer (a failure before the end), when the exchange lingers.
  req.on('data', (chunk) => (exchange.bytesIn += chunk.length));
}

/**
 * Answers 200 with the ids in body order, or removes the files when nobody is left to tell.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {import('./exchange.mjs').Exchange} exchange
 * @param {UploadSettings} settings
 * @param {import('rx-multipart').StoredPart<any>[]} parts
 */
async function answerStored(req, res, exchange, settings, parts) {
  const files = /** @type {import('rx-multipart').StoredFilePart<any>[]} */ (parts.filter((part) => part.kind === 'file'));
  if (isGone(req, res)) {
    // The body arrived whole but the client left before its answer: the ids would be lost,
    // so the files are, like after any failure.
    await Promise.allSettled(files.map((file) => settings.storage.remove(file.id)));
  } else {
    exchange.files = files.length;
    sendJson(res, exchange, 200, {
      result: {
        fileIds: files.map((file) => String(file.id)),
        fields: fieldsOf(parts),
        files: files.map((file) => ({
          id: String(file.id),
          fieldName: file.fieldName,
          filename: file.filename,
          contentType: file.contentType,
          size: file.size,
          sha256: file.sha256,
        })),
      },
    });
  }
  exchange.settle();
}

/**
 * Answers a failure; storeParts has cleaned up before passing the error on.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {import('./exchange.mjs').Exchange} exchange
 * @param {UploadSettings} settings
 * @param {unknown} error
 */
function answerFailed(req, res, exchange, settings, error) {
  if (error instanceof ShuttingDown) {
    // The body is still coming and will not be read: close the connection after the answer.
    sendJson(res, exchange, 503, plainError(503, error.message), { Connection: 'close', 'Retry-After': '5' });
  } else if (!(isGone(req, res) && error instanceof MultipartError && error.code === 'UNEXPECTED_END')) {
    const answer = errorAnswer(error);
    if (answer.isServerFault) settings.report(error, `${req.method} ${req.url}`);
    sendJson(res, exchange, answer.status, answer.body);
  }
  exchange.settle();
}

/**
 * Mirrors the source, and errors with `makeError()` when `notifier$` emits (which unsubscribes
 * the source). Unlike merging a throwing notifier in, it completes when the source does.
 * @template T
 * @param {import('rxjs').Observable<unknown>} notifier$
 * @param {() => Error} makeError
 * @returns {import('rxjs').MonoTypeOperatorFunction<T>}
 */
function failWhen(notifier$, makeError) {
  return (source) =>
    new Observable((subscriber) => {
      subscriber.add(notifier$.subscribe(() => subscriber.error(makeError())));
      subscriber.add(
        source.subscribe({
          next: (value) => subscriber.next(value),
          error: (error) => subscriber.error(error),
          complete: () => subscriber.complete(),
        }),
      );
    });
}

/**
 * `result.fields`: each field's value by name; a name sent more than once has all its values,
 * in body order, in an array.
 * @param {import('rx-multipart').StoredPart<any>[]} parts
 * @returns {Record<string, string | string[]>}
 */
function fieldsOf(parts) {
  /** @type {Record<string, string | string[]>} */
  const fields = Object.create(null);
  for (const part of parts) {
    if (part.kind !== 'field') continue;
    const seen = fields[part.name];
    fields[part.name] = seen === undefined ? part.value : [...(Array.isArray(seen) ? seen : [seen]), part.value];
  }
  return fields;
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
function isGone(req, res) {
  return res.destroyed || req.socket.destroyed;
}
