'use strict';
// Each parser consumes every byte of every part and reads every part's name, and resolves with
// the bytes it saw (checked against the body, so a parser that skipped work cannot win).
const { from, concatMap, lastValueFrom, reduce, defaultIfEmpty } = require('rxjs');
const { BOUNDARY, CONTENT_TYPE } = require('./bodies');

const DELIMITER = Buffer.from(`\r\n--${BOUNDARY}`);
const UNLIMITED = { parts: Infinity, files: Infinity, fields: Infinity, fileSize: Infinity, bodySize: Infinity };

const PARSERS = {
  async 'rx-multipart'() {
    const { parseMultipart } = require('../dist/cjs/index.js');
    return (chunks) =>
      lastValueFrom(
        from(chunks).pipe(
          parseMultipart(CONTENT_TYPE, { limits: UNLIMITED }),
          concatMap((part) => part.body$.pipe(reduce((n, chunk) => n + chunk.length, part.name.length), defaultIfEmpty(part.name.length))),
          reduce((n, bytes) => n + bytes, 0),
        ),
      );
  },
  async busboy() {
    const busboy = require('busboy');
    return (chunks) =>
      new Promise((resolve, reject) => {
        let n = 0;
        const parser = busboy({ headers: { 'content-type': CONTENT_TYPE }, limits: { fields: Infinity, files: Infinity, parts: Infinity, fileSize: Infinity } });
        parser.on('file', (name, stream) => {
          n += name.length;
          stream.on('data', (chunk) => (n += chunk.length));
        });
        parser.on('field', (name, value) => (n += name.length + Buffer.byteLength(value)));
        parser.on('close', () => resolve(n));
        parser.on('error', reject);
        for (const chunk of chunks) parser.write(chunk);
        parser.end();
      });
  },
  async '@fastify/busboy'() {
    const { Busboy } = require('@fastify/busboy');
    return (chunks) =>
      new Promise((resolve, reject) => {
        let n = 0;
        const parser = new Busboy({ headers: { 'content-type': CONTENT_TYPE }, limits: { fields: Infinity, files: Infinity, parts: Infinity, fileSize: Infinity } });
        parser.on('file', (name, stream) => {
          n += name.length;
          stream.on('data', (chunk) => (n += chunk.length));
        });
        parser.on('field', (name, value) => (n += name.length + Buffer.byteLength(value)));
        parser.on('finish', () => setImmediate(() => resolve(n)));
        parser.on('error', reject);
        for (const chunk of chunks) parser.write(chunk);
        parser.end();
      });
  },
  async '@remix-run/multipart-parser'() {
    const { MultipartParser } = await import('@remix-run/multipart-parser');
    // Remix parses headers lazily: reading part.name makes it do the work the others do.
    return async (chunks) => {
      let n = 0;
      const parser = new MultipartParser(BOUNDARY, { maxFileSize: Infinity, maxHeaderSize: 16 * 1024, maxParts: Infinity });
      for (const chunk of chunks) {
        for (const part of parser.write(chunk)) {
          n += part.name.length;
          for (const piece of part.content) n += piece.length;
        }
      }
      parser.finish();
      return n;
    };
  },
  // The limits: what any parser must at least do.
  async 'limit: search'() {
    return async (chunks) => {
      let found = 0;
      for (const chunk of chunks) {
        // The delimiter, and a CR in the last bytes that could begin one across the edge.
        for (let at = chunk.indexOf(DELIMITER); at !== -1; at = chunk.indexOf(DELIMITER, at + DELIMITER.length)) found++;
        if (chunk.indexOf(13, chunk.length - DELIMITER.length + 1) !== -1) found += 0;
      }
      return found;
    };
  },
  async 'limit: search+copy'() {
    let target = Buffer.alloc(0);
    return async (chunks) => {
      let copied = 0;
      for (const chunk of chunks) {
        for (let at = chunk.indexOf(DELIMITER); at !== -1; at = chunk.indexOf(DELIMITER, at + DELIMITER.length)) copied += 0;
        if (chunk.indexOf(13, chunk.length - DELIMITER.length + 1) !== -1) copied += 0;
        if (target.length < chunk.length) target = Buffer.allocUnsafe(chunk.length);
        copied += chunk.copy(target, 0);
      }
      return copied;
    };
  },
};

const PEERS = ['busboy', '@fastify/busboy', '@remix-run/multipart-parser'];

module.exports = { PARSERS, PEERS };
