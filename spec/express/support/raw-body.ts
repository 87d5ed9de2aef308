/** Multipart bodies byte by byte, for what no client library sends: a part's headers as given. */
import { BOUNDARY } from '../../support/form-body';

/** A part: its header lines (without the final blank line) and its bytes. */
export interface RawPart {
  readonly head: string | Buffer;
  readonly data: string | Buffer;
}

/** Every part between delimiters, then the closing delimiter (left out with `isClosed: false`). */
export function rawBody(parts: readonly RawPart[], isClosed = true): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    pieces.push(Buffer.from(`--${BOUNDARY}\r\n`), Buffer.from(part.head), Buffer.from('\r\n\r\n'), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  if (isClosed) pieces.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(pieces);
}

/** `Content-Disposition: form-data; name="<name>"`, with `; filename="<filename>"` when given. */
export function disposition(name: string, filename?: string): string {
  return `Content-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}`;
}
