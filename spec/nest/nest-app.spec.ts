/**
 * rx-multipart/nest in real Nest 12 applications (spec/nest/apps/upload-app.mts), on Express and on
 * Fastify, each in its own process (Nest 12 is ESM only, jest runs CommonJS) listening on
 * 127.0.0.1 and driven with Node's fetch. The scenarios are spec/nest/scenarios.ts; Nest 11 runs
 * the same ones in spec/nest/nest11 (`.ci/run`). Needs `npm run build` first (`npm test` does it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type RunningApp } from './app-process';
import { formatMatrix, type MatrixRow } from './matrix';
import { runScenario, scenarios } from './scenarios';

const root = join(__dirname, '..', '..');
const appsDir = join(__dirname, 'apps');
const entry = join(appsDir, 'dist', 'upload-app.mjs');
const nestVersion = (require('@nestjs/core/package.json') as { version: string }).version;
const rows: MatrixRow[] = [];

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'esm', 'nest', 'index.js'))) {
    throw new Error('dist/esm/nest is missing: run `npm run build` first (npm test does).');
  }
  // The application is TypeScript with decorators, compiled against the built package.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(appsDir, 'tsconfig.json')], { stdio: 'pipe' });
}, 120_000);

afterAll(() => {
  const table = formatMatrix(rows);
  mkdirSync(join(root, 'artifacts'), { recursive: true });
  writeFileSync(join(root, 'artifacts', `nest-matrix-nest${nestVersion.split('.')[0]}.md`), `${table}\n`);
  console.log(`rx-multipart/nest, Nest ${nestVersion}:\n${table}`);
});

describe.each(['express', 'fastify'])('a Nest %s application', (platform) => {
  let app: RunningApp;
  let directory: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), `rx-multipart-nest-${platform}-`));
    app = await startApp(entry, platform, directory);
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  for (const scenario of scenarios) {
    it(`should pass: ${scenario.name}`, async () => {
      let passed = false;
      try {
        await runScenario(scenario, app);
        passed = true;
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- ${platform} app output ---\n${app.output()}`, { cause: error });
      } finally {
        rows.push({ platform, nest: nestVersion, scenario: scenario.name, passed });
      }
    });
  }
});
