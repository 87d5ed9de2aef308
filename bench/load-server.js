'use strict';
/**
 * The upload servers of the load bench (bench/load.js), each written the way its documentation
 * shows and storing to disk in `<directory>`. Usage:
 *
 *   node --require bench/load-probe.js bench/load-server.js <kind> <directory>     prints "PORT <n>"
 *
 * kinds: rx-multipart, express (multer's README code on rx-multipart/express), multer, formidable,
 * fastify-multipart (the demo server runs as itself:
 * demo/server.mjs). Each answers 200 once every file of the upload is on disk, with
 * `{ files: [{ field, path, size }] }` in body order so the bench can check them, and an error
 * status otherwise. Every server limits a file to 50 MiB, the limit of the README's quick start.
 * LOAD_HIGH_WATER_MARK=<bytes> sets rx-multipart's `highWaterMark` (a diagnostic of bench/load.js
 * --high-water-mark: the default runs leave it unset, as the README does).
 */
const { createServer } = require('node:http');
const { join } = require('node:path');
const { randomUUID } = require('node:crypto');

const [kind, directory] = process.argv.slice(2);
const MiB = 1024 * 1024;
const FILE_SIZE_LIMIT = 50 * MiB;

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * The README's quick start 2: `multipart(req)` + `storeParts(createDiskStorage(...))` + `toArray()`.
 * @param {string} cjs the package build to load (the run's snapshot, or --baseline's).
 */
function serveWithRxMultipart(cjs = require('./dist.js').cjsDir()) {
  const { toArray } = require('rxjs');
  const { multipart, storeParts, createDiskStorage, MultipartError } = require(join(cjs, 'index.js'));
  const storage = createDiskStorage({ directory });
  const highWaterMark = process.env.LOAD_HIGH_WATER_MARK ? { highWaterMark: Number(process.env.LOAD_HIGH_WATER_MARK) } : {};
  return (req, res) =>
    multipart(req, { limits: { fileSize: FILE_SIZE_LIMIT }, ...highWaterMark })
      .pipe(storeParts(storage, { retry: 2, timeout: 10_000 }), toArray())
      .subscribe({
        next: (parts) =>
          reply(res, 200, { files: parts.filter((part) => part.kind === 'file').map((file) => ({ field: file.fieldName, path: file.location, size: file.size })) }),
        error: (error) => reply(res, error instanceof MultipartError ? error.status : 500, { error: String(error.message) }),
      });
}

/**
 * multer's README: `multer({ storage: multer.diskStorage({ destination }) }).any()`, names it draws.
 * @param multer multer itself, or rx-multipart/express in its place (serveWithMulterDropIn).
 */
function serveWithMulter(multer = require('multer')) {
  const upload = multer({ storage: multer.diskStorage({ destination: directory }), limits: { fileSize: FILE_SIZE_LIMIT } }).any();
  return (req, res) =>
    upload(req, res, (error) =>
      error
        ? reply(res, error.status ?? (error.code === 'LIMIT_FILE_SIZE' ? 413 : 500), { error: String(error.message) })
        : reply(res, 200, { files: req.files.map((file) => ({ field: file.fieldname, path: file.path, size: file.size })) }),
    );
}

/**
 * multer's README code with `require('rx-multipart/express')` for `require('multer')`: what a multer
 * user who switches without a rewrite runs.
 * @param {string} cjs the package build to load (the run's snapshot, or --baseline's).
 */
function serveWithMulterDropIn(cjs = require('./dist.js').cjsDir()) {
  return serveWithMulter(require(join(cjs, 'express', 'index.cjs')));
}

/** formidable's README: `formidable({ uploadDir }).parse(req, callback)`. */
function serveWithFormidable() {
  const { formidable } = require('formidable');
  return (req, res) => {
    const form = formidable({ uploadDir: directory, maxFileSize: FILE_SIZE_LIMIT });
    form.parse(req, (error, _fields, files) => {
      if (error) return reply(res, error.httpCode ?? 500, { error: String(error.message) });
      // formidable groups the files by field name; body order is recovered by the bench's checks.
      const stored = Object.entries(files).flatMap(([field, list]) => list.map((file) => ({ field, path: file.filepath, size: file.size })));
      reply(res, 200, { files: stored });
    });
  };
}

/**
 * @fastify/multipart's README ("Handle multiple file streams"): `for await (const part of
 * req.files()) await pipeline(part.file, fs.createWriteStream(...))`, with a name drawn here
 * instead of the client's filename. No cleanup on failure: its README shows none.
 */
async function listenWithFastify() {
  const fastify = require('fastify')({ logger: false });
  const { createWriteStream } = require('node:fs');
  const { pipeline } = require('node:stream/promises');
  await fastify.register(require('@fastify/multipart'), { limits: { fileSize: FILE_SIZE_LIMIT } });
  fastify.post('/', async (req) => {
    const files = [];
    for await (const part of req.files()) {
      const path = join(directory, randomUUID());
      const sink = createWriteStream(path);
      await pipeline(part.file, sink);
      files.push({ field: part.fieldname, path, size: sink.bytesWritten });
    }
    return { files };
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  return fastify.server.address().port;
}

const handlers = {
  'rx-multipart': () => serveWithRxMultipart(),
  // bench/load.js --baseline: the same server on an earlier build, in LOAD_BASELINE_DIST.
  'rx-multipart@baseline': () => serveWithRxMultipart(process.env.LOAD_BASELINE_DIST),
  express: () => serveWithMulterDropIn(),
  'express@baseline': () => serveWithMulterDropIn(process.env.LOAD_BASELINE_DIST),
  multer: () => serveWithMulter(),
  formidable: serveWithFormidable,
};

async function main() {
  if (kind === 'fastify-multipart') {
    console.log(`PORT ${await listenWithFastify()}`);
    return;
  }
  if (handlers[kind] === undefined) throw new Error(`unknown server kind ${kind}: ${[...Object.keys(handlers), 'fastify-multipart'].join(', ')}`);
  const server = createServer(handlers[kind]());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log(`PORT ${server.address().port}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
