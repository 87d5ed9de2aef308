/**
 * rx-multipart/express: multer's API on rx-multipart. `import multer from 'rx-multipart/express'`
 * (ESM, also with named exports); `require('rx-multipart/express')` is the function itself, as
 * multer's is (index.cts).
 */
import { multer } from './multer.js';

export default multer;
export { multer };
export type { Multer } from './multer.js';
export { diskStorage, type DiskStorageOptions } from './disk-storage.js';
export { memoryStorage } from './memory-storage.js';
export { MulterError, MULTER_ERROR_CODES, type ErrorCode, type MulterErrorDetails } from './multer-error.js';
export { toMulterError } from './to-multer-error.js';
export { fromMulterStorage, type FromMulterStorageOptions, type MulterStorage } from './from-multer-storage.js';
export type { Field, Limits, Options, StreamHandler } from './multer-options.js';
export type { UploadMiddleware } from './upload-middleware.js';
export type { FileFilter, FileFilterCallback, MulterFile, StorageEngine, UploadRequest } from './storage-engine.js';
