/**
 * ContentDigest: size (and SHA-256, when asked) of a file as it is written, with the
 * positional-write rule that makes a retried write harmless (bytes below the current size were
 * already taken).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Checksum } from './file-storage.js';

/** What `digest()` gives: the hex SHA-256 with 'sha256', undefined without a checksum. */
export type DigestOf<C extends Checksum> = C extends 'sha256' ? string : undefined;

/** Tracks what a writer has taken so far. */
export class ContentDigest<C extends Checksum = 'sha256'> {
  /** Bytes taken so far: the offset the next new byte must have. */
  size = 0;
  /** Undefined when no checksum is computed: only sizes are counted then. */
  private hash: Hash | undefined;

  /**
   * @param checksum 'sha256' (the default here, for writers of their own) or false: the storages
   *   pass their own `checksum` option, which defaults to false. Given, it is read as a storage
   *   reads its option (undefined is false, anything else but 'sha256' a TypeError).
   */
  constructor(...checksum: [] | [checksum: C]) {
    const isHashing = checksum.length === 0 || checksumOf(checksum[0]) === 'sha256';
    this.hash = isHashing ? createHash('sha256') : undefined;
  }

  /**
   * Accepts `chunk` written at `offset` and returns the part of it that is new: empty when the
   * whole chunk was already taken (a retry), its tail when it overlaps. A gap (offset beyond the
   * current size) is a caller's bug and throws a RangeError.
   */
  take(chunk: Buffer, offset: number): Buffer {
    const fresh = this.peek(chunk, offset);
    if (fresh.length > 0) this.commit(fresh);
    return fresh;
  }

  /**
   * The new part of `chunk` at `offset`, without taking it: for a writer whose write can fail and
   * be retried (a positional disk write), which commits only once the bytes are written.
   */
  peek(chunk: Buffer, offset: number): Buffer {
    const skip = this.alreadyTaken(offset);
    if (skip >= chunk.length) return EMPTY;
    return skip === 0 ? chunk : chunk.subarray(skip);
  }

  /** `peek` for chunks written one after the other from `offset`: the new bytes, as views. */
  peekAll(chunks: readonly Buffer[], offset: number): Buffer[] {
    return skipBytes(chunks, this.alreadyTaken(offset));
  }

  /** Takes bytes returned by `peek`: counts and hashes them. */
  commit(fresh: Buffer): void {
    this.hash?.update(fresh);
    this.size += fresh.length;
  }

  /**
   * Hashes bytes returned by `peek` or `peekAll` into a copy of the state, without taking them: a writer hashes
   * while its write is in flight, and `commitStaged` takes them once the write has landed (a failed
   * write just drops the copy). Measured on disk: hashing after each write kept the next one waiting.
   */
  stage(fresh: Buffer | readonly Buffer[]): StagedBytes {
    const staged = this.reserve(fresh);
    hashInto(staged, fresh);
    return staged;
  }

  /**
   * `stage` in two steps, for a writer that hashes a write only once it is handed over: the state
   * is copied now, at the write's call (so that the write is taken against the bytes taken at that
   * moment, as `stage` does), and `hashInto` feeds the bytes in later.
   */
  reserve(fresh: Buffer | readonly Buffer[]): StagedBytes {
    return { hash: this.hash?.copy(), size: this.size + (Buffer.isBuffer(fresh) ? fresh.length : byteLength(fresh)), base: this.size };
  }

  /** Takes bytes staged by `stage`, unless bytes were taken since (then a RangeError). */
  commitStaged(staged: StagedBytes): void {
    if (staged.base !== this.size) throw new RangeError(`staged at size ${staged.base}, but ${this.size} bytes are taken now.`);
    this.hash = staged.hash;
    this.size = staged.size;
  }

  // How many bytes of a write at `offset` were taken already; a gap is a caller's bug.
  private alreadyTaken(offset: number): number {
    if (offset > this.size) throw new RangeError(`write at offset ${offset} leaves a gap: ${this.size} bytes were written so far.`);
    return this.size - offset;
  }

  /** The SHA-256 of everything taken, lower-case hex, or undefined without a checksum. Call once, at close. */
  digest(): DigestOf<C> {
    return this.hash?.digest('hex') as DigestOf<C>;
  }
}

/**
 * A storage's `checksum` option: false when not given, else 'sha256' or false as given. Any other
 * value (`true`, 'SHA256') is a TypeError, so a typo cannot silently turn the checksum off.
 */
export function checksumOf(value: unknown): Checksum {
  if (value === undefined || value === false) return false;
  if (value === 'sha256') return value;
  throw new TypeError(`checksum must be 'sha256' or false, not ${JSON.stringify(value) ?? String(value)}.`);
}

/** The bytes `chunks` hold in all. */
export function byteLength(chunks: readonly Buffer[]): number {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  return length;
}

/** The bytes of `chunks` as one Buffer: the chunk itself when there is one, else a copy. */
export function joinChunks(chunks: readonly Buffer[], length = byteLength(chunks)): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}

/** `chunks` without their first `count` bytes (none left when they hold fewer), as views. */
export function skipBytes(chunks: readonly Buffer[], count: number): Buffer[] {
  let skip = count;
  let first = 0;
  while (first < chunks.length && skip >= chunks[first]!.length) skip -= chunks[first++]!.length;
  const rest = chunks.slice(first);
  if (skip > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}

/** Hashes the bytes of a write into the state `ContentDigest.reserve` copied for it. */
export function hashInto(staged: StagedBytes, fresh: Buffer | readonly Buffer[]): void {
  if (staged.hash === undefined) return;
  for (const chunk of Buffer.isBuffer(fresh) ? [fresh] : fresh) staged.hash.update(chunk);
}

/** Bytes staged by `ContentDigest.stage` (or `reserve` and `hashInto`), not yet taken. */
export interface StagedBytes {
  readonly hash: Hash | undefined;
  readonly size: number;
  /** The size they were staged at. */
  readonly base: number;
}

const EMPTY = Buffer.alloc(0);
