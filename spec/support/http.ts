/** Loopback HTTP for tests: a server on a free port, closed with its connections; a raw client. */
import { createServer, request, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Closes the server and every connection still open (a hung test must not keep the worker alive). */
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1, on a port the system picks. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a request handed to {@link RequestQueue.next} did: its value, or the error it failed with. */
export type Work<T> = (req: IncomingMessage, res: ServerResponse) => Promise<T>;

/** A server whose requests go, in order of arrival, to the works the test queued for them. */
export interface RequestQueue extends TestServer {
  /**
   * Gives the next request to `work`. The client is answered 200 with the value as JSON, or the
   * error's `status` (500 when it has none) with `{ code }`; the returned promise settles the same
   * way, so a test sees the server side's own result, not only what reached the client.
   */
  next<T>(work: Work<T>): Promise<T>;
}

/** Starts a server for {@link RequestQueue.next}; a request nobody queued work for gets 503. */
export async function startRequestQueue(): Promise<RequestQueue> {
  const works: Array<(req: IncomingMessage, res: ServerResponse) => void> = [];
  const server = await startServer((req, res) => {
    const take = works.shift();
    if (take === undefined) answer(res, 503, { code: 'NO_WORK_QUEUED' });
    else take(req, res);
  });
  return {
    ...server,
    next: <T>(work: Work<T>) =>
      new Promise<T>((resolve, reject) => {
        works.push((req, res) => {
          // A synchronous throw in `work` becomes a rejection like any other failure.
          Promise.resolve()
            .then(() => work(req, res))
            .then(
              (value) => {
                answer(res, 200, value ?? null);
                resolve(value);
              },
              (error: unknown) => {
                const { status, code } = (error ?? {}) as { status?: unknown; code?: unknown };
                answer(res, typeof status === 'number' ? status : 500, { code });
                reject(error);
              },
            );
        });
      }),
  };
}

/** Sends a JSON answer, unless the response is already answered or its client gone. */
export function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(body));
}

export interface RawResponse {
  readonly status: number;
  readonly text: string;
}

/**
 * POSTs `chunks` with http.request, one `write` each (so the server sees the body cut where the
 * test cut it), and reads the whole answer. No Content-Length unless the headers give one.
 */
export function postRaw(port: number, headers: OutgoingHttpHeaders, chunks: readonly Uint8Array[]): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      readText(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), reject);
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

/**
 * Starts a POST that announces `declared` more bytes than `first` and never sends them: the test
 * cuts the connection (`destroy()`) when it chooses. The error that cut causes is swallowed.
 */
export function openUpload(port: number, contentType: string, first: Uint8Array, declared = 100_000_000): ClientRequest {
  const req = request({ host: '127.0.0.1', port, method: 'POST', headers: { 'content-type': contentType, 'content-length': first.length + declared } });
  req.on('error', () => undefined);
  req.write(first);
  return req;
}

/** The whole of a readable, as UTF-8 text. */
export async function readText(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
