/**
 * The multipart state machine (createParserState / step / finish): parts, framing, malformed
 * bodies and limits, driven directly, chunk by chunk, without RxJS.
 */
import { resolveLimits, type Limits } from '../../lib/parser/limits';
import {
  createParserState,
  EVENT_DATA,
  EVENT_END,
  EVENT_ERROR,
  EVENT_PART_START,
  finish,
  isFinished,
  step,
  type ParserEvent,
} from '../../lib/parser/multipart-parser';
import { chunkAfterEveryCR, chunkBySizes } from '../support/collect';
import {
  CLOSE,
  CRLF,
  createState,
  errorOf,
  field,
  file,
  form,
  lines,
  OPEN,
  parse,
  parseChunks,
  summary,
  toBytes,
  TWO_PARTS,
  TWO_PARTS_SUMMARY,
} from '../support/parser-driver';

describe('multipart parser', () => {
  describe('a well-formed body', () => {
    it('should emit each part with its name, filename, content type and bytes', () => {
      expect(summary(parse(TWO_PARTS))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should emit END after the closing delimiter', () => {
      expect(parse(form(field('a', '1'))).isComplete).toBe(true);
    });

    it('should read the empty form "--boundary--" as no parts', () => {
      expect(summary(parse(CLOSE))).toEqual({ parts: [], isComplete: true, error: undefined });
    });

    it('should ignore a preamble before the first delimiter', () => {
      expect(summary(parse(`This is a preamble.\r\nIt has two lines.${CRLF}${TWO_PARTS}`))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should accept a CRLF before the first delimiter', () => {
      expect(summary(parse(`${CRLF}${TWO_PARTS}`))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should ignore an epilogue after the closing delimiter, even one that looks like a part', () => {
      expect(summary(parse(`${TWO_PARTS}epilogue\r\n${field('late', 'x')}garbage`))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should allow transport padding (spaces and tabs) after each delimiter', () => {
      const padded = TWO_PARTS.replace(/(--AaB03x)\r\n/g, '$1 \t \r\n');
      expect(summary(parse(padded))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should give a part with no bytes an empty body', () => {
      expect(parse(form(field('empty', ''))).parts.map((part) => part.data.length)).toEqual([0]);
    });

    it('should keep bytes that look like a delimiter inside a part', () => {
      const lookalikes = `\r\n--AaB03\r\n-AaB03x--AaB03x\n--AaB03x\r--AaB03x\r\n--aab03x\r\n\r\n--`;
      expect(parse(form(file('f', 'f.bin', lookalikes))).parts[0]?.data.toString('latin1')).toBe(lookalikes);
    });

    it('should keep runs of CR and LF inside a part', () => {
      const runs = '\r\r\n\n\r\n\r\n\r\r\r';
      expect(parse(form(field('f', runs))).parts[0]?.data.toString('latin1')).toBe(runs);
    });

    it("should keep a CRLF that ends a part's own bytes", () => {
      expect(parse(form(field('f', 'line\r\n'))).parts[0]?.data.toString('latin1')).toBe('line\r\n');
    });

    it('should keep every byte value inside a part', () => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const body = Buffer.concat([Buffer.from(file('f', 'all.bin', '').slice(0, -2)), all, Buffer.from(`${CRLF}${CLOSE}`)]);
      expect(parse(body).parts[0]?.data.equals(all)).toBe(true);
    });

    it('should read header names in any case', () => {
      const body = form(lines(OPEN, 'CONTENT-DISPOSITION: form-data; name="a"', 'content-TYPE: image/png', '', 'x') + CRLF);
      expect(parse(body).parts.map((part) => [part.head.name, part.head.contentType])).toEqual([['a', 'image/png']]);
    });

    it('should unfold a folded header line', () => {
      const body = form(lines(OPEN, 'Content-Disposition: form-data;', '\tname="folded"', '', 'x') + CRLF);
      expect(parse(body).parts[0]?.head.name).toBe('folded');
    });

    it('should keep raw line breaks that a client left inside a quoted filename', () => {
      const body = form(lines(OPEN, 'Content-Disposition: form-data; name="f"; filename="a', 'b', 'c.txt"', '', 'x') + CRLF);
      expect(parse(body, { preservePath: true }).parts[0]?.head.filename).toBe('a\r\nb\r\nc.txt');
    });

    it('should read a megabyte of header blocks full of raw line breaks', () => {
      // 64 files (the files limit is 100), each with a 15 KiB header block (under the 16 KiB
      // headerSize) whose filename holds 5000 raw line breaks: about 1 MiB of body. (Re-reading the
      // whole value at every line made this take over 5 s; no timing is asserted here.)
      const part = lines(OPEN, `Content-Disposition: form-data; name="f"; filename="${'x\r\n'.repeat(5000)}x"`, '', 'v') + CRLF;
      const body = Buffer.from(form(...Array.from({ length: 64 }, () => part)));
      const parsed = parse(body);
      expect([parsed.parts.length, parsed.isComplete, parsed.parts[0]?.head.filename?.length]).toEqual([64, true, 5000 * 3 + 1]);
    });

    it('should report text/plain for a part without Content-Type', () => {
      expect(parse(form(field('a', '1'))).parts[0]?.head.contentType).toBe('text/plain');
    });

    it('should read header bytes as UTF-8 by default', () => {
      expect(parse(form(field('caf\u00e9 \u65e5\u672c', '1'))).parts[0]?.head.name).toBe('caf\u00e9 \u65e5\u672c');
    });

    it('should read header bytes as latin1 when defParamCharset is latin1', () => {
      const body = Buffer.from(form(field('caf\u00e9', '1')), 'latin1');
      expect(parse(body, { defParamCharset: 'latin1' }).parts[0]?.head.name).toBe('caf\u00e9');
    });

    it('should read invalid UTF-8 in a header as U+FFFD rather than fail', () => {
      const body = Buffer.from(form(field('caf\u00e9', '1')), 'latin1');
      expect(parse(body).parts[0]?.head.name).toBe('caf\ufffd');
    });

    it('should reduce a filename to its basename', () => {
      expect(parse(form(file('f', 'C:\\Users\\me\\a.txt', 'x'))).parts[0]?.head.filename).toBe('a.txt');
    });

    it('should keep the path of a filename with preservePath', () => {
      expect(parse(form(file('f', 'dir/a.txt', 'x')), { preservePath: true }).parts[0]?.head.filename).toBe('dir/a.txt');
    });
  });

  describe('other multipart subtypes', () => {
    const MIXED = form(
      lines(OPEN, 'Content-Type: application/json', '', '{"a":1}') + CRLF,
      lines(OPEN, 'Content-Disposition: attachment; filename="r.pdf"', '', '%PDF') + CRLF,
    );

    it('should accept parts without Content-Disposition, named ""', () => {
      expect(parse(MIXED, { isFormData: false }).parts.map((part) => [part.head.name, part.head.filename, part.head.contentType])).toEqual([
        ['', undefined, 'application/json'],
        ['', 'r.pdf', 'text/plain'],
      ]);
    });

    it('should read the bytes of parts without Content-Disposition', () => {
      expect(parse(MIXED, { isFormData: false }).parts.map((part) => part.data.toString())).toEqual(['{"a":1}', '%PDF']);
    });

    it('should accept a part with no headers at all', () => {
      const body = `${OPEN}${CRLF}${CRLF}bare${CRLF}${CLOSE}`;
      expect(summary(parse(body, { isFormData: false }))).toEqual({
        parts: [{ name: '', filename: undefined, contentType: 'text/plain', data: 'bare', isEnded: true }],
        isComplete: true,
        error: undefined,
      });
    });

    it('should accept a part with no headers and no bytes', () => {
      const body = `${OPEN}${CRLF}${CRLF}${CRLF}${CLOSE}`;
      expect(parse(body, { isFormData: false }).parts.map((part) => part.data.length)).toEqual([0]);
    });
  });

  describe('chunking', () => {
    it('should give the same parts when every byte is its own chunk', () => {
      expect(summary(parseChunks(chunkBySizes(Buffer.from(TWO_PARTS), [1])))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should give the same parts when every chunk ends just after a CR', () => {
      expect(summary(parseChunks(chunkAfterEveryCR(Buffer.from(TWO_PARTS))))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should give the same parts whichever byte a body is cut after', () => {
      const body = Buffer.from(`preamble\r\n${TWO_PARTS}epilogue`);
      const differing = [];
      for (let cut = 1; cut < body.length; cut++) {
        const parsed = summary(parseChunks([body.subarray(0, cut), body.subarray(cut)]));
        if (JSON.stringify(parsed) !== JSON.stringify(TWO_PARTS_SUMMARY)) differing.push(cut);
      }
      expect(differing).toEqual([]);
    });

    it('should give the same parts with the portable search', () => {
      expect(summary(parseChunks(chunkBySizes(Buffer.from(TWO_PARTS), [7, 3, 1, 11]), { usesPortableSearch: true }))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should ignore empty chunks', () => {
      const body = Buffer.from(TWO_PARTS);
      const empty = new Uint8Array(0);
      expect(summary(parseChunks([empty, body.subarray(0, 50), empty, body.subarray(50), empty]))).toEqual(TWO_PARTS_SUMMARY);
    });

    it('should emit the bytes of a part inside one chunk as views of that chunk, not copies', () => {
      const parsed = parse(TWO_PARTS);
      expect(parsed.data.every(({ chunk, bytes }) => bytes.buffer === chunk.buffer)).toBe(true);
    });

    it.each([
      ['native', false],
      ['portable', true],
    ])('should give the same parts for megabytes of near-delimiters under a browser-length boundary, cut anywhere (%s)', (_kind, usesPortableSearch) => {
      // Past the search's 256 KiB warm-up its sampling runs, over data full of windows of the
      // delimiter: every proper prefix of it, the whole delimiter minus its last byte, random bytes.
      const boundary = '----WebKitFormBoundary7MA4YWxkTrZu0gW9';
      const delimiter = Buffer.from(`\r\n--${boundary}`);
      let seed = 12345;
      const next = (limit: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % limit;
      const data = (size: number): Buffer => {
        const bytes = Buffer.alloc(size);
        for (let at = 0; at < size; ) {
          const piece = next(4) === 0 ? delimiter.subarray(0, 1 + next(delimiter.length - 1)) : Buffer.from([next(256)]);
          at += piece.copy(bytes, at);
        }
        return bytes;
      };
      const files = [data(700_000), data(900_000)];
      const body = Buffer.concat([
        ...files.flatMap((bytes, i) => [
          Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Disposition: form-data; name="f${i}"; filename="f${i}.bin"\r\n\r\n`),
          bytes,
        ]),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const limits = resolveLimits({});
      if (typeof limits === 'string') throw new Error(limits);
      const state = createParserState(boundary, { limits, isFormData: true, preservePath: false, defParamCharset: 'utf8', usesPortableSearch });
      const received: Buffer[][] = [];
      let isComplete = false;
      const take = (events: readonly ParserEvent[]): void => {
        for (const event of events) {
          if (event.type === EVENT_PART_START) received.push([]);
          else if (event.type === EVENT_DATA) received[received.length - 1]!.push(Buffer.from(event.data));
          else if (event.type === EVENT_END) isComplete = true;
          else if (event.type === EVENT_ERROR) throw event.error;
        }
      };
      for (let at = 0; at < body.length; ) {
        const size = 1 + next(next(2) === 0 ? 100 : 70_000);
        take(step(state, body.subarray(at, at + size)).events);
        at += size;
      }
      take(finish(state).events);
      expect(isComplete).toBe(true);
      expect(received.map((chunks) => Buffer.concat(chunks))).toEqual(files);
    });

    it('should emit the bytes of a partial delimiter that turns out to be data', () => {
      const body = form(field('f', '\r\n--AaB03y'));
      const cut = body.indexOf('\r\n--AaB03y') + 8;
      expect(parseChunks([body.slice(0, cut), body.slice(cut)]).parts[0]?.data.toString()).toBe('\r\n--AaB03y');
    });
  });

  describe('malformed bodies', () => {
    it('should refuse a delimiter followed by other bytes with MALFORMED_DELIMITER and status 400', () => {
      const error = errorOf(parse(`${OPEN}X${CRLF}${field('a', '1')}${CLOSE}`));
      expect([error.code, error.status]).toEqual(['MALFORMED_DELIMITER', 400]);
    });

    it('should refuse a delimiter followed by a single "-" with MALFORMED_DELIMITER', () => {
      expect(errorOf(parse(`${field('a', '1')}${OPEN}-x`)).code).toBe('MALFORMED_DELIMITER');
    });

    it('should refuse a delimiter line ending in CR without LF with MALFORMED_DELIMITER', () => {
      expect(errorOf(parse(`${OPEN}\rContent-Disposition: form-data; name="a"\r\n\r\n1\r\n${CLOSE}`)).code).toBe('MALFORMED_DELIMITER');
    });

    it('should refuse a delimiter line ending in a bare LF with MALFORMED_DELIMITER', () => {
      expect(errorOf(parse(`${OPEN}\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n${CLOSE}`)).code).toBe('MALFORMED_DELIMITER');
    });

    it('should refuse other bytes after transport padding with MALFORMED_DELIMITER', () => {
      expect(errorOf(parse(`${OPEN}  x${CRLF}${field('a', '1')}${CLOSE}`)).code).toBe('MALFORMED_DELIMITER');
    });

    it('should refuse 64 KiB of transport padding with MALFORMED_DELIMITER', () => {
      expect(errorOf(parse(`${OPEN}${' '.repeat(64 * 1024)}${CRLF}${field('a', '1')}${CLOSE}`)).code).toBe('MALFORMED_DELIMITER');
    });

    it('should refuse a header line without a colon with MALFORMED_HEADER and status 400', () => {
      const error = errorOf(parse(form(lines(OPEN, 'Content-Disposition: form-data; name="a"', 'no colon here', '', '1') + CRLF)));
      expect([error.code, error.status]).toEqual(['MALFORMED_HEADER', 400]);
    });

    it('should refuse a repeated Content-Disposition with MALFORMED_HEADER', () => {
      const body = form(lines(OPEN, 'Content-Disposition: form-data; name="a"', 'Content-Disposition: form-data; name="b"', '', '1') + CRLF);
      expect(errorOf(parse(body)).code).toBe('MALFORMED_HEADER');
    });

    it('should name the index of the part whose headers are malformed', () => {
      const body = form(field('a', '1'), lines(OPEN, 'bad header', '', '2') + CRLF);
      expect(errorOf(parse(body)).partIndex).toBe(1);
    });

    it('should refuse a form-data part without Content-Disposition with INVALID_CONTENT_DISPOSITION and status 400', () => {
      const error = errorOf(parse(form(lines(OPEN, 'Content-Type: text/plain', '', '1') + CRLF)));
      expect([error.code, error.status]).toEqual(['INVALID_CONTENT_DISPOSITION', 400]);
    });

    it('should refuse a form-data part without a name with INVALID_CONTENT_DISPOSITION', () => {
      expect(errorOf(parse(form(lines(OPEN, 'Content-Disposition: form-data; filename="a.txt"', '', '1') + CRLF))).code).toBe('INVALID_CONTENT_DISPOSITION');
    });

    it('should refuse a form-data part with no headers at all with INVALID_CONTENT_DISPOSITION', () => {
      expect(errorOf(parse(`${OPEN}${CRLF}${CRLF}bare${CRLF}${CLOSE}`)).code).toBe('INVALID_CONTENT_DISPOSITION');
    });

    it('should refuse an empty body with UNEXPECTED_END and status 400', () => {
      const error = errorOf(parse(''));
      expect([error.code, error.status]).toEqual(['UNEXPECTED_END', 400]);
    });

    it('should refuse a body of preamble only with UNEXPECTED_END', () => {
      expect(errorOf(parse('just some text\r\n')).code).toBe('UNEXPECTED_END');
    });

    it('should refuse a body that ends inside a header block with UNEXPECTED_END', () => {
      expect(errorOf(parse(`${OPEN}${CRLF}Content-Disposition: form-data; na`)).code).toBe('UNEXPECTED_END');
    });

    it("should name the part whose bytes a body ends in", () => {
      const error = errorOf(parse(`${field('a', '1')}${file('up', 'u.bin', 'partial').slice(0, -2)}`));
      expect([error.code, error.partIndex, error.fieldName, error.filename]).toEqual(['UNEXPECTED_END', 1, 'up', 'u.bin']);
    });

    it('should refuse a body whose last delimiter lacks its closing "--" with UNEXPECTED_END', () => {
      expect(errorOf(parse(`${field('a', '1')}${OPEN}`)).code).toBe('UNEXPECTED_END');
    });

    it('should end every cut of a body before its closing "--" in UNEXPECTED_END', () => {
      const body = form(field('a', '1'), file('f', 'f.txt', 'xy'));
      const end = body.lastIndexOf(CLOSE) + CLOSE.length;
      const codes = new Set<string | undefined>();
      for (let cut = 0; cut < end; cut++) codes.add(parse(body.slice(0, cut)).error?.code);
      expect([...codes]).toEqual(['UNEXPECTED_END']);
    });

    it('should hold back the bytes of a partial delimiter when a body ends in it', () => {
      const body = `${field('a', 'value')}`.slice(0, -2) + '\r\n--AaB0';
      expect(parse(body).parts[0]?.data.toString()).toBe('value');
    });
  });

  describe('after the end', () => {
    it('should emit nothing for chunks after END', () => {
      const state = createState();
      step(state, toBytes(form(field('a', '1'))));
      expect(step(state, toBytes(field('b', '2'))).events).toEqual([]);
    });

    it('should not report UNEXPECTED_END when finished after END', () => {
      const state = createState();
      step(state, toBytes(form(field('a', '1'))));
      expect(finish(state).events).toEqual([]);
    });

    it('should emit nothing for chunks after an error', () => {
      const state = createState();
      step(state, toBytes(`${OPEN}X`));
      expect(step(state, toBytes(`${CRLF}${form(field('a', '1'))}`)).events).toEqual([]);
    });

    it('should emit nothing when finished after an error', () => {
      const state = createState();
      step(state, toBytes(`${OPEN}X`));
      expect(finish(state).events).toEqual([]);
    });

    it('should not be finished in the middle of a body', () => {
      expect(isFinished(step(createState(), toBytes(field('a', '1'))))).toBe(false);
    });

    it('should be finished after END', () => {
      expect(isFinished(step(createState(), toBytes(form(field('a', '1')))))).toBe(true);
    });

    it('should be finished after an error', () => {
      expect(isFinished(step(createState(), toBytes(`${OPEN}X`)))).toBe(true);
    });
  });

  describe('limits', () => {
    const bigHeader = lines(OPEN, 'Content-Disposition: form-data; name="big"', `X-Long: ${'x'.repeat(100)}`, '', 'v') + CRLF;
    const threeHeaders = lines(OPEN, 'Content-Disposition: form-data; name="many"', 'X-A: 1', 'X-B: 2', '', 'v') + CRLF;
    const bodyWithBigFile = form(field('a', '1'), file('up', 'u.bin', 'x'.repeat(100)));

    interface Case {
      readonly limits: Limits;
      readonly body: string;
      readonly expected: { readonly limit: number; readonly partIndex?: number; readonly fieldName?: string; readonly filename?: string };
    }
    const cases: Record<string, Case> = {
      LIMIT_PARTS: {
        limits: { parts: 2 },
        body: form(field('a', '1'), field('b', '2'), file('c', 'c.txt', '3')),
        expected: { limit: 2, partIndex: 2, fieldName: 'c', filename: 'c.txt' },
      },
      LIMIT_FILES: {
        limits: { files: 1 },
        body: form(file('a', 'a.bin', '1'), field('b', '2'), file('c', 'c.bin', '3')),
        expected: { limit: 1, partIndex: 2, fieldName: 'c', filename: 'c.bin' },
      },
      LIMIT_FIELDS: {
        limits: { fields: 1 },
        body: form(field('a', '1'), file('b', 'b.bin', '2'), field('c', '3')),
        expected: { limit: 1, partIndex: 2, fieldName: 'c' },
      },
      LIMIT_FILE_SIZE: {
        limits: { fileSize: 4 },
        body: form(field('a', 'a field longer than four bytes'), file('up', 'u.bin', '12345')),
        expected: { limit: 4, partIndex: 1, fieldName: 'up', filename: 'u.bin' },
      },
      LIMIT_FIELD_SIZE: {
        limits: { fieldSize: 4 },
        body: form(file('up', 'u.bin', 'a file longer than four bytes'), field('note', '12345')),
        expected: { limit: 4, partIndex: 1, fieldName: 'note' },
      },
      LIMIT_FIELD_NAME_SIZE: {
        limits: { fieldNameSize: 4 },
        body: form(field('abcd', '1'), field('abcde', '2')),
        expected: { limit: 4, partIndex: 1, fieldName: 'abcde' },
      },
      LIMIT_HEADER_SIZE: {
        limits: { headerSize: 64 },
        body: form(field('a', '1'), bigHeader),
        expected: { limit: 64, partIndex: 1 },
      },
      LIMIT_HEADER_PAIRS: {
        limits: { headerPairs: 2 },
        body: form(field('a', '1'), threeHeaders),
        expected: { limit: 2, partIndex: 1 },
      },
      LIMIT_PREAMBLE_SIZE: {
        limits: { preambleSize: 8 },
        body: `a preamble of more than 8 bytes${CRLF}${form(field('a', '1'))}`,
        expected: { limit: 8 },
      },
      LIMIT_BODY_SIZE: {
        limits: { bodySize: bodyWithBigFile.indexOf('xxxx') + 10 },
        body: bodyWithBigFile,
        expected: { limit: bodyWithBigFile.indexOf('xxxx') + 10, partIndex: 1, fieldName: 'up', filename: 'u.bin' },
      },
    };

    it.each(Object.entries(cases))('should end with %s, status 413, naming the part concerned and the limit', (code, { limits, body, expected }) => {
      const error = errorOf(parse(body, { limits }));
      expect({ code: error.code, status: error.status, limit: error.limit, partIndex: error.partIndex, fieldName: error.fieldName, filename: error.filename }).toEqual({
        code,
        status: 413,
        partIndex: undefined,
        fieldName: undefined,
        filename: undefined,
        ...expected,
      });
    });

    it.each(Object.entries(cases))('should end with %s whatever the chunking', (code, { limits, body }) => {
      const bytes = Buffer.from(body);
      const codes = [[bytes], chunkBySizes(bytes, [1]), chunkAfterEveryCR(bytes), chunkBySizes(bytes, [5, 3])].map((chunks) => parseChunks(chunks, { limits }).error?.code);
      expect(codes).toEqual([code, code, code, code]);
    });

    it('should name the index of the part whose header block crosses bodySize', () => {
      const body = form(field('a', '1'), field('b', '2'));
      const error = errorOf(parse(body, { limits: { bodySize: body.indexOf('name="b"') } }));
      expect([error.code, error.partIndex, error.fieldName]).toEqual(['LIMIT_BODY_SIZE', 1, undefined]);
    });

    it('should not start the part that exceeds limits.parts', () => {
      expect(parse(cases['LIMIT_PARTS']!.body, { limits: { parts: 2 } }).parts.map((part) => part.head.name)).toEqual(['a', 'b']);
    });

    it('should accept exactly limits.parts parts', () => {
      expect(parse(cases['LIMIT_PARTS']!.body, { limits: { parts: 3 } }).parts).toHaveLength(3);
    });

    it('should accept exactly limits.files files', () => {
      expect(parse(cases['LIMIT_FILES']!.body, { limits: { files: 2 } }).isComplete).toBe(true);
    });

    it('should accept exactly limits.fields fields', () => {
      expect(parse(cases['LIMIT_FIELDS']!.body, { limits: { fields: 2 } }).isComplete).toBe(true);
    });

    it('should accept a file of exactly limits.fileSize bytes', () => {
      expect(parse(form(file('up', 'u.bin', '1234')), { limits: { fileSize: 4 } }).isComplete).toBe(true);
    });

    it('should accept a field of exactly limits.fieldSize bytes', () => {
      expect(parse(form(field('note', '1234')), { limits: { fieldSize: 4 } }).isComplete).toBe(true);
    });

    it('should apply fileSize to files and fieldSize to fields', () => {
      const body = form(field('note', '12345678'), file('up', 'u.bin', '12'));
      expect(parse(body, { limits: { fileSize: 8, fieldSize: 2 } }).error?.code).toBe('LIMIT_FIELD_SIZE');
    });

    it('should count a field name in UTF-8 bytes, not characters', () => {
      // Three characters, six bytes.
      expect(parse(form(field('\u00e9\u00e9\u00e9', '1')), { limits: { fieldNameSize: 5 } }).error?.code).toBe('LIMIT_FIELD_NAME_SIZE');
    });

    it('should accept a field name of exactly limits.fieldNameSize UTF-8 bytes', () => {
      expect(parse(form(field('\u00e9\u00e9\u00e9', '1')), { limits: { fieldNameSize: 6 } }).isComplete).toBe(true);
    });

    it('should apply fieldNameSize to the names of files too', () => {
      expect(parse(form(file('abcde', 'a.bin', '1')), { limits: { fieldNameSize: 4 } }).error?.code).toBe('LIMIT_FIELD_NAME_SIZE');
    });

    describe('a header block of exactly limits.headerSize bytes', () => {
      const head = 'Content-Disposition: form-data; name="exact"';
      const body = Buffer.from(form(lines(OPEN, head, '', 'v') + CRLF));

      it.each([
        ['whole', [body]],
        ['one byte per chunk', chunkBySizes(body, [1])],
      ])('should be accepted (%s)', (_chunking, chunks) => {
        expect(parseChunks(chunks, { limits: { headerSize: Buffer.byteLength(head) } }).isComplete).toBe(true);
      });

      it.each([
        ['whole', [body]],
        ['one byte per chunk', chunkBySizes(body, [1])],
      ])('should be refused one byte over (%s)', (_chunking, chunks) => {
        expect(parseChunks(chunks, { limits: { headerSize: Buffer.byteLength(head) - 1 } }).error?.code).toBe('LIMIT_HEADER_SIZE');
      });
    });

    it('should accept a preamble of exactly limits.preambleSize bytes (its last CRLF belongs to the delimiter)', () => {
      expect(parse(`12345678${CRLF}${form(field('a', '1'))}`, { limits: { preambleSize: 8 } }).isComplete).toBe(true);
    });

    it('should refuse a preamble one byte over limits.preambleSize', () => {
      expect(parse(`123456789${CRLF}${form(field('a', '1'))}`, { limits: { preambleSize: 8 } }).error?.code).toBe('LIMIT_PREAMBLE_SIZE');
    });

    it('should accept a body of exactly limits.bodySize bytes up to its closing delimiter, whatever its epilogue', () => {
      const body = form(field('a', '1'));
      const size = body.indexOf(CLOSE) + CLOSE.length;
      expect(parse(`${body}an epilogue not counted`, { limits: { bodySize: size } }).isComplete).toBe(true);
    });

    it('should refuse a body one byte over limits.bodySize', () => {
      const body = form(field('a', '1'));
      const size = body.indexOf(CLOSE) + CLOSE.length;
      expect(parse(body, { limits: { bodySize: size - 1 } }).error?.code).toBe('LIMIT_BODY_SIZE');
    });

    it('should read a header block split across chunks when headerSize is lifted with Infinity', () => {
      const body = Buffer.from(form(field('lifted', 'v')));
      expect(parseChunks(chunkBySizes(body, [10]), { limits: { headerSize: Infinity } }).parts.map((part) => part.head.name)).toEqual(['lifted']);
    });

    it('should read a header block of 200 KiB in small chunks when headerSize allows it', () => {
      const long = 'x'.repeat(200 * 1024);
      const body = Buffer.from(form(lines(OPEN, 'Content-Disposition: form-data; name="big"', `X-Long: ${long}`, '', 'v') + CRLF));
      const parsed = parseChunks(chunkBySizes(body, [1000]), { limits: { headerSize: 300 * 1024 } });
      expect([parsed.isComplete, parsed.parts[0]?.head.headers['x-long'] === long]).toEqual([true, true]);
    });

    describe('before the bytes are buffered', () => {
      it.each([
        ['whole', (body: Buffer) => [body]],
        ['one byte per chunk', (body: Buffer) => chunkBySizes(body, [1])],
        ['a cut after every CR', chunkAfterEveryCR],
      ])('should never emit more than fileSize bytes of a file (%s)', (_chunking, cut) => {
        const parsed = parseChunks(cut(Buffer.from(form(file('up', 'u.bin', 'x'.repeat(1000))))), { limits: { fileSize: 10 } });
        expect([parsed.error?.code, parsed.parts[0]!.data.length <= 10]).toEqual(['LIMIT_FILE_SIZE', true]);
      });

      it('should refuse an endless header block once it outgrows headerSize, without waiting for its blank line', () => {
        const headerSize = 100;
        const chunks = [`${OPEN}${CRLF}`, ...chunkBySizes(Buffer.from(`X-Endless: ${'x'.repeat(100_000)}`), [1])];
        const parsed = parseChunks(chunks, { limits: { headerSize } });
        // Chunk i (from 1) brings the i-th header byte; the block and its CRLFCRLF are headerSize + 4 bytes.
        expect([parsed.error?.code, parsed.errorAt <= headerSize + 4]).toEqual(['LIMIT_HEADER_SIZE', true]);
      });

      it('should refuse an endless preamble as soon as it outgrows preambleSize', () => {
        const preambleSize = 100;
        const parsed = parseChunks(chunkBySizes(Buffer.from('x'.repeat(100_000)), [1]), { limits: { preambleSize } });
        // Chunk i (from 0) brings byte i + 1; no 'x' can begin a delimiter, so none is held back.
        expect([parsed.error?.code, parsed.errorAt]).toEqual(['LIMIT_PREAMBLE_SIZE', preambleSize]);
      });

      it('should emit no byte past bodySize from a chunk that crosses it', () => {
        const body = form(file('up', 'u.bin', 'x'.repeat(100_000)));
        const bodySize = 200;
        const parsed = parse(body, { limits: { bodySize } });
        const emitted = parsed.data.reduce((sum, { bytes }) => sum + bytes.length, 0);
        expect([parsed.error?.code, emitted <= bodySize - body.indexOf('xxx')]).toEqual(['LIMIT_BODY_SIZE', true]);
      });
    });
  });
});
