/** Test helpers: cut a body into chunks, parse it, collect the parts with their bytes. */
import { concatMap, firstValueFrom, from, map, type Observable, toArray } from 'rxjs';
import { parseMultipart, type ParseOptions } from '../../lib/index';

/** A part with its bytes collected. */
export interface CollectedPart {
  readonly index: number;
  readonly name: string;
  readonly filename: string | undefined;
  readonly contentType: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: Buffer;
}

/** Cuts `body` at the given sizes, repeating the last one. */
export function chunkBySizes(body: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  let i = 0;
  while (at < body.length) {
    const size = Math.max(1, sizes[Math.min(i++, sizes.length - 1)]!);
    chunks.push(body.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Cuts right after every CR: every CRLF and every delimiter is split. */
export function chunkAfterEveryCR(body: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (let at = body.indexOf(13); at !== -1; at = body.indexOf(13, at + 1)) {
    chunks.push(body.subarray(start, at + 1));
    start = at + 1;
  }
  if (start < body.length) chunks.push(body.subarray(start));
  return chunks;
}

/** Random sizes from 1 to `max`, from a seeded generator so a failure can be replayed. */
export function chunkRandomly(body: Buffer, seed: number, max = 64 * 1024): Buffer[] {
  let s = seed >>> 0 || 1;
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    // Favour small cuts: half of them under 64 bytes.
    const size = 1 + (s % 2 === 0 ? s % 64 : s % max);
    chunks.push(body.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Parses chunks with parseMultipart + concatMap over body$, the way users write it. */
export function collectParts(chunks: Observable<Uint8Array> | readonly Uint8Array[], contentType: string, options?: ParseOptions): Promise<CollectedPart[]> {
  const source = Array.isArray(chunks) ? from(chunks as Uint8Array[]) : (chunks as Observable<Uint8Array>);
  return firstValueFrom(
    source.pipe(
      parseMultipart(contentType, options),
      concatMap((part) =>
        part.body$.pipe(
          toArray(),
          map((data) => ({
            index: part.index,
            name: part.name,
            filename: part.filename,
            contentType: part.contentType,
            headers: part.headers,
            data: Buffer.concat(data),
          })),
        ),
      ),
      toArray(),
    ),
  );
}
