/**
 * The Nest demo (demo/nest) as its README runs it, on Express and on Fastify: an upload stored and
 * read back byte for byte, the streaming route, and an avatar refused before anything is stored.
 * Needs `npm run build` first (`npm test` does it).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskFolder } from '../support/disk-folder';
import { startApp, type RunningApp } from './app-process';

const root = join(__dirname, '..', '..');
const demoDir = join(root, 'demo', 'nest');

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'esm', 'nest', 'index.js'))) {
    throw new Error('dist/esm/nest is missing: run `npm run build` first (npm test does).');
  }
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(demoDir, 'tsconfig.json')], { stdio: 'pipe' });
}, 120_000);

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe.each(['express', 'fastify'])('the Nest demo on %s', (platform) => {
  let app: RunningApp;
  let directory: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), `rx-multipart-nest-demo-${platform}-`));
    app = await startApp(join(demoDir, 'dist', 'main.mjs'), platform, directory, { NEST_PLATFORM: platform, PORT: '0', UPLOAD_DIR: directory });
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('should store an upload and serve each file back byte for byte', async () => {
    const photo = new Uint8Array(300 * 1024).map((_, i) => (i * 31) % 251);
    const form = new FormData();
    form.append('title', 'holiday');
    form.append('photo', new Blob([photo], { type: 'image/jpeg' }), 'photo.jpg');
    const response = await fetch(`${app.url}/upload`, { method: 'POST', body: form });
    expect(response.status).toBe(201);
    const answer = (await response.json()) as { files: Array<{ id: string; filename: string; size: number; sha256: string }>; fields: Record<string, string> };
    expect(answer.fields).toEqual({ title: 'holiday' });
    expect(answer.files.map(({ filename, size, sha256 }) => ({ filename, size, sha256 }))).toEqual([{ filename: 'photo.jpg', size: photo.length, sha256: sha256(photo) }]);
    const download = await fetch(`${app.url}/files/${answer.files[0]!.id}`);
    expect(download.headers.get('content-type')).toBe('image/jpeg');
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(photo));
  });

  it('should store the parts the streaming route stores itself', async () => {
    const form = new FormData();
    form.append('a', new Blob(['first']), 'a.txt');
    form.append('b', new Blob(['second']), 'b.txt');
    const response = await fetch(`${app.url}/upload/stream`, { method: 'POST', body: form });
    expect(response.status).toBe(201);
    const { ids } = (await response.json()) as { ids: string[] };
    expect(ids).toHaveLength(2);
    expect(await (await fetch(`${app.url}/files/${ids[1]}`)).text()).toBe('second');
  });

  it('should refuse an avatar that is no image with 415 FILE_REJECTED, storing nothing', async () => {
    const before = diskFolder(directory);
    const form = new FormData();
    form.append('avatar', new Blob(['not an image'], { type: 'image/png' }), 'avatar.png');
    const response = await fetch(`${app.url}/avatar`, { method: 'POST', body: form });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ statusCode: 415, code: 'FILE_REJECTED' });
    expect(diskFolder(directory)).toEqual(before);
  });
});
