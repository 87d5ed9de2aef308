/**
 * registerMultipartParser: lets a multipart body through Fastify unread, for the interceptor.
 */

/** The parts of a Fastify instance this needs (fastify itself is not a dependency of ours). */
interface ContentTypeParsers {
  hasContentTypeParser(contentType: string | RegExp): boolean;
  addContentTypeParser(contentType: string | RegExp, parser: (request: unknown, payload: unknown, done: (error: Error | null) => void) => void): unknown;
}

/** What a Nest application is asked for its Fastify instance. */
interface HttpAdapterOwner {
  getHttpAdapter(): { getInstance(): unknown };
}

// Every multipart subtype: the parser of the library reads any of them. Anchored at the start, as
// Fastify asks of a RegExp content type (so that `text/x-multipart/...` is not one).
const MULTIPART = /^multipart\//i;

/**
 * Registers a pass-through content type parser for `multipart/*` on a Fastify instance: the body
 * is left unread, so that `MultipartInterceptor` streams it from `request.raw`. Without one Fastify
 * answers every multipart request with its own 415 before any interceptor runs.
 *
 * `MultipartInterceptor` calls this itself when the application starts on a FastifyAdapter; call
 * it yourself, before `listen()`, when an interceptor is created later (a lazy-loaded module) or a
 * route reads the raw request without the interceptor. Does nothing when a parser for
 * `multipart/form-data` exists already (`@fastify/multipart` registers one that also leaves the
 * body unread, unless `attachFieldsToBody` is set).
 *
 * @param target a NestFastifyApplication, or the Fastify instance itself.
 * @throws Error when Fastify has started already and has no multipart parser.
 * @example
 * const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter());
 * registerMultipartParser(app);
 * await app.listen(3000);
 */
export function registerMultipartParser(target: object): void {
  const fastify = fastifyOf(target);
  if (fastify.hasContentTypeParser(MULTIPART) || fastify.hasContentTypeParser('multipart/form-data')) return;
  try {
    // `done(null)` without a body: the request stream stays untouched.
    fastify.addContentTypeParser(MULTIPART, (_request, _payload, done) => done(null));
  } catch (error) {
    throw new Error(
      'rx-multipart: Fastify has started, so no multipart parser can be added any more, and multipart requests will be answered 415 by Fastify. ' +
        'Call registerMultipartParser(app) before app.listen().',
      { cause: error },
    );
  }
}

function fastifyOf(target: object): ContentTypeParsers {
  const instance = isAdapterOwner(target) ? target.getHttpAdapter().getInstance() : target;
  if (typeof instance === 'object' && instance !== null && typeof (instance as Partial<ContentTypeParsers>).addContentTypeParser === 'function') {
    return instance as ContentTypeParsers;
  }
  throw new TypeError('registerMultipartParser: expected a NestFastifyApplication or a Fastify instance.');
}

function isAdapterOwner(target: object): target is HttpAdapterOwner {
  return typeof (target as Partial<HttpAdapterOwner>).getHttpAdapter === 'function';
}
