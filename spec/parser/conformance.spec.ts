/**
 * Every captured client body parses to its expected parts, under every chunking.
 * Vectors: spec/fixtures/conformance (from real curl, requests, Chromium, Go and undici clients).
 */
import { createHash } from 'node:crypto';
import { chunkAfterEveryCR, chunkBySizes, chunkRandomly, collectParts, type CollectedPart } from '../support/collect';
import { loadVectors, type ExpectedPart, type Vector } from '../support/conformance';

const vectors = loadVectors();

// A literal `%22` typed by a user of a backslash-escaping client (Go) is indistinguishable from a
// browser's escape of `"`: we decode as browsers encode (README, "Decoding rules"), so for these two
// the expected value is the browser reading of the same bytes.
const BROWSER_READING: Record<string, Record<string, string>> = {
  'go-filename-percent-escapes': { 'literal %22 and %0D%0A and %41.txt': 'literal " and \r\n and %41.txt' },
  'go-names-misc': { 'percent%22name': 'percent"name' },
};

const chunkings: Record<string, (body: Buffer, vector: Vector) => Buffer[]> = {
  whole: (body) => [body],
  'one byte per chunk': (body) => chunkBySizes(body, [1]),
  'a cut after every CR': (body) => chunkAfterEveryCR(body),
  'random sizes (seed 1)': (body) => chunkRandomly(body, 1),
  'random sizes (seed 7919)': (body) => chunkRandomly(body, 7919),
};

function expectedValue(vector: Vector, value: string): string {
  return BROWSER_READING[vector.id]?.[value] ?? value;
}

function expectPart(vector: Vector, actual: CollectedPart, expected: ExpectedPart): void {
  expect(actual.name).toBe(expectedValue(vector, expected.name));
  expect(actual.filename).toBe(expected.filename === null ? undefined : expectedValue(vector, expected.filename));
  expect(actual.headers['content-type']).toBe(expected.contentType ?? undefined);
  expect(actual.contentType).toBe(expected.contentType ?? 'text/plain');
  if (expected.data_b64 !== undefined) {
    expect(actual.data.equals(Buffer.from(expected.data_b64, 'base64'))).toBe(true);
  } else {
    expect(actual.data.length).toBe(expected.size);
    expect(createHash('sha256').update(actual.data).digest('hex')).toBe(expected.sha256);
  }
}

describe('conformance vectors', () => {
  it('has the 138 captured bodies from five clients', () => {
    expect(vectors).toHaveLength(138);
  });

  for (const [chunking, cut] of Object.entries(chunkings)) {
    describe(chunking, () => {
      it.each(vectors.map((vector) => [vector.id, vector] as const))('parses %s', async (_id, vector) => {
        const parts = await collectParts(cut(vector.body, vector), vector.contentType, { preservePath: true });
        expect(parts).toHaveLength(vector.parts.length);
        vector.parts.forEach((expected, i) => expectPart(vector, parts[i]!, expected));
      });
    });
  }
});
