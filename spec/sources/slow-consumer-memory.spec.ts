/**
 * Memory with a slow consumer: 512 MiB over loopback HTTP into multipart(req), read by a consumer
 * that takes time per chunk. The request is paused (TCP slows the client); the server's memory
 * does not fill. Measured by hand with backpressure switched off (`backpressure: { pause() {},
 * resume() {} }`): RSS grew by 489 MiB (25.6 MiB with it), so this bound can fail.
 */
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { concatMap, lastValueFrom, reduce, timer } from 'rxjs';
import { multipart } from '../../lib/index';
import { startServer, type TestServer } from '../support/http';
import { BOUNDARY, CONTENT_TYPE, partHead } from '../support/form-body';

const MiB = 1024 * 1024;
const SIZE = 512 * MiB;

describe('a slow consumer', () => {
  let server: TestServer;
  let received: Promise<number>;

  beforeAll(async () => {
    server = await startServer((req, res) => {
      let chunks = 0;
      received = lastValueFrom(
        multipart(req, { limits: { fileSize: 2 * SIZE, bodySize: 2 * SIZE } }).pipe(
          // Slow: every other chunk waits a timer tick, about 1 ms.
          concatMap((part) => part.writeBody(() => (++chunks % 2 === 0 ? timer(1) : Promise.resolve()))),
          reduce((_total, written) => written, 0),
        ),
      );
      received.then((bytes) => res.end(String(bytes)), (error: unknown) => res.writeHead(400).end(String(error)));
    });
  });
  afterAll(() => server.close());

  it('should keep RSS growth under 64 MiB while 512 MiB stream in', async () => {
    const block = randomBytes(MiB);
    const head = Buffer.from(partHead({ name: 'big', filename: 'big.bin' }));
    const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request({ port: server.port, host: '127.0.0.1', method: 'POST', headers: { 'content-type': CONTENT_TYPE, 'content-length': head.length + SIZE + tail.length } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (piece: string) => (text += piece)).on('end', () => resolve(text));
      });
      req.on('error', reject);
      let sent = 0;
      const pump = (): void => {
        while (sent < SIZE) {
          sent += block.length;
          if (!req.write(block)) return void req.once('drain', pump);
        }
        req.end(tail);
      };
      req.write(head);
      pump();
    });
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(`512 MiB to a slow consumer: ${((Date.now() - started) / 1000).toFixed(1)} s, RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, growth ${((peak - baseline) / MiB).toFixed(1)} MiB`);
    expect(Number(answer)).toBe(SIZE);
    expect(peak - baseline).toBeLessThan(64 * MiB);
  }, 180_000);
});
