/** Downloads with the real curl: to a file, ranged, resumed, and cut off part-way. */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { waitUntil } from './clients';

export interface CurlDownload {
  /** curl's exit code: 0 for a transfer it counts as done. */
  readonly exitCode: number;
  /** The status of the last answer, 0 when there was none. */
  readonly status: number;
  /** The last answer's headers, by lower-cased name. */
  readonly headers: Readonly<Record<string, string>>;
  readonly stderr: string;
}

/**
 * Runs `curl -sS -D <output>.headers -o <output> <args...>` and resolves whatever curl's exit code
 * (a test of an interrupted or refused transfer reads it).
 */
export function curlDownload(args: readonly string[], output: string): Promise<CurlDownload> {
  const headerFile = `${output}.headers`;
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-D', headerFile, '-o', output, ...args], (error, _stdout, stderr) => {
      const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ exitCode, ...readHeaders(headerFile), stderr });
    });
  });
}

/**
 * Starts a download of `url` into `output` at 1 MiB/s and kills curl (SIGKILL, as a crash or a lost
 * network would end it) once `output` holds at least `bytes`. In between, curl is stopped (SIGSTOP)
 * and `whileRunning`, if given, runs: the transfer is still open but nothing reads it, so the
 * server's buffers fill and it stops reading from its storage, as with a client on a slow link.
 * `args` go to curl before the URL (e.g. `-r`).
 * @returns how many bytes `output` holds.
 */
export async function cutDownload(url: string, output: string, bytes: number, whileRunning?: () => Promise<void>, args: readonly string[] = []): Promise<number> {
  // A file left by an earlier download would count as the bytes of this one.
  rmSync(output, { force: true });
  const child = spawn('curl', ['-sS', '--limit-rate', '1M', '-o', output, ...args, url], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntil(`curl wrote ${bytes} bytes`, () => child.exitCode !== null || (existsSync(output) && statSync(output).size >= bytes));
    if (child.exitCode !== null) throw new Error(`curl ended (code ${child.exitCode}) before it was cut`);
    child.kill('SIGSTOP');
    await whileRunning?.();
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  return statSync(output).size;
}

/** The status and headers of the last answer in a `curl -D` file. */
function readHeaders(path: string): { status: number; headers: Record<string, string> } {
  if (!existsSync(path)) return { status: 0, headers: {} };
  const blocks = readFileSync(path, 'latin1').split(/\r\n\r\n/).filter((block) => block.startsWith('HTTP/'));
  const lines = (blocks.at(-1) ?? '').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(/^HTTP\/\S+ (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0), headers };
}
