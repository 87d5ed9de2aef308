'use strict';
// An upload server storing to disk, for the end-to-end benchmark. Usage:
// node bench/e2e-server.js <rx-multipart|rx-multipart-sha256|multer|formidable> <directory>; prints "PORT <n>".
const { createServer } = require('node:http');
const [kind, directory] = process.argv.slice(2);
const GiB = 1024 ** 3;

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** rx-multipart's server, with the disk storage made from `storageOptions` beside the folder. */
function serveWithRxMultipart(storageOptions, cjs = require('./dist.js').cjsDir()) {
  const { toArray } = require('rxjs');
  const { multipart, storeParts, createDiskStorage } = require(require('node:path').join(cjs, 'index.js'));
  const storage = createDiskStorage({ directory, ...storageOptions });
  const limits = { fileSize: 2 * GiB, bodySize: 3 * GiB, files: 10_000, parts: 10_000 };
  return (req, res) =>
    multipart(req, { limits }).pipe(storeParts(storage), toArray()).subscribe({
      // `hashed` lets the client check that the checksum option took effect.
      next: (parts) => {
        const files = parts.filter((part) => part.kind === 'file');
        reply(res, 200, { files: files.length, hashed: files.filter((file) => typeof file.sha256 === 'string').length });
      },
      error: (error) => reply(res, error.status ?? 500, { error: String(error.message) }),
    });
}

const handlers = {
  'rx-multipart': () => serveWithRxMultipart({}),
  // bench/e2e.js --baseline: the same server on an earlier build of the package, in E2E_BASELINE_DIST.
  'rx-multipart@baseline': () => serveWithRxMultipart({}, process.env.E2E_BASELINE_DIST),
  // The same, also computing each file's SHA-256 (work the peers do not do).
  'rx-multipart-sha256': () => serveWithRxMultipart({ checksum: 'sha256' }),
  multer() {
    const multer = require('multer');
    const upload = multer({ storage: multer.diskStorage({ destination: directory }), limits: { fileSize: 2 * GiB, files: 10_000, parts: 10_000 } }).any();
    return (req, res) => upload(req, res, (error) => (error ? reply(res, 500, { error: String(error.message) }) : reply(res, 200, { files: req.files.length })));
  },
  formidable() {
    const { formidable } = require('formidable');
    return (req, res) => {
      const form = formidable({ uploadDir: directory, maxFileSize: 2 * GiB, maxTotalFileSize: 3 * GiB, maxFiles: 10_000, maxFields: 10_000 });
      form.parse(req, (error, _fields, files) =>
        error ? reply(res, 500, { error: String(error.message) }) : reply(res, 200, { files: Object.values(files).reduce((n, list) => n + list.length, 0) }),
      );
    };
  },
};

const server = createServer(handlers[kind]());
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
// Exit cleanly when told to stop, so a server run under --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));
