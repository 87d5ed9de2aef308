/**
 * MultipartInterceptor: parses a route's multipart body from the raw request stream, stores its
 * files (or hands the handler the live parts), and cleans up when the request fails.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Inject,
  mixin,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnModuleInit,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { concatMap, Observable } from 'rxjs';
import { createDiskStorage } from '../storage/disk/index.js';
import type { FileStorage } from '../storage/file-storage.js';
import { registerMultipartParser } from './fastify-multipart-parser.js';
import { mergeMultipartOptions, MULTIPART_MODULE_OPTIONS, type MultipartModuleOptions, type MultipartOptions } from './multipart-options.js';
import { rawOf } from './raw-http.js';
import { RequestUpload } from './request-upload.js';
import { toHttpException } from './to-http-exception.js';

/**
 * An interceptor that reads the route's `multipart/*` body itself, from the raw request stream (no
 * multer, no body parser in the way), with the module's options (`MultipartModule`) under `options`.
 *
 * - mode 'store' (default): every file is streamed into the storage and every field collected
 *   before the handler runs; the handler gets them with `@UploadedParts()`, and the fields also as
 *   the request's `body`.
 * - mode 'stream': the handler gets the live `Observable<Part>` with `@MultipartParts()` and may
 *   `return parts$.pipe(storeParts(storage), toArray())`; `@UploadStorage()` is the storage whose
 *   files are removed if the request then fails.
 *
 * Errors are answered the Nest way (`toHttpException`): LIMIT_* 413, malformed 400, not multipart 415,
 * with the MultipartError's `code` in the body. All or nothing: when the handler throws, a pipe
 * rejects, a `timeout` interceptor around this one fires, the client goes away, or the answer is
 * sent before the body was read to its end, every file stored for the request is removed and the
 * rest of the body drained (or the connection closed past `drainLimit`).
 *
 * On Fastify, registers a pass-through multipart content type parser at startup (see
 * `registerMultipartParser`).
 *
 * @param options this route's options, spread over the module's (`limits` key by key).
 * @returns an injectable interceptor class for `@UseInterceptors()`.
 * @example
 * // @Post('upload') @UseInterceptors(MultipartInterceptor({ limits: { fileSize: 10 * 1024 * 1024 } }))
 * upload(@UploadedParts() form: UploadedForm) {
 *   return { ids: form.files.map((file) => file.id), title: form.fields.title };
 * }
 *
 * @publicApi
 */
export function MultipartInterceptor(options?: MultipartOptions): Type<NestInterceptor> {
  class MixinInterceptor implements NestInterceptor, OnModuleInit {
    private readonly options: MultipartOptions;
    private readonly storage: FileStorage<unknown>;

    constructor(
      @Optional() @Inject(MULTIPART_MODULE_OPTIONS) moduleOptions: MultipartModuleOptions = {},
      @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
    ) {
      this.options = mergeMultipartOptions(moduleOptions, options);
      // Made once per route, as multer does; a disk storage creates its folder on the first file.
      this.storage = this.options.storage ?? createDiskStorage({ directory: this.options.dest ?? join(tmpdir(), 'rx-multipart'), checksum: this.options.checksum ?? false });
    }

    onModuleInit(): void {
      const adapter = this.adapterHost?.httpAdapter;
      if (adapter?.getType() === 'fastify') registerMultipartParser(adapter.getInstance<object>());
    }

    intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
      if (context.getType() !== 'http') return next.handle();
      const http = context.switchToHttp();
      const request = http.getRequest<object>();
      const upload = RequestUpload.start(rawOf<IncomingMessage>(request), this.storage, this.options);
      const handled$ =
        this.options.mode === 'stream'
          ? next.handle()
          : upload.store().pipe(
              concatMap((form) => {
                // multer's habit: the text fields as the body, for @Body() and a ValidationPipe.
                (request as { body?: unknown }).body = form.fields;
                return next.handle();
              }),
            );
      return settle(upload, rawOf<ServerResponse>(http.getResponse<object>()), handled$);
    }
  }
  return mixin(MixinInterceptor);
}

/**
 * Mirrors the handler's result, and decides the upload's fate when it settles: kept when the
 * handler succeeded after the body was read to its end; otherwise removed, with the body drained,
 * before the answer (or the error, as an HttpException) goes on.
 */
function settle(upload: RequestUpload, response: ServerResponse, handled$: Observable<unknown>): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    // Set when the handler's result settled or the subscriber left: the fate is decided once.
    let isSettled = false;
    // The answer went out (or the client went away) while the body was still unread.
    const onResponseClose = (): void => {
      if (!isSettled && !upload.isBodyRead) void upload.fail();
    };
    response.once('close', onResponseClose);
    const finish = (): void => {
      isSettled = true;
      response.off('close', onResponseClose);
    };
    const subscription = handled$.subscribe({
      next: (value) => subscriber.next(value),
      error: (error: unknown) => {
        finish();
        void upload.fail().then(() => subscriber.error(toHttpException(error)));
      },
      complete: () => {
        finish();
        if (upload.isBodyRead) {
          upload.commit();
          subscriber.complete();
        } else {
          // Answered before the body was read to its end: all or nothing, so nothing.
          void upload.fail().then(() => subscriber.complete());
        }
      },
    });
    return () => {
      subscription.unsubscribe();
      if (!isSettled) {
        // Left before the result: a timeout interceptor, or Nest dropping a request that went away.
        finish();
        void upload.fail();
      }
    };
  });
}
