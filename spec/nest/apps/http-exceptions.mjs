// Prints, as JSON, what toHttpException (the ESM build, with Nest 12) makes of a MultipartError of
// every code, and of errors that are not ours. Run by spec/nest/to-http-exception.spec.ts: Nest 12
// is ESM only, which jest's CommonJS runtime cannot load.
import { BadRequestException } from '@nestjs/common';
import { MULTIPART_ERROR_CODES, MultipartError } from 'rx-multipart';
import { toHttpException } from 'rx-multipart/nest';

const codes = Object.keys(MULTIPART_ERROR_CODES).map((code) => {
  const error = new MultipartError(code, { partIndex: 2, fieldName: 'photo', filename: 'a.jpg', limit: 10 });
  const exception = toHttpException(error);
  return { code, exception: exception.constructor.name, status: exception.getStatus(), body: exception.getResponse(), isCause: exception.cause === error, message: error.message };
});
const plain = new Error('storage down');
const http = new BadRequestException('mine');
console.log(JSON.stringify({ codes, plainUnchanged: toHttpException(plain) === plain, httpUnchanged: toHttpException(http) === http }));
