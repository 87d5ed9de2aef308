/** Loads the conformance vectors copied into spec/fixtures/conformance (source named there). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExpectedPart {
  readonly name: string;
  readonly filename: string | null;
  readonly contentType: string | null;
  readonly data_b64?: string;
  readonly sha256?: string;
  readonly size?: number;
}

export interface Vector {
  readonly id: string;
  readonly contentType: string;
  readonly body: Buffer;
  readonly parts: readonly ExpectedPart[];
  readonly judgement: string | undefined;
}

const folder = join(__dirname, '..', 'fixtures', 'conformance');

export function loadVectors(): Vector[] {
  return readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(join(folder, file), 'utf8')) as {
        id: string; contentType: string; body_b64: string; expect: { parts: ExpectedPart[] }; judgement?: string;
      };
      return { id: raw.id, contentType: raw.contentType, body: Buffer.from(raw.body_b64, 'base64'), parts: raw.expect.parts, judgement: raw.judgement };
    });
}
