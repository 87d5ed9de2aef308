/** resolveMultipartType: the boundary from a Content-Type or given bare, checked against RFC 2046 §5.1.1. */
import { MultipartError } from '../../lib/errors';
import { resolveMultipartType, type MultipartType } from '../../lib/parser/boundary';

// RFC 2046 §5.1.1 bcharsnospace, and the space that may appear anywhere but last.
const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

function resolved(value: string): MultipartType {
  const type = resolveMultipartType(value);
  if (type instanceof MultipartError) throw new Error(`expected a boundary from ${JSON.stringify(value)}, got ${type.code}`);
  return type;
}

function refused(value: string): MultipartError {
  const type = resolveMultipartType(value);
  if (!(type instanceof MultipartError)) throw new Error(`expected ${JSON.stringify(value)} to be refused, got ${JSON.stringify(type)}`);
  return type;
}

describe('resolveMultipartType', () => {
  describe('with a Content-Type', () => {
    it('should read the subtype and the boundary of multipart/form-data', () => {
      expect(resolved('multipart/form-data; boundary=----WebKitFormBoundaryX3bY')).toEqual({ subtype: 'form-data', boundary: '----WebKitFormBoundaryX3bY' });
    });

    it('should read any multipart subtype', () => {
      const subtypes = ['mixed', 'related', 'alternative', 'x-vendor.thing'].map((subtype) => resolved(`multipart/${subtype}; boundary=b`).subtype);
      expect(subtypes).toEqual(['mixed', 'related', 'alternative', 'x-vendor.thing']);
    });

    it('should lower-case the type and subtype', () => {
      expect(resolved('MultiPart/Form-Data; boundary=b').subtype).toBe('form-data');
    });

    it('should keep the case of the boundary', () => {
      expect(resolved('multipart/form-data; boundary=AbC').boundary).toBe('AbC');
    });

    it('should read the boundary parameter name in any case', () => {
      expect(resolved('multipart/form-data; BOUNDARY=b1').boundary).toBe('b1');
    });

    it('should find the boundary among other parameters', () => {
      expect(resolved('multipart/related; type="text/xml"; boundary=b2; start="<a@b>"').boundary).toBe('b2');
    });

    it('should read a quoted boundary holding characters a token cannot (space, colon, equals)', () => {
      expect(resolved('multipart/form-data; boundary="a b:c=d"').boundary).toBe('a b:c=d');
    });

    it('should tolerate whitespace around the type and the parameters', () => {
      expect(resolved('  multipart/mixed ;  boundary=xyz  ')).toEqual({ subtype: 'mixed', boundary: 'xyz' });
    });

    it('should refuse a type that is not multipart/* with NOT_MULTIPART and status 415', () => {
      const error = refused('application/json; boundary=b');
      expect([error.code, error.status]).toEqual(['NOT_MULTIPART', 415]);
    });

    it('should refuse a multipart type without a boundary with MISSING_BOUNDARY and status 400', () => {
      const error = refused('multipart/form-data; charset=utf-8');
      expect([error.code, error.status]).toEqual(['MISSING_BOUNDARY', 400]);
    });

    it('should refuse an empty boundary with INVALID_BOUNDARY and status 400', () => {
      const errors = [refused('multipart/form-data; boundary='), refused('multipart/form-data; boundary=""')];
      expect(errors.map((error) => [error.code, error.status])).toEqual([['INVALID_BOUNDARY', 400], ['INVALID_BOUNDARY', 400]]);
    });

    it('should accept a boundary of 70 characters, the most RFC 2046 allows', () => {
      const boundary = 'b'.repeat(70);
      expect(resolved(`multipart/form-data; boundary=${boundary}`).boundary).toBe(boundary);
    });

    it('should refuse a boundary of 71 characters with INVALID_BOUNDARY', () => {
      expect(refused(`multipart/form-data; boundary=${'b'.repeat(71)}`).code).toBe('INVALID_BOUNDARY');
    });

    it('should refuse a boundary ending in a space with INVALID_BOUNDARY', () => {
      expect(refused('multipart/form-data; boundary="abc "').code).toBe('INVALID_BOUNDARY');
    });

    it('should accept every RFC 2046 bchar in a boundary', () => {
      const refusedChars = [...BCHARS].filter((c) => resolveMultipartType(`multipart/mixed; boundary="x${c}x"`) instanceof MultipartError);
      expect(refusedChars).toEqual([]);
    });

    it('should refuse every ASCII character that is not a bchar with INVALID_BOUNDARY', () => {
      const others = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)).filter((c) => !BCHARS.includes(c));
      const accepted = others.filter((c) => {
        const type = resolveMultipartType(`multipart/mixed; boundary="x${c}x"`);
        return !(type instanceof MultipartError && type.code === 'INVALID_BOUNDARY');
      });
      expect(accepted).toEqual([]);
    });

    it('should refuse a non-ASCII boundary with INVALID_BOUNDARY', () => {
      expect(refused('multipart/form-data; boundary=caf\u00e9').code).toBe('INVALID_BOUNDARY');
    });

    it('should refuse a Content-Type that repeats a parameter with INVALID_BOUNDARY', () => {
      expect(refused('multipart/form-data; boundary=a; boundary=b').code).toBe('INVALID_BOUNDARY');
    });
  });

  describe('with a bare boundary', () => {
    it('should take a value not shaped like a media type as the boundary, with no subtype', () => {
      expect(resolved('----WebKitFormBoundary7MA4YWxkTrZu0gW')).toEqual({ subtype: undefined, boundary: '----WebKitFormBoundary7MA4YWxkTrZu0gW' });
    });

    it('should take a one-character value as the boundary', () => {
      expect(resolved('b').boundary).toBe('b');
    });

    it('should check a bare boundary against RFC 2046 like a parameter', () => {
      expect(refused('ab@cd').code).toBe('INVALID_BOUNDARY');
    });

    it('should refuse an empty bare boundary with INVALID_BOUNDARY', () => {
      expect(refused('').code).toBe('INVALID_BOUNDARY');
    });

    it('should refuse a bare boundary ending in a space with INVALID_BOUNDARY', () => {
      expect(refused('abc ').code).toBe('INVALID_BOUNDARY');
    });
  });
});
