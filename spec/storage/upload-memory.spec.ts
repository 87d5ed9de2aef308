/**
 * End to end memory bound: 1 GiB uploaded over loopback HTTP through multipart(req) + storeParts
 * into a deliberately slow storage. Backpressure must slow the client (TCP), not fill the server.
 */
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { lastValueFrom, toArray } from 'rxjs';
import { ContentDigest, multipart, storeParts, type FileInfo, type FileStorage, type StoredFile, type StoredPart } from '../../lib/index';
import { BOUNDARY, CONTENT_TYPE, partHead } from '../support/form-body';

const MiB = 1024 * 1024;
const FILE_SIZE = 1024 * MiB;
// The storage takes at most this many bytes per second: far slower than loopback.
const STORAGE_RATE = 250 * MiB;

/** Keeps nothing: hashes each byte once and takes time in proportion to the bytes written. */
function createSlowSink(): FileStorage<string> {
  let debt = 0;
  return {
    async create(info: FileInfo) {
      const digest = new ContentDigest();
      return {
        async write(chunk: Buffer, offset: number) {
          digest.take(chunk, offset);
          debt += (chunk.length / STORAGE_RATE) * 1000;
          if (debt >= 4) {
            const wait = Math.floor(debt);
            debt -= wait;
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
        },
        async close(): Promise<StoredFile<string>> {
          return { id: 'sink', index: info.index, fieldName: info.fieldName, filename: info.filename, contentType: info.contentType, size: digest.size, sha256: digest.digest(), location: 'sink:' };
        },
        async abort() {},
      };
    },
    stat: async () => undefined,
    open: async () => { throw new Error('a sink keeps nothing'); },
    remove: async () => undefined,
  };
}

describe('upload memory', () => {
  let server: Server;
  let stored: Promise<StoredPart[]>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      stored = lastValueFrom(multipart(req, { limits: { fileSize: 2 * FILE_SIZE, bodySize: 2 * FILE_SIZE } }).pipe(storeParts(createSlowSink()), toArray()));
      stored.then(
        (parts) => res.end(JSON.stringify(parts)),
        (error: unknown) => res.writeHead(400).end(JSON.stringify({ error: String(error) })),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('should keep the server RSS growth under 64 MiB for a 1 GiB file into a slow storage', async () => {
    const block = randomBytes(MiB);
    const head = Buffer.from(partHead({ name: 'big', filename: 'big.bin', contentType: 'application/octet-stream' }));
    const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-type': CONTENT_TYPE, 'content-length': head.length + FILE_SIZE + tail.length } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (piece: string) => (text += piece)).on('end', () => resolve(text));
      });
      req.on('error', reject);
      let sent = 0;
      // Writes only as fast as the socket drains: the client holds one block, never the body.
      const pump = (): void => {
        while (sent < FILE_SIZE) {
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
    const growth = peak - baseline;
    const seconds = (Date.now() - started) / 1000;
    console.log(`1 GiB upload into a ${STORAGE_RATE / MiB} MiB/s storage: ${seconds.toFixed(1)} s, RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, growth ${(growth / MiB).toFixed(1)} MiB`);
    const [file] = JSON.parse(answer) as StoredFile<string>[];
    expect(file).toMatchObject({ size: FILE_SIZE });
    expect(growth).toBeLessThan(64 * MiB);
  }, 180_000);
});
