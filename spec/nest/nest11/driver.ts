/**
 * Runs spec/nest/scenarios.ts against upload-app (compiled to CommonJS here) on Express and on
 * Fastify with Nest 11, prints the platform × scenario matrix, and exits 1 if a scenario failed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from './app-process';
import { formatMatrix, type MatrixRow } from './matrix';
import { runScenario, scenarios } from './scenarios';

async function main(): Promise<void> {
  const nest = (require('@nestjs/core/package.json') as { version: string }).version;
  const rows: MatrixRow[] = [];
  for (const platform of ['express', 'fastify']) {
    const directory = mkdtempSync(join(tmpdir(), `rx-multipart-nest11-${platform}-`));
    const app = await startApp(join(__dirname, 'upload-app.js'), platform, directory);
    try {
      for (const scenario of scenarios) {
        try {
          await runScenario(scenario, app);
          rows.push({ platform, nest, scenario: scenario.name, passed: true });
          console.log(`ok     ${platform} · ${scenario.name}`);
        } catch (error) {
          rows.push({ platform, nest, scenario: scenario.name, passed: false });
          console.log(`FAILED ${platform} · ${scenario.name}\n${(error as Error).stack ?? String(error)}\n--- app output ---\n${app.output()}`);
        }
      }
    } finally {
      await app.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  }
  const table = formatMatrix(rows);
  console.log(`\nrx-multipart/nest, Nest ${nest} (CommonJS):\n${table}`);
  const out = process.env['NEST_MATRIX_OUT'];
  if (out !== undefined && out !== '') writeFileSync(out, `${table}\n`);
  process.exitCode = rows.every((row) => row.passed) ? 0 : 1;
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
