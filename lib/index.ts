export { MultipartError, MULTIPART_ERROR_CODES, type MultipartErrorCode, type MultipartErrorDetails } from './errors.js';
export { DEFAULT_LIMITS, type Limits } from './parser/limits.js';
export { parseMultipart, type ParseOptions } from './operators/parse-multipart.js';
export type { Part } from './operators/part.js';
export { withBackpressure, type Backpressure } from './operators/backpressure.js';
export { fromReadable } from './sources/from-readable.js';
export { fromWebStream } from './sources/from-web-stream.js';
export { multipart } from './sources/multipart.js';
