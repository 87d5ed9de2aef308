/**
 * MulterError and the mapping of the library's errors onto multer's codes.
 */
import realMulter from 'multer';
import { MulterError, toMulterError } from '../../lib/express/index';
import { MultipartError, type MultipartErrorCode } from '../../lib/index';

describe('MulterError', () => {
  it("should look like multer's: an Error named MulterError, with multer's message, code and field", () => {
    const ours = new MulterError('LIMIT_FILE_SIZE', 'avatar', 'me.png');
    const theirs = new realMulter.MulterError('LIMIT_FILE_SIZE', 'avatar') as InstanceType<typeof realMulter.MulterError> & { filename?: string };
    expect(ours).toBeInstanceOf(Error);
    expect([ours.name, ours.message, ours.code, ours.field]).toEqual([theirs.name, theirs.message, theirs.code, theirs.field]);
    expect(ours.filename).toBe('me.png');
    expect(ours.stack).toContain('MulterError: File too large');
  });

  it("should carry every multer code with multer's message", () => {
    const codes = ['LIMIT_PART_COUNT', 'LIMIT_FILE_SIZE', 'LIMIT_FILE_COUNT', 'LIMIT_FIELD_KEY', 'LIMIT_FIELD_VALUE', 'LIMIT_FIELD_COUNT', 'LIMIT_UNEXPECTED_FILE', 'MISSING_FIELD_NAME', 'LIMIT_FIELD_NESTING', 'LIMIT_FIELD_ARRAY_INDEX', 'INVALID_FIELD_NAME', 'STREAM_DESTROYED'] as const;
    for (const code of codes) expect(new MulterError(code).message).toBe(new realMulter.MulterError(code as never).message);
  });

  it('should add the HTTP status: 413 for a limit, 400 for an unexpected file', () => {
    expect(new MulterError('LIMIT_PART_COUNT').status).toBe(413);
    expect(new MulterError('LIMIT_UNEXPECTED_FILE', 'x').status).toBe(400);
    expect(new MulterError('MISSING_FIELD_NAME').status).toBe(400);
  });

  it('should have no `field` or `filename` property when not given, as multer', () => {
    expect(Object.keys(new MulterError('LIMIT_FILE_COUNT')).sort()).toEqual(['code', 'name', 'status']);
    expect('field' in new MulterError('LIMIT_FILE_COUNT', '')).toBe(false);
  });
});

describe('toMulterError', () => {
  const mapped: ReadonlyArray<readonly [MultipartErrorCode, string, object]> = [
    ['LIMIT_PARTS', 'LIMIT_PART_COUNT', {}],
    ['LIMIT_FILES', 'LIMIT_FILE_COUNT', {}],
    ['LIMIT_FIELDS', 'LIMIT_FIELD_COUNT', {}],
    ['LIMIT_FIELD_NAME_SIZE', 'LIMIT_FIELD_KEY', {}],
    ['LIMIT_FIELD_SIZE', 'LIMIT_FIELD_VALUE', { field: 'note' }],
    ['LIMIT_FILE_SIZE', 'LIMIT_FILE_SIZE', { field: 'note', filename: 'n.txt' }],
    ['LIMIT_HEADER_SIZE', 'LIMIT_HEADER_SIZE', { field: 'note', filename: 'n.txt' }],
    ['LIMIT_HEADER_PAIRS', 'LIMIT_HEADER_PAIRS', { field: 'note', filename: 'n.txt' }],
    ['LIMIT_PREAMBLE_SIZE', 'LIMIT_PREAMBLE_SIZE', {}],
    ['LIMIT_BODY_SIZE', 'LIMIT_BODY_SIZE', {}],
  ];

  it.each(mapped)('should make %s a MulterError %s, with the limit, status 413 and the cause', (code, multerCode, names) => {
    const cause = new MultipartError(code, { limit: 7, partIndex: 2, fieldName: 'note', filename: 'n.txt' });
    const error = toMulterError(cause) as MulterError;
    expect(error).toBeInstanceOf(MulterError);
    expect({ code: error.code, status: error.status, limit: error.limit, field: error.field, filename: error.filename, cause: error.cause }).toEqual({ code: multerCode, status: 413, limit: 7, field: undefined, filename: undefined, cause, ...names });
  });

  it('should make a part without a name MISSING_FIELD_NAME', () => {
    expect(toMulterError(new MultipartError('INVALID_CONTENT_DISPOSITION', { partIndex: 0, fieldName: '' }))).toMatchObject({ code: 'MISSING_FIELD_NAME', status: 400 });
  });

  it('should keep the library error for a malformed body, a timeout, a disposition that is not form-data', () => {
    for (const error of [new MultipartError('MALFORMED_HEADER'), new MultipartError('UNEXPECTED_END'), new MultipartError('TIMEOUT'), new MultipartError('INVALID_CONTENT_DISPOSITION', { fieldName: 'x' })]) {
      expect(toMulterError(error)).toBe(error);
    }
  });

  it("should pass anything else on unchanged (an engine's or fileFilter's own error)", () => {
    const own = new Error('S3 said no');
    expect(toMulterError(own)).toBe(own);
    expect(toMulterError('a string')).toBe('a string');
  });
});
