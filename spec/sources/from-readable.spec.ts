/**
 * fromReadable against real Node streams: requests a loopback server receives, a response a client
 * reads as it arrives, a file, and AsyncIterables (a request, a generator) through rxjs `from`.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { concatMap, count, first, from, lastValueFrom, scan, take, tap, toArray } from 'rxjs';
import { fromReadable, MultipartError, parseMultipart } from '../../lib/index';
import { chunkBySizes, collectParts } from '../support/collect';
import { BOUNDARY, CONTENT_TYPE, formBody, partHead } from '../support/form-body';
import { openUpload, postRaw, startRequestQueue, startServer, type RequestQueue, type TestServer } from '../support/http';

// Bytes that look like the delimiter without being one, so a part's body is more than filler.
const lookalikes = Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}\r\n-${BOUNDARY}\n--${BOUNDARY}--`);
const binary = Buffer.concat([lookalikes, Buffer.alloc(70_000, 0xab), lookalikes]);
const body = formBody([
  { name: 'title', data: 'Holiday' },
  { name: 'photo', filename: 'beach.bin', contentType: 'application/octet-stream', data: binary },
]);

const summary = (parts: ReadonlyArray<{ name: string; filename: string | undefined; data: Buffer }>): Array<[string, string | undefined, string]> =>
  parts.map((part) => [part.name, part.filename, part.data.toString('base64')]);
const expected = summary([
  { name: 'title', filename: undefined, data: Buffer.from('Holiday') },
  { name: 'photo', filename: 'beach.bin', data: binary },
]);

describe('fromReadable', () => {
  describe('on a request a server receives', () => {
    let server: RequestQueue;
    beforeAll(async () => (server = await startRequestQueue()));
    afterAll(() => server.close());

    it('should emit the body of a request cut into odd writes, so its parts parse', async () => {
      const parsed = server.next((req) => collectParts(fromReadable(req), req.headers['content-type']!));
      const response = await postRaw(server.port, { 'content-type': CONTENT_TYPE }, chunkBySizes(body, [1, 2, 3, 997, 5, 65_537]));
      expect(response.status).toBe(200);
      expect(summary(await parsed)).toEqual(expected);
    });

    it('should error a second subscription with SOURCE_CONSUMED and emit nothing to it', async () => {
      const outcome = server.next(async (req) => {
        const chunks$ = fromReadable(req);
        const first = await collectParts(chunks$, CONTENT_TYPE);
        const second: Buffer[] = [];
        const error = await lastValueFrom(chunks$.pipe(tap((chunk) => second.push(chunk)))).catch((e: unknown) => e);
        return { parts: first.length, second: second.length, error };
      });
      await postRaw(server.port, { 'content-type': CONTENT_TYPE }, [body]);
      const { parts, second, error } = await outcome;
      expect(parts).toBe(2);
      expect(second).toBe(0);
      expect(error).toBeInstanceOf(MultipartError);
      expect(error).toMatchObject({ code: 'SOURCE_CONSUMED', status: 500 });
    });

    it('should refuse with SOURCE_CONSUMED a request another reader has begun to read', async () => {
      const failure = server.next(async (req) => {
        // Someone else took the first chunk: what is left is not the body.
        await once(req, 'data');
        req.pause();
        return lastValueFrom(fromReadable(req));
      }).catch((error: unknown) => error);
      const response = await postRaw(server.port, { 'content-type': CONTENT_TYPE }, [body]);
      expect(await failure).toMatchObject({ code: 'SOURCE_CONSUMED' });
      expect(response.status).toBe(500);
    });

    it('should error with UNEXPECTED_END when the client goes away mid-body', async () => {
      let client: ClientRequest | undefined;
      const failure = server.next((req) =>
        lastValueFrom(fromReadable(req).pipe(tap(() => client?.destroy()), count())),
      ).catch((error: unknown) => error);
      client = openUpload(server.port, CONTENT_TYPE, Buffer.from(partHead({ name: 'f', filename: 'f.bin' })));
      const error = await failure;
      expect(error).toBeInstanceOf(MultipartError);
      expect(error).toMatchObject({ code: 'UNEXPECTED_END', status: 400 });
    });

    it('should error with UNEXPECTED_END a request whose client went away before the subscription', async () => {
      let client: ClientRequest | undefined;
      const failure = server.next(async (req) => {
        // Not events.once: it would listen for 'error' too, and take the ECONNRESET for itself.
        const gone = new Promise((resolve) => req.once('close', resolve));
        client!.destroy();
        await gone;
        return lastValueFrom(fromReadable(req));
      }).catch((error: unknown) => error);
      client = openUpload(server.port, CONTENT_TYPE, Buffer.from(partHead({ name: 'f', filename: 'f.bin' })));
      expect(await failure).toMatchObject({ code: 'UNEXPECTED_END' });
    });

    it('should error a second subscription made before any byte arrived with SOURCE_CONSUMED', async () => {
      const outcome = server.next(async (req) => {
        const chunks$ = fromReadable(req);
        const first = collectParts(chunks$, CONTENT_TYPE);
        const second = await lastValueFrom(chunks$).catch((error: unknown) => error);
        return { parts: (await first).length, second };
      });
      await postRaw(server.port, { 'content-type': CONTENT_TYPE }, [body]);
      const { parts, second } = await outcome;
      expect(parts).toBe(2);
      expect(second).toMatchObject({ code: 'SOURCE_CONSUMED' });
    });

    it('should read a request an earlier consumer paused before reading it', async () => {
      const parsed = server.next((req) => {
        req.pause();
        return collectParts(fromReadable(req), CONTENT_TYPE);
      });
      await postRaw(server.port, { 'content-type': CONTENT_TYPE }, [body]);
      expect(summary(await parsed)).toEqual(expected);
    }, 10_000);

    it('should error with INVALID_CHUNK when the request was given an encoding', async () => {
      const failure = server.next((req) => {
        req.setEncoding('latin1');
        return lastValueFrom(fromReadable(req));
      }).catch((error: unknown) => error);
      const response = await postRaw(server.port, { 'content-type': CONTENT_TYPE }, [body]);
      expect(await failure).toBeInstanceOf(MultipartError);
      expect(await failure).toMatchObject({ code: 'INVALID_CHUNK', status: 500 });
      expect(response.status).toBe(500);
    });

    it('should pause the request while a slow sink holds bytes, then resume it and lose nothing', async () => {
      const size = 8 * 1024 * 1024;
      const highWaterMark = 64 * 1024;
      // The first write waits until the test has seen the request paused.
      let releaseFirstWrite!: () => void;
      const firstWriteReleased = new Promise<void>((resolve) => (releaseFirstWrite = resolve));
      let paused!: (received: number) => void;
      const receivedWhenPaused = new Promise<number>((resolve) => (paused = resolve));
      const outcome = server.next((req) => {
        let isFirstWrite = true;
        const written$ = lastValueFrom(
          fromReadable(req).pipe(
            parseMultipart(CONTENT_TYPE, { highWaterMark }),
            concatMap((part) =>
              part.writeBody(async () => {
                if (isFirstWrite) await firstWriteReleased;
                isFirstWrite = false;
              }),
            ),
          ),
        );
        // A second listener, added once the source flows, only counts what the request emits.
        let received = 0;
        req.on('data', (chunk: Buffer) => (received += chunk.length));
        req.once('pause', () => paused(received));
        return written$;
      });
      const sending = postRaw(server.port, { 'content-type': CONTENT_TYPE }, [formBody([{ name: 'f', filename: 'f.bin', data: Buffer.alloc(size, 1) }])]);
      // Paused after the high-water mark and at most a socket read or two more: the request, not
      // the server's memory, holds the rest (a source without backpressure never pauses: timeout).
      expect(await receivedWhenPaused).toBeLessThan(highWaterMark + 256 * 1024);
      releaseFirstWrite();
      expect(await outcome).toBe(size);
      expect((await sending).status).toBe(200);
    }, 10_000);

    it('should remove its listeners from the request when unsubscribed', async () => {
      const events = ['data', 'end', 'error', 'close'];
      const listeners = (req: IncomingMessage): number[] => events.map((event) => req.listenerCount(event));
      const outcome = server.next(async (req) => {
        const before = listeners(req);
        let during: number[] = [];
        await lastValueFrom(fromReadable(req).pipe(take(1), tap(() => (during = listeners(req)))));
        const after = listeners(req);
        req.resume();
        return { before, during, after };
      });
      await postRaw(server.port, { 'content-type': CONTENT_TYPE }, [body]);
      const { before, during, after } = await outcome;
      expect(during).toEqual(before.map((n) => n + 1));
      expect(after).toEqual(before);
    });
  });

  describe('AsyncIterable sources', () => {
    let server: RequestQueue;
    beforeAll(async () => (server = await startRequestQueue()));
    afterAll(() => server.close());

    it('should parse a request read as an AsyncIterable through rxjs from()', async () => {
      const parsed = server.next((req) => collectParts(from(req as AsyncIterable<Buffer>), req.headers['content-type']!));
      await postRaw(server.port, { 'content-type': CONTENT_TYPE }, chunkBySizes(body, [4096]));
      expect(summary(await parsed)).toEqual(expected);
    });

    it('should parse an async generator through rxjs from()', async () => {
      async function* generate(): AsyncGenerator<Buffer> {
        for (const chunk of chunkBySizes(body, [3, 1000, 4096])) {
          await new Promise((resolve) => setImmediate(resolve));
          yield chunk;
        }
      }
      expect(summary(await collectParts(from(generate()), CONTENT_TYPE))).toEqual(expected);
    });

    it('should parse an async generator wrapped as a Node Readable (Readable.from)', async () => {
      async function* generate(): AsyncGenerator<Buffer> {
        for (const chunk of chunkBySizes(body, [7, 65_536])) yield chunk;
      }
      expect(summary(await collectParts(fromReadable(Readable.from(generate())), CONTENT_TYPE))).toEqual(expected);
    });
  });

  describe('on a file', () => {
    let folder: string;
    beforeAll(async () => (folder = await mkdtemp(join(tmpdir(), 'rx-multipart-from-readable-'))));
    afterAll(() => rm(folder, { recursive: true, force: true }));

    it('should parse a body read from disk in small chunks', async () => {
      const path = join(folder, 'body.bin');
      await writeFile(path, body);
      expect(summary(await collectParts(fromReadable(createReadStream(path, { highWaterMark: 1000 })), CONTENT_TYPE))).toEqual(expected);
    });
  });

  describe('on a response a client reads as it arrives', () => {
    let server: TestServer;
    // The client has seen part n: the server may send part n + 1.
    const acknowledged: Array<() => void> = [];
    const acks = [0, 1, 2].map((n) => new Promise<void>((resolve) => (acknowledged[n] = resolve)));

    beforeAll(async () => {
      server = await startServer((req, res) => {
        if (req.url === '/cut') {
          res.writeHead(200, { 'content-type': CONTENT_TYPE });
          // Part of the body, then the connection goes: the server crashed, say.
          res.write(body.subarray(0, 50_000), () => res.socket!.destroy());
          return;
        }
        if (req.url?.startsWith('/ack/') === true) {
          acknowledged[Number(req.url.slice(5))]!();
          res.end();
          return;
        }
        void (async () => {
          res.writeHead(200, { 'content-type': 'multipart/mixed; boundary="-"' });
          for (let n = 0; n < 3; n++) {
            res.write(`\r\n---\r\ncontent-type: text/plain\r\n\r\npart ${n}`);
            await acks[n];
          }
          res.end('\r\n-----\r\n');
        })();
      });
    });
    afterAll(() => server.close());

    it('should emit each part of a streamed response before the server sends the next', async () => {
      const response = await new Promise<IncomingMessage>((resolve, reject) => get(`${server.url}/stream`, resolve).on('error', reject));
      const ack = (n: number): Promise<unknown> => new Promise((resolve, reject) => get(`${server.url}/ack/${n}`, (res) => res.resume().on('end', resolve)).on('error', reject));
      const texts = await lastValueFrom(
        fromReadable(response).pipe(
          parseMultipart(response.headers['content-type']!),
          // A part's body ends at the next delimiter, which the server sends only with the next
          // part: so acknowledge its bytes, which arrive before that.
          concatMap((part) =>
            part.body$.pipe(
              scan((text, chunk) => text + chunk.toString(), ''),
              first((text) => text.length >= 'part n'.length),
              concatMap(async (text) => (await ack(part.index), text)),
            ),
          ),
          toArray(),
        ),
      );
      expect(texts).toEqual(['part 0', 'part 1', 'part 2']);
    }, 10_000);

    it('should error with UNEXPECTED_END when the server cuts the response mid-body', async () => {
      const response = await new Promise<IncomingMessage>((resolve, reject) => get(`${server.url}/cut`, resolve).on('error', reject));
      const error = await collectParts(fromReadable(response), response.headers['content-type']!).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MultipartError);
      expect(error).toMatchObject({ code: 'UNEXPECTED_END', status: 400 });
    });
  });
});
