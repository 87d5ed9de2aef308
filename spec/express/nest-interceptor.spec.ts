/**
 * fromMulterStorage behind rx-multipart/nest's MultipartInterceptor, in a real Nest 12 application
 * (spec/express/nest/multer-engine-app.mts, in its own process: Nest 12 is ESM only) on Express and
 * Fastify, driven with fetch. Needs `npm run build` first (`npm test` does it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type RunningApp } from '../nest/app-process';

const root = join(__dirname, '..', '..');
const appDir = join(__dirname, 'nest');
const entry = join(appDir, 'dist', 'multer-engine-app.mjs');

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'esm', 'express', 'index.js'))) {
    throw new Error('dist/esm/express is missing: run `npm run build` first (npm test does).');
  }
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(appDir, 'tsconfig.json')], { stdio: 'pipe' });
}, 120_000);

function formOf(entries: ReadonlyArray<readonly [string, string | { filename: string; data: Buffer }]>): FormData {
  const form = new FormData();
  for (const [name, value] of entries) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([value.data]), value.filename);
  }
  return form;
}

describe.each(['express', 'fastify'])('MultipartInterceptor({ storage: fromMulterStorage(diskStorage) }) on Nest with %s', (platform) => {
  let app: RunningApp;
  let directory: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), `rx-multipart-nest-multer-${platform}-`));
    app = await startApp(entry, platform, directory);
  }, 90_000);
  afterAll(async () => {
    await app?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it("should store through the engine, whose callbacks got the request, and answer with the engine's fields", async () => {
    const response = await fetch(`${app.url}/upload`, { method: 'POST', headers: { 'x-user': 'ada' }, body: formOf([['title', 'report'], ['doc', { filename: 'doc.pdf', data: Buffer.alloc(5000, 1) }]]) });
    const body = (await response.json()) as { files: Array<Record<string, unknown>>; fields: Record<string, string> };
    expect(response.status).toBe(201);
    expect(body).toEqual({ fields: { title: 'report' }, files: [{ fieldname: 'doc', originalname: 'doc.pdf', size: 5000, filename: 'ada-doc.bin', path: join(directory, 'ada-doc.bin'), location: join(directory, 'ada-doc.bin') }] });
    expect(readFileSync(join(directory, 'ada-doc.bin')).equals(Buffer.alloc(5000, 1))).toBe(true);
    rmSync(join(directory, 'ada-doc.bin'));
  });

  it('should answer a file over the limit with 413 LIMIT_FILE_SIZE and remove the files stored before', async () => {
    const response = await fetch(`${app.url}/upload`, { method: 'POST', headers: { 'x-user': 'bo' }, body: formOf([['small', { filename: 's.bin', data: Buffer.alloc(10) }], ['big', { filename: 'b.bin', data: Buffer.alloc(2 * 1024 * 1024) }]]) });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'LIMIT_FILE_SIZE' });
    expect(readdirSync(directory)).toEqual([]);
  });

  it('should remove the stored files with _removeFile when the handler throws', async () => {
    const response = await fetch(`${app.url}/upload/throws`, { method: 'POST', headers: { 'x-user': 'cy' }, body: formOf([['a', { filename: 'a.bin', data: Buffer.alloc(100) }], ['b', { filename: 'b.bin', data: Buffer.alloc(100) }]]) });
    expect(response.status).toBe(409);
    expect(readdirSync(directory)).toEqual([]);
  });
});
