/** fromWebStream: Web streams, and a streamed multipart/mixed response read by fetch as it arrives. */
import { concatMap, firstValueFrom, from, lastValueFrom, map, take, toArray } from 'rxjs';
import { fromReadable, fromWebStream, MultipartError, parseMultipart } from '../../lib/index';
import { startServer, type TestServer } from '../support/http';
import { Readable } from 'node:stream';
import { CONTENT_TYPE, formBody } from '../support/form-body';

const body = formBody([{ name: 'a', data: 'one' }, { name: 'f', filename: 'f.bin', data: Buffer.alloc(100_000, 9) }]);

function streamOf(chunks: Buffer[], onCancel?: () => void): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at < chunks.length) controller.enqueue(new Uint8Array(chunks[at++]!));
      else controller.close();
    },
    cancel: () => onCancel?.(),
  });
}

const sizes = (parts$: ReturnType<ReturnType<typeof parseMultipart>>): Promise<Array<[string, number]>> =>
  lastValueFrom(parts$.pipe(concatMap((part) => part.body$.pipe(toArray(), map((chunks): [string, number] => [part.name, Buffer.concat(chunks).length]))), toArray()));

describe('fromWebStream', () => {
  it('should parse a ReadableStream of Uint8Arrays', async () => {
    const chunks = [body.subarray(0, 10), body.subarray(10, 50_000), body.subarray(50_000)];
    expect(await sizes(fromWebStream(streamOf(chunks)).pipe(parseMultipart(CONTENT_TYPE)))).toEqual([['a', 3], ['f', 100_000]]);
  });

  it('should refuse a locked stream with SOURCE_CONSUMED', async () => {
    const stream = streamOf([body]);
    stream.getReader();
    const error = await lastValueFrom(fromWebStream(stream)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MultipartError);
    expect(error).toMatchObject({ code: 'SOURCE_CONSUMED' });
  });

  it('should cancel the stream when the subscriber leaves', async () => {
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(1024)),
      cancel: () => void (cancelled = true),
    });
    await firstValueFrom(fromWebStream(endless).pipe(take(3), toArray()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(cancelled).toBe(true);
  });
});

describe('fromReadable and AsyncIterable sources', () => {
  it('should parse a Node Readable', async () => {
    expect(await sizes(fromReadable(Readable.from([body.subarray(0, 99), body.subarray(99)])).pipe(parseMultipart(CONTENT_TYPE)))).toEqual([['a', 3], ['f', 100_000]]);
  });

  it('should error a second subscription of the same Readable with SOURCE_CONSUMED', async () => {
    const source = fromReadable(Readable.from([body]));
    await sizes(source.pipe(parseMultipart(CONTENT_TYPE)));
    await expect(lastValueFrom(source)).rejects.toMatchObject({ code: 'SOURCE_CONSUMED', status: 500 });
  });

  it('should parse an AsyncIterable through rxjs from()', async () => {
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let at = 0; at < body.length; at += 4096) {
        await new Promise((resolve) => setImmediate(resolve));
        yield body.subarray(at, at + 4096);
      }
    }
    expect(await sizes(from(chunks()).pipe(parseMultipart(CONTENT_TYPE)))).toEqual([['a', 3], ['f', 100_000]]);
  });
});

describe('a streamed multipart/mixed response (incremental delivery)', () => {
  let server: TestServer;
  // Resolved when the client says it has seen the first part: only then is the second one sent.
  let acknowledged: () => void;

  beforeAll(async () => {
    server = await startServer((req, res) => {
      if (req.url === '/ack') {
        acknowledged();
        res.end('ok');
        return;
      }
      const seen = new Promise<void>((resolve) => (acknowledged = resolve));
      res.writeHead(200, { 'content-type': 'multipart/mixed; boundary="-"' });
      res.write('\r\n---\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{"data":{"hero":"R2-D2"},"hasNext":true}\r\n---');
      void seen.then(() => res.end('\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{"incremental":[{"data":{"friends":3}}],"hasNext":false}\r\n-----\r\n'));
    });
  });
  afterAll(() => server.close());

  it('should emit each part and its bytes before the response ends', async () => {
    const response = await fetch(`${server.url}/graphql`);
    const payloads = await lastValueFrom(
      fromWebStream(response.body!).pipe(
        parseMultipart(response.headers.get('content-type')!),
        concatMap((part) => part.body$.pipe(toArray(), map((chunks) => JSON.parse(Buffer.concat(chunks).toString()) as { hasNext: boolean }))),
        // The server sends the second part only after this acknowledgement: a client that waited
        // for the end of the response would never get here.
        concatMap(async (payload) => {
          if (payload.hasNext) await fetch(`${server.url}/ack`).then((ack) => ack.text());
          return payload;
        }),
        toArray(),
      ),
    );
    expect(payloads).toEqual([{ data: { hero: 'R2-D2' }, hasNext: true }, { incremental: [{ data: { friends: 3 } }], hasNext: false }]);
  });
});
