/**
 * Memory under a slow consumer: 512 MiB over loopback HTTP into multipart(req), written to a sink
 * far slower than the network. The parse pauses the request, TCP holds the client back, and the
 * server's memory stays flat; a server that read on would have to hold what the sink has not taken.
 *
 * Each measurement runs in a fresh Node process (this same file, started by the test below with a
 * TypeScript loader), not in the Jest worker: a worker that has run other suites keeps heap and
 * allocator room they freed, which new buffers reuse unseen (in the worker, growth read 6.7 MiB
 * after the other source suites and 25 MiB when run first), so that slack could hide a regression.
 * The child runs the server and the client; the client makes its body on the fly from one reused
 * 1 MiB block, writing only when its socket drains. The baseline is taken right before the upload,
 * after a full GC (--expose-gc), so loading the modules is not counted. Measured here: 13.5 MiB of
 * growth over 512 MiB with backpressure, 258 MiB over 192 MiB without.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { concatMap, lastValueFrom, type Observable } from 'rxjs';
import { multipart, type ParseOptions, type Part } from '../../lib/index';
import { BOUNDARY, CONTENT_TYPE, partHead } from '../support/form-body';
import { startRequestQueue } from '../support/http';

const MiB = 1024 * 1024;
// The sink's speed: loopback carries well over 1 GiB/s here, so the sink is the bottleneck by far,
// and 512 MiB take about 13 s.
const SINK_BYTES_PER_MS = (40 * MiB) / 1000;
// Set in the child process to the measurement it must run.
const CHILD_ENV = 'RX_MULTIPART_MEMORY_RUN';

interface Run {
  readonly size: number;
  readonly isBackpressured: boolean;
}

interface Measurement {
  /** HTTP status and body of the server's answer: the bytes the sink wrote. */
  readonly status: number;
  readonly written: number;
  readonly baseline: number;
  readonly peak: number;
  readonly seconds: number;
  /** Most bytes the client had sent (its socket accepted them) that the sink had not written. */
  readonly mostAhead: number;
  /** Times the parse paused the request. */
  readonly pauses: number;
}

/** Runs one upload through a server in this process, and measures this process's RSS meanwhile. */
async function measure({ size, isBackpressured }: Run): Promise<Measurement> {
  const server = await startRequestQueue();
  let consumed = 0;
  let mostAhead = 0;
  let pauses = 0;
  const options: ParseOptions = {
    limits: { fileSize: size, bodySize: size + MiB },
    // The control: a pause that does nothing, in place of the request's own.
    ...(isBackpressured ? {} : { backpressure: { pause: () => undefined, resume: () => undefined } }),
  };
  const consumeSlowly = (parts$: Observable<Part>): Promise<number> =>
    lastValueFrom(
      parts$.pipe(
        concatMap((part) =>
          part.writeBody(async (chunk) => {
            await sleep(Math.ceil(chunk.length / SINK_BYTES_PER_MS));
            consumed += chunk.length;
          }),
        ),
      ),
    );
  const written = server.next((req) => {
    req.on('pause', () => pauses++);
    return consumeSlowly(multipart(req, options));
  });

  const block = randomBytes(MiB);
  const head = Buffer.from(partHead({ name: 'big', filename: 'big.bin' }));
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sample = (): void => void (peak = Math.max(peak, process.memoryUsage().rss));
  const sampler = setInterval(sample, 20);
  const started = performance.now();
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', headers: { 'content-type': CONTENT_TYPE, 'content-length': head.length + size + tail.length } }, (res) => {
        res.resume().on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      let sent = 0;
      // Writes until the socket is full, then waits for it to drain: never more than a block queued.
      const pump = (): void => {
        while (sent < size) {
          const piece = size - sent >= block.length ? block : block.subarray(0, size - sent);
          const hasRoom = req.write(piece);
          sent += piece.length;
          mostAhead = Math.max(mostAhead, sent - consumed);
          if (!hasRoom) return void req.once('drain', pump);
        }
        req.end(tail);
      };
      req.write(head);
      pump();
    });
    sample();
    return { status, written: await written, baseline, peak, seconds: (performance.now() - started) / 1000, mostAhead, pauses };
  } finally {
    clearInterval(sampler);
    await server.close();
  }
}

// Loads this file in a plain Node: TypeScript transpiled on require, and the '.js' specifiers of
// lib/ (written for ESM) resolved to their .ts sources, as jest's moduleNameMapper does.
const LOADER = `
const ts = require(process.argv[1]);
const Module = require('node:module');
const fs = require('node:fs');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request.startsWith('.') && request.endsWith('.js')) {
    try { return resolve.call(this, request.slice(0, -3) + '.ts', parent, ...rest); } catch {}
  }
  return resolve.call(this, request, parent, ...rest);
};
Module._extensions['.ts'] = (module, filename) => module._compile(ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
  fileName: filename,
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
}).outputText, filename);
require(process.argv[2]);
`;

/** Runs `run` in a fresh Node process (this file again) and returns what it measured. */
async function measureInChild(run: Run): Promise<Measurement> {
  const child = spawn(process.execPath, ['--expose-gc', '-e', LOADER, require.resolve('typescript'), __filename], {
    env: { ...process.env, [CHILD_ENV]: JSON.stringify(run) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const output: Buffer[] = [];
    child.stdout.on('data', (piece: Buffer) => output.push(piece));
    const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('exit', resolve));
    if (code !== 0) throw new Error(`the measuring process exited with ${code}`);
    return JSON.parse(Buffer.concat(output).toString()) as Measurement;
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

const report = (label: string, size: number, run: Measurement): void =>
  console.log(
    `${label}: ${size / MiB} MiB in ${run.seconds.toFixed(1)} s; RSS baseline ${(run.baseline / MiB).toFixed(1)} MiB, ` +
      `peak ${(run.peak / MiB).toFixed(1)} MiB, growth ${((run.peak - run.baseline) / MiB).toFixed(1)} MiB; ` +
      `client at most ${(run.mostAhead / MiB).toFixed(1)} MiB ahead of the sink; request paused ${run.pauses} times`,
  );

const childRun = process.env[CHILD_ENV];
if (childRun !== undefined) {
  // The child: one measurement, printed as JSON for the test that started it.
  measure(JSON.parse(childRun) as Run).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  describe('multipart(req) with a slow consumer', () => {
    it('should keep RSS growth under 64 MiB while 512 MiB stream in, the client held back by TCP', async () => {
      const size = 512 * MiB;
      const run = await measureInChild({ size, isBackpressured: true });
      report('with backpressure', size, run);
      expect(run.status).toBe(200);
      expect(run.written).toBe(size);
      expect(run.peak - run.baseline).toBeLessThan(64 * MiB);
      // The parse paused the request, and the client never got further ahead of the sink than the
      // high-water mark and the socket buffers: TCP, not the server's memory, held the difference.
      expect(run.pauses).toBeGreaterThan(0);
      expect(run.mostAhead).toBeLessThan(32 * MiB);
    }, 120_000);

    // The control: the same measure sees the growth when nothing pauses the request, so the bound
    // above can fail.
    it('should see the growth when the request is never paused (the measure can fail)', async () => {
      const size = 192 * MiB;
      const run = await measureInChild({ size, isBackpressured: false });
      report('without backpressure', size, run);
      expect(run.written).toBe(size);
      expect(run.peak - run.baseline).toBeGreaterThan(64 * MiB);
      expect(run.mostAhead).toBeGreaterThan(64 * MiB);
    }, 120_000);
  });
}
