/** readPartHead and basename: a part's name, filename and type from its headers. */
import { basename, isPartHeadError, readPartHead, type PartHead, type PartHeadError } from '../../lib/parser/part-head';

type Headers = Record<string, string>;

function headOf(headers: Headers, options: { isFormData?: boolean; preservePath?: boolean; index?: number } = {}): PartHead {
  const head = readPartHead(headers, options.index ?? 0, options.isFormData ?? true, options.preservePath ?? false);
  if (isPartHeadError(head)) throw new Error(`expected a part head, got ${head.code}: ${head.message}`);
  return head;
}

function errorOf(headers: Headers, isFormData = true): PartHeadError {
  const head = readPartHead(headers, 3, isFormData, false);
  if (!isPartHeadError(head)) throw new Error(`expected an error, got ${JSON.stringify(head)}`);
  return head;
}

describe('readPartHead', () => {
  describe('in multipart/form-data', () => {
    it('should read the name of a field', () => {
      expect(headOf({ 'content-disposition': 'form-data; name="title"' }).name).toBe('title');
    });

    it('should give a field no filename', () => {
      expect(headOf({ 'content-disposition': 'form-data; name="title"' }).filename).toBeUndefined();
    });

    it('should read the filename of a file', () => {
      expect(headOf({ 'content-disposition': 'form-data; name="f"; filename="a.txt"' }).filename).toBe('a.txt');
    });

    it('should keep an empty filename as a file with filename ""', () => {
      expect(headOf({ 'content-disposition': 'form-data; name="f"; filename=""' }).filename).toBe('');
    });

    it('should decode the WHATWG escapes in name and filename', () => {
      const head = headOf({ 'content-disposition': 'form-data; name="a%22b"; filename="c%0D%0Ad.txt"' });
      expect([head.name, head.filename]).toEqual(['a"b', 'c\r\nd.txt']);
    });

    it('should prefer filename* over filename', () => {
      expect(headOf({ 'content-disposition': "form-data; name=\"f\"; filename=\"e.txt\"; filename*=UTF-8''%E2%82%AC.txt" }).filename).toBe('€.txt');
    });

    it('should fall back to filename when filename* does not decode', () => {
      expect(headOf({ 'content-disposition': "form-data; name=\"f\"; filename=\"e.txt\"; filename*=x-nope''b.txt" }).filename).toBe('e.txt');
    });

    it("should read a field named only by name*, as Python's email package writes it", () => {
      expect(headOf({ 'content-disposition': "form-data; name*=utf-8''%E5%90%8D" }).name).toBe('名');
    });

    it('should prefer name* over name', () => {
      expect(headOf({ 'content-disposition': "form-data; name=\"fallback\"; name*=UTF-8''%E2%82%AC" }).name).toBe('€');
    });

    it('should fall back to name when name* does not decode', () => {
      expect(headOf({ 'content-disposition': "form-data; name=\"plain\"; name*=x-nope''b" }).name).toBe('plain');
    });

    it('should join name* from RFC 2231 continuations', () => {
      expect(headOf({ 'content-disposition': "form-data; name*0*=utf-8''%C3%A9t; name*1*=%C3%A9" }).name).toBe('été');
    });

    it('should refuse a part whose only name is a name* that does not decode', () => {
      expect(errorOf({ 'content-disposition': "form-data; name*=x-nope''b" }).code).toBe('INVALID_CONTENT_DISPOSITION');
    });

    it('should read a file named only by filename*', () => {
      expect(headOf({ 'content-disposition': "form-data; name=\"f\"; filename*=utf-8''%C3%A9.txt" }).filename).toBe('é.txt');
    });

    it("should reduce the filename to its basename", () => {
      expect(headOf({ 'content-disposition': 'form-data; name="f"; filename="C:\\docs\\a.txt"' }).filename).toBe('a.txt');
    });

    it('should keep the path of the filename with preservePath', () => {
      expect(headOf({ 'content-disposition': 'form-data; name="f"; filename="dir/sub/a.txt"' }, { preservePath: true }).filename).toBe('dir/sub/a.txt');
    });

    it('should read the Content-Type header as the content type', () => {
      expect(headOf({ 'content-disposition': 'form-data; name="f"', 'content-type': 'image/png' }).contentType).toBe('image/png');
    });

    it('should default the content type to text/plain (RFC 7578 §4.4)', () => {
      expect(headOf({ 'content-disposition': 'form-data; name="f"' }).contentType).toBe('text/plain');
    });

    it('should carry the index and every header', () => {
      const headers = { 'content-disposition': 'form-data; name="f"', 'x-extra': '1' };
      const head = headOf(headers, { index: 7 });
      expect([head.index, head.headers]).toEqual([7, headers]);
    });

    it('should refuse a part without Content-Disposition with INVALID_CONTENT_DISPOSITION', () => {
      expect(errorOf({ 'content-type': 'text/plain' }).code).toBe('INVALID_CONTENT_DISPOSITION');
    });

    it('should refuse a disposition other than form-data with INVALID_CONTENT_DISPOSITION', () => {
      expect(errorOf({ 'content-disposition': 'attachment; name="f"' }).code).toBe('INVALID_CONTENT_DISPOSITION');
    });

    it('should refuse a form-data disposition without a name with INVALID_CONTENT_DISPOSITION', () => {
      expect(errorOf({ 'content-disposition': 'form-data; filename="a.txt"' }).code).toBe('INVALID_CONTENT_DISPOSITION');
    });

    it('should refuse a repeated disposition parameter with INVALID_CONTENT_DISPOSITION', () => {
      expect(errorOf({ 'content-disposition': 'form-data; name="a"; name="b"' }).code).toBe('INVALID_CONTENT_DISPOSITION');
    });

    it('should name the part it refuses by its name and filename', () => {
      const error = errorOf({ 'content-disposition': 'attachment; name="doc"; filename="a.txt"' });
      expect([error.name, error.filename]).toEqual(['doc', 'a.txt']);
    });

    it('should accept an empty name', () => {
      expect(headOf({ 'content-disposition': 'form-data; name=""' }).name).toBe('');
    });
  });

  describe('in other multipart subtypes', () => {
    it('should accept a part without Content-Disposition, with name ""', () => {
      const head = headOf({ 'content-type': 'application/json' }, { isFormData: false });
      expect([head.name, head.filename, head.contentType]).toEqual(['', undefined, 'application/json']);
    });

    it('should accept any disposition type and read its filename', () => {
      expect(headOf({ 'content-disposition': 'attachment; filename="r.pdf"' }, { isFormData: false }).filename).toBe('r.pdf');
    });

    it('should accept a part with no headers at all', () => {
      expect(headOf({}, { isFormData: false }).contentType).toBe('text/plain');
    });
  });
});

describe('basename', () => {
  it('should keep a name without separators', () => {
    expect(basename('a.txt')).toBe('a.txt');
  });

  it('should take the part after the last "/"', () => {
    expect(basename('/etc/dir/a.txt')).toBe('a.txt');
  });

  it('should take the part after the last "\\"', () => {
    expect(basename('C:\\Users\\me\\a.txt')).toBe('a.txt');
  });

  it('should take the part after the last separator of either kind', () => {
    expect(basename('a\\b/c\\d.txt')).toBe('d.txt');
  });

  it('should reduce "." and ".." to ""', () => {
    expect([basename('dir/.'), basename('..'), basename('../..')]).toEqual(['', '', '']);
  });

  it('should give "" for a name ending in a separator', () => {
    expect(basename('dir/')).toBe('');
  });
});
