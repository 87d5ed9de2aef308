/**
 * A Nest application whose MultipartInterceptor stores through a multer storage engine, made a
 * FileStorage by fromMulterStorage: the engine's callbacks get the request (forRequest), files
 * come back with the engine's fields, and a failed request removes them with `_removeFile`.
 *
 *   node multer-engine-app.mjs <express|fastify> <storage directory>
 *
 * prints `listening <url>` once it serves.
 */
import 'reflect-metadata';
import { ConflictException, Controller, Module, Post, UseInterceptors } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import multer, { fromMulterStorage, type MulterFile } from 'rx-multipart/express';
import { MultipartInterceptor, UploadedParts, type UploadedForm } from 'rx-multipart/nest';

const [platform = 'express', directory = ''] = process.argv.slice(2);
if (directory === '') throw new Error('usage: multer-engine-app <express|fastify> <storage directory>');

// The engine names each file after a request header: it is handed the request of the upload.
const storage = fromMulterStorage(
  multer.diskStorage({
    destination: directory,
    filename: (req, file, callback) => callback(null, `${String(req.headers['x-user'] ?? 'anonymous')}-${file.fieldname}.bin`),
  }),
);

function describeFiles(form: UploadedForm<MulterFile>) {
  return form.files.map((file) => ({ fieldname: file.fieldname, originalname: file.originalname, size: file.size, filename: file.id.filename, path: file.id.path, location: file.location }));
}

@Controller('upload')
class UploadController {
  @Post()
  @UseInterceptors(MultipartInterceptor({ storage, limits: { fileSize: 1024 * 1024 } }))
  upload(@UploadedParts() form: UploadedForm<MulterFile>) {
    return { files: describeFiles(form), fields: form.fields };
  }

  @Post('throws')
  @UseInterceptors(MultipartInterceptor({ storage }))
  throws(@UploadedParts() form: UploadedForm<MulterFile>): never {
    throw new ConflictException(`refused after storing ${form.files.length} files`);
  }
}

@Module({ controllers: [UploadController] })
class AppModule {}

async function main(): Promise<void> {
  const adapter = platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(AppModule, adapter, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  console.log(`listening http://127.0.0.1:${address.port}`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
