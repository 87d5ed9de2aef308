import { mergeMultipartOptions } from '../../lib/nest/multipart-options';

describe('mergeMultipartOptions', () => {
  it("should spread the route's options over the module's", () => {
    expect(mergeMultipartOptions({ dest: '/module', preservePath: true }, { dest: '/route' })).toEqual({ dest: '/route', preservePath: true });
  });

  it('should merge limits key by key, so a route fileSize keeps the module files', () => {
    expect(mergeMultipartOptions({ limits: { files: 2, fileSize: 10 } }, { limits: { fileSize: 5 } }).limits).toEqual({ files: 2, fileSize: 5 });
  });

  it('should leave limits out when neither side sets them', () => {
    expect('limits' in mergeMultipartOptions({ dest: '/a' }, {})).toBe(false);
  });

  it('should accept Infinity to lift a limit', () => {
    expect(mergeMultipartOptions({}, { limits: { bodySize: Infinity } }).limits).toEqual({ bodySize: Infinity });
  });

  it.each([-1, Number.NaN, '10' as unknown as number])('should refuse the limit %p at bootstrap with a TypeError', (value) => {
    expect(() => mergeMultipartOptions({}, { limits: { fileSize: value } })).toThrow(TypeError);
  });
});
