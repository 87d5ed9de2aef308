/**
 * The disk storage, shared by the uploads (through MultipartModule) and the downloads; it computes
 * each file's SHA-256, which the answers show.
 */
import { Module } from '@nestjs/common';
import { createDiskStorage } from 'rx-multipart';

export const STORAGE = 'STORAGE';

@Module({
  providers: [{ provide: STORAGE, useFactory: () => createDiskStorage({ directory: process.env['UPLOAD_DIR'] ?? 'uploads', checksum: 'sha256' }) }],
  exports: [STORAGE],
})
export class StorageModule {}
