/**
 * The application: MultipartModule's defaults for every MultipartInterceptor of UploadController.
 */
import { Module } from '@nestjs/common';
import type { FileStorage } from 'rx-multipart';
import { MultipartModule } from 'rx-multipart/nest';
import { StorageModule, STORAGE } from './storage.module.mjs';
import { UploadController } from './upload.controller.mjs';

@Module({
  imports: [
    StorageModule,
    MultipartModule.registerAsync({
      imports: [StorageModule],
      inject: [STORAGE],
      useFactory: (storage: FileStorage) => ({ storage, limits: { fileSize: 50 * 1024 * 1024 } }),
    }),
  ],
  controllers: [UploadController],
})
export class AppModule {}
