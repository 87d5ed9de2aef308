/** multipart(req) and fromEvent(req, 'data') against real requests over loopback. */
import { request, type IncomingMessage } from 'node:http';
import { concatMap, defer, fromEvent, lastValueFrom, map, retry, toArray, type Observable } from 'rxjs';
import { MultipartError, multipart, parseMultipart, type Part } from '../../lib/index';
import { answer, startServer, type TestServer } from '../support/http';
import { BOUNDARY, CONTENT_TYPE, partHead } from '../support/form-body';

interface Seen { name: string; filename: string | undefined; contentType: string; text: string }

const readAll = (parts$: Observable<Part>): Promise<Seen[]> =>
  lastValueFrom(parts$.pipe(
    concatMap((part) => part.body$.pipe(toArray(), map((chunks) => ({ name: part.name, filename: part.filename, contentType: part.contentType, text: Buffer.concat(chunks).toString() })))),
    toArray(),
  ));

describe('multipart(req)', () => {
  let server: TestServer;
  // What the handler under test does with each request; set per test.
  let handle: (req: IncomingMessage) => Promise<unknown>;
  let outcomes: Array<Promise<unknown>>;

  beforeAll(async () => {
    server = await startServer((req, res) => {
      const outcome = handle(req).then(
        (value) => (answer(res, 200, value), value),
        (error: unknown) => {
          answer(res, error instanceof MultipartError ? error.status : 500, { code: (error as MultipartError).code });
          throw error;
        },
      );
      outcomes.push(outcome.catch(() => undefined));
      outcome.catch(() => undefined);
    });
  });
  beforeEach(() => {
    outcomes = [];
    handle = (req) => readAll(multipart(req));
  });
  afterAll(() => server.close());

  it('should parse a FormData upload from fetch into its parts, in order', async () => {
    const form = new FormData();
    form.append('title', 'Holiday "2026"');
    form.append('photo', new Blob([Buffer.from('PNG bytes')], { type: 'image/png' }), 'beach.png');
    form.append('note', 'ünïcödé');
    form.append('doc', new Blob(['x'.repeat(300_000)], { type: 'text/plain' }), 'notes.txt');
    const response = await fetch(`${server.url}/upload`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    const parts = (await response.json()) as Seen[];
    expect(parts.map((part) => [part.name, part.filename, part.contentType])).toEqual([
      ['title', undefined, 'text/plain'],
      ['photo', 'beach.png', 'image/png'],
      ['note', undefined, 'text/plain'],
      ['doc', 'notes.txt', 'text/plain'],
    ]);
    expect(parts[0]!.text).toBe('Holiday "2026"');
    expect(parts[2]!.text).toBe('ünïcödé');
    expect(parts[3]!.text).toBe('x'.repeat(300_000));
  });

  it('should answer NOT_MULTIPART (415) for a request without Content-Type', async () => {
    const response = await fetch(`${server.url}/upload`, { method: 'POST', body: new Uint8Array([1, 2, 3]) });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ code: 'NOT_MULTIPART' });
  });

  it('should report a client that goes away mid-body as UNEXPECTED_END, and keep serving', async () => {
    const failed = new Promise<unknown>((resolve) => {
      handle = (req) => {
        const parse = readAll(multipart(req));
        parse.catch(resolve);
        return parse;
      };
    });
    const req = request({ port: server.port, host: '127.0.0.1', method: 'POST', headers: { 'content-type': CONTENT_TYPE, 'content-length': 10_000_000 } });
    req.on('error', () => undefined);
    req.write(partHead({ name: 'big', filename: 'big.bin' }));
    req.write(Buffer.alloc(200_000, 7));
    setTimeout(() => req.destroy(), 50);
    const error = await failed;
    expect(error).toBeInstanceOf(MultipartError);
    expect(error).toMatchObject({ code: 'UNEXPECTED_END', status: 400 });

    handle = (req) => readAll(multipart(req));
    const form = new FormData();
    form.append('after', 'still serving');
    const response = await fetch(`${server.url}/upload`, { method: 'POST', body: form });
    expect(await response.json()).toEqual([{ name: 'after', contentType: 'text/plain', text: 'still serving' }]);
  });

  it('should refuse to replay a request body under retry, with SOURCE_CONSUMED', async () => {
    let subscriptions = 0;
    handle = (req) => {
      const parts$ = multipart(req);
      return readAll(defer(() => (subscriptions++, parts$)).pipe(
        map((part) => {
          throw new Error(`fail after ${part.name}`);
        }),
        retry(1),
      ));
    };
    const form = new FormData();
    form.append('a', '1');
    const response = await fetch(`${server.url}/upload`, { method: 'POST', body: form });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ code: 'SOURCE_CONSUMED' });
    expect(subscriptions).toBe(2);
  });

  it('should complete fromEvent(req, "data") at the closing delimiter although fromEvent never completes', async () => {
    handle = (req) => readAll(fromEvent<Buffer>(req, 'data').pipe(parseMultipart(req.headers['content-type']!)));
    const form = new FormData();
    form.append('a', '1');
    form.append('f', new Blob(['file body']), 'f.txt');
    const response = await fetch(`${server.url}/upload`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Seen[]).map((part) => part.text)).toEqual(['1', 'file body']);
  });

  it('should parse a body sent in many small writes over a raw request', async () => {
    const body = Buffer.from(`${partHead({ name: 'a' })}hello\r\n${partHead({ name: 'b', filename: 'b.txt' })}world\r\n--${BOUNDARY}--\r\n`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ port: server.port, host: '127.0.0.1', method: 'POST', headers: { 'content-type': CONTENT_TYPE } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let at = 0; at < body.length; at += 7) req.write(body.subarray(at, at + 7));
      req.end();
    });
    expect(status).toBe(200);
    const [parts] = (await Promise.all(outcomes)) as Seen[][];
    expect(parts!.map((part) => `${part.name}=${part.text}`)).toEqual(['a=hello', 'b=world']);
  });
});
