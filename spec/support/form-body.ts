/** Builds multipart bodies for tests, encoded the way browsers encode them. */

export interface FormPart {
  readonly name: string;
  readonly filename?: string;
  readonly contentType?: string;
  readonly data: Buffer | string;
}

export const BOUNDARY = '----rxMultipartTestBoundary7MA4YWxkTrZu0gW';
export const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

// WHATWG HTML multipart/form-data encoding of names and filenames.
function escape(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** The header block and CRLF that open a part. */
export function partHead(part: Omit<FormPart, 'data'>, boundary = BOUNDARY): string {
  const filename = part.filename === undefined ? '' : `; filename="${escape(part.filename)}"`;
  const type = part.contentType === undefined ? '' : `\r\nContent-Type: ${part.contentType}`;
  return `--${boundary}\r\nContent-Disposition: form-data; name="${escape(part.name)}"${filename}${type}\r\n\r\n`;
}

/** A whole body: every part, then the closing delimiter and a CRLF. */
export function formBody(parts: readonly FormPart[], boundary = BOUNDARY): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    pieces.push(Buffer.from(partHead(part, boundary)), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}
