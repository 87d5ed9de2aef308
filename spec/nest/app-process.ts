/**
 * Starts a Nest application of spec/nest/apps in its own process (Nest 12 is ESM only; jest runs
 * CommonJS) and stops it. Shared by the jest spec and the Nest 11 fixture's driver.
 */
import { spawn } from 'node:child_process';
import type { AppUnderTest } from './scenarios';

/** A running application. */
export interface RunningApp extends AppUnderTest {
  /** Everything it printed so far, for a failure's message. */
  output(): string;
  /** SIGTERM, then SIGKILL if it lingers; resolves once it has exited. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/**
 * Runs `node <entry> <platform> <directory>` and waits for its `listening <url>` line.
 * @param entry the compiled application.
 * @param platform 'express' or 'fastify'.
 * @param directory the folder its disk storage uses.
 * @param env variables added to this process's environment.
 */
export function startApp(entry: string, platform: string, directory: string, env: Record<string, string> = {}): Promise<RunningApp> {
  const child = spawn(process.execPath, [entry, platform, directory], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<RunningApp>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${platform} app did not start within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    function fail(error: Error): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    }
    const onOutput = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /listening (?:on )?(http:\/\/\S+)/.exec(output)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({
        url,
        directory,
        output: () => output,
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
      });
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => fail(new Error(`${platform} app exited (${code ?? signal}) before listening:\n${output}`)));
  });
}
