/**
 * The drop-in under load: 400 uploads of 4 MiB to an Express 5 server made the multer way
 * (`multer({ dest }).single('file')`), 200 at a time, every fifth client going away halfway through
 * its body. multer 2.x left orphan files in the folder under this load; the drop-in must leave none,
 * and answer every other upload 200 with its bytes on disk.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorRequestHandler, Express } from 'express';
import multer from '../../lib/express/index';
import { fileBytes, runAbortLoad, sharedBytes } from './support/abort-load';

const MiB = 1024 * 1024;
const UPLOADS = 400;
const CONCURRENCY = 200;
const ABORT_EVERY = 5;
const FILE_SIZE = 4 * MiB;
// Only a hang waits this long.
const DEADLINE_MS = 60_000;

describe('400 uploads of 4 MiB, 200 at a time, every fifth client going away halfway', () => {
  let folder: string;
  let server: Server;
  let url: string;
  const failures: unknown[] = [];

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'rx-multipart-load-'));
    const app = (require('express') as () => Express)();
    const upload = multer({ dest: folder });
    app.post('/upload', upload.single('file'), (req, res) => {
      res.json({ path: req.file?.path, size: req.file?.size, originalname: req.file?.originalname });
    });
    app.use(((error: unknown, _req, res, _next) => {
      failures.push(error);
      const status = (error as { status?: unknown }).status;
      res.status(typeof status === 'number' ? status : 500).json({ code: (error as { code?: unknown }).code });
    }) as ErrorRequestHandler);
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    // 200 clients at once, each its own connection.
    server.maxConnections = CONCURRENCY * 2;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    rmSync(folder, { recursive: true, force: true });
  });

  it('should answer every complete upload 200 with its bytes on disk, and leave no other file', async () => {
    const shared = sharedBytes(FILE_SIZE);
    const started = Date.now();
    const outcomes = await runAbortLoad({ url, uploads: UPLOADS, concurrency: CONCURRENCY, fileSize: FILE_SIZE, abortEvery: ABORT_EVERY }, shared);
    const clientsDone = Date.now();
    const aborted = outcomes.filter((outcome) => outcome.kind === 'aborted');
    const answered = outcomes.filter((outcome) => outcome.kind === 'answered');
    expect(outcomes.filter((outcome) => outcome.kind === 'failed')).toEqual([]);
    expect(aborted).toHaveLength(UPLOADS / ABORT_EVERY);
    expect(answered.map((outcome) => outcome.status)).toEqual(answered.map(() => 200));

    // The server sees each client that went away, and cleans up before calling next(error).
    const deadline = Date.now() + DEADLINE_MS;
    while (failures.length < aborted.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(failures.map((error) => (error as { code?: unknown }).code)).toEqual(aborted.map(() => 'UNEXPECTED_END'));
    const cleanedUp = Date.now();

    const stored = answered.map((outcome) => JSON.parse(outcome.body) as { path: string; size: number; originalname: string });
    for (const [i, file] of stored.entries()) {
      const index = answered[i]!.index;
      expect(file).toMatchObject({ size: FILE_SIZE, originalname: `upload-${index}.bin` });
      expect(readFileSync(file.path).equals(fileBytes(index, shared))).toBe(true);
    }
    expect(readdirSync(folder).sort()).toEqual(stored.map((file) => file.path.slice(folder.length + 1)).sort());
    console.log(`${UPLOADS} uploads of ${FILE_SIZE / MiB} MiB, ${CONCURRENCY} at a time, ${aborted.length} aborted halfway: clients done in ${clientsDone - started} ms, every abort cleaned up ${cleanedUp - clientsDone} ms later; ${stored.length} files stored, no other file in the folder`);
  }, 120_000);
});
