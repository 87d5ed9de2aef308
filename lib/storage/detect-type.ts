/**
 * detectType: the media type of a file from its first bytes (magic numbers), so a file can be
 * refused before anything of it is stored, whatever Content-Type the client claimed.
 */

/** Bytes `accept` is given by default: enough for every signature below (tar's sits at 257). */
export const SNIFF_SIZE = 512;

// [media type, offset, signature]. Sources: each format's specification (PNG §5.2, JFIF, GIF89a,
// RIFF/WebP, PDF 1.7 §7.5.2, APPNOTE.TXT 4.3.7 for zip, RFC 1952 for gzip, ISO/IEC 14496-12 for
// the `ftyp` box, POSIX ustar), as collected in the WHATWG MIME Sniffing standard §6.
const SIGNATURES: ReadonlyArray<readonly [string, number, readonly number[]]> = [
  ['image/png', 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['image/jpeg', 0, [0xff, 0xd8, 0xff]],
  ['image/gif', 0, [0x47, 0x49, 0x46, 0x38]], // GIF8(7|9)a
  ['image/bmp', 0, [0x42, 0x4d]],
  ['image/x-icon', 0, [0x00, 0x00, 0x01, 0x00]],
  ['image/tiff', 0, [0x49, 0x49, 0x2a, 0x00]],
  ['image/tiff', 0, [0x4d, 0x4d, 0x00, 0x2a]],
  ['application/pdf', 0, [0x25, 0x50, 0x44, 0x46, 0x2d]], // %PDF-
  ['application/zip', 0, [0x50, 0x4b, 0x03, 0x04]],
  ['application/zip', 0, [0x50, 0x4b, 0x05, 0x06]], // empty archive
  ['application/gzip', 0, [0x1f, 0x8b, 0x08]],
  ['application/x-bzip2', 0, [0x42, 0x5a, 0x68]],
  ['application/x-7z-compressed', 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]],
  ['application/vnd.rar', 0, [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07]],
  ['application/x-tar', 257, [0x75, 0x73, 0x74, 0x61, 0x72]], // ustar
  ['application/wasm', 0, [0x00, 0x61, 0x73, 0x6d]],
  ['application/x-elf', 0, [0x7f, 0x45, 0x4c, 0x46]],
  ['application/x-msdownload', 0, [0x4d, 0x5a]], // MZ: Windows executables
  ['audio/mpeg', 0, [0x49, 0x44, 0x33]], // ID3-tagged MP3
  ['audio/ogg', 0, [0x4f, 0x67, 0x67, 0x53]],
  ['audio/flac', 0, [0x66, 0x4c, 0x61, 0x43]],
  ['video/webm', 0, [0x1a, 0x45, 0xdf, 0xa3]],
];

/**
 * The media type the first bytes of a file show, or undefined when none is recognised
 * (plain text, CSV, JSON and SVG have no signature: check them another way).
 * @param bytes the file's first bytes; {@link SNIFF_SIZE} are enough.
 * @example detectType(firstBytes) === 'image/png'
 */
export function detectType(bytes: Uint8Array): string | undefined {
  for (const [type, offset, signature] of SIGNATURES) {
    if (startsWith(bytes, offset, signature)) return type;
  }
  // RIFF containers: WebP, WAVE, AVI.
  if (startsWith(bytes, 0, RIFF)) {
    if (startsWith(bytes, 8, WEBP)) return 'image/webp';
    if (startsWith(bytes, 8, WAVE)) return 'audio/wav';
    if (startsWith(bytes, 8, AVI)) return 'video/x-msvideo';
  }
  // ISO base media: `ftyp` box at 4, brand at 8.
  if (startsWith(bytes, 4, FTYP) && bytes.length >= 12) {
    const brand = String.fromCharCode(bytes[8]!, bytes[9]!, bytes[10]!, bytes[11]!);
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    if (brand === 'heic' || brand === 'heix' || brand === 'mif1') return 'image/heic';
    if (brand === 'qt  ') return 'video/quicktime';
    if (brand.startsWith('M4A')) return 'audio/mp4';
    return 'video/mp4';
  }
  // MP3 without an ID3 tag: an MPEG audio frame sync.
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0 && (bytes[1]! & 0x06) !== 0) return 'audio/mpeg';
  return undefined;
}

const RIFF = [0x52, 0x49, 0x46, 0x46];
const WEBP = [0x57, 0x45, 0x42, 0x50];
const WAVE = [0x57, 0x41, 0x56, 0x45];
const AVI = [0x41, 0x56, 0x49, 0x20];
const FTYP = [0x66, 0x74, 0x79, 0x70];

function startsWith(bytes: Uint8Array, offset: number, signature: readonly number[]): boolean {
  if (bytes.length < offset + signature.length) return false;
  for (let i = 0; i < signature.length; i++) {
    if (bytes[offset + i] !== signature[i]) return false;
  }
  return true;
}
