/**
 * MultipartModule: default options for every MultipartInterceptor of the module that imports it.
 */
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import {
  MULTIPART_MODULE_OPTIONS,
  type MultipartModuleAsyncOptions,
  type MultipartModuleOptions,
  type MultipartOptionsFactory,
} from './multipart-options.js';

/**
 * Provides default options (storage, limits, preservePath, defParamCharset ...) to the
 * `MultipartInterceptor`s of the module that imports it, the way `MulterModule` does for multer.
 * A route's own options are spread over these, `limits` key by key.
 *
 * @example
 * // in the metadata of the module whose controllers upload:
 * imports: [MultipartModule.register({ dest: './uploads', limits: { fileSize: 10 * 1024 * 1024 } })],
 *
 * @publicApi
 */
@Module({})
export class MultipartModule {
  /**
   * @param options the defaults.
   * @returns the module, exporting its options.
   */
  static register(options: MultipartModuleOptions = {}): DynamicModule {
    return {
      module: MultipartModule,
      providers: [{ provide: MULTIPART_MODULE_OPTIONS, useValue: options }],
      exports: [MULTIPART_MODULE_OPTIONS],
    };
  }

  /**
   * The defaults made when the application starts: by `useFactory` (with `inject` and `imports`),
   * `useClass` or `useExisting`.
   *
   * @example
   * MultipartModule.registerAsync({
   *   imports: [ConfigModule],
   *   useFactory: (config: ConfigService) => ({ dest: config.get('UPLOADS') }),
   *   inject: [ConfigService],
   * })
   */
  static registerAsync(options: MultipartModuleAsyncOptions): DynamicModule {
    return {
      module: MultipartModule,
      imports: options.imports ?? [],
      providers: optionsProviders(options),
      exports: [MULTIPART_MODULE_OPTIONS],
    };
  }
}

function optionsProviders(options: MultipartModuleAsyncOptions): Provider[] {
  if (options.useFactory !== undefined) {
    return [{ provide: MULTIPART_MODULE_OPTIONS, useFactory: options.useFactory, inject: [...(options.inject ?? [])] }];
  }
  const factory = options.useExisting ?? options.useClass;
  if (factory === undefined) {
    throw new TypeError('MultipartModule.registerAsync needs useFactory, useClass or useExisting.');
  }
  const fromFactory: Provider = {
    provide: MULTIPART_MODULE_OPTIONS,
    useFactory: (made: MultipartOptionsFactory) => made.createMultipartOptions(),
    inject: [factory],
  };
  // useExisting names a provider from `imports`; useClass is made here.
  return options.useExisting !== undefined ? [fromFactory] : [fromFactory, { provide: factory, useClass: factory }];
}
