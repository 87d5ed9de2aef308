'use strict';
/**
 * The parsers under test, each driven the way its users write it. A driver is loaded once per child
 * process (`load()`), then called per run with `{ contentType, boundary, chunks }` and resolves to
 * `{ parts, bytes, names }`: the parts seen, the part bytes counted chunk by chunk, and the length of
 * every part name read. Reading the name is what makes the drivers comparable: remix parses a part's
 * headers lazily, so a driver that skipped `part.name` would skip remix's header parsing.
 */
const path = require('node:path');
const { LIMITS } = require('./limits.js');
const { cjsDir } = require('./dist.js');

// Lift every limit: the bench measures parsing, and the 1 GiB case is larger than the defaults.
const NO_LIMITS = {
  parts: Infinity,
  files: Infinity,
  fields: Infinity,
  fileSize: Infinity,
  fieldSize: Infinity,
  bodySize: Infinity,
};

/**
 * Writes chunks into a Node Writable (busboy, @fastify/busboy) the way `pipe` does: synchronously
 * while the parser accepts them, waiting for 'drain' only when it really withheld its write callback
 * (a file stream over its highWaterMark). `write()` returning false alone does not mean that: a
 * 64 KiB chunk is above the Writable's 16 KiB highWaterMark even when it was parsed at once, and
 * waiting a tick per chunk there would measure the event loop, not the parser.
 */
async function writeAll(writable, chunks) {
  for (const chunk of chunks) {
    if (!writable.write(chunk) && writable.writableLength > 0) {
      await new Promise((resolve, reject) => {
        const onDrain = () => {
          writable.off('error', onError);
          resolve();
        };
        const onError = (error) => {
          writable.off('drain', onDrain);
          reject(error);
        };
        writable.once('drain', onDrain);
        writable.once('error', onError);
      });
    }
  }
  writable.end();
}

const RX_MULTIPART = {
  name: 'rx-multipart',
  label: 'rx-multipart',
  load: async () => {
    const { from, concatMap } = require('rxjs');
    const { parseMultipart } = require(path.join(cjsDir(), 'index.js'));
    const options = { limits: NO_LIMITS };
    return (input) =>
      new Promise((resolve, reject) => {
        const counts = { parts: 0, bytes: 0, names: 0 };
        from(input.chunks)
          .pipe(
            parseMultipart(input.contentType, options),
            concatMap((part) => {
              counts.parts++;
              counts.names += part.name.length;
              return part.body$;
            }),
          )
          .subscribe({
            next: (chunk) => {
              counts.bytes += chunk.length;
            },
            error: reject,
            complete: () => resolve(counts),
          });
      });
  },
};

/**
 * A diagnostic, not in the default table (`--parser rx-multipart-core`): rx-multipart's parser core
 * stepped over the chunks with no RxJS and no PartStream, so `rx-multipart` minus this is what the
 * operator layer costs. It reaches into dist/cjs/parser/, which is not public API: if those
 * modules change shape, fix this driver or drop it.
 */
const RX_MULTIPART_CORE = {
  name: 'rx-multipart-core',
  label: 'rx-multipart core (no RxJS)',
  isDiagnostic: true,
  load: async () => {
    const dist = path.join(cjsDir(), 'parser');
    const parser = require(path.join(dist, 'multipart-parser.js'));
    const { resolveLimits } = require(path.join(dist, 'limits.js'));
    const { resolveMultipartType } = require(path.join(dist, 'boundary.js'));
    const limits = resolveLimits(NO_LIMITS);
    return (input) => {
      const type = resolveMultipartType(input.contentType);
      const state = parser.createParserState(type.boundary, { limits, isFormData: true, preservePath: false, defParamCharset: 'utf8' });
      const counts = { parts: 0, bytes: 0, names: 0 };
      const count = (events) => {
        for (const event of events) {
          if (event.type === parser.EVENT_PART_START) {
            counts.parts++;
            counts.names += event.part.name.length;
          } else if (event.type === parser.EVENT_DATA) counts.bytes += event.data.length;
          else if (event.type === parser.EVENT_ERROR) throw event.error;
        }
      };
      for (const chunk of input.chunks) count(parser.step(state, chunk).events);
      count(parser.finish(state).events);
      return counts;
    };
  },
};

/**
 * Drives busboy or @fastify/busboy (same events): every file stream read to its end, fields
 * counted as they arrive decoded to strings (ASCII here: length = bytes). Resolves when the form is
 * done (`doneEvent`) and every file stream has ended, whichever comes last.
 */
function busboyDriver(createParser, doneEvent) {
  return (input) =>
    new Promise((resolve, reject) => {
      const counts = { parts: 0, bytes: 0, names: 0 };
      let openFiles = 0;
      let isDone = false;
      const settle = () => {
        if (isDone && openFiles === 0) resolve(counts);
      };
      const parser = createParser({ headers: { 'content-type': input.contentType }, limits: NO_LIMITS });
      parser.on('file', (name, stream) => {
        counts.parts++;
        counts.names += name.length;
        openFiles++;
        stream.on('data', (chunk) => {
          counts.bytes += chunk.length;
        });
        stream.on('end', () => {
          openFiles--;
          settle();
        });
      });
      parser.on('field', (name, value) => {
        counts.parts++;
        counts.names += name.length;
        counts.bytes += value.length;
      });
      parser.on(doneEvent, () => {
        isDone = true;
        settle();
      });
      parser.on('error', reject);
      writeAll(parser, input.chunks).catch(reject);
    });
}

const BUSBOY = {
  name: 'busboy',
  label: 'busboy',
  load: async () => {
    const busboy = require('busboy');
    return busboyDriver((config) => busboy(config), 'close');
  },
};

const FASTIFY_BUSBOY = {
  name: 'fastify-busboy',
  label: '@fastify/busboy',
  load: async () => {
    const { Busboy } = require('@fastify/busboy');
    // @fastify/busboy has no 'close'; its 'finish' waits for the parts to end.
    return busboyDriver((config) => new Busboy(config), 'finish');
  },
};

const REMIX = {
  name: 'remix',
  label: '@remix-run/multipart-parser',
  note:
    'parses part headers lazily (every driver reads `part.name`, which forces it) and yields a part only once ' +
    'all its chunks are collected in `part.content` (views of the input): it does not stream a part. With the ' +
    'reused chunk buffers of the generated 1 GiB case those views cost little; from a network stream it would ' +
    'hold the whole file.',
  load: async () => {
    // ESM only: a dynamic import from this CommonJS file.
    const { parseMultipart } = await import('@remix-run/multipart-parser');
    const options = { maxHeaderSize: 16 * 1024, maxFileSize: Infinity, maxParts: Infinity, maxTotalSize: Infinity };
    return (input) => {
      const counts = { parts: 0, bytes: 0, names: 0 };
      for (const part of parseMultipart(input.chunks, { boundary: input.boundary, ...options })) {
        counts.parts++;
        counts.names += part.name.length;
        for (const chunk of part.content) counts.bytes += chunk.length;
      }
      return counts;
    };
  },
};

/** Every parser, in table order: ours, the peers, the limits, then diagnostics (run only when named). */
const PARSERS = [RX_MULTIPART, BUSBOY, FASTIFY_BUSBOY, REMIX, ...LIMITS, RX_MULTIPART_CORE];

/** The peers the ratio column compares with (the fastest of them per case). */
const PEERS = ['busboy', 'fastify-busboy', 'remix'];

/** The limits the other ratio columns compare with. */
const COPY_LIMIT = 'search+copy';
const READ_LIMIT = 'read';

/** Finds a parser by its key or its label (`--parser @fastify/busboy` works too). */
function findParser(name) {
  return PARSERS.find((parser) => parser.name === name || parser.label === name);
}

module.exports = { PARSERS, PEERS, COPY_LIMIT, READ_LIMIT, findParser };
