/**
 * Content-Transfer-Encoding decoders (RFC 2045 §6), streaming: each chunk of a part is decoded as
 * it arrives, carrying at most a few bytes (an unfinished base64 quantum, a `=` escape cut by the
 * chunk edge, the whitespace at the end of a quoted-printable line) to the next one. No whole-part
 * buffer. RFC 7578 §4.7 deprecates the header in multipart/form-data, but senders that reuse mail
 * code still write it; `decodeTransferEncoding: true` turns these decoders on.
 */

/** How a part's bytes are encoded: as sent (7bit, 8bit, binary), base64 or quoted-printable. */
export type TransferEncoding = 'identity' | 'base64' | 'quoted-printable';

/**
 * Reads a Content-Transfer-Encoding value (RFC 2045 §6.1: a case-insensitive token).
 * @returns the encoding, or undefined for a value this library cannot decode (an x-token, say).
 */
export function resolveTransferEncoding(value: string): TransferEncoding | undefined {
  switch (value.trim().toLowerCase()) {
    case '7bit':
    case '8bit':
    case 'binary':
      return 'identity';
    case 'base64':
      return 'base64';
    case 'quoted-printable':
      return 'quoted-printable';
    default:
      return undefined;
  }
}

/** Decodes one part's bytes, chunk by chunk. */
export interface TransferDecoder {
  /**
   * Decodes `bytes`. @returns the decoded bytes (possibly none: they may be held for the next
   * chunk), or undefined when the bytes are invalid; `reason` then says why.
   */
  decode(bytes: Uint8Array): Uint8Array | undefined;
  /** The part ended: @returns the last decoded bytes, or undefined when the encoding is unfinished. */
  finish(): Uint8Array | undefined;
  /** Why the last call returned undefined. */
  readonly reason: string;
}

/**
 * Makes the decoder of one part.
 * @param encoding base64 or quoted-printable (identity needs no decoder).
 */
export function createTransferDecoder(encoding: Exclude<TransferEncoding, 'identity'>): TransferDecoder {
  return encoding === 'base64' ? new Base64Decoder() : new QuotedPrintableDecoder();
}

const CR = 13;
const LF = 10;
const SPACE = 32;
const TAB = 9;
const EQUALS = 61;
const EMPTY = new Uint8Array(0);

// Byte classes of base64 (RFC 2045 §6.8, Table 1): 0-63 a digit's value; WHITESPACE the line
// breaks and spaces a mail encoder puts between lines; PAD '='; anything else is invalid.
// RFC 2045 lets a decoder ignore other bytes, but they mean corruption, and a form upload that is
// corrupt must not be stored as if it were whole.
const INVALID = -1;
const WHITESPACE = -2;
const PAD = -3;
const BASE64 = new Int8Array(256).fill(INVALID);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (BASE64[c.charCodeAt(0)] = i));
BASE64[CR] = WHITESPACE;
BASE64[LF] = WHITESPACE;
BASE64[SPACE] = WHITESPACE;
BASE64[TAB] = WHITESPACE;
BASE64[EQUALS] = PAD;

class Base64Decoder implements TransferDecoder {
  reason = '';
  // Bits of the unfinished quantum, and how many 6-bit digits they hold (0-3).
  private bits = 0;
  private digits = 0;
  // '=' read so far at the end of the data: 1 after "xx=" (one more must follow) or "xxx=", 2 after "xx==".
  private pads = 0;
  // The padding is complete: only whitespace may follow.
  private isClosed = false;

  decode(bytes: Uint8Array): Uint8Array | undefined {
    // Each 4 digits make 3 bytes; the carried digits can complete one more quantum.
    const out = new Uint8Array(Math.floor((bytes.length + this.digits) / 4) * 3);
    let written = 0;
    let bits = this.bits;
    let digits = this.digits;
    for (let i = 0; i < bytes.length; i++) {
      const value = BASE64[bytes[i]!]!;
      if (value >= 0) {
        if (this.pads > 0 || this.isClosed) return this.refuse('a base64 digit follows its padding');
        bits = (bits << 6) | value;
        if (++digits === 4) {
          out[written++] = bits >>> 16;
          out[written++] = (bits >>> 8) & 0xff;
          out[written++] = bits & 0xff;
          bits = 0;
          digits = 0;
        }
      } else if (value === WHITESPACE) {
        continue;
      } else if (value === PAD) {
        if (this.isClosed || digits < 2) return this.refuse("'=' where no padding can be");
        this.pads++;
        // "xx==" and "xxx=" complete the quantum.
        if (digits + this.pads === 4) this.isClosed = true;
      } else {
        return this.refuse(`byte 0x${bytes[i]!.toString(16).padStart(2, '0')} is not base64`);
      }
    }
    if (this.isClosed && digits > 0) {
      // The padded quantum: "xx==" holds one byte, "xxx=" two.
      const tail = new Uint8Array(digits - 1);
      const aligned = bits << (6 * (4 - digits));
      tail[0] = aligned >>> 16;
      if (digits === 3) tail[1] = (aligned >>> 8) & 0xff;
      bits = 0;
      digits = 0;
      this.bits = 0;
      this.digits = 0;
      return concat(out.subarray(0, written), tail);
    }
    this.bits = bits;
    this.digits = digits;
    return written === out.length ? out : out.subarray(0, written);
  }

  finish(): Uint8Array | undefined {
    if (this.digits !== 0 || (this.pads > 0 && !this.isClosed)) return this.refuse('the part ends inside a base64 quantum');
    return EMPTY;
  }

  private refuse(reason: string): undefined {
    this.reason = reason;
    return undefined;
  }
}

// States of the quoted-printable decoder between two bytes.
const QP_TEXT = 0; // ordinary text
const QP_EQUALS = 1; // after '='
const QP_HEX = 2; // after '=' and one hex digit
const QP_SOFT_SPACE = 3; // after '=' and whitespace: a soft line break padded by a gateway
const QP_SOFT_CR = 4; // after '=' and CR: LF must follow

// Whitespace at the end of a line is deleted (RFC 2045 §6.7 rule 3), so a run of it is held until
// the byte after it says whether the line ends. Encoded lines are at most 76 bytes (rule 5); a run
// longer than a mail line (998 bytes, RFC 5322 §2.1.1) is no encoder's output.
const MAX_WHITESPACE_RUN = 998;

class QuotedPrintableDecoder implements TransferDecoder {
  reason = '';
  private state = QP_TEXT;
  // The first hex digit of an escape cut by the chunk edge.
  private high = 0;
  // Spaces and tabs read but not yet written (they vanish if the line ends after them).
  private readonly whitespace = new Uint8Array(MAX_WHITESPACE_RUN);
  private whitespaceLength = 0;

  decode(bytes: Uint8Array): Uint8Array | undefined {
    // Never longer than the held whitespace plus the input.
    const out = new Uint8Array(this.whitespaceLength + bytes.length);
    let written = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      switch (this.state) {
        case QP_TEXT:
          if (byte === SPACE || byte === TAB) {
            if (this.whitespaceLength === MAX_WHITESPACE_RUN) return this.refuse(`more than ${MAX_WHITESPACE_RUN} spaces in a row`);
            this.whitespace[this.whitespaceLength++] = byte;
            continue;
          }
          if (byte === CR || byte === LF) {
            // A hard line break: the whitespace before it was padding.
            this.whitespaceLength = 0;
          } else {
            written = this.flushWhitespace(out, written);
          }
          if (byte === EQUALS) this.state = QP_EQUALS;
          else out[written++] = byte;
          break;
        case QP_EQUALS: {
          const value = hexValue(byte);
          if (value >= 0) {
            this.high = value;
            this.state = QP_HEX;
          } else if (byte === CR) {
            this.state = QP_SOFT_CR;
          } else if (byte === LF) {
            this.state = QP_TEXT; // "=\n": a soft line break with a bare LF
          } else if (byte === SPACE || byte === TAB) {
            this.state = QP_SOFT_SPACE;
          } else {
            return this.refuse(`'=' followed by ${describe(byte)}, neither two hex digits nor a line break`);
          }
          break;
        }
        case QP_HEX: {
          const value = hexValue(byte);
          if (value < 0) return this.refuse(`'=' and a hex digit followed by ${describe(byte)}`);
          out[written++] = (this.high << 4) | value;
          this.state = QP_TEXT;
          break;
        }
        case QP_SOFT_SPACE:
          if (byte === SPACE || byte === TAB) continue;
          if (byte === CR) this.state = QP_SOFT_CR;
          else if (byte === LF) this.state = QP_TEXT;
          else return this.refuse(`'=' followed by whitespace and then ${describe(byte)}`);
          break;
        case QP_SOFT_CR:
          if (byte !== LF) return this.refuse('a soft line break "=" CR without LF');
          this.state = QP_TEXT;
          break;
      }
    }
    return written === out.length ? out : out.subarray(0, written);
  }

  finish(): Uint8Array | undefined {
    // The whitespace held at the end of the last line is deleted like any line's; "=" as the
    // part's last byte is a soft line break with the break itself taken by the delimiter's CRLF.
    this.whitespaceLength = 0;
    if (this.state === QP_HEX) return this.refuse('the part ends inside an "=" escape');
    if (this.state === QP_SOFT_CR) return this.refuse('the part ends after "=" CR');
    return EMPTY;
  }

  private flushWhitespace(out: Uint8Array, written: number): number {
    for (let j = 0; j < this.whitespaceLength; j++) out[written++] = this.whitespace[j]!;
    this.whitespaceLength = 0;
    return written;
  }

  private refuse(reason: string): undefined {
    this.reason = reason;
    return undefined;
  }
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  // RFC 2045 §6.7 rule 1 asks encoders for upper case; a robust decoder takes lower case too.
  const lower = byte | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

function describe(byte: number): string {
  return byte >= 33 && byte <= 126 ? `'${String.fromCharCode(byte)}'` : `byte 0x${byte.toString(16).padStart(2, '0')}`;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
