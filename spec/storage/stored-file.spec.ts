/** What the storages share: ids, StoredFile, the not-found error. */
import { fileNotFound, randomId, storedFileOf } from '../../lib/storage/stored-file';

describe('randomId', () => {
  it('should give 32 hex digits, all different, across several draws from the generator', () => {
    // 1000 ids span 8 draws of 128.
    const ids = Array.from({ length: 1000 }, () => randomId());
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('should use every hex digit in every position over many ids (no fixed bits)', () => {
    const seen = Array.from({ length: 32 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) [...randomId()].forEach((digit, at) => seen[at]!.add(digit));
    expect(seen.map((digits) => digits.size)).toEqual(Array(32).fill(16));
  });
});

describe('storedFileOf and fileNotFound', () => {
  it('should describe a file from its info, size, hash and location', () => {
    const info = { index: 2, fieldName: 'f', filename: 'a.txt', contentType: 'text/plain', headers: { 'x-extra': '1' } };
    expect(storedFileOf('id1', info, 5, 'ab', 'memory:id1')).toEqual({
      id: 'id1', index: 2, fieldName: 'f', filename: 'a.txt', contentType: 'text/plain', size: 5, sha256: 'ab', location: 'memory:id1',
    });
  });

  it('should leave sha256 out, not undefined, for a storage without a checksum', () => {
    const info = { index: 0, fieldName: 'f', filename: 'a.txt', contentType: 'text/plain', headers: {} };
    const file = storedFileOf('id1', info, 5, undefined, 'memory:id1');
    expect(Object.keys(file)).toEqual(['id', 'index', 'fieldName', 'filename', 'contentType', 'size', 'location']);
    expect(JSON.parse(JSON.stringify(file))).toEqual(file);
  });

  it('should name the id and carry code ENOENT', () => {
    expect(fileNotFound('x"y')).toMatchObject({ code: 'ENOENT', message: 'No stored file has id "x\\"y".' });
  });
});
