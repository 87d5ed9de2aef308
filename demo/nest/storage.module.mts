/**
 * The disk storage, shared by the uploads (through MultipartModule) and the downloads.
 */
import { Module } from '@nestjs/common';
import { createDiskStorage } from 'rx-multipart';

export const STORAGE = 'STORAGE';

@Module({
  providers: [{ provide: STORAGE, useFactory: () => createDiskStorage({ directory: process.env['UPLOAD_DIR'] ?? 'uploads' }) }],
  exports: [STORAGE],
})
export class StorageModule {}
