/** parseHeaderParams and decodeExtendedValue: header values decoded the way real clients encode them. */
import { decodeExtendedValue, parseHeaderParams } from '../../lib/parser/header-params';

// Content-Disposition values are read with the WHATWG escapes on, as part-head reads them.
const disposition = (value: string) => parseHeaderParams(value, true);
const paramsOf = (value: string): Readonly<Record<string, string>> => disposition(value).params;

describe('parseHeaderParams', () => {
  describe('type', () => {
    it('should lower-case and trim the type before the first ";"', () => {
      expect(disposition('  Form-Data ; name="a"').type).toBe('form-data');
    });

    it('should take the whole value as the type when there are no parameters', () => {
      expect(disposition('Attachment').type).toBe('attachment');
    });

    it('should give an empty type for an empty value', () => {
      expect(disposition('').type).toBe('');
    });
  });

  describe('parameters', () => {
    it('should read a quoted value', () => {
      expect(paramsOf('form-data; name="field 1"')['name']).toBe('field 1');
    });

    it('should read an unquoted value, trimmed', () => {
      expect(paramsOf('form-data; name=field1 ; filename=a.txt')).toEqual({ name: 'field1', filename: 'a.txt' });
    });

    it('should lower-case parameter names', () => {
      expect(paramsOf('form-data; NAME="a"; FileName="b"')).toEqual({ name: 'a', filename: 'b' });
    });

    it('should allow whitespace around "="', () => {
      expect(paramsOf('form-data; name = "a"')['name']).toBe('a');
    });

    it('should read an empty quoted value as the empty string', () => {
      expect(paramsOf('form-data; name=""; filename=""')).toEqual({ name: '', filename: '' });
    });

    it('should keep ";" and "=" inside a quoted value', () => {
      expect(paramsOf('form-data; name="a;b=c"; filename="d"')).toEqual({ name: 'a;b=c', filename: 'd' });
    });

    it('should skip a parameter without a value', () => {
      expect(paramsOf('form-data; flag; name="a"')).toEqual({ name: 'a' });
    });

    it('should keep the first value of a repeated parameter and report the repeat', () => {
      const result = disposition('form-data; name="a"; name="b"');
      expect([result.params['name'], result.hasDuplicate]).toEqual(['a', true]);
    });

    it('should not report a repeat when every name is distinct', () => {
      expect(disposition('form-data; name="a"; filename="b"').hasDuplicate).toBe(false);
    });

    it('should store a parameter named __proto__ as an ordinary key', () => {
      const params = paramsOf('form-data; __proto__="x"; name="a"');
      expect([params['__proto__'], Object.keys(params)]).toEqual(['x', ['__proto__', 'name']]);
    });

    it('should report a quoted string left open at the end of the value', () => {
      expect(disposition('form-data; name="abc').isUnterminated).toBe(true);
    });

    it('should keep the text of a quoted string left open', () => {
      expect(paramsOf('form-data; name="abc')['name']).toBe('abc');
    });

    it('should not report a closed quoted string as open', () => {
      expect(disposition('form-data; name="abc"').isUnterminated).toBe(false);
    });
  });

  describe('WHATWG escapes', () => {
    it('should decode %22, %0D and %0A in a quoted value', () => {
      expect(paramsOf('form-data; name="a%22b%0Dc%0Ad"')['name']).toBe('a"b\rc\nd');
    });

    it('should decode the escapes with lower-case hex digits', () => {
      expect(paramsOf('form-data; name="%0d%0a"')['name']).toBe('\r\n');
    });

    it('should keep every other percent sequence as it is', () => {
      expect(paramsOf('form-data; name="100%25 %41 %2 %"')['name']).toBe('100%25 %41 %2 %');
    });

    it('should keep the escapes as they are when asked not to decode them', () => {
      expect(parseHeaderParams('x; name="a%22b"', false).params['name']).toBe('a%22b');
    });
  });

  describe('backslashes', () => {
    it('should read \\" and \\\\ as RFC 9110 quoted-pairs', () => {
      expect(paramsOf('form-data; name="a\\"b\\\\c"')['name']).toBe('a"b\\c');
    });

    it('should keep a backslash before any other character', () => {
      expect(paramsOf('form-data; filename="C:\\dir\\a.txt"')['filename']).toBe('C:\\dir\\a.txt');
    });

    it("should read a browser's raw trailing backslash before '; filename=' as a backslash and the closing quote", () => {
      expect(paramsOf('form-data; name="dir\\"; filename="a.txt"')).toEqual({ name: 'dir\\', filename: 'a.txt' });
    });

    it('should read a raw trailing backslash at the end of the value as a backslash and the closing quote', () => {
      expect(paramsOf('form-data; name="dir\\"')['name']).toBe('dir\\');
    });

    it('should read an escaped quote followed by the closing quote as a quoted-pair', () => {
      expect(paramsOf('form-data; name="say \\"hi\\""; filename="b"')).toEqual({ name: 'say "hi"', filename: 'b' });
    });
  });

  describe('raw quotes', () => {
    it('should keep a quote that cannot end the value as data', () => {
      expect(paramsOf('form-data; name="a"b"; filename="c"')).toEqual({ name: 'a"b', filename: 'c' });
    });

    it('should close the value at a quote followed by "; name="', () => {
      expect(paramsOf('form-data; name="a"; filename="b"')['name']).toBe('a');
    });
  });

  describe('extended parameters (RFC 8187, RFC 2231)', () => {
    it("should decode filename*=UTF-8''… and store it under filename*", () => {
      expect(paramsOf("form-data; name=\"f\"; filename*=UTF-8''%E2%82%AC%20rates.txt")['filename*']).toBe('€ rates.txt');
    });

    it('should keep filename beside filename* so the caller can choose', () => {
      expect(paramsOf("form-data; filename=\"rates.txt\"; filename*=utf-8''%E2%82%AC.txt")).toEqual({ filename: 'rates.txt', 'filename*': '€.txt' });
    });

    it('should skip the language tag of an extended value', () => {
      expect(paramsOf("attachment; filename*=utf-8'en-us'a%20b")['filename*']).toBe('a b');
    });

    it('should decode an ISO-8859-1 extended value byte for byte', () => {
      expect(paramsOf("attachment; filename*=iso-8859-1''caf%E9")['filename*']).toBe('café');
    });

    it('should ignore an extended value in a charset the runtime cannot decode', () => {
      expect(paramsOf("attachment; filename=\"a\"; filename*=x-unknown-charset''b")).toEqual({ filename: 'a' });
    });

    it('should ignore an extended value without a charset', () => {
      expect(paramsOf("attachment; filename*=''b")).toEqual({});
    });

    it('should join RFC 2231 continuations in index order under the base name', () => {
      expect(paramsOf('attachment; filename*1="def"; filename*0="abc"')['filename']).toBe('abcdef');
    });

    it('should join and decode extended continuations under name*', () => {
      expect(paramsOf("attachment; filename*0*=UTF-8''%E2%82; filename*1*=%AC; filename*2=.txt")['filename*']).toBe('€.txt');
    });

    it('should ignore continuations with a gap in their indexes', () => {
      expect(paramsOf('attachment; filename*0="a"; filename*2="c"')).toEqual({});
    });
  });
});

describe('decodeExtendedValue', () => {
  it('should decode percent-encoded UTF-8', () => {
    expect(decodeExtendedValue("UTF-8''%C3%A9t%C3%A9")).toBe('été');
  });

  it('should keep a percent sign not followed by two hex digits', () => {
    expect(decodeExtendedValue("utf-8''100%")).toBe('100%');
  });

  it('should return undefined without the two apostrophes', () => {
    expect(decodeExtendedValue('utf-8%41')).toBeUndefined();
  });
});
