/**
 * fromAsyncIterable: async generators, sync iterables, a Web stream, and requests a loopback server
 * receives, read one chunk at a time; backpressure into a slow storage; release of the iterator on
 * every way a subscription can end.
 */
import { EventEmitter, on } from 'node:events';
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { concatMap, from, lastValueFrom, map, take, tap, timeout, toArray } from 'rxjs';
import { backpressureOf, createMemoryStorage, fromAsyncIterable, MultipartError, parseMultipart, storeParts, type FileStorage, type Part } from '../../lib/index';
import { chunkBySizes, collectParts } from '../support/collect';
import { CONTENT_TYPE, formBody, partHead } from '../support/form-body';
import { openUpload, readText, startServer, type TestServer } from '../support/http';

const body = formBody([
  { name: 'title', data: 'Holiday' },
  { name: 'photo', filename: 'beach.bin', contentType: 'application/octet-stream', data: Buffer.alloc(70_000, 0xab) },
]);
const summary = (parts: ReadonlyArray<{ name: string; filename: string | undefined; data: Buffer }>): Array<[string, string | undefined, number]> =>
  parts.map((part) => [part.name, part.filename, part.data.length]);
const expected: Array<[string, string | undefined, number]> = [
  ['title', undefined, 7],
  ['photo', 'beach.bin', 70_000],
];
// The same, as a server answers it in JSON (no undefined there).
const answered = JSON.parse(JSON.stringify(expected)) as unknown;

async function* yieldAll(chunks: readonly Buffer[]): AsyncGenerator<Buffer> {
  for (const chunk of chunks) yield chunk;
}

/** An iterator whose next() never settles, recording when return() is called. */
function stalledIterable(): { iterable: AsyncIterable<Uint8Array>; returned: () => boolean } {
  let isReturned = false;
  const iterator: AsyncIterator<Uint8Array> = {
    next: () => new Promise<IteratorResult<Uint8Array>>(() => undefined),
    return: () => {
      isReturned = true;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  return { iterable: { [Symbol.asyncIterator]: () => iterator }, returned: () => isReturned };
}

/** A memory storage whose every write waits `delayMs` first, counting the bytes it has stored. */
function slowStorage(delayMs: number): { storage: FileStorage; stored: () => number } {
  const memory = createMemoryStorage({ maxTotalSize: 64 * 1024 * 1024 });
  let stored = 0;
  const storage: FileStorage = {
    async create(info) {
      const writer = await memory.create(info);
      return {
        async write(chunk, offset) {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          await writer.write(chunk, offset);
          stored += chunk.length;
        },
        close: () => writer.close(),
        abort: (reason) => writer.abort(reason),
      };
    },
    stat: (id) => memory.stat(id),
    open: (id, range) => memory.open(id, range),
    remove: (id) => memory.remove(id),
  };
  return { storage, stored: () => stored };
}

describe('fromAsyncIterable', () => {
  describe('reading', () => {
    it('should parse a body an async generator yields in odd chunks', async () => {
      const parts = await collectParts(fromAsyncIterable(yieldAll(chunkBySizes(body, [1, 2, 3, 997, 5, 65_537]))), CONTENT_TYPE);
      expect(summary(parts)).toEqual(expected);
    });

    it('should parse a body from a sync iterable', async () => {
      expect(summary(await collectParts(fromAsyncIterable(chunkBySizes(body, [4096])), CONTENT_TYPE))).toEqual(expected);
    });

    it('should parse a body from a Web ReadableStream, read through fromWebStream', async () => {
      const stream = Readable.toWeb(Readable.from(chunkBySizes(body, [1000]))) as ReadableStream<Uint8Array>;
      expect(summary(await collectParts(fromAsyncIterable(stream), CONTENT_TYPE))).toEqual(expected);
    });

    it('should error a second subscription with SOURCE_CONSUMED and pull nothing for it', async () => {
      let pulls = 0;
      async function* counted(): AsyncGenerator<Buffer> {
        for (const chunk of chunkBySizes(body, [10_000])) {
          pulls++;
          yield chunk;
        }
      }
      const chunks$ = fromAsyncIterable(counted());
      await lastValueFrom(chunks$.pipe(toArray()));
      const pullsAfterFirst = pulls;
      const second = await lastValueFrom(chunks$).catch((error: unknown) => error);
      expect(second).toBeInstanceOf(MultipartError);
      expect(second).toMatchObject({ code: 'SOURCE_CONSUMED', status: 500 });
      expect(pulls).toBe(pullsAfterFirst);
    });

    it('should refuse with SOURCE_CONSUMED a stream another reader has begun to read', async () => {
      const stream = Readable.from(chunkBySizes(body, [1000]), { objectMode: false });
      stream.read(10);
      expect(await lastValueFrom(fromAsyncIterable(stream)).catch((e: unknown) => e)).toMatchObject({ code: 'SOURCE_CONSUMED' });
    });

    it('should error with SOURCE_ERROR, the thrown error as its cause, when the iterator throws', async () => {
      const failure = new Error('disk gone');
      async function* failing(): AsyncGenerator<Buffer> {
        yield Buffer.from(partHead({ name: 'f', filename: 'f.bin' }));
        throw failure;
      }
      const error = await collectParts(fromAsyncIterable(failing()), CONTENT_TYPE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MultipartError);
      expect(error).toMatchObject({ code: 'SOURCE_ERROR', status: 400, cause: failure });
    });

    it('should error with SOURCE_ERROR when next() throws synchronously', async () => {
      const failure = new Error('sync failure');
      const iterable: Iterable<Uint8Array> = { [Symbol.iterator]: () => ({ next: () => { throw failure; } }) };
      const error = await lastValueFrom(fromAsyncIterable(iterable)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SOURCE_ERROR', cause: failure });
    });

    it('should error with INVALID_CHUNK when the iterable yields strings', async () => {
      async function* strings(): AsyncGenerator<string> {
        yield 'not bytes';
      }
      const error = await lastValueFrom(fromAsyncIterable(strings() as unknown as AsyncIterable<Uint8Array>)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_CHUNK', status: 500 });
    });
  });

  describe('backpressure', () => {
    const highWaterMark = 1024 * 1024;
    const chunkSize = 64 * 1024;
    const file = Buffer.alloc(6 * 1024 * 1024, 0x5a);

    /** Uploads the 6 MiB file into a storage taking 20 ms per write; the most bytes pulled and not yet stored. */
    async function peakUnstored(read: (chunks: AsyncIterable<Buffer>) => ReturnType<typeof fromAsyncIterable>): Promise<{ peak: number; size: number }> {
      const { storage, stored } = slowStorage(20);
      let pulled = 0;
      let peak = 0;
      async function* fast(): AsyncGenerator<Buffer> {
        for (const chunk of chunkBySizes(formBody([{ name: 'f', filename: 'big.bin', data: file }]), [chunkSize])) {
          pulled += chunk.length;
          peak = Math.max(peak, pulled - stored());
          yield chunk;
        }
      }
      const [stored0] = await lastValueFrom(read(fast()).pipe(parseMultipart(CONTENT_TYPE, { highWaterMark }), storeParts(storage), toArray()));
      return { peak, size: stored0?.kind === 'file' ? stored0.size : -1 };
    }

    it('should hold pulled-but-unstored bytes under highWaterMark plus one chunk with a slow storage', async () => {
      const { peak, size } = await peakUnstored((chunks) => fromAsyncIterable(chunks));
      expect(size).toBe(file.length);
      // The part's header block and the delimiter are pulled without being stored: allow 1 KiB.
      expect(peak).toBeLessThanOrEqual(highWaterMark + chunkSize + 1024);
    });

    it('should be a bound RxJS from(iterable) does not keep (the same upload pulls far more ahead)', async () => {
      const { peak } = await peakUnstored((chunks) => from(chunks));
      expect(peak).toBeGreaterThan(3 * highWaterMark);
    });
  });

  describe('re-entry', () => {
    it('should not parse the next chunk of a sync iterable while a resume comes from inside the current one', async () => {
      // Chunk A: part 0 (3000 bytes nobody reads yet, so the parse pauses), part 1 and its "first";
      // chunk B: its "second" and the closing delimiter. Reading part 0 from part 1's arrival
      // resumes the source while chunk A's events are still being handed out.
      const boundary = 'XX';
      const chunkA = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="p0"\r\n\r\n${'a'.repeat(3000)}\r\n--${boundary}\r\nContent-Disposition: form-data; name="p1"\r\n\r\nfirst`);
      const chunkB = Buffer.from(`second\r\n--${boundary}--\r\n`);
      const parts: Part[] = [];
      const log: string[] = [];
      await new Promise<void>((resolve, reject) =>
        fromAsyncIterable([chunkA, chunkB]).pipe(parseMultipart(boundary, { highWaterMark: 1024 })).subscribe({
          next: (part) => {
            if (part.index === 0) return void parts.push(part);
            parts[0]!.body$.subscribe();
            let text = '';
            part.body$.subscribe({ next: (chunk) => (text += chunk.toString()), complete: () => log.push(`p1 ${text}`) });
          },
          error: reject,
          complete: () => {
            log.push('parse complete');
            resolve();
          },
        }),
      );
      expect(log).toEqual(['p1 firstsecond', 'parse complete']);
    });
  });

  describe('release', () => {
    it('should call return() on a stalled iterator before an upstream timeout reaches the subscriber', async () => {
      const { iterable, returned } = stalledIterable();
      const chunks$ = fromAsyncIterable(iterable);
      let returnedAtError: boolean | undefined;
      await new Promise<void>((resolve) => {
        chunks$.pipe(timeout({ first: 30 }), parseMultipart(CONTENT_TYPE, { backpressure: backpressureOf(chunks$)! })).subscribe({
          error: (error: unknown) => {
            expect(error).toMatchObject({ code: 'TIMEOUT', status: 408 });
            returnedAtError = returned();
            resolve();
          },
        });
      });
      expect(returnedAtError).toBe(true);
    });

    it('should call return() at once when the subscriber unsubscribes while next() is pending', () => {
      const { iterable, returned } = stalledIterable();
      const subscription = fromAsyncIterable(iterable).subscribe();
      expect(returned()).toBe(false);
      subscription.unsubscribe();
      expect(returned()).toBe(true);
    });

    it('should stop an endless generator after take(3) of its chunks, running its finally block', async () => {
      let isFinallyRun = false;
      async function* endless(): AsyncGenerator<Buffer> {
        try {
          for (let i = 0; ; i++) yield Buffer.from(`chunk ${i}`);
        } finally {
          isFinallyRun = true;
        }
      }
      const chunks = await lastValueFrom(fromAsyncIterable(endless()).pipe(take(3), map(String), toArray()));
      await new Promise((resolve) => setImmediate(resolve));
      expect(chunks).toEqual(['chunk 0', 'chunk 1', 'chunk 2']);
      expect(isFinallyRun).toBe(true);
    });

    it('should stop an endless body of parts after take(2) of its parts, running its finally block', async () => {
      let isFinallyRun = false;
      let yielded = 0;
      async function* endlessForm(): AsyncGenerator<Buffer> {
        try {
          for (let i = 0; ; i++) {
            yielded++;
            yield Buffer.from(`${partHead({ name: `field${i}` })}value ${i}\r\n`);
          }
        } finally {
          isFinallyRun = true;
        }
      }
      const names = await lastValueFrom(
        fromAsyncIterable(endlessForm()).pipe(parseMultipart(CONTENT_TYPE), take(2), concatMap((part) => part.body$.pipe(toArray(), map(() => part.name))), toArray()),
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(names).toEqual(['field0', 'field1']);
      expect(isFinallyRun).toBe(true);
      expect(yielded).toBeLessThan(10);
    });

    it('should let go an iterator that does not end within a second of the closing delimiter', async () => {
      const emitter = new EventEmitter();
      const events = on(emitter, 'data');
      // The chunks of the 'data' events, with the events iterator's own return().
      const chunks: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]: () => ({
          next: async () => {
            const result = await events.next();
            return result.done === true ? { done: true, value: undefined } : { done: false, value: (result.value as Buffer[])[0]! };
          },
          return: async () => {
            await events.return!();
            return { done: true, value: undefined };
          },
        }),
      };
      const parsed = lastValueFrom(fromAsyncIterable(chunks).pipe(parseMultipart(CONTENT_TYPE), toArray()));
      await new Promise((resolve) => setImmediate(resolve));
      emitter.emit('data', formBody([{ name: 'a', data: 'x' }]));
      expect(await parsed).toHaveLength(1);
      // Still read for the epilogue that might come; let go once a second has passed.
      expect(emitter.listenerCount('data')).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(emitter.listenerCount('data')).toBe(0);
    });

    it.each([
      ['an async generator', async function* endless(onFinally: () => void) {
        try {
          yield body;
          for (;;) yield new Uint8Array(0);
        } finally {
          onFinally();
        }
      }],
      ['a sync generator', function* endless(onFinally: () => void) {
        try {
          yield body;
          for (;;) yield new Uint8Array(0);
        } finally {
          onFinally();
        }
      }],
    ])('should let go %s of endless empty chunks after the closing delimiter, and timers still run', async (_kind, endless) => {
      let isFinallyRun = false;
      // A timer set before the parse: it fires only if the drain leaves the event loop alone.
      const timerFired = new Promise((resolve) => setTimeout(() => resolve(true), 20));
      const parts = await collectParts(fromAsyncIterable(endless(() => (isFinallyRun = true))), CONTENT_TYPE);
      expect(summary(parts)).toEqual(expected);
      expect(await timerFired).toBe(true);
      expect(isFinallyRun).toBe(true);
    });

    it('should cancel a Web ReadableStream when unsubscribed early', async () => {
      let cancelled = false;
      const stream = new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(new Uint8Array(16)),
        cancel: () => {
          cancelled = true;
        },
      });
      await lastValueFrom(fromAsyncIterable(stream).pipe(take(2), toArray()));
      expect(cancelled).toBe(true);
    });
  });

  describe('on requests a server receives', () => {
    let server: TestServer;
    // Each request is handed to the work the test set; the answer is its JSON or error code.
    let work: (req: IncomingMessage) => Promise<unknown>;
    beforeAll(async () => {
      server = await startServer((req, res) => {
        work(req).then(
          (value) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value)),
          (error: { code?: string; status?: number }) => {
            if (!res.destroyed) res.writeHead(error.status ?? 500).end(String(error.code));
          },
        );
      });
    });
    afterAll(() => server.close());

    /** POSTs `chunks` on `agent`, one write each; resolves with the status and text. */
    function post(chunks: readonly Buffer[], agent: Agent): Promise<{ status: number; text: string }> {
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', agent, headers: { 'content-type': CONTENT_TYPE, 'content-length': chunks.reduce((n, c) => n + c.length, 0) } }, (res) => {
          readText(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), reject);
        });
        req.on('error', reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
    }

    it('should answer on a kept-alive connection, reading the epilogue instead of destroying the request', async () => {
      work = (req) => collectParts(fromAsyncIterable(req), req.headers['content-type']!).then(summary);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const sockets = new Set<unknown>();
      agent.on('free', (socket) => sockets.add(socket));
      try {
        const first = await post(chunkBySizes(body, [5000]), agent);
        const second = await post([body], agent);
        expect([first.status, JSON.parse(first.text)]).toEqual([200, answered]);
        expect([second.status, JSON.parse(second.text)]).toEqual([200, answered]);
        // Both answers came over one connection: neither request was destroyed.
        expect(sockets.size).toBe(1);
      } finally {
        agent.destroy();
      }
    });

    it.each([
      ['a lone CR', '\r'],
      ['nothing', ''],
      ['bytes without a line break', 'trailing'],
    ])('should complete with the parts when %s follows the closing delimiter', async (_what, epilogue) => {
      work = (req) => collectParts(fromAsyncIterable(req), req.headers['content-type']!).then(summary);
      const ended = Buffer.concat([body.subarray(0, body.length - 2), Buffer.from(epilogue)]);
      const agent = new Agent();
      const answer = await post([ended], agent);
      expect([answer.status, JSON.parse(answer.text)]).toEqual([200, answered]);
    });

    it('should destroy a stalled request when an upstream timeout ends the parse, closing its connection', async () => {
      let request!: IncomingMessage;
      let destroyedAtError: boolean | undefined;
      const failure = new Promise<unknown>((resolve) => {
        work = (req) => {
          request = req;
          const chunks$ = fromAsyncIterable(req);
          return lastValueFrom(chunks$.pipe(timeout({ each: 100 }), parseMultipart(CONTENT_TYPE, { backpressure: backpressureOf(chunks$)! }))).catch((error: unknown) => {
            destroyedAtError = req.destroyed;
            resolve(error);
            throw error;
          });
        };
      });
      const client = openUpload(server.port, CONTENT_TYPE, Buffer.from(partHead({ name: 'f', filename: 'slow.bin' })));
      // Not events.once: it would take the client's ECONNRESET as a failure.
      const closed = new Promise((resolve) => client.once('close', resolve));
      expect(await failure).toMatchObject({ code: 'TIMEOUT', partIndex: 0, fieldName: 'f', filename: 'slow.bin' });
      expect(destroyedAtError).toBe(true);
      expect(request.destroyed).toBe(true);
      await closed;
    });

    it('should error with UNEXPECTED_END naming the open part when the client goes away', async () => {
      let client: ClientRequest | undefined;
      const failure = new Promise<unknown>((resolve) => {
        // The client leaves once the server has its first bytes: the part is open by then.
        work = (req) => lastValueFrom(fromAsyncIterable(req).pipe(tap(() => client?.destroy()), parseMultipart(CONTENT_TYPE))).catch((error: unknown) => {
          resolve(error);
          throw error;
        });
      });
      client = openUpload(server.port, CONTENT_TYPE, Buffer.concat([Buffer.from(partHead({ name: 'avatar', filename: 'me.png' })), Buffer.alloc(1000)]));
      const error = await failure;
      expect(error).toBeInstanceOf(MultipartError);
      expect(error).toMatchObject({ code: 'UNEXPECTED_END', status: 400, partIndex: 0, fieldName: 'avatar', filename: 'me.png' });
    });
  });
});
