/** The download cases run with Node's fetch: the status and header matrix of ranges, conditions and HEAD. */
import { concatMap, lastValueFrom, map, of, toArray } from 'rxjs';
import { parseMultipart } from '../../../lib/index';
import { SIZE, type Answer, type DownloadFixture } from './download-fixture';

/** Registers the fetch cases; `f` is filled in before they run. */
export function describeFetchCases(f: DownloadFixture): void {
  describe('ranges (fetch)', () => {
    it('should send Accept-Ranges: bytes, the ETag and the whole file with 200 when no range is asked', async () => {
      const got = await f.request(f.id);
      expect([got.status, got.headers.get('accept-ranges'), got.headers.get('etag'), got.headers.get('content-length')]).toEqual([200, 'bytes', f.etag, String(SIZE)]);
      expect(got.body.equals(f.bytes)).toBe(true);
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
      const got = await f.request(f.id, { range });
      expect([got.status, got.headers.get('content-range'), got.headers.get('content-length')]).toEqual([206, `bytes ${start}-${end}/${SIZE}`, String(end - start + 1)]);
      expect([got.headers.get('accept-ranges'), got.headers.get('etag'), got.headers.get('content-type')]).toEqual(['bytes', f.etag, 'application/octet-stream']);
      expect(got.body.equals(f.bytes.subarray(start, end + 1))).toBe(true);
    });

    it.each([
      ['bytes=-0'],
      [`bytes=${SIZE}-`],
      [`bytes=${SIZE}-${SIZE + 5}`],
      [`bytes=${SIZE + 100}-${SIZE + 200}`],
      [`bytes=${SIZE}-, -0`],
    ])('should answer %s with 416 and Content-Range: bytes */size', async (range) => {
      const got = await f.request(f.id, { range });
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
      const got = await f.request(f.id, { range });
      expect([got.status, got.headers.get('content-range'), got.headers.get('content-length')]).toEqual([200, null, String(SIZE)]);
      expect(got.body.equals(f.bytes)).toBe(true);
    });

    it('should answer several ranges with 206 multipart/byteranges, each part with its Content-Range, in ascending order', async () => {
      const got = await f.request(f.id, { range: `bytes=-50, 2000000-2000099, 0-99` });
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
      expect(parts.map((part) => part.bytes.equals(f.bytes.subarray(...rangeOf(part.headers['content-range']!))))).toEqual([true, true, true]);
    });

    it('should leave out the unsatisfiable ranges of several', async () => {
      const got = await f.request(f.id, { range: `bytes=${SIZE}-, 0-9, -0` });
      expect([got.status, got.headers.get('content-range')]).toEqual([206, `bytes 0-9/${SIZE}`]);
      expect(got.body.equals(f.bytes.subarray(0, 10))).toBe(true);
    });

    it('should send the whole file with 200 for more than 16 ranges far apart', async () => {
      const ranges = Array.from({ length: 17 }, (_unused, index) => `${index * 100_000}-${index * 100_000 + 9}`);
      const got = await f.request(f.id, { range: `bytes=${ranges.join(',')}` });
      expect([got.status, got.headers.get('content-length')]).toEqual([200, String(SIZE)]);
      expect(got.body.equals(f.bytes)).toBe(true);
    });

    it('should answer a range of an empty file with 416 and Content-Range: bytes */0', async () => {
      const got = await f.request(f.emptyId, { range: 'bytes=0-' });
      expect([got.status, got.headers.get('content-range')]).toEqual([416, 'bytes */0']);
    });

    it('should answer a suffix range of an empty file with 200 and no byte, since no 206 can say "none of 0"', async () => {
      const got = await f.request(f.emptyId, { range: 'bytes=-5' });
      expect([got.status, got.headers.get('content-range'), got.headers.get('content-length'), got.body.length]).toEqual([200, null, '0', 0]);
    });
  });

  describe('conditional requests (fetch)', () => {
    it.each([
      ['the ETag', () => f.etag],
      ['the ETag marked weak (weak comparison)', () => `W/${f.etag}`],
      ['a list holding the ETag', () => `"other", W/"x,y", ${f.etag}`],
      ['*', () => '*'],
    ])('should answer If-None-Match with %s by 304 with the ETag and no body', async (_what, value) => {
      const got = await f.request(f.id, { 'if-none-match': value() });
      expect([got.status, got.headers.get('etag'), got.headers.get('cache-control'), got.body.length]).toEqual([304, f.etag, 'private, no-cache', 0]);
      expect(got.headers.get('content-range')).toBeNull();
    });

    it('should answer If-None-Match with another ETag by 200 and the file', async () => {
      const got = await f.request(f.id, { 'if-none-match': '"other", W/"another"' });
      expect(got.status).toBe(200);
      expect(got.body.equals(f.bytes)).toBe(true);
    });

    it('should evaluate If-None-Match before Range: 304 for a matching ETag with a Range', async () => {
      const got = await f.request(f.id, { 'if-none-match': f.etag, range: 'bytes=0-9' });
      expect([got.status, got.body.length]).toEqual([304, 0]);
    });

    it('should answer If-None-Match matching a 404 with the 404', async () => {
      const got = await f.request('0123456789abcdef0123456789abcdef'.slice(0, f.id.length), { 'if-none-match': '*' });
      expect(got.status).toBe(404);
    });

    it.each([
      ['another ETag', () => '"other"'],
      ['the ETag marked weak (strong comparison)', () => `W/${f.etag}`],
    ])('should answer If-Match with %s by 412', async (_what, value) => {
      const got = await f.request(f.id, { 'if-match': value(), range: 'bytes=0-9' });
      expect(got.status).toBe(412);
    });

    it.each([
      ['the ETag', () => f.etag],
      ['*', () => '*'],
    ])('should serve the range when If-Match holds %s', async (_what, value) => {
      const got = await f.request(f.id, { 'if-match': value(), range: 'bytes=0-9' });
      expect([got.status, got.headers.get('content-range')]).toEqual([206, `bytes 0-9/${SIZE}`]);
    });

    it('should serve the range when If-Range holds the current ETag', async () => {
      const got = await f.request(f.id, { 'if-range': f.etag, range: 'bytes=10-19' });
      expect([got.status, got.headers.get('content-range')]).toEqual([206, `bytes 10-19/${SIZE}`]);
      expect(got.body.equals(f.bytes.subarray(10, 20))).toBe(true);
    });

    it.each([
      ['the ETag marked weak', () => `W/${f.etag}`],
      ['another ETag', () => '"other"'],
      ['an HTTP-date (no Last-Modified is sent)', () => new Date().toUTCString()],
      ['two ETags', () => `${f.etag}, ${f.etag}`],
    ])('should ignore the Range and send the whole file with 200 when If-Range holds %s', async (_what, value) => {
      const got = await f.request(f.id, { 'if-range': value(), range: 'bytes=10-19' });
      expect([got.status, got.headers.get('content-range'), got.headers.get('content-length')]).toEqual([200, null, String(SIZE)]);
      expect(got.body.equals(f.bytes)).toBe(true);
    });

    it('should send the whole file with 200 for a stale If-Range, even when its Range is unsatisfiable', async () => {
      const got = await f.request(f.id, { 'if-range': '"other"', range: `bytes=${SIZE}-` });
      expect([got.status, got.headers.get('content-length')]).toEqual([200, String(SIZE)]);
    });

    it('should ignore If-Modified-Since: no Last-Modified is sent', async () => {
      const got = await f.request(f.id, { 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() });
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
      const withEtag = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace('ETAG', f.etag)]));
      const [get, head] = [await f.request(f.id, withEtag), await f.request(f.id, withEtag, 'HEAD')];
      expect(head.status).toBe(get.status);
      // Every field but the date and those of the connection (fetch closes it after a HEAD), and
      // the multipart boundary, which is drawn anew for each answer.
      const fields = (answer: Answer): [string, string][] =>
        [...answer.headers].filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name)).map(([name, value]) => [name, value.replace(/boundary=\S+/, 'boundary=B')]);
      expect(fields(head)).toEqual(fields(get));
      expect(head.body.length).toBe(0);
    });
  });
}

/** [start, end + 1] of a Content-Range `bytes start-end/size`. */
function rangeOf(contentRange: string): [number, number] {
  const [, start, end] = /^bytes (\d+)-(\d+)\/\d+$/.exec(contentRange)!;
  return [Number(start), Number(end) + 1];
}
