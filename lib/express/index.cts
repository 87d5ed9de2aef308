/**
 * The CommonJS entry of rx-multipart/express: `module.exports` is the `multer` function itself, as
 * with multer (`require('rx-multipart/express')(options)`), carrying `diskStorage`, `memoryStorage`,
 * `MulterError` and `fromMulterStorage`, and multer's types under its namespace. The ESM entry
 * (index.ts) has it as the default export, beside named exports.
 */
import { multer } from './multer.js';

export = multer;
