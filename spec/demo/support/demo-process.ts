/**
 * Starts the demo the way its README does (`node demo/server.mjs`, after `npm run build`) as a
 * child process on a free port with its own upload folder, and reads its log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskEntriesFor, diskFolder } from '../../support/disk-folder';

const ROOT = join(__dirname, '..', '..', '..');

export interface DemoProcess {
  /** `http://localhost:<port>`, no trailing slash. */
  readonly url: string;
  readonly pid: number;
  /** The UPLOAD_DIR it was started with. */
  readonly uploadDir: string;
  /** Every line it printed so far, stdout and stderr. */
  readonly lines: readonly string[];
  /** Resolves with the first line from `from` on that matches; rejects after `ms`. */
  waitForLine(pattern: RegExp, from?: number, ms?: number): Promise<string>;
  /** Sends `signal` and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** The process's exit, when it exits by itself. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts the demo with `env` over the defaults (PORT=0, a fresh UPLOAD_DIR in a temp folder).
 * The temp folder is `<tmp>/rx-demo-XXXX/` and the uploads go to its `uploads/` child, so a test
 * can check that nothing was written next to the upload folder.
 */
export async function startDemo(env: Record<string, string> = {}): Promise<DemoProcess> {
  if (!existsSync(join(ROOT, 'dist', 'esm', 'index.js'))) {
    throw new Error('The demo imports rx-multipart from dist/: run `npm run build` first (npm test does).');
  }
  const base = mkdtempSync(join(tmpdir(), 'rx-demo-'));
  const uploadDir = join(base, 'uploads');
  const child = spawn(process.execPath, ['demo/server.mjs'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', UPLOAD_DIR: uploadDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onText = (stream: NodeJS.ReadableStream): void => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      const parts = (rest + text).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
      for (const wake of waiters) wake();
    });
  };
  onText(child.stdout!);
  onText(child.stderr!);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  function waitForLine(pattern: RegExp, from = 0, ms = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = lines.slice(from).find((candidate) => pattern.test(candidate));
        if (line === undefined) return false;
        finish();
        resolve(line);
        return true;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no line matching ${pattern} within ${ms} ms; the demo printed:\n${lines.join('\n')}`));
      }, ms);
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      const wake = (): void => void check();
      if (!check()) {
        waiters.add(wake);
        void exited.then(() => {
          if (waiters.has(wake) && !check()) {
            finish();
            reject(new Error(`the demo exited before printing a line matching ${pattern}:\n${lines.join('\n')}`));
          }
        });
      }
    });
  }

  const listening = await waitForLine(/listening on http:\/\//);
  const url = /(http:\/\/\S+)/.exec(listening)![1]!;
  return {
    url,
    pid: child.pid!,
    uploadDir,
    lines,
    waitForLine,
    exited,
    stop: (signal = 'SIGTERM') => stop(child, exited, signal, base),
  };
}

async function stop(child: ChildProcess, exited: Promise<number | null>, signal: NodeJS.Signals, base: string): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(killer);
  rmSync(base, { recursive: true, force: true });
  return code;
}

/** The entries of a folder, sorted, a disk storage's index as `index:<id>` per listed file: what a test shows after each request. */
export const listFolder = diskFolder;

/** The folder entries a disk storage holds for these ids: `<id>` and `index:<id>`. */
export const entriesFor = diskEntriesFor;

/**
 * The process's peak resident set size so far (VmHWM) and its current one (VmRSS), in bytes,
 * from /proc; undefined where there is no /proc.
 */
export function memoryOf(pid: number): { peak: number; current: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { peak: kib('VmHWM'), current: kib('VmRSS') };
  } catch {
    return undefined;
  }
}
