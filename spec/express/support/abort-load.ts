/**
 * A load of uploads over loopback HTTP where some clients go away halfway through their body: what
 * a public upload endpoint meets every day, at a concurrency that keeps the disk and the event loop
 * busy. Each upload is one file in a `file` field, its first 16 bytes naming it, the rest shared.
 */
import { request, type IncomingMessage } from 'node:http';
import { BOUNDARY } from '../../support/form-body';

/** How the load is made. */
export interface AbortLoad {
  readonly url: string;
  readonly uploads: number;
  readonly concurrency: number;
  readonly fileSize: number;
  /** Uploads with `index % abortEvery === abortEvery - 1` stop halfway through their file. */
  readonly abortEvery: number;
}

/** What one upload came to. */
export type UploadOutcome =
  | { readonly index: number; readonly kind: 'answered'; readonly status: number; readonly body: string }
  | { readonly index: number; readonly kind: 'aborted' }
  | { readonly index: number; readonly kind: 'failed'; readonly error: string };

const CHUNK = 256 * 1024;

/** The bytes of upload `index`: its number in the first 16 bytes, then `shared`. */
export function fileBytes(index: number, shared: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.write(`upload-${index}`.padEnd(16, '.'));
  return Buffer.concat([head, shared.subarray(16)]);
}

/** A shared body for the files: a pattern the parse cannot mistake for a delimiter. */
export function sharedBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 11)) & 0xff;
  return bytes;
}

/** Runs the load: `concurrency` clients at a time take the next upload until all are done. */
export async function runAbortLoad(load: AbortLoad, shared: Buffer): Promise<UploadOutcome[]> {
  const outcomes: UploadOutcome[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < load.uploads) {
      const index = next++;
      outcomes.push(await sendOne(load, index, fileBytes(index, shared)));
    }
  };
  await Promise.all(Array.from({ length: load.concurrency }, client));
  return outcomes.sort((a, b) => a.index - b.index);
}

function sendOne(load: AbortLoad, index: number, file: Buffer): Promise<UploadOutcome> {
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="upload-${index}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  const isAborting = index % load.abortEvery === load.abortEvery - 1;
  return new Promise<UploadOutcome>((resolve) => {
    let isSettled = false;
    const settle = (outcome: UploadOutcome): void => {
      if (isSettled) return;
      isSettled = true;
      resolve(outcome);
    };
    const req = request(`${load.url}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': head.length + file.length + tail.length },
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => settle({ index, kind: 'answered', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => settle({ index, kind: 'failed', error: error.message }));
    });
    req.on('error', (error) => settle(isAborting ? { index, kind: 'aborted' } : { index, kind: 'failed', error: error.message }));
    const write = async (): Promise<void> => {
      req.write(head);
      const stop = isAborting ? Math.floor(file.length / 2) : file.length;
      for (let at = 0; at < stop && !req.destroyed; at += CHUNK) {
        if (!req.write(file.subarray(at, Math.min(stop, at + CHUNK)))) await new Promise((resolve) => req.once('drain', resolve));
      }
      if (isAborting) {
        req.destroy();
        settle({ index, kind: 'aborted' });
      } else {
        req.end(tail);
      }
    };
    void write();
  });
}
