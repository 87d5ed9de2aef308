/**
 * The parameter decorators of a MultipartInterceptor route: @UploadedParts(), @MultipartParts(),
 * @UploadStorage().
 */
import { createParamDecorator, type ExecutionContext, type PipeTransform, type Type } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Observable } from 'rxjs';
import type { Part } from '../operators/part.js';
import type { FileStorage } from '../storage/file-storage.js';
import { rawOf } from './raw-http.js';
import { RequestUpload } from './request-upload.js';
import type { UploadedFile, UploadedForm } from './uploaded-form.js';

/**
 * The stored form of a `MultipartInterceptor()` route (mode 'store'): `{ files, fields, parts }`.
 * With a field name, the files of that field alone, as an array: the shape `ParseFilePipe`
 * validates file by file, so `@UploadedParts('avatar', new ParseFilePipe({ validators }))` works,
 * and a rejection removes every file of the request.
 *
 * @example
 * upload(@UploadedParts() form: UploadedForm, @UploadedParts('avatar') avatars: UploadedFile[]) {}
 *
 * @publicApi
 */
export const UploadedParts: (fieldName?: string, ...pipes: Pipe[]) => ParameterDecorator = createParamDecorator((fieldName: string | undefined, context: ExecutionContext): UploadedForm<unknown> | Array<UploadedFile<unknown>> => {
  const form = uploadOf(context, '@UploadedParts()').form;
  if (form === undefined) throw new Error("@UploadedParts() needs MultipartInterceptor() in mode 'store' (the default) on its route.");
  return fieldName === undefined ? form : form.files.filter((file) => file.fieldName === fieldName);
});

/**
 * The live parts of a `MultipartInterceptor({ mode: 'stream' })` route: an `Observable<Part>`
 * that reads the request as it is subscribed (once). Return what you build on it, and the
 * interceptor keeps the files only if it succeeds after reading the body to its end.
 *
 * @example
 * upload(@MultipartParts() parts$: Observable<Part>, @UploadStorage() storage: FileStorage) {
 *   return parts$.pipe(storeParts(storage), toArray());
 * }
 *
 * @publicApi
 */
export const MultipartParts: (...pipes: Pipe[]) => ParameterDecorator = createParamDecorator((_data: unknown, context: ExecutionContext): Observable<Part> => {
  const upload = uploadOf(context, '@MultipartParts()');
  if (upload.form !== undefined || upload.isSettled) {
    throw new Error("@MultipartParts() needs MultipartInterceptor({ mode: 'stream' }) on its route: in mode 'store' the body is read already.");
  }
  return upload.parts$;
});

/**
 * The interceptor's storage for this request: files closed through it are removed if the request
 * fails (handler error, timeout, early answer), like the files stored in mode 'store'. Its other
 * methods (and a storage's own extras, `list()` ...) are the storage's.
 *
 * @publicApi
 */
export const UploadStorage: (...pipes: Pipe[]) => ParameterDecorator = createParamDecorator((_data: unknown, context: ExecutionContext): FileStorage<unknown> => uploadOf(context, '@UploadStorage()').storage);

/** A pipe, as a class or an instance, as `@Body()` takes them. */
type Pipe = Type<PipeTransform> | PipeTransform;

function uploadOf(context: ExecutionContext, decorator: string): RequestUpload {
  const upload = RequestUpload.of(rawOf<IncomingMessage>(context.switchToHttp().getRequest<object>()));
  if (upload === undefined) throw new Error(`${decorator} needs MultipartInterceptor() on its route (@UseInterceptors(MultipartInterceptor())).`);
  return upload;
}
