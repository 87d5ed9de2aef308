'use strict';
/**
 * Fuzz target: a form built from the input, written by the reference encoder
 * (fuzz/support/reference-encoder.js: WHATWG escapes, quoted-pairs, bare tokens, RFC 8187
 * `filename*` and RFC 2231 continuations; data full of delimiter look-alikes), cut into chunks the
 * input chooses, must parse to exactly what was encoded: the same parts in the same order, with
 * the same names, filenames (as the README's decoding rules read them), content types and bytes,
 * and the parse must complete. The input layout is readFormInput's.
 */
const { parseChunks, describe, bytesOf } = require('./support/parse-outcome.js');
const { readFormInput, encodeForm } = require('./support/reference-encoder.js');
const { knownFindings } = require('./support/known-findings.js');

// Known findings (fuzz/support/known-findings.js), each `(spec) => boolean`. None open: the byte
// order mark dropped from a filename* value is fixed (its regression test passes).
const KNOWN_FINDINGS = knownFindings([]);

/**
 * Cuts the body into chunks of the given sizes, in turn (one chunk when there are none). Sizes are
 * 1 to 256 bytes; over 64 KiB of body they count in units of 64 bytes, so that a large body (made
 * to reach the sampling search) is not parsed in thousands of tiny chunks on every run.
 */
function cut(body, sizes, asViews) {
  const view = (at, length) => (asViews ? new Uint8Array(body.buffer, body.byteOffset + at, length) : body.subarray(at, at + length));
  if (sizes.length === 0) return [view(0, body.length)];
  const unit = body.length > 64 * 1024 ? 64 : 1;
  const chunks = [];
  for (let at = 0, i = 0; at < body.length; i++) {
    const size = Math.min(sizes[i % sizes.length] * unit, body.length - at);
    chunks.push(view(at, size));
    at += size;
  }
  return chunks;
}

function show(value) {
  return JSON.stringify(value, (key, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('latin1') : v));
}

/**
 * @param {Buffer} data
 */
module.exports.fuzz = function fuzz(data) {
  const spec = readFormInput(data);
  if (KNOWN_FINDINGS.some((isKnown) => isKnown(spec))) return;
  const form = encodeForm(spec);
  const chunks = cut(form.body, spec.chunkSizes, (spec.moreFlags & 16) !== 0);
  const outcome = parseChunks(form.contentType, chunks, form.options, { kind: 'concat' });
  const context = `Content-Type ${JSON.stringify(form.contentType)}, options ${JSON.stringify(form.options)}, chunks ${JSON.stringify(spec.chunkSizes)}\nbody ${JSON.stringify(form.body.toString('latin1'))}`;
  if (outcome.threw !== undefined) throw new Error(`differential target: subscribe threw: ${describe(outcome.threw)}\n${context}`);
  if (outcome.unhandled.length > 0) throw new Error(`differential target: RxJS had an error it could not deliver: ${describe(outcome.unhandled[0])}\n${context}`);
  if (outcome.end !== 'complete') {
    throw new Error(`differential target: the form did not parse (${outcome.end === 'error' ? describe(outcome.error) : 'it never settled'})\n${context}`);
  }
  const parsed = outcome.parts.map((part) => ({ name: part.name, filename: part.filename, contentType: part.contentType, data: bytesOf(part) }));
  const expected = form.expected;
  const isSame = parsed.length === expected.length && parsed.every((part, i) => {
    const want = expected[i];
    return part.name === want.name && part.filename === want.filename && part.contentType === want.contentType && part.data.equals(want.data);
  });
  if (!isSame) throw new Error(`differential target: parsed\n${show(parsed)}\nexpected\n${show(expected)}\n${context}`);
};
