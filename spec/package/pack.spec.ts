/**
 * The package as a user installs it: `npm pack`, installed into a fresh project, used through
 * `import` and `require`, and type-checked by a TypeScript consumer. Needs `npm run build` first
 * (`npm test` runs it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const USE = `
const body = Buffer.from('--b\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\n1\\r\\n--b\\r\\nContent-Disposition: form-data; name="f"; filename="x.txt"\\r\\n\\r\\nhello\\r\\n--b--');
const storage = createMemoryStorage();
lastValueFrom(of(body).pipe(parseMultipart('multipart/form-data; boundary=b'), storeParts(storage), toArray())).then((parts) => {
  const file = parts.find((part) => part.kind === 'file');
  const isTyped = new MultipartError('LIMIT_PARTS').status === 413;
  console.log(JSON.stringify({ kinds: parts.map((part) => part.kind), bytes: storage.read(file.id).toString(), isTyped, disk: typeof createDiskStorage }));
});
`;

/** tsc's diagnostics (stdout) for `args` run in `cwd`: '' when it compiles. */
function typeCheck(args: readonly string[], cwd: string): string {
  try {
    return execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), ...args], { cwd, encoding: 'utf8' });
  } catch (error) {
    return String((error as { stdout?: unknown }).stdout ?? error);
  }
}

describe('the packed package', () => {
  let project: string;
  let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> };

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'rx-multipart-consumer-'));
    packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', project], { cwd: root, encoding: 'utf8' }))[0];
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // express and the types a multer app compiles with, for the rx-multipart/express checks.
    execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(project, packed.filename), 'rxjs@7', 'express@5', '@types/express@5', '@types/multer@2'], { cwd: project, stdio: 'ignore' });
    console.log(`packed ${packed.filename}: ${packed.size} bytes, ${packed.unpackedSize} bytes installed, ${packed.files.length} files`);
  }, 180_000);
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('should ship only dist, the README, the licence and package.json', () => {
    const tops = new Set(packed.files.map((file) => file.path.split('/')[0]));
    expect([...tops].sort()).toEqual(['LICENSE', 'README.md', 'dist', 'package.json']);
    expect(packed.files.some((file) => file.path.startsWith('lib/') || file.path.startsWith('spec/'))).toBe(false);
  });

  it('should work through require (CommonJS)', () => {
    writeFileSync(join(project, 'use.cjs'), `const { lastValueFrom, of, toArray } = require('rxjs');\nconst { parseMultipart, storeParts, createMemoryStorage, createDiskStorage, MultipartError } = require('rx-multipart');\n${USE}`);
    const out = JSON.parse(execFileSync(process.execPath, ['use.cjs'], { cwd: project, encoding: 'utf8' }));
    expect(out).toEqual({ kinds: ['field', 'file'], bytes: 'hello', isTyped: true, disk: 'function' });
  });

  it('should work through import (ESM)', () => {
    writeFileSync(join(project, 'use.mjs'), `import { lastValueFrom, of, toArray } from 'rxjs';\nimport { parseMultipart, storeParts, createMemoryStorage, MultipartError } from 'rx-multipart';\nimport { createDiskStorage } from 'rx-multipart/storage/disk';\n${USE}`);
    const out = JSON.parse(execFileSync(process.execPath, ['use.mjs'], { cwd: project, encoding: 'utf8' }));
    expect(out).toEqual({ kinds: ['field', 'file'], bytes: 'hello', isTyped: true, disk: 'function' });
  });

  it('should see one MultipartError class across its ESM and CJS builds', () => {
    writeFileSync(join(project, 'dual.mjs'), `import { createRequire } from 'node:module';\nimport { MultipartError } from 'rx-multipart';\nconst cjs = createRequire(import.meta.url)('rx-multipart');\nconsole.log(JSON.stringify([new cjs.MultipartError('TIMEOUT') instanceof MultipartError, new MultipartError('TIMEOUT') instanceof cjs.MultipartError]));`);
    expect(JSON.parse(execFileSync(process.execPath, ['dual.mjs'], { cwd: project, encoding: 'utf8' }))).toEqual([true, true]);
  });

  it('should type-check a TypeScript consumer with bundled types', () => {
    writeFileSync(join(project, 'use.ts'), [
      `import { parseMultipart, type Part, type MultipartErrorCode } from 'rx-multipart';`,
      `import { createDiskStorage } from 'rx-multipart/storage/disk';`,
      `import { of, mergeMap, type Observable } from 'rxjs';`,
      `const parts: Observable<Part> = of(new Uint8Array()).pipe(parseMultipart('b'));`,
      `const names: Observable<string> = parts.pipe(mergeMap(async (part) => part.name));`,
      `const code: MultipartErrorCode = 'LIMIT_FILE_SIZE';`,
      `const storage = createDiskStorage({ directory: 'uploads' });`,
      `export { names, code, storage };`,
    ].join('\n'));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    for (const module of ['nodenext', 'commonjs']) {
      const resolution = module === 'nodenext' ? 'nodenext' : 'node10';
      const output = execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), '--module', module, '--moduleResolution', resolution, '--ignoreDeprecations', '6.0', 'use.ts'], { cwd: project, encoding: 'utf8' });
      expect(output).toBe('');
    }
  });

  describe('rx-multipart/express', () => {
    // multer's README examples, with the require changed and nothing else.
    const MULTER_README_APP = `
const express = require('express')
const multer = require('rx-multipart/express') // was: require('multer')
const upload = multer({ dest: 'uploads/' })
const app = express()
app.post('/profile', upload.single('avatar'), function (req, res, next) {
  res.json({ file: { fieldname: req.file.fieldname, originalname: req.file.originalname, size: req.file.size, path: typeof req.file.path }, body: req.body })
})
app.post('/photos/upload', upload.array('photos', 12), function (req, res, next) {
  res.json({ files: req.files.map((file) => file.originalname) })
})
const cpUpload = upload.fields([{ name: 'avatar', maxCount: 1 }, { name: 'gallery', maxCount: 8 }])
app.post('/cool-profile', cpUpload, function (req, res, next) {
  res.json({ avatar: req.files['avatar'].length, gallery: req.files['gallery'].length })
})
app.post('/text', multer().none(), function (req, res) { res.json({ body: req.body }) })
app.use(function (err, req, res, next) {
  if (err instanceof multer.MulterError) return res.status(400).json({ multer: err.code, field: err.field })
  next(err)
})
const server = app.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port
  const post = async (path, entries) => {
    const form = new FormData()
    for (const [name, value, filename] of entries) filename ? form.append(name, new Blob([value]), filename) : form.append(name, value)
    const response = await fetch(url + path, { method: 'POST', body: form })
    return [response.status, await response.json()]
  }
  const answers = [
    await post('/profile', [['avatar', 'png', 'me.png'], ['name', 'ada']]),
    await post('/photos/upload', [['photos', '1', 'a.jpg'], ['photos', '2', 'b.jpg']]),
    await post('/cool-profile', [['avatar', 'a', 'a'], ['gallery', 'g', 'g1'], ['gallery', 'g', 'g2']]),
    await post('/text', [['user[name]', 'ada'], ['user[langs][]', 'en']]),
    await post('/profile', [['avatar', '1', '1.png'], ['avatar', '2', '2.png']]),
  ]
  console.log(JSON.stringify(answers))
  server.close()
})
`;

    it("should run multer's README examples with only the require changed", () => {
      writeFileSync(join(project, 'multer-app.cjs'), MULTER_README_APP);
      const out = JSON.parse(execFileSync(process.execPath, ['multer-app.cjs'], { cwd: project, encoding: 'utf8' }));
      expect(out).toEqual([
        [200, { file: { fieldname: 'avatar', originalname: 'me.png', size: 3, path: 'string' }, body: { name: 'ada' } }],
        [200, { files: ['a.jpg', 'b.jpg'] }],
        [200, { avatar: 1, gallery: 2 }],
        [200, { body: { user: { name: 'ada', langs: ['en'] } } }],
        [400, { multer: 'LIMIT_UNEXPECTED_FILE', field: 'avatar' }],
      ]);
    });

    it('should be the multer function itself through require, and the default export with named exports through import', () => {
      writeFileSync(join(project, 'shape.mjs'), [
        `import { createRequire } from 'node:module';`,
        `import multer, { diskStorage, memoryStorage, MulterError, fromMulterStorage } from 'rx-multipart/express';`,
        `const cjs = createRequire(import.meta.url)('rx-multipart/express');`,
        `const error = new cjs.MulterError('LIMIT_FILE_SIZE', 'f');`,
        `console.log(JSON.stringify({`,
        `  cjs: [typeof cjs, typeof cjs().single, typeof cjs.diskStorage, typeof cjs.memoryStorage, typeof cjs.MulterError, typeof cjs.fromMulterStorage, 'default' in cjs],`,
        `  esm: [typeof multer, typeof multer().any, multer.diskStorage === diskStorage, multer.memoryStorage === memoryStorage, multer.MulterError === MulterError, typeof fromMulterStorage],`,
        `  across: [error instanceof MulterError, new MulterError('LIMIT_PART_COUNT') instanceof cjs.MulterError, error.name, error.status],`,
        `}));`,
      ].join('\n'));
      expect(JSON.parse(execFileSync(process.execPath, ['shape.mjs'], { cwd: project, encoding: 'utf8' }))).toEqual({
        cjs: ['function', 'function', 'function', 'function', 'function', 'function', false],
        esm: ['function', 'function', true, true, true, 'function'],
        across: [true, true, 'MulterError', 413],
      });
    });

    it("should type-check a multer app's TypeScript with only the import changed", () => {
      writeFileSync(join(project, 'multer-app.ts'), [
        `import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';`,
        `import multer from 'rx-multipart/express'; // was: from 'multer'`,
        `import { diskStorage, MulterError } from 'rx-multipart/express'; // as NestJS code imports them`,
        `const storage: multer.StorageEngine = multer.diskStorage({`,
        `  destination: (req: Request, file: Express.Multer.File, cb: (error: Error | null, destination: string) => void) => cb(null, String(req.params['dir'] ?? 'uploads/')),`,
        `  filename: (req: Request, file: Express.Multer.File, cb: (error: Error | null, filename: string) => void) => cb(null, \`\${req.params['id'] ?? 'x'}-\${file.originalname}\`),`,
        `});`,
        `const options: multer.Options = {`,
        `  storage,`,
        `  limits: { fileSize: 1024 * 1024, files: 2 },`,
        `  fileFilter: (req, file, cb: multer.FileFilterCallback) => (file.mimetype === 'image/png' ? cb(null, true) : cb(new Error('PNG only'))),`,
        `};`,
        `const upload = multer(options);`,
        `const fields: multer.Field[] = [{ name: 'avatar', maxCount: 1 }];`,
        `const app = express();`,
        `app.post('/profile', upload.single('avatar'), (req: Request, res: Response) => {`,
        `  const file: Express.Multer.File | undefined = req.file;`,
        `  const files = req.files as { [fieldname: string]: Express.Multer.File[] } | undefined;`,
        `  res.json({ path: file?.path, size: file?.size, buffer: file?.buffer?.length, gallery: files?.['gallery']?.length, body: req.body });`,
        `});`,
        `app.post('/many', upload.array('photos', 3), upload.fields(fields), upload.none(), upload.any(), (req, res) => { res.json((req.files as Express.Multer.File[]).map((file) => file.originalname)); });`,
        `app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {`,
        `  if (err instanceof multer.MulterError) {`,
        `    const code: multer.ErrorCode = err.code;`,
        `    res.status(err.code === 'LIMIT_FILE_SIZE' ? 413 : 400).json({ code, field: err.field });`,
        `    return;`,
        `  }`,
        `  if (err instanceof MulterError) return next(err);`,
        `  next(err);`,
        `});`,
        `const memory: multer.StorageEngine = multer.memoryStorage();`,
        `const handler: RequestHandler = upload.single('avatar');`,
        `const byPlan = multer({ limits: (req: Request) => ({ fileSize: req.query['plan'] === 'free' ? 1e6 : 1e8 }) });`,
        `app.post('/plan', byPlan.any(), handler);`,
        `export { app, memory, diskStorage };`,
      ].join('\n'));
      for (const module of ['nodenext', 'commonjs']) {
        const resolution = module === 'nodenext' ? 'nodenext' : 'node10';
        expect(typeCheck(['--noEmit', '--strict', '--skipLibCheck', '--esModuleInterop', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), '--module', module, '--moduleResolution', resolution, '--ignoreDeprecations', '6.0', 'multer-app.ts'], project)).toBe('');
      }
    });

    it("should type-check beside @types/multer, whose global declarations merge with its own", () => {
      writeFileSync(join(project, 'both.ts'), [
        `import type realMulter from 'multer';`,
        `import multer from 'rx-multipart/express';`,
        `import type { Request } from 'express';`,
        `// An engine typed with @types/multer (as multer-s3's types declare theirs) goes in as it is, and back.`,
        `declare const engine: realMulter.StorageEngine;`,
        `const upload = multer({ storage: engine });`,
        `const ours: realMulter.StorageEngine = multer.diskStorage({ destination: 'uploads' });`,
        `const read = (req: Request): Express.Multer.File | undefined => req.file;`,
        `export { upload, read, ours };`,
      ].join('\n'));
      expect(typeCheck(['--noEmit', '--strict', '--esModuleInterop', '--types', 'node', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--ignoreDeprecations', '6.0', 'both.ts'], project)).toBe('');
    });
  });

  it('should declare no runtime dependency but rxjs as a peer', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/rx-multipart/package.json'), 'utf8'));
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.peerDependencies.rxjs).toBe('^7.1.0');
  });
});
