/**
 * ContentDigest: size and SHA-256 of a file as it is written, with the positional-write rule that
 * makes a retried write harmless (bytes below the current size were already taken).
 */
import { createHash, type Hash } from 'node:crypto';

/** Tracks what a writer has taken so far. */
export class ContentDigest {
  /** Bytes taken so far: the offset the next new byte must have. */
  size = 0;
  private readonly hash: Hash = createHash('sha256');

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
    if (offset > this.size) throw new RangeError(`write at offset ${offset} leaves a gap: ${this.size} bytes were written so far.`);
    const skip = this.size - offset;
    if (skip >= chunk.length) return EMPTY;
    return skip === 0 ? chunk : chunk.subarray(skip);
  }

  /** Takes bytes returned by `peek`: counts and hashes them. */
  commit(fresh: Buffer): void {
    this.hash.update(fresh);
    this.size += fresh.length;
  }

  /** The SHA-256 of everything taken, lower-case hex. Call once, at close. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

const EMPTY = Buffer.alloc(0);
