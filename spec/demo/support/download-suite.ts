/**
 * The download behaviour of `GET`/`HEAD /files/:id` (RFC 9110 §13 to §15), checked the same way
 * against the demo on each storage: real curl for ranges, resumed downloads and a client that
 * leaves mid-file; Node's fetch for the status and header matrix.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatMap, lastValueFrom, map, of, toArray } from 'rxjs';
import { parseMultipart } from '../../../lib/index';
import { sha256 } from './clients';
import { curlDownload, cutDownload } from './curl-downloads';
import type { DemoProcess } from './demo-process';

const KiB = 1024;
const MiB = 1024 * KiB;
// Odd, so that no range lines up with a chunk, a part or a page by chance.
const SIZE = 3 * MiB + 123;
// Larger than every buffer between the storage and curl (socket buffers on loopback reach a few MiB,
// and curl 7.88 reads MiBs at once before its --limit-rate pauses it), so that a download is still
// running when curl is cut off, and the demo still reading from the storage.
const LARGE_SIZE = 48 * MiB;

/** The demo on one storage, and a look at what the storage side holds open for a download. */
export interface DemoUnderTest {
  readonly demo: DemoProcess;
  /** Whether the demo holds a storage resource open to read file `id` (a descriptor, a socket with unread bytes, a cursor). */
  isReading(id: string): Promise<boolean>;
  stop(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

interface UploadAnswer {
  result: { fileIds: string[] };
}

/** Registers the download suite for the demo that `start` starts. */
export function describeDownloads(name: string, start: () => Promise<DemoUnderTest>): void {
  describe(`downloads from the demo on ${name} storage`, () => {
    let subject: DemoUnderTest;
    let scratch: string;
    let bytes: Buffer;
    let id: string;
    let etag: string;
    let emptyId: string;
    let largeBytes: Buffer;
    let largeId: string;

    beforeAll(async () => {
      subject = await start();
      scratch = mkdtempSync(join(tmpdir(), 'rx-demo-downloads-'));
      bytes = randomBytes(SIZE);
      largeBytes = randomBytes(LARGE_SIZE);
      const ids = await upload(bytes, Buffer.alloc(0), largeBytes);
      expect(ids).toHaveLength(3);
      [id, emptyId, largeId] = ids as [string, string, string];
      etag = `"${sha256(bytes)}"`;
    });
    afterAll(async () => {
      await subject?.stop();
      rmSync(scratch, { recursive: true, force: true });
    });

    async function upload(...files: Buffer[]): Promise<string[]> {
      const form = new FormData();
      for (const [index, file] of files.entries()) form.append('file', new Blob([file]), `file-${index}.bin`);
      const response = await fetch(`${subject.demo.url}/upload`, { method: 'POST', body: form });
      expect(response.status).toBe(200);
      return ((await response.json()) as UploadAnswer).result.fileIds;
    }

    async function request(fileId: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
      const response = await fetch(`${subject.demo.url}/files/${fileId}`, { method, headers });
      return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
    }

    const urlOf = (fileId: string): string => `${subject.demo.url}/files/${fileId}`;
    const output = (file: string): string => join(scratch, file);

    describe('with curl', () => {
      it('should answer curl -r 0-99 with 206 and the first 100 bytes', async () => {
        const got = await curlDownload(['-r', '0-99', urlOf(id)], output('first-100'));
        expect([got.exitCode, got.status, got.headers['content-range'], got.headers['content-length']]).toEqual([0, 206, `bytes 0-99/${SIZE}`, '100']);
        expect(readFileSync(output('first-100')).equals(bytes.subarray(0, 100))).toBe(true);
      });

      it('should answer curl -r -100 with 206 and the last 100 bytes', async () => {
        const got = await curlDownload(['-r', '-100', urlOf(id)], output('last-100'));
        expect([got.exitCode, got.status, got.headers['content-range']]).toEqual([0, 206, `bytes ${SIZE - 100}-${SIZE - 1}/${SIZE}`]);
        expect(readFileSync(output('last-100')).equals(bytes.subarray(SIZE - 100))).toBe(true);
      });

      it('should answer curl -r 1000000- with 206 and the rest of the file', async () => {
        const got = await curlDownload(['-r', '1000000-', urlOf(id)], output('rest'));
        expect([got.exitCode, got.status, got.headers['content-range']]).toEqual([0, 206, `bytes 1000000-${SIZE - 1}/${SIZE}`]);
        expect(readFileSync(output('rest')).equals(bytes.subarray(1_000_000))).toBe(true);
      });

      it('should finish a download cut off part-way with curl -C -, byte-exact', async () => {
        const path = output('resumed.bin');
        const held = await cutDownload(urlOf(largeId), path, 256 * KiB);
        expect(held).toBeGreaterThanOrEqual(256 * KiB);
        expect(held).toBeLessThan(LARGE_SIZE);
        const resumed = await curlDownload(['-C', '-', urlOf(largeId)], path);
        expect([resumed.exitCode, resumed.status, resumed.headers['content-range']]).toEqual([0, 206, `bytes ${held}-${LARGE_SIZE - 1}/${LARGE_SIZE}`]);
        expect(sha256(readFileSync(path))).toBe(sha256(largeBytes));
      });

      it('should leave a complete download as it is when curl -C - asks for more (416)', async () => {
        const path = output('complete.bin');
        writeFileSync(path, bytes);
        const resumed = await curlDownload(['-C', '-', urlOf(id)], path);
        expect([resumed.exitCode, resumed.status, resumed.headers['content-range']]).toEqual([0, 416, `bytes */${SIZE}`]);
        expect(readFileSync(path).equals(bytes)).toBe(true);
      });

      it.each([
        ['the whole file', 'whole', []],
        ['one range', 'range', ['-r', '1000000-']],
        ['several ranges (multipart/byteranges)', 'ranges', ['-r', '0-20000000,30000000-40000000']],
      ])('should release what it reads from the storage when the client leaves mid-file, for %s', async (_what, file, args: string[]) => {
        const from = subject.demo.lines.length;
        let wasReading = false;
        await cutDownload(
          urlOf(largeId),
          output(`left-${file}.bin`),
          MiB,
          async () => {
            wasReading = await subject.isReading(largeId);
          },
          args,
        );
        // The check sees the resource while the download runs, so it would see one left behind.
        expect(wasReading).toBe(true);
        await subject.demo.waitForLine(new RegExp(` GET /files/${largeId} 499 `), from);
        await until('the storage stream is released', async () => !(await subject.isReading(largeId)));
        // A client that leaves is no server fault: nothing reported.
        expect(subject.demo.lines.slice(from).filter((line) => !/^\S+Z [A-Z]+ \//.test(line))).toEqual([]);
      });
    });

    describe('ranges (fetch)', () => {
      it('should send Accept-Ranges: bytes, the ETag and the whole file with 200 when no range is asked', async () => {
        const got = await request(id);
        expect([got.status, got.headers.get('accept-ranges'), got.headers.get('etag'), got.headers.get('content-length')]).toEqual([200, 'bytes', etag, String(SIZE)]);
        expect(got.body.equals(bytes)).toBe(true);
      });

      it.each([
        ['bytes=0-0', 0, 0],
        ['bytes=5-9', 5, 9],
        [`bytes=${SIZE - 1}-${SIZE - 1}`, SIZE - 1, SIZE - 1],
        ['bytes=1000-', 1000, SIZE - 1],
        ['bytes=-1', SIZE - 1, SIZE - 1],
        ['bytes=-100', SIZE - 100, SIZE - 1],
        [`bytes=${SIZE - 10}-${SIZE + 10_000}`, SIZE - 10, SIZE - 1],
        [`bytes=-${SIZE + 1}`, 0, SIZE - 1],
        [`bytes=0-${SIZE - 1}`, 0, SIZE - 1],
        ['bytes=0-99999999999999999999', 0, SIZE - 1],
        ['Bytes=1-2', 1, 2],
        ['bytes=,10-19,', 10, 19],
        ['bytes=0-99, 50-149', 0, 149],
      ])('should answer %s with 206, Content-Range and those bytes', async (range, start, end) => {
        const got = await request(id, { range });
        expect([got.status, got.headers.get('content-range'), got.headers.get('content-length')]).toEqual([206, `bytes ${start}-${end}/${SIZE}`, String(end - start + 1)]);
        expect([got.headers.get('accept-ranges'), got.headers.get('etag'), got.headers.get('content-type')]).toEqual(['bytes', etag, 'application/octet-stream']);
        expect(got.body.equals(bytes.subarray(start, end + 1))).toBe(true);
      });

      it.each([
        ['bytes=-0'],
        [`bytes=${SIZE}-`],
        [`bytes=${SIZE}-${SIZE + 5}`],
        [`bytes=${SIZE + 100}-${SIZE + 200}`],
        [`bytes=${SIZE}-, -0`],
      ])('should answer %s with 416 and Content-Range: bytes */size', async (range) => {
        const got = await request(id, { range });
        expect([got.status, got.headers.get('content-range'), got.headers.get('accept-ranges')]).toEqual([416, `bytes */${SIZE}`, 'bytes']);
        expect(JSON.parse(got.body.toString())).toEqual({ error: { code: 416, message: 'Range not satisfiable' } });
      });

      it.each([
        ['another unit', 'items=0-9'],
        ['garbage', 'bytes=abc'],
        ['a last byte before the first', 'bytes=9-5'],
        ['no range', 'bytes='],
        ['no unit', '0-9'],
        ['a space for the equals sign', 'bytes 0-9'],
        ['a parameter', 'bytes=0-9;q=1'],
        ['one bad range among good ones', 'bytes=0-9,x-1'],
        ['a negative first byte', 'bytes=--5'],
      ])('should ignore a Range header with %s and send the whole file with 200', async (_what, range) => {
        const got = await request(id, { range });
        expect([got.status, got.headers.get('content-range'), got.headers.get('content-length')]).toEqual([200, null, String(SIZE)]);
        expect(got.body.equals(bytes)).toBe(true);
      });

      it('should answer several ranges with 206 multipart/byteranges, each part with its Content-Range, in ascending order', async () => {
        const got = await request(id, { range: `bytes=-50, 2000000-2000099, 0-99` });
        expect(got.status).toBe(206);
        const type = got.headers.get('content-type')!;
        expect(type).toMatch(/^multipart\/byteranges; boundary=\S+$/);
        expect(got.headers.get('content-range')).toBeNull();
        expect(got.headers.get('content-length')).toBe(String(got.body.length));
        const parts = await lastValueFrom(
          of(got.body).pipe(
            parseMultipart(type),
            concatMap((part) => part.body$.pipe(toArray(), map((chunks) => ({ headers: part.headers, bytes: Buffer.concat(chunks) })))),
            toArray(),
          ),
        );
        expect(parts.map((part) => [part.headers['content-type'], part.headers['content-range']])).toEqual([
          ['application/octet-stream', `bytes 0-99/${SIZE}`],
          ['application/octet-stream', `bytes 2000000-2000099/${SIZE}`],
          ['application/octet-stream', `bytes ${SIZE - 50}-${SIZE - 1}/${SIZE}`],
        ]);
        expect(parts.map((part) => part.bytes.equals(bytes.subarray(...rangeOf(part.headers['content-range']!))))).toEqual([true, true, true]);
      });

      it('should leave out the unsatisfiable ranges of several', async () => {
        const got = await request(id, { range: `bytes=${SIZE}-, 0-9, -0` });
        expect([got.status, got.headers.get('content-range')]).toEqual([206, `bytes 0-9/${SIZE}`]);
        expect(got.body.equals(bytes.subarray(0, 10))).toBe(true);
      });

      it('should send the whole file with 200 for more than 16 ranges far apart', async () => {
        const ranges = Array.from({ length: 17 }, (_unused, index) => `${index * 100_000}-${index * 100_000 + 9}`);
        const got = await request(id, { range: `bytes=${ranges.join(',')}` });
        expect([got.status, got.headers.get('content-length')]).toEqual([200, String(SIZE)]);
        expect(got.body.equals(bytes)).toBe(true);
      });

      it('should answer a range of an empty file with 416 and Content-Range: bytes */0', async () => {
        const got = await request(emptyId, { range: 'bytes=0-' });
        expect([got.status, got.headers.get('content-range')]).toEqual([416, 'bytes */0']);
      });

      it('should answer a suffix range of an empty file with 200 and no byte, since no 206 can say "none of 0"', async () => {
        const got = await request(emptyId, { range: 'bytes=-5' });
        expect([got.status, got.headers.get('content-range'), got.headers.get('content-length'), got.body.length]).toEqual([200, null, '0', 0]);
      });
    });

    describe('conditional requests (fetch)', () => {
      it.each([
        ['the ETag', () => etag],
        ['the ETag marked weak (weak comparison)', () => `W/${etag}`],
        ['a list holding the ETag', () => `"other", W/"x,y", ${etag}`],
        ['*', () => '*'],
      ])('should answer If-None-Match with %s by 304 with the ETag and no body', async (_what, value) => {
        const got = await request(id, { 'if-none-match': value() });
        expect([got.status, got.headers.get('etag'), got.headers.get('cache-control'), got.body.length]).toEqual([304, etag, 'private, no-cache', 0]);
        expect(got.headers.get('content-range')).toBeNull();
      });

      it('should answer If-None-Match with another ETag by 200 and the file', async () => {
        const got = await request(id, { 'if-none-match': '"other", W/"another"' });
        expect(got.status).toBe(200);
        expect(got.body.equals(bytes)).toBe(true);
      });

      it('should evaluate If-None-Match before Range: 304 for a matching ETag with a Range', async () => {
        const got = await request(id, { 'if-none-match': etag, range: 'bytes=0-9' });
        expect([got.status, got.body.length]).toEqual([304, 0]);
      });

      it('should answer If-None-Match matching a 404 with the 404', async () => {
        const got = await request('0123456789abcdef0123456789abcdef'.slice(0, id.length), { 'if-none-match': '*' });
        expect(got.status).toBe(404);
      });

      it.each([
        ['another ETag', () => '"other"'],
        ['the ETag marked weak (strong comparison)', () => `W/${etag}`],
      ])('should answer If-Match with %s by 412', async (_what, value) => {
        const got = await request(id, { 'if-match': value(), range: 'bytes=0-9' });
        expect(got.status).toBe(412);
      });

      it.each([
        ['the ETag', () => etag],
        ['*', () => '*'],
      ])('should serve the range when If-Match holds %s', async (_what, value) => {
        const got = await request(id, { 'if-match': value(), range: 'bytes=0-9' });
        expect([got.status, got.headers.get('content-range')]).toEqual([206, `bytes 0-9/${SIZE}`]);
      });

      it('should serve the range when If-Range holds the current ETag', async () => {
        const got = await request(id, { 'if-range': etag, range: 'bytes=10-19' });
        expect([got.status, got.headers.get('content-range')]).toEqual([206, `bytes 10-19/${SIZE}`]);
        expect(got.body.equals(bytes.subarray(10, 20))).toBe(true);
      });

      it.each([
        ['the ETag marked weak', () => `W/${etag}`],
        ['another ETag', () => '"other"'],
        ['an HTTP-date (no Last-Modified is sent)', () => new Date().toUTCString()],
        ['two ETags', () => `${etag}, ${etag}`],
      ])('should ignore the Range and send the whole file with 200 when If-Range holds %s', async (_what, value) => {
        const got = await request(id, { 'if-range': value(), range: 'bytes=10-19' });
        expect([got.status, got.headers.get('content-range'), got.headers.get('content-length')]).toEqual([200, null, String(SIZE)]);
        expect(got.body.equals(bytes)).toBe(true);
      });

      it('should send the whole file with 200 for a stale If-Range, even when its Range is unsatisfiable', async () => {
        const got = await request(id, { 'if-range': '"other"', range: `bytes=${SIZE}-` });
        expect([got.status, got.headers.get('content-length')]).toEqual([200, String(SIZE)]);
      });

      it('should ignore If-Modified-Since: no Last-Modified is sent', async () => {
        const got = await request(id, { 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() });
        expect([got.status, got.headers.get('last-modified')]).toEqual([200, null]);
      });
    });

    describe('HEAD', () => {
      it.each([
        ['no condition', {}],
        ['one range', { range: 'bytes=0-99' }],
        ['several ranges', { range: 'bytes=0-9,2000000-2000009' }],
        ['an unsatisfiable range', { range: `bytes=${SIZE}-` }],
        ['a malformed range', { range: 'bytes=x' }],
        ['a matching If-None-Match', { 'if-none-match': 'ETAG' }],
        ['a failing If-Match', { 'if-match': '"other"' }],
        ['a stale If-Range', { 'if-range': '"other"', range: 'bytes=0-99' }],
      ])('should answer exactly the status and headers of GET, with no body, for %s', async (_what, headers: Record<string, string>) => {
        const withEtag = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace('ETAG', etag)]));
        const [get, head] = [await request(id, withEtag), await request(id, withEtag, 'HEAD')];
        expect(head.status).toBe(get.status);
        // Every field but the date and those of the connection (fetch closes it after a HEAD), and
        // the multipart boundary, which is drawn anew for each answer.
        const fields = (answer: Answer): [string, string][] =>
          [...answer.headers].filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name)).map(([name, value]) => [name, value.replace(/boundary=\S+/, 'boundary=B')]);
        expect(fields(head)).toEqual(fields(get));
        expect(head.body.length).toBe(0);
      });
    });
  });
}

/** Polls `check` every 20 ms until it holds; fails after 20 s (for states seen only when asked). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** [start, end + 1] of a Content-Range `bytes start-end/size`. */
function rangeOf(contentRange: string): [number, number] {
  const [, start, end] = /^bytes (\d+)-(\d+)\/\d+$/.exec(contentRange)!;
  return [Number(start), Number(end) + 1];
}
