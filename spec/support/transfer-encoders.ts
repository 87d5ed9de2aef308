/**
 * Reference encoders for Content-Transfer-Encoding (RFC 2045 §6.7 and §6.8), written plainly for
 * tests: what a mail library would send, with lines of at most 76 characters.
 */

/** base64 in lines of `lineLength` characters joined by CRLF (RFC 2045 §6.8). */
export function encodeBase64(data: Uint8Array, lineLength = 76): string {
  const text = Buffer.from(data).toString('base64');
  const lines: string[] = [];
  for (let at = 0; at < text.length; at += lineLength) lines.push(text.slice(at, at + lineLength));
  return lines.join('\r\n');
}

/**
 * Quoted-printable of binary data (RFC 2045 §6.7): printable ASCII but '=' as itself, spaces and
 * tabs as themselves except at the end of a line, every other byte (CR and LF included) as =XX,
 * a '-' that starts a line as =2D, and soft line breaks ("=" CRLF) to keep lines under 76 characters.
 */
export function encodeQuotedPrintable(data: Uint8Array): string {
  let out = '';
  let line = '';
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    const isLast = i === data.length - 1;
    const isLiteral = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !isLast);
    const piece = isLiteral ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    // Room for the piece and a soft break's '=' on a 76-character line.
    if (line.length + piece.length > 75) {
      // Whitespace must not end a line: a soft break after it keeps it (rule 3).
      out += `${line}=\r\n`;
      line = '';
    }
    // A line that starts with "--" could be read as a delimiter (RFC 2046 §5.1.1 leaves avoiding
    // that to the sender): a '-' that starts a line goes as =2D.
    line += line.length === 0 && byte === 45 ? '=2D' : piece;
  }
  return out + line;
}
