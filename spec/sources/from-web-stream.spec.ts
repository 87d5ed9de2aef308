/**
 * fromWebStream against real Web streams: fetch response bodies from a loopback server (among them
 * a streamed multipart/mixed answer read part by part as it arrives, as GraphQL incremental
 * delivery sends it), and a server's request seen through Readable.toWeb.
 */
import { once } from 'node:events';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { concatMap, first, lastValueFrom, map, scan, take, tap, toArray } from 'rxjs';
import { fromWebStream, MultipartError, parseMultipart } from '../../lib/index';
import { chunkBySizes, collectParts } from '../support/collect';
import { BOUNDARY, CONTENT_TYPE, formBody, partHead } from '../support/form-body';
import { openUpload, startRequestQueue, startServer, type RequestQueue, type TestServer } from '../support/http';

const MiB = 1024 * 1024;

const body = formBody([
  { name: 'a', data: 'one' },
  { name: 'f', filename: 'f.bin', contentType: 'application/octet-stream', data: Buffer.alloc(100_000, 9) },
]);

/** What a route of the test server does with its response. */
type Route = (res: ServerResponse) => void | Promise<void>;

/** Writes `data`, waiting for 'drain' when the socket is full: what a well-behaved server does. */
async function send(res: ServerResponse, data: Buffer | string): Promise<void> {
  if (!res.write(data)) await once(res, 'drain');
}

describe('fromWebStream', () => {
  let server: TestServer;
  // Routes by path, set by each test.
  const routes = new Map<string, Route>();

  beforeAll(async () => {
    server = await startServer((req, res) => {
      const route = routes.get(req.url ?? '');
      if (route === undefined) return void res.writeHead(404).end();
      // A route that fails after its headers cuts the connection; nothing is left unhandled.
      void Promise.resolve(route(res)).catch(() => res.destroy());
    });
  });
  afterEach(() => routes.clear());
  afterAll(() => server.close());

  /** GETs `path` served by `route`. */
  const fetchRoute = (path: string, route: Route): Promise<Response> => {
    routes.set(path, route);
    return fetch(`${server.url}${path}`);
  };
  const formResponse: Route = async (res) => {
    res.writeHead(200, { 'content-type': CONTENT_TYPE });
    for (const chunk of chunkBySizes(body, [1, 40, 3000, 65_536])) await send(res, chunk);
    res.end();
  };

  describe('on a fetch response body', () => {
    it('should emit the chunks of the body, so its parts parse', async () => {
      const response = await fetchRoute('/form', formResponse);
      const parts = await collectParts(fromWebStream(response.body!), response.headers.get('content-type')!);
      expect(parts.map((part) => [part.name, part.filename, part.data.length])).toEqual([['a', undefined, 3], ['f', 'f.bin', 100_000]]);
      expect(parts[1]!.data.equals(Buffer.alloc(100_000, 9))).toBe(true);
    });

    it('should refuse a locked body with SOURCE_CONSUMED and emit nothing', async () => {
      const response = await fetchRoute('/form', formResponse);
      response.body!.getReader();
      const emitted: Uint8Array[] = [];
      const error = await lastValueFrom(fromWebStream(response.body!).pipe(tap((chunk) => emitted.push(chunk)))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MultipartError);
      expect(error).toMatchObject({ code: 'SOURCE_CONSUMED', status: 500 });
      expect(emitted).toEqual([]);
    });

    it('should error a second subscription with SOURCE_CONSUMED instead of replaying the body', async () => {
      const response = await fetchRoute('/form', formResponse);
      const chunks$ = fromWebStream(response.body!);
      await collectParts(chunks$, CONTENT_TYPE);
      await expect(lastValueFrom(chunks$)).rejects.toMatchObject({ code: 'SOURCE_CONSUMED' });
    });

    it('should cancel the body when the subscriber leaves, so the server sees its response closed', async () => {
      let closedEarly!: (value: boolean) => void;
      const closed = new Promise<boolean>((resolve) => (closedEarly = resolve));
      const response = await fetchRoute('/endless', async (res) => {
        res.on('close', () => closedEarly(!res.writableFinished));
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        // Never ends by itself: only a client that cancels stops it.
        while (!res.destroyed) await send(res, Buffer.alloc(64 * 1024, 1));
      });
      const chunks = await lastValueFrom(fromWebStream(response.body!).pipe(take(3), toArray()));
      expect(chunks).toHaveLength(3);
      expect(await closed).toBe(true);
    }, 10_000);

    it('should release the body once the parse reads the closing delimiter, though the server never ends it', async () => {
      let closedEarly!: (value: boolean) => void;
      const closed = new Promise<boolean>((resolve) => (closedEarly = resolve));
      const response = await fetchRoute('/epilogue', async (res) => {
        res.on('close', () => closedEarly(!res.writableFinished));
        res.writeHead(200, { 'content-type': CONTENT_TYPE });
        await send(res, body);
        // An epilogue that never ends (RFC 2046 §5.1.1: it is to be ignored).
        while (!res.destroyed) await send(res, Buffer.alloc(16 * 1024, 0x20));
      });
      const parts = await collectParts(fromWebStream(response.body!), CONTENT_TYPE);
      expect(parts.map((part) => part.name)).toEqual(['a', 'f']);
      expect(await closed).toBe(true);
    }, 10_000);

    it('should error with UNEXPECTED_END when the response ends before the closing delimiter', async () => {
      const response = await fetchRoute('/truncated', (res) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPE });
        res.end(body.subarray(0, body.length - 20));
      });
      const error = await collectParts(fromWebStream(response.body!), CONTENT_TYPE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MultipartError);
      expect(error).toMatchObject({ code: 'UNEXPECTED_END', status: 400, partIndex: 1 });
    });

    it('should error with UNEXPECTED_END, carrying the cause and naming the open part, when the server cuts the connection mid-body', async () => {
      const response = await fetchRoute('/cut', async (res) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPE });
        await send(res, body.subarray(0, 50_000));
        res.socket!.destroy();
      });
      const error = await collectParts(fromWebStream(response.body!), CONTENT_TYPE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MultipartError);
      expect(error).toMatchObject({ code: 'UNEXPECTED_END', status: 400, partIndex: 1, fieldName: 'f', filename: 'f.bin' });
      // fetch's own error (its class comes from Node's realm, not the test's, so no instanceof).
      expect((error as Error).cause).toHaveProperty('message', 'terminated');
    });

    it('should pass any other error of the stream on, which the parse reports as SOURCE_ERROR', async () => {
      const failing = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(body.subarray(0, 1000)));
          controller.error(new RangeError('decoder failed'));
        },
      });
      const error = await collectParts(fromWebStream(failing), CONTENT_TYPE).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SOURCE_ERROR', status: 400 });
      expect((error as Error).cause).toBeInstanceOf(RangeError);
    });

    it('should slow the server through TCP while a slow sink holds bytes, instead of reading ahead', async () => {
      const size = 64 * MiB;
      // Bytes the server's socket accepted, and bytes the sink has finished with.
      let sent = 0;
      let consumed = 0;
      // Most bytes sent and not yet consumed, seen at any write of the sink.
      let mostAhead = 0;
      const response = await fetchRoute('/large', async (res) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPE });
        await send(res, partHead({ name: 'big', filename: 'big.bin' }));
        const block = Buffer.alloc(256 * 1024, 7);
        while (sent < size) {
          await send(res, block);
          sent += block.length;
        }
        res.end(`\r\n--${BOUNDARY}--\r\n`);
      });
      const written = await lastValueFrom(
        fromWebStream(response.body!).pipe(
          parseMultipart(CONTENT_TYPE, { limits: { fileSize: size } }),
          concatMap((part) =>
            part.writeBody(async (chunk) => {
              mostAhead = Math.max(mostAhead, sent - consumed);
              // About 50 MiB/s: far slower than loopback, which then has to wait.
              await sleep(Math.ceil(chunk.length / (50 * 1024)));
              consumed += chunk.length;
            }),
          ),
        ),
      );
      console.log(`fetch body, 64 MiB to a slow sink: at most ${(mostAhead / MiB).toFixed(1)} MiB sent ahead of the sink`);
      expect(written).toBe(size);
      // Socket buffers and fetch's own queue hold a few MiB (5.6 measured); a source that reads on
      // while paused let the server run 32 MiB ahead (measured with the pause made a no-op).
      expect(mostAhead).toBeLessThan(16 * MiB);
    }, 30_000);
  });

  describe('on a request seen through Readable.toWeb', () => {
    let uploads: RequestQueue;
    beforeAll(async () => (uploads = await startRequestQueue()));
    afterAll(() => uploads.close());

    const webBody = (req: IncomingMessage): ReadableStream<Uint8Array> => Readable.toWeb(req) as ReadableStream<Uint8Array>;

    it('should parse a FormData upload from fetch', async () => {
      const parsed = uploads.next((req) => collectParts(fromWebStream(webBody(req)), req.headers['content-type']!));
      const form = new FormData();
      form.append('title', 'Holiday');
      form.append('photo', new Blob([Buffer.alloc(200_000, 3)], { type: 'image/png' }), 'beach.png');
      const response = await fetch(uploads.url, { method: 'POST', body: form });
      expect(response.status).toBe(200);
      const parts = await parsed;
      expect(parts.map((part) => [part.name, part.filename, part.contentType, part.data.length])).toEqual([
        ['title', undefined, 'text/plain', 7],
        ['photo', 'beach.png', 'image/png', 200_000],
      ]);
    });

    it('should error with UNEXPECTED_END naming the open part when the client goes away mid-body', async () => {
      let client: ClientRequest | undefined;
      const failure = uploads.next((req) =>
        collectParts(fromWebStream(webBody(req)).pipe(tap(() => client!.destroy())), CONTENT_TYPE),
      ).catch((error: unknown) => error);
      client = openUpload(uploads.port, CONTENT_TYPE, Buffer.concat([Buffer.from(partHead({ name: 'f', filename: 'f.bin' })), Buffer.alloc(10_000, 1)]));
      expect(await failure).toBeInstanceOf(MultipartError);
      expect(await failure).toMatchObject({ code: 'UNEXPECTED_END', status: 400, partIndex: 0, fieldName: 'f', filename: 'f.bin' });
    });
  });

  describe('on a streamed multipart/mixed response (incremental delivery)', () => {
    // The client has acknowledged step n: the server may go on.
    let acknowledged: Array<() => void>;
    let acks: Array<Promise<void>>;
    beforeEach(() => {
      acknowledged = [];
      acks = [0, 1, 2].map((n) => new Promise<void>((resolve) => (acknowledged[n] = resolve)));
    });
    /** The client's acknowledgement of step n: a second request, while the first is still open. */
    const ack = async (n: number): Promise<void> => {
      routes.set(`/ack/${n}`, (res) => {
        acknowledged[n]!();
        res.end();
      });
      await (await fetch(`${server.url}/ack/${n}`)).arrayBuffer();
    };
    const json = (value: unknown): string => `\r\ncontent-type: application/json; charset=utf-8\r\n\r\n${JSON.stringify(value)}\r\n---`;
    const payloads = [
      { data: { hero: { name: 'R2-D2' } }, hasNext: true },
      { incremental: [{ data: { friends: ['Luke'] }, path: ['hero'] }], hasNext: true },
      { incremental: [{ data: { age: 33 }, path: ['hero'] }], hasNext: false },
    ];

    it('should emit each part, body complete, before the server sends the next one', async () => {
      const response = await fetchRoute('/graphql', async (res) => {
        res.writeHead(200, { 'content-type': 'multipart/mixed; boundary="-"' });
        // Each payload with the delimiter after it, as GraphQL servers send it: the part is whole.
        await send(res, '\r\n---');
        for (const [n, payload] of payloads.entries()) {
          await send(res, json(payload));
          // Nothing more until the client has read this part: a client that buffered the
          // response would wait for the end forever (the test then fails by its timeout).
          await acks[n];
        }
        res.end('--\r\n');
      });
      const received = await lastValueFrom(
        fromWebStream(response.body!).pipe(
          parseMultipart(response.headers.get('content-type')!),
          concatMap((part) =>
            part.body$.pipe(
              toArray(),
              map((chunks) => JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown),
              concatMap(async (payload) => (await ack(part.index), payload)),
            ),
          ),
          toArray(),
        ),
      );
      expect(received).toEqual(payloads);
    }, 10_000);

    it("should emit a part's first bytes before the server sends the rest of that part", async () => {
      const response = await fetchRoute('/halves', async (res) => {
        res.writeHead(200, { 'content-type': 'multipart/mixed; boundary="-"' });
        await send(res, '\r\n---\r\ncontent-type: text/plain\r\n\r\nfirst half;');
        await acks[0];
        res.end(' second half\r\n-----\r\n');
      });
      const text = await lastValueFrom(
        fromWebStream(response.body!).pipe(
          parseMultipart(response.headers.get('content-type')!),
          concatMap((part) =>
            part.body$.pipe(
              map((chunk) => chunk.toString('utf8')),
              // Acknowledge the first half once it is all here; the second is sent only then.
              scan((seen, piece) => seen + piece, ''),
              tap((seen) => void (seen === 'first half;' && ack(0))),
            ),
          ),
          first((seen) => seen.endsWith('second half')),
        ),
      );
      expect(text).toBe('first half; second half');
    }, 10_000);
  });
});
