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

describe('the packed package', () => {
  let project: string;
  let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> };

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'rx-multipart-consumer-'));
    packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', project], { cwd: root, encoding: 'utf8' }))[0];
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(project, packed.filename), 'rxjs@7'], { cwd: project, stdio: 'ignore' });
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

  it('should declare no runtime dependency but rxjs as a peer', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/rx-multipart/package.json'), 'utf8'));
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.peerDependencies.rxjs).toBe('^7.1.0');
  });
});
