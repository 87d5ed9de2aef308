/**
 * multipart(req), and fromEvent(req, 'data'), against real requests on a loopback server: fetch
 * with FormData, raw http.request bodies, clients that go away, retry, keep-alive connections.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { concatMap, defer, fromEvent, lastValueFrom, map, retry, takeUntil, tap, toArray, type Observable } from 'rxjs';
import { MultipartError, multipart, type Part } from '../../lib/index';
import { chunkBySizes, collectParts, type CollectedPart } from '../support/collect';
import { CONTENT_TYPE, formBody, partHead } from '../support/form-body';
import { openUpload, postRaw, startRequestQueue, type RequestQueue } from '../support/http';

interface Seen {
  readonly name: string;
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What the server saw of each part (JSON has no undefined: a field's filename is null). */
const seen = (parts: readonly CollectedPart[]): Seen[] =>
  parts.map((part) => ({ name: part.name, filename: part.filename ?? null, contentType: part.contentType, size: part.data.length, sha256: sha256(part.data) }));

/** Reads every part's body in order, the way a handler would. */
const readParts = (parts$: Observable<Part>): Promise<CollectedPart[]> =>
  lastValueFrom(
    parts$.pipe(
      concatMap((part) =>
        part.body$.pipe(
          toArray(),
          map((chunks) => ({ index: part.index, name: part.name, filename: part.filename, contentType: part.contentType, headers: part.headers, data: Buffer.concat(chunks) })),
        ),
      ),
      toArray(),
    ),
  );

describe('multipart(req)', () => {
  let server: RequestQueue;
  beforeAll(async () => (server = await startRequestQueue()));
  afterAll(() => server.close());

  it('should parse a FormData upload from fetch, files and fields in order, bytes intact', async () => {
    const photo = randomBytes(300_000);
    const notes = Buffer.from('line one\r\nline two\r\n--not a delimiter\r\n');
    const form = new FormData();
    form.append('title', 'Holiday "2026"');
    form.append('photo', new Blob([photo], { type: 'image/png' }), 'beach.png');
    form.append('note', 'ünïcödé');
    form.append('doc', new Blob([notes], { type: 'text/plain' }), 'notes à lire.txt');
    const parsed = server.next(async (req) => seen(await readParts(multipart(req))));
    const response = await fetch(server.url, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    const text = (value: string): Pick<Seen, 'size' | 'sha256'> => ({ size: Buffer.byteLength(value), sha256: sha256(Buffer.from(value)) });
    expect(await parsed).toEqual([
      { name: 'title', filename: null, contentType: 'text/plain', ...text('Holiday "2026"') },
      { name: 'photo', filename: 'beach.png', contentType: 'image/png', size: photo.length, sha256: sha256(photo) },
      { name: 'note', filename: null, contentType: 'text/plain', ...text('ünïcödé') },
      { name: 'doc', filename: 'notes à lire.txt', contentType: 'text/plain', size: notes.length, sha256: sha256(notes) },
    ]);
  });

  it('should parse a raw body written in many small pieces by http.request', async () => {
    const file = randomBytes(50_000);
    const body = formBody([{ name: 'a', data: 'hello' }, { name: 'b', filename: 'b.bin', contentType: 'application/octet-stream', data: file }]);
    const parsed = server.next(async (req) => seen(await readParts(multipart(req))));
    const response = await postRaw(server.port, { 'content-type': CONTENT_TYPE }, chunkBySizes(body, [1, 7, 13, 1000]));
    expect(response.status).toBe(200);
    expect(await parsed).toEqual([
      { name: 'a', filename: null, contentType: 'text/plain', size: 5, sha256: sha256(Buffer.from('hello')) },
      { name: 'b', filename: 'b.bin', contentType: 'application/octet-stream', size: file.length, sha256: sha256(file) },
    ]);
  });

  it('should answer NOT_MULTIPART with 415 when the request has no Content-Type', async () => {
    const failure = server.next((req) => readParts(multipart(req))).catch((error: unknown) => error);
    const response = await postRaw(server.port, {}, [formBody([{ name: 'a', data: '1' }])]);
    expect(await failure).toBeInstanceOf(MultipartError);
    expect(await failure).toMatchObject({ code: 'NOT_MULTIPART', status: 415 });
    expect(response).toEqual({ status: 415, text: JSON.stringify({ code: 'NOT_MULTIPART' }) });
  });

  it('should answer NOT_MULTIPART with 415 when the Content-Type is not multipart', async () => {
    const failure = server.next((req) => readParts(multipart(req))).catch((error: unknown) => error);
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await failure).toMatchObject({ code: 'NOT_MULTIPART', status: 415 });
    expect(response.status).toBe(415);
  });

  it('should error with UNEXPECTED_END naming the open file when the client goes away mid-body, and go on serving', async () => {
    let client: ClientRequest | undefined;
    const failure = server.next((req) =>
      // The first bytes of the file are in: cut the connection under the parse.
      readParts(multipart(req).pipe(tap(() => client!.destroy()))),
    ).catch((error: unknown) => error);
    client = openUpload(server.port, CONTENT_TYPE, Buffer.concat([Buffer.from(partHead({ name: 'big', filename: 'big.bin' })), Buffer.alloc(200_000, 7)]));
    const error = await failure;
    expect(error).toBeInstanceOf(MultipartError);
    expect(error).toMatchObject({ code: 'UNEXPECTED_END', status: 400, partIndex: 0, fieldName: 'big', filename: 'big.bin' });

    const parsed = server.next(async (req) => seen(await readParts(multipart(req))));
    const form = new FormData();
    form.append('after', 'still serving');
    expect((await fetch(server.url, { method: 'POST', body: form })).status).toBe(200);
    expect((await parsed).map((part) => part.name)).toEqual(['after']);
  });

  it('should error with UNEXPECTED_END when the client goes away while a slow sink keeps the request paused', async () => {
    let client: ClientRequest | undefined;
    // Resolved once the client has gone: only then does the sink finish its first write.
    let gone!: () => void;
    const isGone = new Promise<void>((resolve) => (gone = resolve));
    let written = 0;
    const failure = server.next((req) => {
      // Paused by the parse, the client is held back by TCP. Now it gives up.
      req.once('pause', () => client!.once('close', gone).destroy());
      return lastValueFrom(
        multipart(req, { highWaterMark: 64 * 1024 }).pipe(
          concatMap((part) =>
            part.writeBody(async (chunk) => {
              if (written === 0) await isGone;
              written += chunk.length;
            }),
          ),
        ),
      );
    }).catch((error: unknown) => error);
    client = openUpload(server.port, CONTENT_TYPE, Buffer.from(partHead({ name: 'big', filename: 'big.bin' })));
    // More than the high-water mark, less than the socket buffers: written without waiting.
    client.write(Buffer.alloc(1024 * 1024, 7));
    // A paused request reads nothing, so it learns that its client left only when the sink makes
    // progress and the request flows again (or, for a sink that never does, by STALLED).
    expect(await failure).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(written).toBeGreaterThan(0);
  }, 10_000);

  it('should error with SOURCE_CONSUMED under retry, never replaying a part', async () => {
    const names: string[] = [];
    let subscriptions = 0;
    const failure = server.next((req) => {
      const parts$ = multipart(req);
      return readParts(
        defer(() => (subscriptions++, parts$)).pipe(
          tap((part) => names.push(part.name)),
          // A failure after the first part: retry subscribes again, which must not replay it.
          map((part) => {
            throw new Error(`handler failed after ${part.name}`);
          }),
          retry(1),
        ),
      );
    }).catch((error: unknown) => error);
    const form = new FormData();
    form.append('a', '1');
    form.append('b', '2');
    const response = await fetch(server.url, { method: 'POST', body: form });
    expect(await failure).toBeInstanceOf(MultipartError);
    expect(await failure).toMatchObject({ code: 'SOURCE_CONSUMED' });
    expect(response.status).toBe(500);
    expect(subscriptions).toBe(2);
    expect(names).toEqual(['a']);
  });

  it('should drain the rest of a request it stopped reading, so a keep-alive connection serves the next one', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // An epilogue after the closing delimiter: the parse completes before it, the request does not.
    const body = Buffer.concat([formBody([{ name: 'f', filename: 'f.bin', data: Buffer.alloc(300_000, 1) }]), Buffer.alloc(500_000, 0x20)]);
    const post = (): Promise<{ reused: boolean; size: number }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', agent, headers: { 'content-type': CONTENT_TYPE, 'content-length': body.length } }, (res) => {
          res.resume().on('end', () => resolve({ reused: req.reusedSocket, size: Number(res.headers['x-size']) }));
        });
        req.on('error', reject);
        req.end(body);
      });
    // Answered as soon as the parts are read, on a connection kept open.
    const work = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const [part] = await readParts(multipart(req, { highWaterMark: 64 * 1024 }));
      res.writeHead(200, { 'x-size': part!.data.length }).end();
    };
    try {
      const first = server.next(work);
      expect(await post()).toEqual({ reused: false, size: 300_000 });
      await first;
      const second = server.next(work);
      expect(await post()).toEqual({ reused: true, size: 300_000 });
      await second;
    } finally {
      agent.destroy();
    }
  }, 10_000);
});

describe('fromEvent(req, "data") as the source', () => {
  let server: RequestQueue;
  beforeAll(async () => (server = await startRequestQueue()));
  afterAll(() => server.close());

  const form = (): FormData => {
    const data = new FormData();
    data.append('a', '1');
    data.append('f', new Blob(['file body']), 'f.txt');
    return data;
  };

  it('should complete at the closing delimiter although fromEvent never completes', async () => {
    const parsed = server.next((req) => collectParts(fromEvent<Buffer>(req, 'data'), req.headers['content-type']!));
    expect((await fetch(server.url, { method: 'POST', body: form() })).status).toBe(200);
    expect((await parsed).map((part) => [part.name, part.data.toString()])).toEqual([['a', '1'], ['f', 'file body']]);
  });

  it("should parse the body with takeUntil(fromEvent(req, 'end'))", async () => {
    const parsed = server.next((req) => collectParts(fromEvent<Buffer>(req, 'data').pipe(takeUntil(fromEvent(req, 'end'))), req.headers['content-type']!));
    expect((await fetch(server.url, { method: 'POST', body: form() })).status).toBe(200);
    expect((await parsed).map((part) => [part.name, part.data.toString()])).toEqual([['a', '1'], ['f', 'file body']]);
  });

  it("should error with UNEXPECTED_END when paired with takeUntil(fromEvent(req, 'close')) and the client goes away", async () => {
    let client: ClientRequest | undefined;
    const failure = server.next((req) =>
      collectParts(
        fromEvent<Buffer>(req, 'data').pipe(
          takeUntil(fromEvent(req, 'close')),
          tap(() => client!.destroy()),
        ),
        req.headers['content-type']!,
      ),
    ).catch((error: unknown) => error);
    client = openUpload(server.port, CONTENT_TYPE, Buffer.concat([Buffer.from(partHead({ name: 'big', filename: 'big.bin' })), Buffer.alloc(100_000, 7)]));
    expect(await failure).toMatchObject({ code: 'UNEXPECTED_END', partIndex: 0 });
  });
});
