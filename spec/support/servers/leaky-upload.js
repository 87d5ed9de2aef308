'use strict';
// An upload server that leaves a partial file behind for every upload its client aborts: each file
// is piped to a write stream and nothing is removed when the request goes away. The load bench's
// spec runs it to show that bench/load-phase.js counts such files. Same interface as
// bench/load-server.js: node leaky-upload.js <kind> <directory>; prints "PORT <n>", answers
// `{ files: [{ field, path, size }] }` once every file is on disk.
const { createServer } = require('node:http');
const { createWriteStream } = require('node:fs');
const { join } = require('node:path');
const { randomUUID } = require('node:crypto');
const busboy = require('busboy');

const directory = process.argv[3];

const server = createServer((req, res) => {
  const files = [];
  const written = [];
  const parser = busboy({ headers: req.headers });
  parser.on('file', (field, stream) => {
    const path = join(directory, randomUUID());
    const sink = createWriteStream(path);
    written.push(
      new Promise((resolve, reject) => sink.on('finish', resolve).on('error', reject)).then(() => files.push({ field, path, size: sink.bytesWritten })),
    );
    stream.pipe(sink);
  });
  parser.on('close', () => {
    Promise.all(written).then(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ files })),
      () => res.writeHead(500).end(),
    );
  });
  // The leak: an aborted request leaves its open file as it is.
  parser.on('error', () => res.destroy());
  req.pipe(parser);
});
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
