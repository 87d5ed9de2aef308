export { MultipartModule } from './multipart-module.js';
export {
  MULTIPART_MODULE_OPTIONS,
  mergeMultipartOptions,
  type MultipartOptions,
  type MultipartModuleOptions,
  type MultipartModuleAsyncOptions,
  type MultipartOptionsFactory,
} from './multipart-options.js';
export { MultipartInterceptor } from './multipart-interceptor.js';
export { UploadedParts, MultipartParts, UploadStorage } from './param-decorators.js';
export type { UploadedForm, UploadedFile } from './uploaded-form.js';
export { toHttpException, type MultipartErrorBody } from './to-http-exception.js';
export { registerMultipartParser } from './fastify-multipart-parser.js';
export { drainRequest } from './drain-request.js';
