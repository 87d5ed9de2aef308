/**
 * parseMultipart with decodeTransferEncoding: base64 and quoted-printable parts decoded as they
 * stream, into body$ and into storage; refused when malformed or in an unknown encoding; off by
 * default.
 */
import { lastValueFrom, of, toArray } from 'rxjs';
import { createMemoryStorage, MultipartError, parseMultipart, storeParts } from '../../lib/index';
import { chunkBySizes, collectParts } from '../support/collect';
import { encodeBase64, encodeQuotedPrintable } from '../support/transfer-encoders';

const BOUNDARY = 'mail-boundary';
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const image = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256));

interface Encoded {
  readonly name: string;
  readonly filename?: string;
  readonly encoding?: string;
  readonly text: string | Buffer;
}

/** A body whose parts carry Content-Transfer-Encoding headers, as a mail library writes them. */
function body(parts: readonly Encoded[]): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
    const encoding = part.encoding === undefined ? '' : `Content-Transfer-Encoding: ${part.encoding}\r\n`;
    pieces.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"${filename}\r\n${encoding}\r\n`), Buffer.from(part.text), Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(pieces);
}

const MAIL_FORM = body([
  { name: 'photo', filename: 'p.bin', encoding: 'base64', text: encodeBase64(image) },
  { name: 'note', encoding: 'quoted-printable', text: encodeQuotedPrintable(Buffer.from('caf\u00e9 = coffee\r\n')) },
  { name: 'plain', encoding: '8bit', text: 'as sent' },
]);

const decode = { decodeTransferEncoding: true } as const;

describe('parseMultipart with decodeTransferEncoding', () => {
  it('should decode base64 and quoted-printable parts and pass 8bit through, under any chunk size', async () => {
    for (const size of [1, 7, 76, 1000, MAIL_FORM.length]) {
      const parts = await collectParts(chunkBySizes(MAIL_FORM, [size]), TYPE, decode);
      expect(parts.map((part) => [part.name, part.data])).toEqual([
        ['photo', image],
        ['note', Buffer.from('caf\u00e9 = coffee\r\n')],
        ['plain', Buffer.from('as sent')],
      ]);
    }
  });

  it('should show the Content-Transfer-Encoding header as it was sent', async () => {
    const [photo] = await collectParts([MAIL_FORM], TYPE, decode);
    expect(photo!.headers['content-transfer-encoding']).toBe('base64');
  });

  it('should store the decoded bytes of a file', async () => {
    const storage = createMemoryStorage();
    const [stored] = await lastValueFrom(of(MAIL_FORM).pipe(parseMultipart(TYPE, decode), storeParts(storage), toArray()));
    expect(stored).toMatchObject({ kind: 'file', size: image.length });
    expect(storage.read((stored as { id: string }).id)).toEqual(image);
  });

  it('should leave every part as sent by default', async () => {
    const [photo] = await collectParts([MAIL_FORM], TYPE);
    expect(photo!.data.toString()).toBe(encodeBase64(image));
  });

  it('should apply fileSize to the decoded bytes', async () => {
    const exact = await collectParts([MAIL_FORM], TYPE, { ...decode, limits: { fileSize: image.length } });
    expect(exact[0]!.data.length).toBe(image.length);
    const error = await collectParts([MAIL_FORM], TYPE, { ...decode, limits: { fileSize: image.length - 1 } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LIMIT_FILE_SIZE', partIndex: 0 });
  });

  it('should refuse base64 with a byte outside its alphabet with MALFORMED_TRANSFER_ENCODING (400), naming the part', async () => {
    const bad = body([{ name: 'doc', filename: 'd.pdf', encoding: 'base64', text: 'JVBERi0x*LjQK' }]);
    const error = await collectParts([bad], TYPE, decode).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MultipartError);
    expect(error).toMatchObject({ code: 'MALFORMED_TRANSFER_ENCODING', status: 400, partIndex: 0, fieldName: 'doc', filename: 'd.pdf' });
  });

  it('should refuse base64 that ends inside a quantum with MALFORMED_TRANSFER_ENCODING', async () => {
    const bad = body([{ name: 'doc', encoding: 'base64', text: 'YWJjZ' }]);
    expect(await collectParts([bad], TYPE, decode).catch((e: unknown) => e)).toMatchObject({ code: 'MALFORMED_TRANSFER_ENCODING' });
  });

  it('should refuse a broken quoted-printable escape with MALFORMED_TRANSFER_ENCODING', async () => {
    const bad = body([{ name: 'note', encoding: 'quoted-printable', text: 'price =Z0' }]);
    expect(await collectParts([bad], TYPE, decode).catch((e: unknown) => e)).toMatchObject({ code: 'MALFORMED_TRANSFER_ENCODING', partIndex: 0 });
  });

  it('should refuse an unknown encoding with UNSUPPORTED_TRANSFER_ENCODING (415), naming the part', async () => {
    const bad = body([{ name: 'ok', text: 'fine' }, { name: 'old', filename: 'a.uue', encoding: 'x-uuencode', text: 'begin 644 a' }]);
    const error = await collectParts([bad], TYPE, decode).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_TRANSFER_ENCODING', status: 415, partIndex: 1, fieldName: 'old' });
  });

  it('should not refuse an unknown encoding when decoding is off', async () => {
    const odd = body([{ name: 'old', encoding: 'x-uuencode', text: 'begin 644 a' }]);
    expect((await collectParts([odd], TYPE))[0]!.data.toString()).toBe('begin 644 a');
  });
});
