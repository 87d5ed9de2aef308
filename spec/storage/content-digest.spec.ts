/** ContentDigest: size (and SHA-256) under positional writes, retries and staged hashing. */
import { createHash } from 'node:crypto';
import { ContentDigest } from '../../lib/index';

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
