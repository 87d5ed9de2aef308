/**
 * toHttpException over every code of MULTIPART_ERROR_CODES, as the built ESM entry maps them with
 * Nest 12 (in a child process: Nest 12 is ESM only). Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { MULTIPART_ERROR_CODES } from '../../lib/index';

interface Mapped {
  code: string;
  exception: string;
  status: number;
  body: Record<string, unknown>;
  isCause: boolean;
  message: string;
}

const output = JSON.parse(execFileSync(process.execPath, [join(__dirname, 'apps', 'http-exceptions.mjs')], { encoding: 'utf8' })) as {
  codes: Mapped[];
  plainUnchanged: boolean;
  httpUnchanged: boolean;
};
const byCode = new Map(output.codes.map((mapped) => [mapped.code, mapped]));

describe('toHttpException', () => {
  it('should map every code of the table', () => {
    expect([...byCode.keys()].sort()).toEqual(Object.keys(MULTIPART_ERROR_CODES).sort());
  });

  describe.each(Object.keys(MULTIPART_ERROR_CODES))('for %s', (code) => {
    const mapped = byCode.get(code)!;
    const status = MULTIPART_ERROR_CODES[code as keyof typeof MULTIPART_ERROR_CODES][0];

    it("should answer the code's status with { statusCode, message, code, error } and the error as cause", () => {
      expect(mapped.status).toBe(status);
      expect(mapped.body).toEqual({ statusCode: status, message: status >= 500 ? 'Internal server error' : mapped.message, code, error: expect.any(String) });
      expect(mapped.isCause).toBe(true);
    });

    it('should use the Nest exception class for that status', () => {
      const expected = code.startsWith('LIMIT_')
        ? 'PayloadTooLargeException'
        : status === 415
          ? 'UnsupportedMediaTypeException'
          : status === 408
            ? 'RequestTimeoutException'
            : status === 400
              ? 'BadRequestException'
              : 'InternalServerErrorException';
      expect(mapped.exception).toBe(expected);
    });
  });

  it('should return an error that is not a MultipartError unchanged, HttpExceptions included', () => {
    expect(output.plainUnchanged).toBe(true);
    expect(output.httpUnchanged).toBe(true);
  });
});
