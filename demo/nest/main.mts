/**
 * The Nest demo: `npm run build && npx tsc -p demo/nest && node demo/nest/dist/main.mjs`.
 * NEST_PLATFORM=fastify for Fastify (Express by default), PORT (3001; 0 for a free one), UPLOAD_DIR (./uploads).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.mjs';

const platform = process.env['NEST_PLATFORM'] === 'fastify' ? 'fastify' : 'express';
// On Fastify, MultipartInterceptor registers a pass-through multipart parser at startup;
// registerMultipartParser(app) does it by hand for routes that read request.raw themselves.
const app = await NestFactory.create(AppModule, platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter());
app.enableShutdownHooks();
await app.listen(Number(process.env['PORT'] ?? 3001), '127.0.0.1');
console.log(`rx-multipart Nest demo (${platform}) listening on ${await app.getUrl()}`);
