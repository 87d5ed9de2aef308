/**
 * Express applications for the drop-in's tests: the same routes mounted twice, once with multer
 * 2.x itself (`/multer/...`) and once with rx-multipart/express (`/rx/...`), so that one request sent
 * to both shows whether the drop-in fills req.body, req.file and req.files, and fails, as multer does.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ErrorRequestHandler, Express, Request, RequestHandler } from 'express';
import realMulter from 'multer';
import multer from '../../../lib/express/index';

/** express 4 or 5: `express()` makes an app. */
export type ExpressFactory = () => Express;

/** The two Express versions under test, by name. */
export const EXPRESS_VERSIONS: ReadonlyArray<readonly [string, ExpressFactory]> = [
  [`Express ${(require('express4/package.json') as { version: string }).version}`, require('express4') as ExpressFactory],
  [`Express ${(require('express/package.json') as { version: string }).version}`, require('express') as ExpressFactory],
];

/** What multer's export offers that the routes use: both multer and the drop-in have it. */
interface MulterLike {
  (options?: Record<string, unknown>): {
    single(name: string): RequestHandler;
    array(name: string, maxCount?: number): RequestHandler;
    fields(fields: ReadonlyArray<{ name: string; maxCount?: number }>): RequestHandler;
    none(): RequestHandler;
    any(): RequestHandler;
  };
  memoryStorage(): unknown;
  MulterError: new (...args: never[]) => Error;
}

/** A file as an answer shows it: multer's fields, its bytes as base64, paths checked then hidden. */
export interface FileSummary {
  readonly fieldname?: string;
  readonly originalname?: string;
  readonly encoding?: string;
  readonly mimetype?: string;
  readonly size?: number;
  readonly keys: string[];
  readonly content: string | undefined;
  readonly place: string;
}

/** The body of an answer: req.body, req.file, req.files; or the error next() was called with. */
export interface RouteAnswer {
  readonly body?: unknown;
  readonly file?: FileSummary | null;
  readonly files?: FileSummary[] | Record<string, FileSummary[]> | null;
  readonly error?: { readonly name: string; readonly code?: string; readonly field?: string; readonly filename?: string; readonly message: string; readonly isMulterError: boolean; readonly storageErrors?: number };
}

/** An error a route's middleware passed to next(), as the error handler saw it. */
export interface Failure {
  readonly side: 'multer' | 'rx';
  readonly path: string;
  readonly error: unknown;
}

/** An app listening on loopback, with the folders each side's disk storage writes to. */
export interface UploadApp {
  readonly url: string;
  readonly folders: { readonly multer: string; readonly rx: string };
  /** Emits 'failure' with a {@link Failure} each time the error handler runs. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

/**
 * Routes, under `/multer` and `/rx` alike:
 * - `/single` `single('avatar')`, `/array` `array('photos', 3)`, `/fields` `fields([avatar 1, gallery 2])`,
 *   `/none`, `/any`: disk storage in the side's folder;
 * - `/memory`: `any()` with memory storage;
 * - `/limited`: `any()` with the limits given as JSON in the `x-limits` header (limits as a function);
 * - `/filtered`: `any()` whose fileFilter does what `x-filter` says: `accept`, `skip-text` (skips
 *   text/plain files), `fail` (calls back an error), `throw`;
 * - `/utf8`: `any()` with `defParamCharset: 'utf8'`; `/preserve`: `any()` with `preservePath`.
 */
export async function startUploadApp(express: ExpressFactory, folders: { multer: string; rx: string }): Promise<UploadApp> {
  const app = express();
  const events = new EventEmitter();
  app.use('/multer', routes(express, realMulter as unknown as MulterLike, folders.multer, (path, error) => events.emit('failure', { side: 'multer', path, error })));
  app.use('/rx', routes(express, multer as unknown as MulterLike, folders.rx, (path, error) => events.emit('failure', { side: 'rx', path, error })));
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    folders,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function routes(express: ExpressFactory, factory: MulterLike, folder: string, onFailure: (path: string, error: unknown) => void): Express {
  const router = express();
  const disk = factory({ dest: folder });
  router.post('/single', disk.single('avatar'), answer(folder));
  router.post('/array', disk.array('photos', 3), answer(folder));
  router.post('/fields', disk.fields([{ name: 'avatar', maxCount: 1 }, { name: 'gallery', maxCount: 2 }]), answer(folder));
  router.post('/none', disk.none(), answer(folder));
  router.post('/any', disk.any(), answer(folder));
  router.post('/memory', factory({ storage: factory.memoryStorage() }).any(), answer(folder));
  router.post('/limited', factory({ dest: folder, limits: (req: Request) => JSON.parse(String(req.headers['x-limits'] ?? '{}')) as unknown }).any(), answer(folder));
  router.post('/filtered', factory({ dest: folder, fileFilter: filterBy }).any(), answer(folder));
  router.post('/utf8', factory({ dest: folder, defParamCharset: 'utf8' }).any(), answer(folder));
  router.post('/preserve', factory({ dest: folder, preservePath: true }).any(), answer(folder));
  router.use(((error: unknown, req, res, _next) => {
    onFailure(req.path, error);
    const failure = error as Error & { code?: string; field?: string; filename?: string; storageErrors?: unknown[]; status?: number };
    const summary: RouteAnswer['error'] = {
      name: failure.name,
      ...(failure.code === undefined ? {} : { code: failure.code }),
      ...(failure.field === undefined ? {} : { field: failure.field }),
      ...(failure.filename === undefined ? {} : { filename: failure.filename }),
      message: failure.message,
      isMulterError: error instanceof factory.MulterError,
      ...(failure.storageErrors === undefined ? {} : { storageErrors: failure.storageErrors.length }),
    };
    res.status(typeof failure.status === 'number' ? failure.status : 500).json({ error: summary, body: plain(req.body) });
  }) as ErrorRequestHandler);
  return router;
}

function filterBy(req: Request, file: Express.Multer.File, callback: (error: Error | null, accept?: boolean) => void): void {
  switch (req.headers['x-filter']) {
    case 'skip-text':
      return callback(null, file.mimetype !== 'text/plain');
    case 'fail':
      return callback(new Error(`refused ${file.originalname}`));
    case 'throw':
      throw new Error(`threw for ${file.originalname}`);
    default:
      return callback(null, true);
  }
}

function answer(folder: string): RequestHandler {
  return (req, res) => {
    const files = req.files;
    res.json({
      body: plain(req.body),
      file: req.file === undefined ? null : summarize(req.file, folder),
      files: files === undefined ? null : Array.isArray(files) ? files.map((file) => summarize(file, folder)) : Object.fromEntries(Object.entries(files).map(([name, list]) => [name, list.map((file) => summarize(file, folder))])),
    } satisfies RouteAnswer);
  };
}

/** A file as both sides can be compared: its bytes read back, where it went checked, random names hidden. */
function summarize(file: Express.Multer.File, folder: string): FileSummary {
  const path = file.path as string | undefined;
  let place = 'memory';
  if (path !== undefined) place = file.destination === folder && path === join(folder, file.filename) && /^[0-9a-f]{32}$/.test(file.filename) ? 'dest/<random hex>' : `unexpected ${path}`;
  const bytes = path !== undefined ? readFileSync(path) : file.buffer;
  return {
    fieldname: file.fieldname,
    originalname: file.originalname,
    encoding: file.encoding,
    mimetype: file.mimetype,
    size: file.size,
    keys: Object.keys(file),
    content: bytes?.toString('base64'),
    place,
  };
}

/** req.body as JSON shows it, with whether each object has a prototype (multer's have none). */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).map(([key, item]) => [key, plain(item)]);
  return Object.getPrototypeOf(value) === null ? { '<no prototype>': true, ...Object.fromEntries(entries) } : Object.fromEntries(entries);
}
