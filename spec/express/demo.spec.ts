/**
 * demo/express/server.mjs as its README runs it (`node demo/express/server.mjs` after `npm run
 * build`), on a free port with its own upload folder, driven with fetch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('the rx-multipart/express demo', () => {
  let child: ChildProcess;
  let url: string;
  let uploadDir: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'esm', 'express', 'index.js'))) throw new Error('The demo imports rx-multipart/express from dist/: run `npm run build` first (npm test does).');
    uploadDir = join(mkdtempSync(join(tmpdir(), 'rx-express-demo-')), 'uploads');
    child = spawn(process.execPath, ['demo/express/server.mjs'], { cwd: ROOT, env: { ...process.env, PORT: '0', HOST: '127.0.0.1', UPLOAD_DIR: uploadDir, MAX_FILE_SIZE: '1024' }, stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /listening on (http:\/\/\S+)/.exec(output);
        if (found !== null) resolve(found[1]!);
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`the demo exited (${code}) before listening:\n${output}`)));
    });
  }, 30_000);

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(join(uploadDir, '..'), { recursive: true, force: true });
  });

  const post = async (path: string, entries: Array<[string, string] | [string, Buffer, string, string]>): Promise<[number, unknown]> => {
    const form = new FormData();
    for (const [name, value, filename, type] of entries) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, new Blob([value], { type }), filename);
    }
    const response = await fetch(url + path, { method: 'POST', body: form });
    return [response.status, await response.json()];
  };

  it('should serve the upload page', async () => {
    expect(await (await fetch(url)).text()).toContain('enctype="multipart/form-data"');
  });

  it('should store an avatar and answer with req.file and req.body', async () => {
    const [status, body] = await post('/profile', [['name', 'ada'], ['avatar', Buffer.from('png'), 'me.png', 'image/png']]);
    expect(status).toBe(200);
    expect(body).toEqual({ file: { fieldname: 'avatar', originalname: 'me.png', mimetype: 'image/png', size: 3, filename: expect.stringMatching(/^[0-9a-f]{32}$/) }, body: { name: 'ada' } });
    expect(readdirSync(uploadDir)).toContain((body as { file: { filename: string } }).file.filename);
  });

  it('should skip what fileFilter refuses and store the rest of array()', async () => {
    const [status, body] = await post('/photos/upload', [['photos', Buffer.from('a'), 'a.jpg', 'image/jpeg'], ['photos', Buffer.from('t'), 't.txt', 'text/plain']]);
    expect(status).toBe(200);
    expect((body as { files: Array<{ originalname: string }> }).files.map((file) => file.originalname)).toEqual(['a.jpg']);
  });

  it("should answer the error handler's MulterError: 413 LIMIT_FILE_SIZE, nothing of it kept", async () => {
    const before = readdirSync(uploadDir).length;
    expect(await post('/profile', [['avatar', Buffer.alloc(2048), 'big.png', 'image/png']])).toEqual([413, { error: 'LIMIT_FILE_SIZE', field: 'avatar', message: 'File too large' }]);
    expect(readdirSync(uploadDir)).toHaveLength(before);
  });

  it('should answer an unexpected field with 400 LIMIT_UNEXPECTED_FILE', async () => {
    expect(await post('/profile', [['other', Buffer.from('x'), 'x.png', 'image/png']])).toEqual([400, { error: 'LIMIT_UNEXPECTED_FILE', field: 'other', message: 'Unexpected file field' }]);
  });
});
