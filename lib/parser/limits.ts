/**
 * The limits a parse enforces, their finite defaults, and their validation.
 * Names follow busboy/multer where the meaning is the same.
 */

/** Limits of one parse. Every one is finite by default; pass `Infinity` to lift one on purpose. */
export interface Limits {
  /** Most parts (fields + files) in one body. Default 1000. */
  readonly parts?: number;
  /** Most file parts (parts with a `filename`). Default 100. */
  readonly files?: number;
  /** Most field parts (parts without a `filename`). Default 1000. */
  readonly fields?: number;
  /** Most bytes in one file. Default 100 MiB. */
  readonly fileSize?: number;
  /** Most bytes in one field value. Default 1 MiB. */
  readonly fieldSize?: number;
  /** Most UTF-8 bytes in a field name. Default 100. */
  readonly fieldNameSize?: number;
  /** Most bytes in one part's header block. Default 16 KiB. */
  readonly headerSize?: number;
  /** Most header lines in one part. Default 2000. */
  readonly headerPairs?: number;
  /** Most bytes before the first delimiter. Default 16 KiB. */
  readonly preambleSize?: number;
  /** Most bytes in the whole body, up to the closing delimiter. Default 1 GiB. */
  readonly bodySize?: number;
}

/** Every limit, resolved. */
export type ResolvedLimits = { readonly [K in keyof Limits]-?: number };

const KiB = 1024;
const MiB = 1024 * KiB;

/** The defaults, documented in the README's limits table. */
export const DEFAULT_LIMITS: ResolvedLimits = Object.freeze({
  parts: 1000,
  files: 100,
  fields: 1000,
  fileSize: 100 * MiB,
  fieldSize: 1 * MiB,
  // multer's default: field names are short identifiers, a long one is an attack or a bug.
  fieldNameSize: 100,
  // busboy's MAX_HEADER_SIZE; real clients send 60-300 bytes per part.
  headerSize: 16 * KiB,
  headerPairs: 2000,
  preambleSize: 16 * KiB,
  bodySize: 1024 * MiB,
});

/**
 * Merges `limits` over the defaults key by key (so overriding one keeps the others).
 * @returns the resolved limits, or the name of the first invalid one.
 */
export function resolveLimits(limits: Limits | undefined): ResolvedLimits | string {
  const resolved: Record<string, number> = { ...DEFAULT_LIMITS };
  if (limits === undefined) return resolved as ResolvedLimits;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) return key;
    resolved[key] = value;
  }
  return resolved as ResolvedLimits;
}
