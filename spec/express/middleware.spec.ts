/**
 * rx-multipart/express as unit tests of middleware call it: a PassThrough with `headers` for the
 * request, `next` as a callback. Each method, each limit and its code, fileFilter, the storages,
 * custom engines (multer's own disk engine among them), a client that goes away.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs, { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import realMulter from 'multer';
import multer, { MulterError, type FileFilterCallback, type MulterFile, type StorageEngine } from '../../lib/express/index';
import { MultipartError } from '../../lib/index';
import { BOUNDARY, formBody, partHead, type FormPart } from '../support/form-body';
import { callMiddleware, fakeRequest, type FakeRequest } from './support/fake-request';
import { disposition, rawBody } from './support/raw-body';

const KiB = 1024;
const MiB = 1024 * KiB;

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'rx-multipart-middleware-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

const text = (name: string, data: string): FormPart => ({ name, data });
const upload = (name: string, filename: string, data: string | Buffer, contentType = 'application/octet-stream'): FormPart => ({ name, filename, data, contentType });

function filesOf(req: FakeRequest): MulterFile[] {
  return req.files as MulterFile[];
}

/** A storage engine of its own: keeps files in a Map, and records every call. */
function createRecordingEngine(options: { failOn?: string; failRemove?: boolean } = {}) {
  const stored = new Map<string, Buffer>();
  const removed: string[] = [];
  let next = 0;
  const engine: StorageEngine = {
    _handleFile(_req, file, callback) {
      const chunks: Buffer[] = [];
      file.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      file.stream.on('error', callback);
      file.stream.on('end', () => {
        if (file.originalname === options.failOn) return callback(new Error(`engine refused ${file.originalname}`));
        const key = `key-${next++}`;
        stored.set(key, Buffer.concat(chunks));
        callback(null, { key, size: stored.get(key)!.length } as Partial<MulterFile>);
      });
    },
    _removeFile(_req, file, callback) {
      const { key } = file as MulterFile & { key?: string };
      if (options.failRemove === true) return callback(new Error(`cannot remove ${key}`));
      if (key !== undefined) {
        stored.delete(key);
        removed.push(key);
      }
      callback(null);
    },
  };
  return { engine, stored, removed };
}

describe('the methods', () => {
  it('should put the one file of single() in req.file, written to dest under a random name', async () => {
    const { error, req } = await callMiddleware(multer({ dest: folder }).single('avatar'), fakeRequest(formBody([text('title', 't'), upload('avatar', 'me.png', 'png bytes', 'image/png')])));
    expect(error).toBeUndefined();
    expect(req.file).toEqual({ fieldname: 'avatar', originalname: 'me.png', encoding: '7bit', mimetype: 'image/png', path: join(folder, req.file!.filename), destination: folder, filename: expect.stringMatching(/^[0-9a-f]{32}$/), size: 9 });
    expect(readFileSync(req.file!.path, 'utf8')).toBe('png bytes');
    expect(req.files).toBeUndefined();
  });

  it('should put the files of array() in req.files in body order', async () => {
    const { req } = await callMiddleware(multer({ dest: folder }).array('photos', 3), fakeRequest(formBody([upload('photos', 'a', 'A'), upload('photos', 'b', 'BB'), upload('photos', 'c', 'CCC')])));
    expect(filesOf(req).map((file) => [file.originalname, file.size, readFileSync(file.path, 'utf8')])).toEqual([['a', 1, 'A'], ['b', 2, 'BB'], ['c', 3, 'CCC']]);
  });

  it('should fail array() with LIMIT_UNEXPECTED_FILE past maxCount, removing the files before', async () => {
    const { error, req } = await callMiddleware(multer({ dest: folder }).array('photos', 2), fakeRequest(formBody([upload('photos', 'a', 'A'), upload('photos', 'b', 'B'), upload('photos', 'c', 'C')])));
    expect(error).toBeInstanceOf(MulterError);
    expect(error).toMatchObject({ code: 'LIMIT_UNEXPECTED_FILE', field: 'photos', filename: 'c', status: 400 });
    expect(readdirSync(folder)).toEqual([]);
    expect(req.files).toEqual([]);
  });

  it('should put the files of fields() in req.files by field name', async () => {
    const middleware = multer({ storage: multer.memoryStorage() }).fields([{ name: 'avatar', maxCount: 1 }, { name: 'gallery' }]);
    const { req } = await callMiddleware(middleware, fakeRequest(formBody([upload('gallery', 'g1', '1'), upload('avatar', 'a', 'A'), upload('gallery', 'g2', '2')])));
    const files = req.files as Record<string, MulterFile[]>;
    expect(Object.getPrototypeOf(files)).toBeNull();
    expect(Object.keys(files)).toEqual(['gallery', 'avatar']);
    expect(files['gallery']!.map((file) => file.buffer.toString())).toEqual(['1', '2']);
    expect(files['avatar']!.map((file) => file.originalname)).toEqual(['a']);
  });

  it('should fill req.body only with none(), and refuse a file with LIMIT_UNEXPECTED_FILE', async () => {
    const ok = await callMiddleware(multer().none(), fakeRequest(formBody([text('a', '1'), text('b', '2')])));
    expect(ok.req.body).toEqual({ a: '1', b: '2' });
    expect([ok.req.file, ok.req.files]).toEqual([undefined, undefined]);
    const refused = await callMiddleware(multer().none(), fakeRequest(formBody([text('a', '1'), upload('doc', 'd.txt', 'd')])));
    expect(refused.error).toMatchObject({ code: 'LIMIT_UNEXPECTED_FILE', field: 'doc' });
  });

  it('should take files in any field with any()', async () => {
    const { req } = await callMiddleware(multer().any(), fakeRequest(formBody([upload('x', 'x', 'X'), upload('y', 'y', 'Y')])));
    expect(filesOf(req).map((file) => [file.fieldname, file.buffer.toString()])).toEqual([['x', 'X'], ['y', 'Y']]);
  });

  it('should keep fields and files in body order', async () => {
    const { req } = await callMiddleware(multer().any(), fakeRequest(formBody([text('z', '1'), upload('f2', 'b', 'B'), text('a', '2'), upload('f1', 'a', 'A'), text('m', '3')])));
    expect(Object.keys(req.body!)).toEqual(['z', 'a', 'm']);
    expect(filesOf(req).map((file) => file.fieldname)).toEqual(['f2', 'f1']);
  });

  it('should build nested objects and arrays from bracket names', async () => {
    const body = formBody([text('user[name]', 'ada'), text('user[langs][]', 'en'), text('user[langs][]', 'fr'), text('rows[1][id]', '7'), text('tag', 'a'), text('tag', 'b')]);
    const { req } = await callMiddleware(multer().none(), fakeRequest(body));
    expect(JSON.parse(JSON.stringify(req.body))).toEqual({ user: { name: 'ada', langs: ['en', 'fr'] }, rows: [null, { id: '7' }], tag: ['a', 'b'] });
  });

  it('should pass a request that is not multipart, or has no body, to next untouched', async () => {
    const json = fakeRequest(Buffer.from('{}'), { headers: { 'content-type': 'application/json' } });
    expect((await callMiddleware(multer().any(), json)).req.body).toBeUndefined();
    const bodiless = fakeRequest([]);
    delete bodiless.headers['content-length'];
    expect((await callMiddleware(multer().any(), bodiless)).req.body).toBeUndefined();
  });

  it('should call next in the async context of the middleware call', async () => {
    const context = new AsyncLocalStorage<string>();
    const seen = await context.run('request-7', () => new Promise<string | undefined>((resolve) => {
      multer().any()(fakeRequest(formBody([upload('f', 'f', Buffer.alloc(200 * KiB))])), {} as never, () => resolve(context.getStore()));
    }));
    expect(seen).toBe('request-7');
  });
});

describe('limits', () => {
  const cases: ReadonlyArray<readonly [string, object, FormPart[] | Buffer, object]> = [
    ['fileSize', { fileSize: 4 }, [upload('f', 'big.bin', '12345')], { code: 'LIMIT_FILE_SIZE', field: 'f', filename: 'big.bin', limit: 4 }],
    ['files', { files: 1 }, [upload('a', 'a', 'a'), upload('b', 'b', 'b')], { code: 'LIMIT_FILE_COUNT', limit: 1 }],
    ['fields', { fields: 1 }, [text('a', '1'), text('b', '2')], { code: 'LIMIT_FIELD_COUNT', limit: 1 }],
    ['parts', { parts: 1 }, [text('a', '1'), upload('b', 'b', 'b')], { code: 'LIMIT_PART_COUNT', limit: 1 }],
    ['fieldSize', { fieldSize: 3 }, [text('v', '1234')], { code: 'LIMIT_FIELD_VALUE', field: 'v', limit: 3 }],
    ['fieldNameSize', { fieldNameSize: 3 }, [text('name', '1')], { code: 'LIMIT_FIELD_KEY', limit: 3 }],
    ['headerPairs', { headerPairs: 2 }, rawBody([{ head: `${disposition('a')}\r\nX-One: 1\r\nX-Two: 2`, data: '1' }]), { code: 'LIMIT_HEADER_PAIRS', limit: 2 }],
    ['headerSize', { headerSize: 64 }, rawBody([{ head: `${disposition('a')}\r\nX-Long: ${'x'.repeat(100)}`, data: '1' }]), { code: 'LIMIT_HEADER_SIZE', limit: 64 }],
    ['preambleSize', { preambleSize: 8 }, Buffer.concat([Buffer.from('a preamble longer than 8 bytes\r\n'), formBody([text('a', '1')])]), { code: 'LIMIT_PREAMBLE_SIZE', limit: 8 }],
    ['bodySize', { bodySize: 100 }, [upload('f', 'f', Buffer.alloc(200))], { code: 'LIMIT_BODY_SIZE', limit: 100 }],
    ['fieldNestingDepth', { fieldNestingDepth: 1 }, [text('a[b][c]', '1')], { code: 'LIMIT_FIELD_NESTING', field: 'a[b][c]' }],
    ['fieldArrayIndexLimit', { fieldArrayIndexLimit: 9 }, [text('a[10]', '1')], { code: 'LIMIT_FIELD_ARRAY_INDEX', field: 'a[10]' }],
  ];

  it.each(cases)('should fail with 413 and its code when %s is exceeded, nothing stored', async (_name, limits, parts, expected) => {
    const body = Buffer.isBuffer(parts) ? parts : formBody(parts);
    const { error } = await callMiddleware(multer({ dest: folder, limits }).any(), fakeRequest(body));
    expect(error).toBeInstanceOf(MulterError);
    expect(error).toMatchObject({ name: 'MulterError', status: 413, ...expected });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('should set `field` only where multer does', async () => {
    const { error } = await callMiddleware(multer({ limits: { files: 1 } }).any(), fakeRequest(formBody([upload('a', 'a', 'a'), upload('b', 'b', 'b')])));
    expect(Object.keys(error as object)).not.toContain('field');
  });

  it('should refuse the 101st file by default (multer: no limit)', async () => {
    const parts = Array.from({ length: 101 }, (_, i) => upload('f', `${i}.txt`, 'x'));
    const { error } = await callMiddleware(multer().any(), fakeRequest(formBody(parts)));
    expect(error).toMatchObject({ code: 'LIMIT_FILE_COUNT', limit: 100 });
  });

  it('should refuse an array index above the fields limit by default (multer: no limit)', async () => {
    const { error } = await callMiddleware(multer({ limits: { fields: 50 } }).none(), fakeRequest(formBody([text('a[51]', 'x')])));
    expect(error).toMatchObject({ code: 'LIMIT_FIELD_ARRAY_INDEX', field: 'a[51]' });
  });

  it('should take Infinity to lift a limit', async () => {
    const parts = Array.from({ length: 101 }, (_, i) => upload('f', `${i}.txt`, 'x'));
    const { error, req } = await callMiddleware(multer({ limits: { files: Infinity } }).any(), fakeRequest(formBody(parts)));
    expect(error).toBeUndefined();
    expect(filesOf(req)).toHaveLength(101);
  });

  it('should call a limits function once per request, with the request', async () => {
    const seen: unknown[] = [];
    const middleware = multer({ limits: (req) => (seen.push(req.headers['x-plan']), { fileSize: req.headers['x-plan'] === 'free' ? 2 : 10 }) }).any();
    const free = await callMiddleware(middleware, fakeRequest(formBody([upload('f', 'f', 'abc')]), { headers: { 'x-plan': 'free' } }));
    const paid = await callMiddleware(middleware, fakeRequest(formBody([upload('f', 'f', 'abc')]), { headers: { 'x-plan': 'paid' } }));
    expect(free.error).toMatchObject({ code: 'LIMIT_FILE_SIZE' });
    expect(paid.error).toBeUndefined();
    expect(seen).toEqual(['free', 'paid']);
  });

  it('should throw a TypeError for a limit that is not a non-negative integer or Infinity', () => {
    expect(() => multer({ limits: { fileSize: 1.5 } })).toThrow(new TypeError('Expected limits.fileSize to be a non-negative integer or Infinity'));
    expect(() => multer({ limits: { files: -1 } })).toThrow(TypeError);
  });
});

describe('fileFilter', () => {
  const body = formBody([upload('a', 'a.txt', 'A', 'text/plain'), upload('b', 'b.png', 'B', 'image/png')]);

  it('should store the files it accepts and skip those it refuses', async () => {
    const seen: string[] = [];
    const fileFilter = (_req: unknown, file: MulterFile, callback: FileFilterCallback): void => {
      seen.push(`${file.fieldname}:${file.originalname}:${file.mimetype}:${file.encoding}:${'size' in file}`);
      callback(null, file.mimetype === 'image/png');
    };
    const { req } = await callMiddleware(multer({ fileFilter }).any(), fakeRequest(body));
    expect(seen).toEqual(['a:a.txt:text/plain:7bit:false', 'b:b.png:image/png:7bit:false']);
    expect(filesOf(req).map((file) => file.originalname)).toEqual(['b.png']);
  });

  it('should not count a refused file against maxCount', async () => {
    const fileFilter = (_req: unknown, file: MulterFile, callback: FileFilterCallback): void => callback(null, file.originalname !== 'skip');
    const { error, req } = await callMiddleware(multer({ fileFilter }).single('f'), fakeRequest(formBody([upload('f', 'skip', 'x'), upload('f', 'keep', 'y')])));
    expect(error).toBeUndefined();
    expect(req.file?.originalname).toBe('keep');
  });

  it('should fail the request with the error it calls back, removing the files stored before', async () => {
    const refusal = new Error('no PNG here');
    const fileFilter = (_req: unknown, file: MulterFile, callback: FileFilterCallback): void => (file.mimetype === 'image/png' ? callback(refusal) : callback(null, true));
    const { error } = await callMiddleware(multer({ dest: folder, fileFilter }).any(), fakeRequest(body));
    expect(error).toBe(refusal);
    expect(error).toMatchObject({ storageErrors: [] });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('should fail the request with what it throws', async () => {
    const { error } = await callMiddleware(multer({ fileFilter: () => { throw new Error('filter bug'); } }).any(), fakeRequest(body));
    expect(error).toMatchObject({ message: 'filter bug' });
  });

  it('should fail with TIMEOUT when it never calls back, instead of hanging', async () => {
    const { error } = await callMiddleware(multer({ fileFilter: () => undefined, timeout: 50 }).any(), fakeRequest(body));
    expect(error).toBeInstanceOf(MultipartError);
    expect(error).toMatchObject({ code: 'TIMEOUT', status: 408 });
  });

  it('should take the first answer of one that calls back twice', async () => {
    const fileFilter = (_req: unknown, _file: MulterFile, callback: FileFilterCallback): void => {
      callback(null, false);
      callback(null, true);
    };
    const { error, req } = await callMiddleware(multer({ fileFilter }).any(), fakeRequest(body));
    expect(error).toBeUndefined();
    expect(filesOf(req)).toEqual([]);
  });
});

describe('storages', () => {
  it('should keep files in memory without dest or storage, as multer does', async () => {
    const { req } = await callMiddleware(multer().single('f'), fakeRequest(formBody([upload('f', 'f.bin', Buffer.alloc(300 * KiB, 4))])));
    const { buffer, ...rest } = req.file!;
    expect(rest).toEqual({ fieldname: 'f', originalname: 'f.bin', encoding: '7bit', mimetype: 'application/octet-stream', size: 300 * KiB });
    // Buffer.equals: jest's deep equality walks 300 K elements one by one.
    expect(buffer.equals(Buffer.alloc(300 * KiB, 4))).toBe(true);
    expect(Object.keys(req.file!)).toEqual(['fieldname', 'originalname', 'encoding', 'mimetype', 'buffer', 'size']);
  });

  it("should call diskStorage's destination and filename with the fields sent before the file", async () => {
    const seen: unknown[] = [];
    const storage = multer.diskStorage({
      destination: (req, file, callback) => {
        seen.push({ ...(req as FakeRequest).body });
        callback(null, folder);
      },
      filename: (req, file, callback) => callback(null, `${String((req as FakeRequest).body!['user'])}-${file.fieldname}.txt`),
    });
    const { req } = await callMiddleware(multer({ storage }).single('doc'), fakeRequest(formBody([text('user', 'ada'), upload('doc', 'd.txt', 'D'), text('after', 'x')])));
    expect(seen).toEqual([{ user: 'ada' }]);
    expect(req.file).toMatchObject({ destination: folder, filename: 'ada-doc.txt', path: join(folder, 'ada-doc.txt') });
    expect(readFileSync(join(folder, 'ada-doc.txt'), 'utf8')).toBe('D');
  });

  it("should create diskStorage's destination string and write files with flush: true", async () => {
    const destination = join(folder, 'made', 'here');
    const { req } = await callMiddleware(multer({ storage: multer.diskStorage({ destination, flush: true }) }).single('f'), fakeRequest(formBody([upload('f', 'f', 'flushed')])));
    expect(readFileSync(req.file!.path, 'utf8')).toBe('flushed');
    expect(req.file!.destination).toBe(destination);
  });

  it("should fail with the disk's error when a file cannot be opened, and remove the files stored before it", async () => {
    // The second file's folder does not exist: its open fails after the first file is stored.
    const storage = multer.diskStorage({ destination: (_req, file, callback) => callback(null, file.fieldname === 'a' ? folder : join(folder, 'missing')) });
    const { error } = await callMiddleware(multer({ storage }).any(), fakeRequest(formBody([upload('a', 'a', 'first'), upload('b', 'b', 'second')])));
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'open' });
    expect(readdirSync(folder)).toEqual([]);
  });

  it("should make diskStorage's opens, writes and closes at the end of the event loop's phase, with the other disk calls", async () => {
    // Each call is recorded with whether it was made from the hand-over, which runs from setImmediate.
    const made: Array<[string, boolean]> = [];
    const fromHandOver = (): boolean => /\bflush\b/.test(new Error().stack ?? '');
    const spies = (['open', 'write', 'writev', 'close'] as const).map((name) => {
      const real = fs[name] as (...args: unknown[]) => unknown;
      return jest.spyOn(fs, name).mockImplementation(((...args: unknown[]) => {
        made.push([name, fromHandOver()]);
        return real(...args);
      }) as never);
    });
    try {
      const storage = multer.diskStorage({ destination: folder });
      const stream = new PassThrough();
      const file = { fieldname: 'f', originalname: 'f', encoding: '7bit', mimetype: 'text/plain', stream } as unknown as MulterFile;
      const answer = new Promise<Partial<MulterFile>>((resolve, reject) => storage._handleFile({} as never, file, (error, info) => (error ? reject(error) : resolve(info!))));
      stream.end('handed over');
      // The write stream asks for its open on the next tick; the call itself waits for the phase's end.
      await new Promise((resolve) => process.nextTick(resolve));
      expect(made).toEqual([]);
      const info = await answer;
      expect(readFileSync(info.path!, 'utf8')).toBe('handed over');
      expect(info.size).toBe(11);
      expect(made.map(([name]) => name)).toEqual(['open', 'write', 'close']);
      expect(made.every(([, isHandedOver]) => isHandedOver)).toBe(true);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('should name each file with 32 random hex digits, a new name each time', async () => {
    // More files than the names drawn at a time (128), so that a second draw is used too.
    const limits = { files: 300 };
    const { req, error } = await callMiddleware(multer({ storage: multer.diskStorage({ destination: folder }), limits }).any(), fakeRequest(formBody(Array.from({ length: 300 }, (_, i) => upload('f', `f${i}`, 'x')))));
    expect(error).toBeUndefined();
    const names = filesOf(req).map((file) => file.filename);
    expect(names).toHaveLength(300);
    expect(names.every((name) => /^[0-9a-f]{32}$/.test(name))).toBe(true);
    expect(new Set(names).size).toBe(300);
    expect(readdirSync(folder).sort()).toEqual([...names].sort());
  });

  it('should fail with the error a destination callback gives, nothing written', async () => {
    const storage = multer.diskStorage({ destination: (_req, _file, callback) => callback(new Error('no room'), '') });
    const { error } = await callMiddleware(multer({ storage }).any(), fakeRequest(formBody([upload('f', 'f', 'x')])));
    expect(error).toMatchObject({ message: 'no room' });
  });

  // Both throw inside a destination callback that answered later (after its own I/O): uncaught,
  // either would end the process.
  it("should fail the request, not the process, when a late destination's filename callback throws", async () => {
    const storage = multer.diskStorage({
      destination: (_req, _file, callback) => setImmediate(() => callback(null, folder)),
      filename: () => {
        throw new Error('no name today');
      },
    });
    const { error } = await callMiddleware(multer({ storage }).any(), fakeRequest(formBody([upload('f', 'f', 'x')])));
    expect(error).toMatchObject({ message: 'no name today' });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('should fail the request, not the process, when the chosen name cannot be opened (a NUL from the client)', async () => {
    const storage = multer.diskStorage({
      destination: (_req, _file, callback) => setImmediate(() => callback(null, folder)),
      filename: (_req, file, callback) => callback(null, `upload-${file.originalname}`),
    });
    const body = rawBody([{ head: `${disposition('f')}; filename*=utf-8''a.%00`, data: 'x' }]);
    const { error } = await callMiddleware(multer({ storage }).any(), fakeRequest(body));
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('should run a custom engine unchanged, merging what it calls back into the file object', async () => {
    const { engine, stored } = createRecordingEngine();
    const { req } = await callMiddleware(multer({ storage: engine }).array('f'), fakeRequest(formBody([upload('f', 'a', 'AA'), upload('f', 'b', 'B')])));
    expect(filesOf(req)).toEqual([
      { fieldname: 'f', originalname: 'a', encoding: '7bit', mimetype: 'application/octet-stream', key: 'key-0', size: 2 },
      { fieldname: 'f', originalname: 'b', encoding: '7bit', mimetype: 'application/octet-stream', key: 'key-1', size: 1 },
    ]);
    expect([...stored.values()].map(String)).toEqual(['AA', 'B']);
  });

  /** Sends `first`, waits until the engine stored `count` files, then sends `rest` and ends. */
  async function sendInTwo(middleware: Parameters<typeof callMiddleware>[0], first: FormPart[], stored: Map<string, Buffer>, rest: FormPart[]) {
    const all = formBody([...first, ...rest]);
    // Up to the delimiter line of the first part of `rest`: the parse then knows the files of `first` ended.
    const cut = formBody(first).length - `--${BOUNDARY}--\r\n`.length + `--${BOUNDARY}\r\n`.length;
    const req = fakeRequest([all.subarray(0, cut)], { keepOpen: true, headers: { 'content-length': String(all.length) } });
    const outcome = callMiddleware(middleware, req);
    while (stored.size < first.length) await new Promise((resolve) => setTimeout(resolve, 5));
    req.end(all.subarray(cut));
    return outcome;
  }

  it("should remove the engine's stored files with _removeFile when a later part fails", async () => {
    const { engine, stored, removed } = createRecordingEngine();
    const { error } = await sendInTwo(multer({ storage: engine }).array('f', 2), [upload('f', 'a', 'A'), upload('f', 'b', 'B')], stored, [upload('f', 'c', 'C')]);
    expect(error).toMatchObject({ code: 'LIMIT_UNEXPECTED_FILE' });
    expect(removed.sort()).toEqual(['key-0', 'key-1']);
    expect(stored.size).toBe(0);
  });

  it('should pass an engine error on unchanged, removing the other files (not the one that failed: multer does not)', async () => {
    const { engine, stored, removed } = createRecordingEngine({ failOn: 'b' });
    const { error } = await callMiddleware(multer({ storage: engine }).any(), fakeRequest(formBody([upload('f', 'a', 'A'), upload('f', 'b', 'B')])));
    expect(error).toMatchObject({ message: 'engine refused b' });
    expect(removed).toEqual(['key-0']);
    expect(stored.size).toBe(0);
  });

  it('should report what _removeFile failed with in storageErrors, with file and field', async () => {
    const { engine, stored } = createRecordingEngine({ failRemove: true });
    const { error } = await sendInTwo(multer({ storage: engine, limits: { files: 1 } }).any(), [upload('f', 'a', 'A')], stored, [upload('g', 'b', 'B')]);
    expect(error).toMatchObject({ code: 'LIMIT_FILE_COUNT' });
    const { storageErrors } = error as { storageErrors: Array<Error & { field: string; file: MulterFile }> };
    expect(storageErrors).toHaveLength(1);
    expect(storageErrors[0]).toMatchObject({ message: 'cannot remove key-0', field: 'f', file: { originalname: 'a', key: 'key-0' } });
  });

  it("should run multer's own disk engine unchanged", async () => {
    const storage = realMulter.diskStorage({ destination: folder }) as unknown as StorageEngine;
    const { req } = await callMiddleware(multer({ storage }).single('f'), fakeRequest(formBody([upload('f', 'f.txt', 'from multer')])));
    expect(readFileSync(req.file!.path, 'utf8')).toBe('from multer');
    expect(req.file).toMatchObject({ destination: folder, size: 11 });
  });
});

describe('a client that goes away', () => {
  /** A request whose body stops in the middle of a file, then is destroyed once the engine has the file open. */
  async function abortMidFile(storage: StorageEngine, openFiles: () => number): Promise<unknown> {
    const req = fakeRequest([Buffer.from(partHead({ name: 'f', filename: 'cut.bin' })), Buffer.alloc(2 * MiB, 1)], { keepOpen: true, headers: { 'content-length': String(8 * MiB) } });
    const outcome = callMiddleware(multer({ storage }).single('f'), req);
    while (openFiles() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    req.destroy();
    return (await outcome).error;
  }

  it('should call next with UNEXPECTED_END and leave no partial file (this module\'s disk engine)', async () => {
    const error = await abortMidFile(multer.diskStorage({ destination: folder }), () => readdirSync(folder).length);
    expect(error).toBeInstanceOf(MultipartError);
    expect(error).toMatchObject({ code: 'UNEXPECTED_END', status: 400 });
    expect(readdirSync(folder)).toEqual([]);
  });

  it("should leave no partial file of multer's own disk engine either (multer 2.1.1 left it)", async () => {
    const error = await abortMidFile(realMulter.diskStorage({ destination: folder }) as unknown as StorageEngine, () => readdirSync(folder).length);
    expect(error).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('should call _removeFile for a file an engine was storing when the client went away', async () => {
    const removed: string[] = [];
    let opened = 0;
    const engine: StorageEngine = {
      _handleFile(_req, file, callback) {
        opened++;
        (file as MulterFile & { key: string }).key = 'partial';
        file.stream.on('data', () => undefined);
        file.stream.on('error', (error) => callback(error));
      },
      _removeFile(_req, file, callback) {
        removed.push((file as MulterFile & { key: string }).key);
        callback(null);
      },
    };
    const error = await abortMidFile(engine, () => opened);
    expect(error).toMatchObject({ code: 'UNEXPECTED_END' });
    expect(removed).toEqual(['partial']);
  });
});

describe('filenames, charsets and the request stream', () => {
  const utf8Name = Buffer.from('Content-Disposition: form-data; name="f"; filename="naïve 📷.txt"');

  it("should read raw header bytes as latin1 by default, as multer does", async () => {
    const { req } = await callMiddleware(multer().single('f'), fakeRequest(rawBody([{ head: utf8Name, data: 'x' }])));
    expect(req.file!.originalname).toBe(Buffer.from('naïve 📷.txt').toString('latin1'));
  });

  it("should read them as UTF-8 with defParamCharset: 'utf8'", async () => {
    const { req } = await callMiddleware(multer({ defParamCharset: 'utf8' }).single('f'), fakeRequest(rawBody([{ head: utf8Name, data: 'x' }])));
    expect(req.file!.originalname).toBe('naïve 📷.txt');
  });

  it('should decode a latin1 filename sent as latin1 bytes', async () => {
    const head = Buffer.concat([Buffer.from('Content-Disposition: form-data; name="f"; filename="'), Buffer.from('résumé.pdf', 'latin1'), Buffer.from('"')]);
    const { req } = await callMiddleware(multer().single('f'), fakeRequest(rawBody([{ head, data: 'x' }])));
    expect(req.file!.originalname).toBe('résumé.pdf');
  });

  it('should throw a TypeError for a defParamCharset the parse cannot read', () => {
    expect(() => multer({ defParamCharset: 'shift_jis' })).toThrow(TypeError);
  });

  it('should decode field values with defCharset when the part names no charset', async () => {
    const { req } = await callMiddleware(multer({ defCharset: 'latin1' }).none(), fakeRequest(rawBody([{ head: disposition('v'), data: Buffer.from('été', 'latin1') }])));
    expect(req.body).toEqual({ v: 'été' });
  });

  it('should parse what streamHandler writes when the request stream was read before (rawBody)', async () => {
    const rawBodyBytes = formBody([text('a', '1'), upload('f', 'f.txt', 'from rawBody')]);
    // As Cloud Functions hand it over: the body read already, kept in rawBody.
    const req = Object.assign(fakeRequest([]), { rawBody: rawBodyBytes, complete: true });
    const middleware = multer({ streamHandler: (request, sink) => sink.end((request as unknown as { rawBody: Buffer }).rawBody) }).single('f');
    const { error, req: after } = await callMiddleware(middleware, req);
    expect(error).toBeUndefined();
    expect(after.body).toEqual({ a: '1' });
    expect(after.file!.buffer.toString()).toBe('from rawBody');
  });

  it('should throw a TypeError for a timeout a Node timer cannot wait (Infinity would fire after 1 ms)', () => {
    expect(() => multer({ timeout: Infinity })).toThrow(TypeError);
    expect(() => multer({ stallTimeout: 0 })).toThrow(TypeError);
    expect(() => multer({ timeout: 2 ** 31 - 1 })).not.toThrow();
  });

  it('should throw a TypeError for options that are not an object, as multer does', () => {
    expect(() => multer('uploads/' as never)).toThrow(new TypeError('Expected object for argument options'));
  });
});

describe('backpressure', () => {
  it('should hold the request while an engine reads slowly: bytes read and not yet taken stay bounded', async () => {
    const total = 16 * MiB;
    let consumed = 0;
    let worst = 0;
    const req = fakeRequest([Buffer.from(partHead({ name: 'f', filename: 'big.bin' })), ...Array.from({ length: total / (64 * KiB) }, () => Buffer.alloc(64 * KiB, 7)), Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
    // Bytes the request gave out minus bytes the engine has taken.
    let given = 0;
    const engine: StorageEngine = {
      _handleFile(_req, file, callback) {
        const stream = file.stream as Readable;
        // 64 KiB per timer turn, at most: about 30 MiB/s here, far slower than the request.
        const readSlowly = (): void => {
          const chunk = stream.read(Math.min(64 * KiB, stream.readableLength)) as Buffer | null;
          if (chunk !== null) consumed += chunk.length;
          worst = Math.max(worst, given - consumed);
          if (!stream.readableEnded) setTimeout(readSlowly, 1);
        };
        stream.on('end', () => callback(null, { size: consumed }));
        readSlowly();
      },
      _removeFile: (_req, _file, callback) => callback(null),
    };
    const outcome = callMiddleware(multer({ storage: engine }).single('f'), req);
    req.on('data', (chunk: Buffer) => (given += chunk.length));
    const { error, req: after } = await outcome;
    expect(error).toBeUndefined();
    expect(after.file!.size).toBe(total);
    // The parse's highWaterMark (1 MiB) plus the file stream's buffer and a batch: far below 16 MiB.
    expect(worst).toBeLessThan(4 * MiB);
  });
});
