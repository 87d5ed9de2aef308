/** ContentDigest: size (and SHA-256) under positional writes, retries and staged hashing. */
import { createHash } from 'node:crypto';
import { ContentDigest } from '../../lib/index';
import { checksumOf } from '../../lib/storage/content-digest';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const bytes = (text: string): Buffer => Buffer.from(text);

describe('ContentDigest', () => {
  it('should take the new tail of a retried write that overlaps what was taken', () => {
    const digest = new ContentDigest();
    digest.take(bytes('hello '), 0);
    expect(digest.take(bytes('lo world'), 3).toString()).toBe('world');
    expect(digest.take(bytes('hello'), 0)).toHaveLength(0);
    expect(digest.size).toBe(11);
    expect(digest.digest()).toBe(sha256('hello world'));
  });

  it('should count sizes under the same rules and give no digest when made without a checksum', () => {
    const digest = new ContentDigest(false);
    digest.take(bytes('hello '), 0);
    expect(digest.take(bytes('lo world'), 3).toString()).toBe('world');
    digest.commitStaged(digest.stage(digest.peekAll([bytes('!'), bytes('?')], 11)));
    expect(digest.size).toBe(13);
    expect(digest.digest()).toBeUndefined();
  });

  it("should read a checksum option as false when absent, and refuse anything but 'sha256' and false", () => {
    expect([checksumOf(undefined), checksumOf(false), checksumOf('sha256')]).toEqual([false, false, 'sha256']);
    for (const typo of [true, 'SHA256', 'sha-256', 'md5', null]) expect(() => checksumOf(typo)).toThrow(TypeError);
    expect(() => new ContentDigest('md5' as never)).toThrow(TypeError);
  });

  it('should type its digest as a string only when it hashes (checked by the type check)', () => {
    const hashed: string = new ContentDigest().digest();
    // As a storage makes it, from its option: either may come.
    const chosen = new ContentDigest(checksumOf('sha256')).digest();
    // @ts-expect-error: so a string is not promised
    const promised: string = chosen;
    // @ts-expect-error: made without a checksum, it has no digest to give
    const none: string = new ContentDigest(false).digest();
    // @ts-expect-error: an absent option is not a checksum; read it with checksumOf first
    new ContentDigest(undefined);
    expect([typeof hashed, typeof promised, typeof none]).toEqual(['string', 'string', 'undefined']);
  });

  it('should refuse a write that leaves a gap', () => {
    expect(() => new ContentDigest().peek(bytes('x'), 1)).toThrow(RangeError);
    expect(() => new ContentDigest().peekAll([bytes('x')], 1)).toThrow(RangeError);
  });

  it('should peek the new bytes of chunks written one after the other', () => {
    const digest = new ContentDigest();
    digest.take(bytes('abcdef'), 0);
    expect(digest.peekAll([bytes('abc'), bytes('def'), bytes('gh')], 0).map(String)).toEqual(['gh']);
    expect(digest.peekAll([bytes('cde'), bytes('fgh'), bytes('ij')], 2).map(String)).toEqual(['gh', 'ij']);
    expect(digest.peekAll([bytes('ab'), bytes('cd')], 0)).toEqual([]);
  });

  it('should take staged bytes only when committed, so a failed write leaves the digest as it was', () => {
    const digest = new ContentDigest();
    digest.take(bytes('one '), 0);
    // A write that failed: its staged bytes are dropped.
    digest.stage([bytes('two '), bytes('three')]);
    expect(digest.size).toBe(4);
    // Its retry, staged again and committed.
    const retried = digest.stage(digest.peekAll([bytes('two '), bytes('three')], 4));
    expect(digest.size).toBe(4);
    digest.commitStaged(retried);
    expect(digest.size).toBe(13);
    expect(digest.digest()).toBe(sha256('one two three'));
  });

  it('should refuse to commit staged bytes when bytes were taken since they were staged', () => {
    const digest = new ContentDigest();
    const staged = digest.stage(bytes('late'));
    digest.take(bytes('early'), 0);
    expect(() => digest.commitStaged(staged)).toThrow(RangeError);
  });
});
