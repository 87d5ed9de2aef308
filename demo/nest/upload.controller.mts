/**
 * The upload routes: stored before the handler, streamed by the handler, validated by a pipe.
 */
import {
  Controller,
  Get,
  Inject,
  MaxFileSizeValidator,
  NotFoundException,
  Param,
  ParseFilePipe,
  Post,
  StreamableFile,
  UseInterceptors,
} from '@nestjs/common';
import { map, toArray, type Observable } from 'rxjs';
import { storeParts, type DiskStorage, type FileStorage, type Part } from 'rx-multipart';
import { MultipartInterceptor, MultipartParts, UploadedParts, UploadStorage, type UploadedFile, type UploadedForm } from 'rx-multipart/nest';
import { STORAGE } from './storage.module.mjs';

@Controller()
export class UploadController {
  constructor(@Inject(STORAGE) private readonly storage: DiskStorage) {}

  /** Every file is on disk before this runs; the text fields are in `form.fields` (and @Body()). */
  @Post('upload')
  @UseInterceptors(MultipartInterceptor())
  upload(@UploadedParts() form: UploadedForm) {
    return {
      files: form.files.map(({ id, fieldName, filename, size, sha256 }) => ({ id, fieldName, filename, size, sha256 })),
      fields: form.fields,
    };
  }

  /** The RxJS way: the handler gets the live parts and stores them itself, as they arrive. */
  @Post('upload/stream')
  @UseInterceptors(MultipartInterceptor({ mode: 'stream' }))
  uploadStream(@MultipartParts() parts$: Observable<Part>, @UploadStorage() storage: FileStorage) {
    return parts$.pipe(
      storeParts(storage),
      toArray(),
      map((parts) => ({ ids: parts.flatMap((part) => (part.kind === 'file' ? [part.id] : [])) })),
    );
  }

  /**
   * One image, refused by its first bytes before anything is stored (415), or by Nest's
   * ParseFilePipe after (400; the file is then removed).
   */
  @Post('avatar')
  @UseInterceptors(MultipartInterceptor({ limits: { files: 1 }, accept: (file) => file.detectedType?.startsWith('image/') === true }))
  avatar(@UploadedParts('avatar', new ParseFilePipe({ validators: [new MaxFileSizeValidator({ maxSize: 1024 * 1024 })] })) avatars: UploadedFile[]) {
    return { id: avatars[0]?.id };
  }

  @Get('files/:id')
  async download(@Param('id') id: string): Promise<StreamableFile> {
    const file = await this.storage.stat(id);
    if (file === undefined) throw new NotFoundException();
    return new StreamableFile(await this.storage.open(id), {
      type: file.contentType,
      length: file.size,
      disposition: `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`,
    });
  }
}
