/**
 * The same request to multer 2.x and to rx-multipart/express, in one Express app (4 and 5) over
 * loopback HTTP: req.body, req.file, req.files (with the bytes each file holds) and the error
 * next() gets must be the same on both sides, and rx-multipart's folder must hold nothing after a
 * failed request. What differs by design is tested in express-app.spec.ts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPRESS_VERSIONS, startUploadApp, type RouteAnswer, type UploadApp } from './support/apps';
import { sendBody, sendForm, type Entry, type Reply } from './support/clients';
import { disposition, rawBody } from './support/raw-body';

/** One request, sent to `/multer<path>` and `/rx<path>`. */
interface Case {
  readonly name: string;
  readonly send: (base: string) => Promise<Reply>;
  /** The request fails: the error is compared, and rx-multipart's folder must be left as it was. */
  readonly fails?: boolean;
}

const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const file = (filename: string, data: string | Buffer, type?: string): Entry[1] => ({ filename, data, ...(type === undefined ? {} : { type }) });
const limited = (limits: object) => ({ 'x-limits': JSON.stringify(limits) });

const cases: Case[] = [
  {
    name: 'single(): one file and the fields around it (fetch)',
    send: (base) => sendForm('fetch', `${base}/single`, [['title', 'holiday'], ['avatar', file('me.png', png, 'image/png')], ['after', 'yes']]),
  },
  {
    name: 'single(): one file (form-data package)',
    send: (base) => sendForm('form-data', `${base}/single`, [['avatar', file('me.png', png, 'image/png')], ['title', 'x']]),
  },
  {
    name: 'single(): no file at all leaves req.file unset',
    send: (base) => sendForm('fetch', `${base}/single`, [['title', 'only text']]),
  },
  {
    name: 'array(): three files in one field, in body order (form-data package)',
    send: (base) => sendForm('form-data', `${base}/array`, [['photos', file('1.txt', 'one', 'text/plain')], ['photos', file('2.txt', 'two', 'text/plain')], ['caption', 'c'], ['photos', file('3.bin', Buffer.alloc(3000, 7))]]),
  },
  {
    name: 'fields(): files by field name (fetch)',
    send: (base) => sendForm('fetch', `${base}/fields`, [['gallery', file('g1.txt', 'g1')], ['avatar', file('a.txt', 'a')], ['gallery', file('g2.txt', 'g2')], ['note', 'n']]),
  },
  {
    name: 'none(): text fields, a repeated name becoming an array (fetch)',
    send: (base) => sendForm('fetch', `${base}/none`, [['a', '1'], ['b', '2'], ['a', '3'], ['a', '4']]),
  },
  {
    name: 'any(): fields and files interleaved keep their order (form-data package)',
    send: (base) => sendForm('form-data', `${base}/any`, [['f1', 'v1'], ['x', file('x.txt', 'xx', 'text/plain')], ['f2', 'v2'], ['y', file('y.bin', Buffer.alloc(70_000, 1))], ['f3', 'v3']]),
  },
  {
    name: 'memory storage: the whole file in buffer, and size (fetch)',
    send: (base) => sendForm('fetch', `${base}/memory`, [['doc', file('doc.bin', Buffer.alloc(200_000, 9))], ['small', file('s.txt', 'tiny', 'text/plain')]]),
  },
  {
    name: 'nested field names: objects, arrays, appends, and names taken whole',
    send: (base) =>
      sendForm('fetch', `${base}/none`, [
        ['user[name]', 'ada'], ['user[tags][]', 't1'], ['user[tags][]', 't2'], ['list[0]', 'a'], ['list[2]', 'c'],
        ['x[y]z', 'whole'], ['[lead]', 'whole too'], ['m[]', '1'], ['m[]', '2'], ['obj[k]', 'v'], ['obj', 'scalar after object'],
        ['arr[0]', 'first'], ['arr[key]', 'array becomes object'], ['s', 'scalar'], ['s[k]', 'object after scalar'], ['deep[a][0][b]', 'd'],
        ['__proto__', 'p'], ['constructor[prototype]', 'c'], ['a[]x', 'whole'],
      ]),
  },
  {
    name: 'a UTF-8 filename read as latin1 by default, as multer does (fetch)',
    send: (base) => sendForm('fetch', `${base}/any`, [['doc', file('café ünï 📷.txt', 'u', 'text/plain')]]),
  },
  {
    name: "a UTF-8 filename with defParamCharset: 'utf8' (form-data package)",
    send: (base) => sendForm('form-data', `${base}/utf8`, [['doc', file('café ünï 📷.txt', 'u', 'text/plain')], ['títle', 'ñ']]),
  },
  {
    name: 'a latin1 filename (raw bytes)',
    send: (base) => sendBody(`${base}/any`, rawBody([{ head: Buffer.concat([Buffer.from('Content-Disposition: form-data; name="doc"; filename="'), Buffer.from('café.txt', 'latin1'), Buffer.from('"')]), data: 'l' }])),
  },
  {
    name: "filename* (RFC 5987) wins over filename",
    send: (base) => sendBody(`${base}/any`, rawBody([{ head: `Content-Disposition: form-data; name="doc"; filename="fallback.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`, data: 'e' }])),
  },
  {
    name: 'a path in the filename is cut to its basename',
    send: (base) => sendBody(`${base}/any`, rawBody([{ head: disposition('a', 'dir/sub/a.txt'), data: '1' }, { head: disposition('b', 'C:\\Users\\me\\b.txt'), data: '2' }])),
  },
  {
    name: 'preservePath keeps the client path in originalname',
    send: (base) => sendBody(`${base}/preserve`, rawBody([{ head: disposition('a', 'dir/sub/a.txt'), data: '1' }, { head: disposition('b', '../up.txt'), data: '2' }])),
  },
  {
    name: 'a file input sent with no file chosen (filename="") is ignored',
    send: (base) => sendBody(`${base}/any`, rawBody([{ head: `${disposition('empty', '')}\r\nContent-Type: application/octet-stream`, data: '' }, { head: disposition('kept'), data: 'k' }])),
  },
  {
    name: 'a file without Content-Type is text/plain; Content-Transfer-Encoding is the encoding',
    send: (base) => sendBody(`${base}/any`, rawBody([{ head: disposition('a', 'a.dat'), data: 'x' }, { head: `${disposition('b', 'b.dat')}\r\nContent-Type: Image/PNG; q=1\r\nContent-Transfer-Encoding: BINARY`, data: 'y' }])),
  },
  {
    name: 'a part typed application/octet-stream without a filename is dropped',
    send: (base) => sendBody(`${base}/any`, rawBody([{ head: `${disposition('blob')}\r\nContent-Type: application/octet-stream`, data: 'bytes' }, { head: disposition('kept'), data: 'k' }])),
  },
  {
    name: "a field's charset parameter decodes its value",
    send: (base) => sendBody(`${base}/none`, rawBody([{ head: `${disposition('l')}\r\nContent-Type: text/plain; charset=iso-8859-1`, data: Buffer.from('façade', 'latin1') }, { head: disposition('u'), data: 'façade' }])),
  },
  {
    name: "names with the WHATWG escapes %22 %0D %0A are decoded (fetch)",
    send: (base) => sendForm('fetch', `${base}/any`, [['say "hi"\n', 'v'], ['f"\r', file('a"b\nc.txt', 'q', 'text/plain')]]),
  },
  {
    name: 'a body that is not multipart passes through untouched',
    send: async (base) => {
      const response = await fetch(`${base}/any`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    },
  },
  { name: 'limits.fileSize: a file of exactly the limit is stored', send: (base) => sendForm('fetch', `${base}/limited`, [['f', file('ten.bin', Buffer.alloc(10, 1))]], limited({ fileSize: 10 })) },
  { name: 'limits.fieldSize: a value of exactly the limit is kept', send: (base) => sendForm('fetch', `${base}/limited`, [['v', '12345']], limited({ fieldSize: 5 })) },
  { name: 'fileFilter accepting every file', send: (base) => sendForm('fetch', `${base}/filtered`, [['a', file('a.txt', 'a', 'text/plain')], ['b', file('b.png', png, 'image/png')]], { 'x-filter': 'accept' }) },
  {
    name: 'fileFilter refusing text files: skipped silently, the rest stored',
    send: (base) => sendForm('form-data', `${base}/filtered`, [['a', file('a.txt', 'a', 'text/plain')], ['b', file('b.png', png, 'image/png')], ['c', file('c.txt', 'c', 'text/plain')], ['f', 'after']], { 'x-filter': 'skip-text' }),
  },
  // Failures: the error must match.
  { name: 'single(): a second file is LIMIT_UNEXPECTED_FILE', fails: true, send: (base) => sendForm('fetch', `${base}/single`, [['avatar', file('1.png', png)], ['avatar', file('2.png', png)]]) },
  { name: 'single(): a file in another field is LIMIT_UNEXPECTED_FILE', fails: true, send: (base) => sendForm('form-data', `${base}/single`, [['title', 't'], ['other', file('o.txt', 'o')]]) },
  { name: 'array(): one file over maxCount is LIMIT_UNEXPECTED_FILE', fails: true, send: (base) => sendForm('fetch', `${base}/array`, [1, 2, 3, 4].map((n): Entry => ['photos', file(`${n}.txt`, `${n}`)])) },
  { name: 'fields(): gallery over its maxCount is LIMIT_UNEXPECTED_FILE', fails: true, send: (base) => sendForm('fetch', `${base}/fields`, [['gallery', file('1', '1')], ['gallery', file('2', '2')], ['gallery', file('3', '3')]]) },
  { name: 'none(): any file is LIMIT_UNEXPECTED_FILE', fails: true, send: (base) => sendForm('fetch', `${base}/none`, [['a', '1'], ['doc', file('d.txt', 'd')]]) },
  { name: 'limits.fileSize: one byte over is LIMIT_FILE_SIZE with field and filename', fails: true, send: (base) => sendForm('fetch', `${base}/limited`, [['ok', file('ok.bin', 'fine')], ['f', file('eleven.bin', Buffer.alloc(11, 1))]], limited({ fileSize: 10 })) },
  { name: 'limits.files: one file over is LIMIT_FILE_COUNT', fails: true, send: (base) => sendForm('form-data', `${base}/limited`, [['a', file('a', 'a')], ['b', file('b', 'b')]], limited({ files: 1 })) },
  { name: 'limits.fields: one field over is LIMIT_FIELD_COUNT', fails: true, send: (base) => sendForm('fetch', `${base}/limited`, [['a', '1'], ['b', '2']], limited({ fields: 1 })) },
  { name: 'limits.parts: one part over is LIMIT_PART_COUNT', fails: true, send: (base) => sendForm('fetch', `${base}/limited`, [['a', '1'], ['f', file('f', 'f')], ['b', '2']], limited({ parts: 2 })) },
  { name: 'limits.fieldSize: one byte over is LIMIT_FIELD_VALUE with the field', fails: true, send: (base) => sendForm('fetch', `${base}/limited`, [['v', '123456']], limited({ fieldSize: 5 })) },
  { name: 'limits.fieldNameSize: a longer name is LIMIT_FIELD_KEY', fails: true, send: (base) => sendForm('fetch', `${base}/limited`, [['abcde', '1']], limited({ fieldNameSize: 4 })) },
  { name: 'limits.fieldNestingDepth: a deeper name is LIMIT_FIELD_NESTING', fails: true, send: (base) => sendForm('fetch', `${base}/limited`, [['a[b]', '1'], ['a[b][c]', '2']], limited({ fieldNestingDepth: 1 })) },
  { name: 'limits.fieldArrayIndexLimit: a larger index is LIMIT_FIELD_ARRAY_INDEX', fails: true, send: (base) => sendForm('fetch', `${base}/limited`, [['a[5]', '1'], ['a[6]', '2']], limited({ fieldArrayIndexLimit: 5 })) },
  { name: 'limits that are not integers are a TypeError', fails: true, send: (base) => sendForm('fetch', `${base}/limited`, [['a', '1']], limited({ fileSize: 1.5 })) },
  { name: 'fileFilter calling back an error fails the request with it', fails: true, send: (base) => sendForm('fetch', `${base}/filtered`, [['a', file('a.png', png, 'image/png')], ['b', file('b.png', png, 'image/png')]], { 'x-filter': 'fail' }) },
  { name: 'a file part without a name is MISSING_FIELD_NAME', fails: true, send: (base) => sendBody(`${base}/any`, rawBody([{ head: disposition('ok', 'ok.txt'), data: 'ok' }, { head: 'Content-Disposition: form-data; filename="x.txt"', data: 'x' }])) },
];

describe.each(EXPRESS_VERSIONS)('multer and rx-multipart/express on %s', (_version, express) => {
  let app: UploadApp;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'rx-multipart-parity-'));
    app = await startUploadApp(express, { multer: join(root, 'multer'), rx: join(root, 'rx') });
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  for (const testCase of cases) {
    it(`should answer as multer does: ${testCase.name}`, async () => {
      const rxBefore = readdirSync(app.folders.rx);
      const viaMulter = await testCase.send(`${app.url}/multer`);
      const viaRx = await testCase.send(`${app.url}/rx`);
      const expected = viaMulter.json as RouteAnswer;
      const actual = viaRx.json as RouteAnswer;
      if (testCase.fails === true) {
        expect(expected.error).toBeDefined();
        // The fields read before the error depend on when each side stops reading: not compared.
        expect(actual.error).toEqual(expected.error);
        expect(readdirSync(app.folders.rx).sort()).toEqual(rxBefore.sort());
      } else {
        expect(expected.error).toBeUndefined();
        expect(actual).toEqual(expected);
        expect(viaRx.status).toBe(viaMulter.status);
      }
    });
  }
});
