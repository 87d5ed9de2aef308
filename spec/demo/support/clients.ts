/** The HTTP clients the demo specs drive it with: curl, and a raw Node request sent piece by piece. */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface CurlAnswer {
  readonly status: number;
  readonly body: string;
}

/** Runs `curl -sS <args>` and returns the status and the body (as text). */
export function curl(args: readonly string[]): Promise<CurlAnswer> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--write-out', '\n%{http_code}', ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`curl ${args.join(' ')} failed: ${stderr || error.message}`));
        return;
      }
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  });
}

/** A request whose body the test writes piece by piece, to stop, truncate or abort it anywhere. */
export interface RawUpload {
  readonly request: ClientRequest;
  /** Writes `chunk`, resolving once the socket took it (backpressure included). */
  write(chunk: Buffer | string): Promise<void>;
  /** The answer, once the server gives one; rejects when the connection breaks first. */
  readonly answer: Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }>;
}

/** Opens `POST <url>` with `headers` and no body yet. */
export function openUpload(url: string, headers: Record<string, string>): RawUpload {
  const req = request(url, { method: 'POST', headers });
  const answer = new Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }>((resolve, reject) => {
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
  // A test that aborts on purpose does not read the answer.
  answer.catch(() => {});
  return {
    request: req,
    answer,
    write: (chunk) =>
      new Promise((resolve, reject) => {
        req.write(chunk, (error) => (error == null ? resolve() : reject(error)));
      }),
  };
}

/** `size` random bytes, in 1 MiB chunks, and their SHA-256 once all were produced. */
export function* randomChunks(size: number, digest: { hex?: string } = {}, chunkSize = 1024 * 1024): Generator<Buffer> {
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += chunkSize) {
    const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(chunkSize, size - at)));
    hash.update(chunk);
    yield chunk;
  }
  digest.hex = hash.digest('hex');
}

export function sha256(bytes: Buffer | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a Web stream (a fetch body) to its end, hashing it as it comes. */
export async function sha256OfStream(stream: ReadableStream<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; fails after `ms`. For states only visible on disk. */
export async function waitUntil(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(10);
  }
}
