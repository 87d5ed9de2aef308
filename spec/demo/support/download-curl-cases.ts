/** The download cases run with the real curl: ranges, a download cut off and resumed, a client that leaves. */
import { readFileSync, writeFileSync } from 'node:fs';
import { sha256 } from './clients';
import { curlDownload, cutDownload } from './curl-downloads';
import { KiB, LARGE_SIZE, MiB, SIZE, type DownloadFixture } from './download-fixture';

/** Registers the curl cases; `f` is filled in before they run. */
export function describeCurlCases(f: DownloadFixture): void {
  describe('with curl', () => {
    it('should answer curl -r 0-99 with 206 and the first 100 bytes', async () => {
      const got = await curlDownload(['-r', '0-99', f.urlOf(f.id)], f.output('first-100'));
      expect([got.exitCode, got.status, got.headers['content-range'], got.headers['content-length']]).toEqual([0, 206, `bytes 0-99/${SIZE}`, '100']);
      expect(readFileSync(f.output('first-100')).equals(f.bytes.subarray(0, 100))).toBe(true);
    });

    it('should answer curl -r -100 with 206 and the last 100 bytes', async () => {
      const got = await curlDownload(['-r', '-100', f.urlOf(f.id)], f.output('last-100'));
      expect([got.exitCode, got.status, got.headers['content-range']]).toEqual([0, 206, `bytes ${SIZE - 100}-${SIZE - 1}/${SIZE}`]);
      expect(readFileSync(f.output('last-100')).equals(f.bytes.subarray(SIZE - 100))).toBe(true);
    });

    it('should answer curl -r 1000000- with 206 and the rest of the file', async () => {
      const got = await curlDownload(['-r', '1000000-', f.urlOf(f.id)], f.output('rest'));
      expect([got.exitCode, got.status, got.headers['content-range']]).toEqual([0, 206, `bytes 1000000-${SIZE - 1}/${SIZE}`]);
      expect(readFileSync(f.output('rest')).equals(f.bytes.subarray(1_000_000))).toBe(true);
    });

    it('should finish a download cut off part-way with curl -C -, byte-exact', async () => {
      const path = f.output('resumed.bin');
      const held = await cutDownload(f.urlOf(f.largeId), path, 256 * KiB);
      expect(held).toBeGreaterThanOrEqual(256 * KiB);
      expect(held).toBeLessThan(LARGE_SIZE);
      const resumed = await curlDownload(['-C', '-', f.urlOf(f.largeId)], path);
      expect([resumed.exitCode, resumed.status, resumed.headers['content-range']]).toEqual([0, 206, `bytes ${held}-${LARGE_SIZE - 1}/${LARGE_SIZE}`]);
      expect(sha256(readFileSync(path))).toBe(sha256(f.largeBytes));
    });

    it('should leave a complete download as it is when curl -C - asks for more (416)', async () => {
      const path = f.output('complete.bin');
      writeFileSync(path, f.bytes);
      const resumed = await curlDownload(['-C', '-', f.urlOf(f.id)], path);
      expect([resumed.exitCode, resumed.status, resumed.headers['content-range']]).toEqual([0, 416, `bytes */${SIZE}`]);
      expect(readFileSync(path).equals(f.bytes)).toBe(true);
    });

    it.each([
      ['the whole file', 'whole', []],
      ['one range', 'range', ['-r', '1000000-']],
      ['several ranges (multipart/byteranges)', 'ranges', ['-r', '0-20000000,30000000-40000000']],
    ])('should release what it reads from the storage when the client leaves mid-file, for %s', async (_what, file, args: string[]) => {
      const from = f.subject.demo.lines.length;
      // The check first sees the resource while the download runs (curl stopped, the demo waiting
      // on it), so it would see one left behind.
      const read = cutDownload(f.urlOf(f.largeId), f.output(`left-${file}.bin`), MiB, () => until('the demo reads from the storage', () => f.subject.isReading(f.largeId)), args);
      await expect(read).resolves.toBeGreaterThanOrEqual(MiB);
      await f.subject.demo.waitForLine(new RegExp(` GET /files/${f.largeId} 499 `), from);
      await until('the storage stream is released', async () => !(await f.subject.isReading(f.largeId)));
      // A client that leaves is no server fault: nothing reported.
      expect(f.subject.demo.lines.slice(from).filter((line) => !/^\S+Z [A-Z]+ \//.test(line))).toEqual([]);
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
