/**
 * Bytes to strings for header text. Uses only the global TextDecoder, so the parser stays free
 * of Node imports.
 */

/** How header bytes are read before parameters are parsed: busboy's `defParamCharset`. */
export type HeaderCharset = 'utf8' | 'latin1';

// ignoreBOM: a U+FEFF that starts a value is the client's character, not a byte order mark to drop
// (TextDecoder strips it by default; a fuzzer found a filename* beginning with one losing it).
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const decoders = new Map<string, InstanceType<typeof TextDecoder> | null>();

type NativeSlice = (this: Uint8Array, start: number, end: number) => string;
const nativeBuffer = (globalThis as { Buffer?: { prototype: { utf8Slice?: NativeSlice; latin1Slice?: NativeSlice } } }).Buffer?.prototype;
// Node's own decoders: measured 55 ns for a 50-byte header line against 70 ns for TextDecoder and
// 370 ns for an ASCII check plus String.fromCharCode.apply.
const nativeUtf8 = nativeBuffer?.utf8Slice;
const nativeLatin1 = nativeBuffer?.latin1Slice;

/** Decodes header bytes `[start, end)`: UTF-8 (invalid sequences become U+FFFD) or latin1. */
export function decodeHeaderText(bytes: Uint8Array, start: number, end: number, charset: HeaderCharset): string {
  if (start === end) return '';
  if (charset === 'utf8') {
    return nativeUtf8 === undefined ? utf8Decoder.decode(bytes.subarray(start, end)) : nativeUtf8.call(bytes, start, end);
  }
  return nativeLatin1 === undefined ? decodeLatin1(bytes.subarray(start, end)) : nativeLatin1.call(bytes, start, end);
}

/** Each byte is one code point (ISO-8859-1), unlike TextDecoder's 'latin1', which is windows-1252. */
export function decodeLatin1(bytes: Uint8Array): string {
  let text = '';
  // fromCharCode.apply takes its arguments on the stack: stay well under engine limits.
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return text;
}

/**
 * Decodes bytes in a named charset (any label TextDecoder knows).
 * @returns the text, or undefined when the charset is unknown.
 */
export function decodeCharset(bytes: Uint8Array, charset: string): string | undefined {
  const label = charset.toLowerCase();
  // RFC 8187 names ISO-8859-1 as a charset every recipient supports; decode it exactly.
  if (label === 'iso-8859-1' || label === 'latin1' || label === 'us-ascii') return decodeLatin1(bytes);
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label, { ignoreBOM: true });
    } catch {
      decoder = null;
    }
    // Labels come from the client: cap the cache so a stream of odd labels cannot grow it.
    if (decoders.size < 64) decoders.set(label, decoder);
  }
  return decoder === null ? undefined : decoder.decode(bytes);
}

/** UTF-8 length of a string, without allocating. */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) length += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) { length += 2; i++; }
    else length += 2;
  }
  return length;
}
