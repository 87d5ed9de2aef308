/**
 * The demo service over real HTTP, started as the README starts it (`node demo/server.mjs`, a
 * free port, its own UPLOAD_DIR), driven with Node's fetch and with curl. After every failure the
 * upload folder is listed: it holds exactly what the earlier successful requests stored.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { indexedFiles } from '../support/disk-folder';
import { CONTENT_TYPE, formBody, partHead } from '../support/form-body';
import { curl, openUpload, sha256, waitUntil } from './support/clients';
import { entriesFor, listFolder, startDemo, type DemoProcess } from './support/demo-process';

const KiB = 1024;
const MiB = 1024 * KiB;
const MAX_FILE_SIZE = 2 * MiB;
const SEED_400 = '{"error":{"code":400,"message":"Invalid multipart/form-data"}}';

interface UploadAnswer {
  result: {
    fileIds: string[];
    fields: Record<string, string | string[]>;
    files: { id: string; fieldName: string; filename: string; contentType: string; size: number; sha256: string }[];
  };
}

let demo: DemoProcess;
// Files stored by the successful requests so far: the folder must hold these and nothing else.
const kept: string[] = [];
let scratch: string;

beforeAll(async () => {
  demo = await startDemo({ MAX_FILE_SIZE: String(MAX_FILE_SIZE) });
  scratch = mkdtempSync(join(tmpdir(), 'rx-demo-files-'));
});

afterAll(async () => {
  await demo?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function expectOnlyKept(): void {
  expect(listFolder(demo.uploadDir)).toEqual(entriesFor(kept));
}

async function download(id: string): Promise<{ response: Response; bytes: Buffer }> {
  const response = await fetch(`${demo.url}/files/${id}`);
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** A scratch file for curl to send. */
function scratchFile(name: string, bytes: Buffer | string): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

/** Checks a Content-Disposition for `filename`: visible ASCII only, a plain fallback, and `filename*` giving the name back. */
function expectSafeDisposition(header: string | null, filename: string): void {
  expect(header).toMatch(/^attachment; filename="[\x20-\x7e]*"(; filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]+)?$/);
  const fallback = /filename="([^"]*)"/.exec(header!)![1]!;
  expect(fallback).not.toMatch(/[/\\%"]/);
  const extended = /filename\*=UTF-8''(\S+)$/.exec(header!)?.[1];
  expect(extended === undefined ? fallback : decodeURIComponent(extended)).toBe(filename);
}

describe('the demo service', () => {
  describe('GET /', () => {
    it('should serve the upload page with its form, script and style', async () => {
      const page = await fetch(`${demo.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      expect(html).toContain('<form id="upload-form" action="/upload" method="post" enctype="multipart/form-data">');
      for (const [path, type] of [['/app.js', 'text/javascript; charset=utf-8'], ['/style.css', 'text/css; charset=utf-8']] as const) {
        const asset = await fetch(`${demo.url}${path}`);
        expect([asset.status, asset.headers.get('content-type')]).toEqual([200, type]);
      }
    });
  });

  describe('POST /upload, successful', () => {
    it('should store several files and fields sent by fetch, answering the ids in body order', async () => {
      const text = Buffer.from('plain text\r\n--not-a-boundary\r\n');
      const binary = Buffer.alloc(300 * KiB, 0x2d); // dashes everywhere: boundary look-alikes
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(1000, 7)]);
      const form = new FormData();
      form.append('title', 'holiday');
      form.append('file', new Blob([text], { type: 'text/plain' }), 'notes.txt');
      form.append('tag', 'one');
      form.append('file', new Blob([binary]), 'dashes.bin');
      form.append('tag', 'two');
      form.append('photo', new Blob([png], { type: 'image/png' }), 'pixel.png');

      const response = await fetch(`${demo.url}/upload`, { method: 'POST', body: form });
      expect(response.status).toBe(200);
      const { result } = (await response.json()) as UploadAnswer;
      expect(result.fileIds).toHaveLength(3);
      expect(result.fields).toEqual({ title: 'holiday', tag: ['one', 'two'] });
      expect(result.files.map((file) => [file.fieldName, file.filename, file.size, file.sha256])).toEqual([
        ['file', 'notes.txt', text.length, sha256(text)],
        ['file', 'dashes.bin', binary.length, sha256(binary)],
        ['photo', 'pixel.png', png.length, sha256(png)],
      ]);
      kept.push(...result.fileIds);
      for (const [index, expected] of [text, binary, png].entries()) {
        const { response: got, bytes } = await download(result.fileIds[index]!);
        expect(got.headers.get('content-length')).toBe(String(expected.length));
        expect(bytes.equals(expected)).toBe(true);
      }
      expect((await download(result.fileIds[2]!)).response.headers.get('content-type')).toBe('image/png');
      expectOnlyKept();
    });

    it('should store several files and fields sent by curl -F', async () => {
      const first = scratchFile('first.csv', 'a,b\n1,2\n');
      const second = scratchFile('second.bin', Buffer.alloc(700 * KiB, 0xa5));
      const answer = await curl(['-F', 'title=from curl', '-F', `file=@${first};type=text/csv`, '-F', 'note=ünïcödé', '-F', `file=@${second}`, `${demo.url}/upload`]);
      expect(answer.status).toBe(200);
      const { result } = JSON.parse(answer.body) as UploadAnswer;
      expect(result.fields).toEqual({ title: 'from curl', note: 'ünïcödé' });
      expect(result.files.map((file) => [file.filename, file.contentType])).toEqual([
        ['first.csv', 'text/csv'],
        ['second.bin', 'application/octet-stream'],
      ]);
      kept.push(...result.fileIds);
      expect((await download(result.fileIds[0]!)).bytes.equals(readFileSync(first))).toBe(true);
      expect((await download(result.fileIds[1]!)).bytes.equals(readFileSync(second))).toBe(true);
      expectOnlyKept();
    });

    it('should store an empty file and serve it back with Content-Length 0', async () => {
      const form = new FormData();
      form.append('file', new Blob([]), 'empty.txt');
      const response = await fetch(`${demo.url}/upload`, { method: 'POST', body: form });
      const { result } = (await response.json()) as UploadAnswer;
      expect(result.files.map((file) => [file.filename, file.size, file.sha256])).toEqual([['empty.txt', 0, sha256(Buffer.alloc(0))]]);
      kept.push(...result.fileIds);
      const { response: got, bytes } = await download(result.fileIds[0]!);
      expect([got.status, got.headers.get('content-length'), bytes.length]).toEqual([200, '0', 0]);
      expectOnlyKept();
    });

    it('should store a filename with ../ and non-ASCII (fetch) under a generated id and keep the name as metadata only', async () => {
      const bytes = Buffer.from('not a path');
      const form = new FormData();
      form.append('file', new Blob([bytes]), '../../outside/naïve ✓ "quoted" 100%.txt');
      const { result } = (await (await fetch(`${demo.url}/upload`, { method: 'POST', body: form })).json()) as UploadAnswer;
      const [id] = result.fileIds;
      kept.push(id!);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(result.files[0]!.filename).toBe('naïve ✓ "quoted" 100%.txt');
      expect(indexedFiles(demo.uploadDir).get(id!)?.filename).toBe('naïve ✓ "quoted" 100%.txt');
      // Nothing was written next to the upload folder.
      expect(readdirSync(dirname(demo.uploadDir))).toEqual(['uploads']);
      const { response, bytes: got } = await download(id!);
      expectSafeDisposition(response.headers.get('content-disposition'), 'naïve ✓ "quoted" 100%.txt');
      expect(got.equals(bytes)).toBe(true);
      expectOnlyKept();
    });

    it('should store a filename with ../ and non-ASCII (curl) under a generated id, with a safe Content-Disposition', async () => {
      const path = scratchFile('plain.txt', 'curl bytes');
      const answer = await curl(['-F', `file=@${path};filename=../../etc/pässwörd ✓.txt`, `${demo.url}/upload`]);
      const { result } = JSON.parse(answer.body) as UploadAnswer;
      const [id] = result.fileIds;
      kept.push(id!);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(result.files[0]!.filename).toBe('pässwörd ✓.txt');
      expect(readdirSync(dirname(demo.uploadDir))).toEqual(['uploads']);
      const head = await fetch(`${demo.url}/files/${id}`, { method: 'HEAD' });
      expect(head.headers.get('content-disposition')).toBe(`attachment; filename="p_ssw_rd _.txt"; filename*=UTF-8''p%C3%A4ssw%C3%B6rd%20%E2%9C%93.txt`);
      expectSafeDisposition(head.headers.get('content-disposition'), 'pässwörd ✓.txt');
      expectOnlyKept();
    });
  });

  describe('GET and HEAD /files/:id', () => {
    it('should answer HEAD with the headers of GET and no body', async () => {
      const id = kept[0]!;
      const [get, head] = await Promise.all([fetch(`${demo.url}/files/${id}`), fetch(`${demo.url}/files/${id}`, { method: 'HEAD' })]);
      await get.arrayBuffer();
      for (const name of ['content-type', 'content-length', 'content-disposition', 'etag', 'x-content-type-options']) {
        expect([name, head.headers.get(name)]).toEqual([name, get.headers.get(name)]);
      }
      expect(head.status).toBe(200);
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    });

    it.each([
      ['an unknown id', '0123456789abcdef0123456789abcdef'],
      ['an id that is a path', '..%2F..%2Fetc%2Fpasswd'],
      ['the name of the storage\'s index', 'index.jsonl'],
      ['a stored file\'s temporary name', 'KEPT.partial'],
      ['a malformed percent escape', '%E0%A4%A'],
    ])('should answer 404 in the JSON error shape for %s', async (_what, id) => {
      const response = await fetch(`${demo.url}/files/${id.replace('KEPT', kept[0]!)}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 404, message: 'No such file' } });
    });
  });

  describe('POST /upload, failing', () => {
    it('should answer the seed\'s exact 400 to a truncated body and keep nothing of it', async () => {
      const body = formBody([{ name: 'file', filename: 'cut.bin', data: Buffer.alloc(64 * KiB, 1) }]);
      const response = await fetch(`${demo.url}/upload`, {
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPE },
        body: body.subarray(0, body.length - 20), // the closing delimiter never comes
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await response.text()).toBe(SEED_400);
      expectOnlyKept();
    });

    it('should remove a file already stored by a request whose body then ends early', async () => {
      const upload = openUpload(`${demo.url}/upload`, { 'content-type': CONTENT_TYPE });
      await upload.write(partHead({ name: 'file', filename: 'whole.bin' }));
      await upload.write(Buffer.alloc(256 * KiB, 2));
      await upload.write(`\r\n${partHead({ name: 'file', filename: 'cut.bin' })}`);
      await upload.write(Buffer.alloc(64 * KiB, 3));
      // The first file is stored (renamed into place, and in the index) and the second open.
      await waitUntil('the first file is stored and the second open', () => {
        const fresh = listFolder(demo.uploadDir).filter((name) => !entriesFor(kept).includes(name));
        return fresh.length === 3 && fresh.some((name) => name.endsWith('.partial'));
      });
      upload.request.end();
      const answer = await upload.answer;
      expect([answer.status, answer.body]).toEqual([400, SEED_400]);
      expectOnlyKept();
    });

    it('should answer the exact 400 to a part with a malformed header', async () => {
      const body = Buffer.from(`--b\r\nContent-Disposition form-data; name="x"\r\n\r\nvalue\r\n--b--\r\n`);
      const response = await fetch(`${demo.url}/upload`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b' }, body });
      expect([response.status, await response.text()]).toEqual([400, SEED_400]);
      expectOnlyKept();
    });

    it('should answer the exact 400 to a multipart Content-Type without a boundary (curl)', async () => {
      const answer = await curl(['-H', 'Content-Type: multipart/form-data', '--data-binary', 'whatever', `${demo.url}/upload`]);
      expect(answer).toEqual({ status: 400, body: SEED_400 });
      expectOnlyKept();
    });

    it('should answer 415 with type NOT_MULTIPART to a JSON body (fetch)', async () => {
      const response = await fetch(`${demo.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"file":"x"}' });
      expect(response.status).toBe(415);
      const answer = (await response.json()) as { error: Record<string, unknown> };
      expect(answer).toEqual({ error: { code: 415, message: expect.any(String), type: 'NOT_MULTIPART' } });
      expectOnlyKept();
    });

    it('should answer 415 with type NOT_MULTIPART to a urlencoded form (curl --data)', async () => {
      const answer = await curl(['--data', 'file=x', `${demo.url}/upload`]);
      expect(answer.status).toBe(415);
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 415, message: expect.any(String), type: 'NOT_MULTIPART' } });
      expectOnlyKept();
    });

    it('should answer 413 with type LIMIT_FILE_SIZE to a file over MAX_FILE_SIZE and remove the files stored before it (curl)', async () => {
      const small = scratchFile('small.txt', 'fits');
      const big = scratchFile('big.bin', Buffer.alloc(MAX_FILE_SIZE + 1, 0x42));
      const answer = await curl(['-F', `file=@${small}`, '-F', `file=@${big}`, `${demo.url}/upload`]);
      expect(answer.status).toBe(413);
      const body = JSON.parse(answer.body) as { error: { code: number; message: string; type: string } };
      expect(body).toEqual({ error: { code: 413, message: expect.stringContaining('big.bin'), type: 'LIMIT_FILE_SIZE' } });
      expectOnlyKept();
    });

    it('should take a file of exactly MAX_FILE_SIZE bytes', async () => {
      const form = new FormData();
      form.append('file', new Blob([Buffer.alloc(MAX_FILE_SIZE, 0x43)]), 'exact.bin');
      const response = await fetch(`${demo.url}/upload`, { method: 'POST', body: form });
      const { result } = (await response.json()) as UploadAnswer;
      expect(result.files[0]!.size).toBe(MAX_FILE_SIZE);
      kept.push(...result.fileIds);
      expectOnlyKept();
    });

    it('should remove everything of a request whose client aborts mid-file', async () => {
      const from = demo.lines.length;
      const upload = openUpload(`${demo.url}/upload`, { 'content-type': CONTENT_TYPE });
      await upload.write(partHead({ name: 'file', filename: 'first.bin' }));
      await upload.write(Buffer.alloc(128 * KiB, 4));
      await upload.write(`\r\n${partHead({ name: 'file', filename: 'half.bin' })}`);
      await upload.write(Buffer.alloc(512 * KiB, 5));
      await waitUntil('the first file is stored and the second half-written', () => {
        const fresh = listFolder(demo.uploadDir).filter((name) => !entriesFor(kept).includes(name));
        return fresh.length === 3 && fresh.some((name) => name.endsWith('.partial'));
      });
      upload.request.destroy();
      // The log line comes after the cleanup: 499, nginx's status for a client that left.
      const line = await demo.waitForLine(/ POST \/upload 499 /, from);
      expect(line).toMatch(/files=0$/);
      expectOnlyKept();
    });

    it('should answer 405 to GET /upload and 404 to an unknown path, in the JSON error shape', async () => {
      const get = await fetch(`${demo.url}/upload`);
      expect([get.status, get.headers.get('allow'), await get.json()]).toEqual([405, 'POST', { error: { code: 405, message: 'Method not allowed' } }]);
      const unknown = await fetch(`${demo.url}/nowhere`, { method: 'POST', body: 'x' });
      expect([unknown.status, await unknown.json()]).toEqual([404, { error: { code: 404, message: 'Not found' } }]);
      expectOnlyKept();
    });
  });

  describe('its log', () => {
    it('should write one line per request with method, path, status, bytes, milliseconds and file count', async () => {
      const from = demo.lines.length;
      const form = new FormData();
      form.append('file', new Blob(['12345']), 'a.txt');
      form.append('file', new Blob(['678']), 'b.txt');
      const { result } = (await (await fetch(`${demo.url}/upload`, { method: 'POST', body: form })).json()) as UploadAnswer;
      kept.push(...result.fileIds);
      const line = await demo.waitForLine(/ POST \/upload 200 /, from);
      expect(line).toMatch(/^\S+Z POST \/upload 200 in=\d+B out=\d+B \d+ms files=2$/);
      await (await fetch(`${demo.url}/files/${result.fileIds[1]}?x=1`)).arrayBuffer();
      expect(await demo.waitForLine(/ GET \/files\//, from)).toMatch(new RegExp(`^\\S+Z GET /files/${result.fileIds[1]} 200 in=0B out=3B \\d+ms files=1$`));
      // One line each: not one per chunk, part or file.
      expect(demo.lines.slice(from).filter((logged) => / POST \/upload 200 /.test(logged))).toHaveLength(1);
      expect(demo.lines.slice(from).filter((logged) => logged.includes(` GET /files/${result.fileIds[1]} `))).toHaveLength(1);
    });
  });
});
