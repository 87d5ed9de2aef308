/**
 * The Nest application the nest specs drive over HTTP: every route a scenario of
 * spec/nest/scenarios.ts needs, on Express or Fastify.
 *
 *   node upload-app.mjs <express|fastify> <storage directory>
 *
 * prints `listening <url>` once it serves. One source for both Nest versions: compiled to ESM
 * (.mjs) against Nest 12 here, and copied as .ts into the Nest 11 fixture (spec/nest/nest11),
 * where it compiles to CommonJS; so it imports packages only, no relative module.
 */
import 'reflect-metadata';
import {
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  Injectable,
  MaxFileSizeValidator,
  Module,
  ParseFilePipe,
  Post,
  RequestTimeoutException,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { catchError, map, Observable, take, throwError, timeout, TimeoutError, toArray } from 'rxjs';
import { createDiskStorage, storeParts, type FileStorage, type FileWriter, type Part, type StoredPart } from 'rx-multipart';
import {
  MultipartInterceptor,
  MultipartModule,
  MultipartParts,
  registerMultipartParser,
  UploadedParts,
  UploadStorage,
  type UploadedFile,
  type UploadedForm,
} from 'rx-multipart/nest';

const STORAGE = 'STORAGE';
// Short enough for a test, long enough that a healthy upload of the scenarios never hits it.
const TIMEOUT_MS = 300;
// Each write of a file named slow* waits this long: longer than the timeout by itself, since
// writes that arrive together are joined into one (writeBody).
const SLOW_WRITE_MS = 1000;

const [platform = 'express', directory = ''] = process.argv.slice(2);
if (directory === '') throw new Error('usage: upload-app <express|fastify> <storage directory>');

/** The disk storage, whose writes crawl for files named slow*. */
function createTestStorage(folder: string): FileStorage {
  const disk = createDiskStorage({ directory: folder, checksum: 'sha256' });
  return {
    ...disk,
    async create(info): Promise<FileWriter> {
      const writer = await disk.create(info);
      if (!info.filename.startsWith('slow')) return writer;
      return {
        write: async (chunk, offset) => {
          await sleep(SLOW_WRITE_MS);
          await writer.write(chunk, offset);
        },
        close: () => writer.close(),
        abort: (reason) => writer.abort(reason),
      };
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What an answer says of each stored part. */
function describeParts(parts: ReadonlyArray<StoredPart>): unknown[] {
  return parts.map((part) =>
    part.kind === 'file'
      ? { kind: 'file', id: part.id, fieldName: part.fieldName, filename: part.filename, contentType: part.contentType, size: part.size, sha256: part.sha256 }
      : { kind: 'field', name: part.name, value: part.value },
  );
}

/** The usual Nest timeout interceptor: RxJS `timeout` around the handler, answered 408. */
@Injectable()
class TimeoutInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      timeout(TIMEOUT_MS),
      catchError((error: unknown) => throwError(() => (error instanceof TimeoutError ? new RequestTimeoutException() : error))),
    );
  }
}

@Controller('store')
class StoreController {
  @Post()
  @UseInterceptors(MultipartInterceptor())
  upload(@UploadedParts() form: UploadedForm, @Body() body: Record<string, string>) {
    return { parts: describeParts(form.parts), fields: form.fields, body, multerNames: form.files.map((file) => [file.fieldname, file.originalname, file.mimetype]) };
  }

  @Post('limited')
  @UseInterceptors(MultipartInterceptor({ limits: { fileSize: 1024 } }))
  limited(@UploadedParts() form: UploadedForm) {
    return { parts: describeParts(form.parts) };
  }

  @Post('throws')
  @UseInterceptors(MultipartInterceptor())
  throws(@UploadedParts() form: UploadedForm): never {
    throw new ConflictException(`refused after storing ${form.files.length} files`);
  }

  @Post('validated')
  @UseInterceptors(MultipartInterceptor())
  validated(@UploadedParts('doc', new ParseFilePipe({ validators: [new MaxFileSizeValidator({ maxSize: 100 })] })) docs: UploadedFile[]) {
    return { sizes: docs.map((doc) => doc.size) };
  }

  @Post('picky')
  @UseInterceptors(MultipartInterceptor({ accept: (file) => file.detectedType === 'image/png' || `${file.filename} is not a PNG` }))
  picky(@UploadedParts() form: UploadedForm) {
    return { parts: describeParts(form.parts) };
  }

  @Post('slow-handler')
  @UseInterceptors(TimeoutInterceptor, MultipartInterceptor())
  async slowHandler(@UploadedParts() form: UploadedForm) {
    await sleep(TIMEOUT_MS * 5);
    return { parts: describeParts(form.parts) };
  }

  @Post('timeout')
  @UseInterceptors(TimeoutInterceptor, MultipartInterceptor())
  timedOut(@UploadedParts() form: UploadedForm) {
    return { parts: describeParts(form.parts) };
  }
}

@Controller('stream')
class StreamController {
  @Post()
  @UseInterceptors(MultipartInterceptor({ mode: 'stream' }))
  upload(@MultipartParts() parts$: Observable<Part>, @UploadStorage() storage: FileStorage) {
    return parts$.pipe(storeParts(storage), toArray(), map((parts) => ({ parts: describeParts(parts) })));
  }

  @Post('limited')
  @UseInterceptors(MultipartInterceptor({ mode: 'stream', limits: { fileSize: 1024 } }))
  limited(@MultipartParts() parts$: Observable<Part>, @UploadStorage() storage: FileStorage) {
    return parts$.pipe(storeParts(storage), toArray(), map((parts) => ({ parts: describeParts(parts) })));
  }

  @Post('throws')
  @UseInterceptors(MultipartInterceptor({ mode: 'stream' }))
  throws(@MultipartParts() parts$: Observable<Part>, @UploadStorage() storage: FileStorage) {
    return parts$.pipe(
      storeParts(storage),
      toArray(),
      map((parts) => {
        throw new ConflictException(`refused after storing ${parts.length} parts`);
      }),
    );
  }

  @Post('early')
  @HttpCode(202)
  @UseInterceptors(MultipartInterceptor({ mode: 'stream' }))
  early(@MultipartParts() _parts$: Observable<Part>) {
    return { accepted: true };
  }

  @Post('first')
  @UseInterceptors(MultipartInterceptor({ mode: 'stream' }))
  first(@MultipartParts() parts$: Observable<Part>, @UploadStorage() storage: FileStorage) {
    // Reads the first part only: storeParts completes, but the body is not read to its end.
    return parts$.pipe(take(1), storeParts(storage), toArray(), map((parts) => ({ parts: describeParts(parts) })));
  }

  @Post('early-big')
  @HttpCode(202)
  @UseInterceptors(MultipartInterceptor({ mode: 'stream', drainLimit: 64 * 1024 }))
  earlyBig(@MultipartParts() _parts$: Observable<Part>) {
    return { accepted: true };
  }

  @Post('timeout')
  @UseInterceptors(TimeoutInterceptor, MultipartInterceptor({ mode: 'stream' }))
  timedOut(@MultipartParts() parts$: Observable<Part>, @UploadStorage() storage: FileStorage) {
    return parts$.pipe(storeParts(storage), toArray(), map((parts) => ({ parts: describeParts(parts) })));
  }
}

@Controller()
class HealthController {
  @Get('health')
  health() {
    return { ok: true };
  }
}

@Module({
  providers: [{ provide: STORAGE, useFactory: () => createTestStorage(directory) }],
  exports: [STORAGE],
})
class StorageModule {}

/** No module options here: the interceptor's own disk storage in `dest`, beside the app's folder, without and with a checksum. */
@Controller('dest')
class DestController {
  @Post()
  @UseInterceptors(MultipartInterceptor({ dest: `${directory}-dest` }))
  plain(@UploadedParts() form: UploadedForm) {
    return { parts: describeParts(form.parts) };
  }

  @Post('hashed')
  @UseInterceptors(MultipartInterceptor({ dest: `${directory}-dest`, checksum: 'sha256' }))
  hashed(@UploadedParts() form: UploadedForm) {
    return { parts: describeParts(form.parts) };
  }
}

@Module({ controllers: [DestController] })
class DestModule {}

/** Module options from register(): `files: 2`, which a route's own `fileSize` does not drop. */
@Controller('feature')
class FeatureController {
  constructor(@Inject(STORAGE) private readonly storage: FileStorage) {}

  @Post()
  @UseInterceptors(MultipartInterceptor({ limits: { fileSize: 2048 } }))
  upload(@UploadedParts() form: UploadedForm) {
    return { parts: describeParts(form.parts), sameStorage: this.storage !== undefined };
  }
}

@Module({
  imports: [StorageModule, MultipartModule.register({ storage: createTestStorage(directory), limits: { files: 2 } })],
  controllers: [FeatureController],
})
class FeatureModule {}

/** Module options from registerAsync(): the storage comes from another module. */
@Module({
  imports: [
    FeatureModule,
    DestModule,
    MultipartModule.registerAsync({
      imports: [StorageModule],
      useFactory: (storage: FileStorage) => ({ storage, limits: { fileSize: 8 * 1024 * 1024 } }),
      inject: [STORAGE],
    }),
  ],
  controllers: [StoreController, StreamController, HealthController],
})
class AppModule {}

async function main(): Promise<void> {
  const adapter = platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(AppModule, adapter, { logger: ['error', 'warn'] });
  // By hand here (the demo relies on the interceptor doing it at startup); a second call is a no-op.
  if (platform === 'fastify') {
    registerMultipartParser(app);
    registerMultipartParser(app);
  }
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  console.log(`listening http://127.0.0.1:${address.port}`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
