/**
 * The demo upload service: `npm start`, or `node demo/server.mjs` after `npm run build`.
 * Settings come from the environment (demo/README.md, demo/config.mjs).
 */
import { createServer } from 'node:http';
import { createApp } from './app.mjs';
import { readConfig } from './config.mjs';
import { createStorageFromEnv } from './storage-from-env.mjs';

const config = readConfig(process.env);
const storage = await createStorageFromEnv(config, process.env);
const app = createApp({
  storage: storage.storage,
  parseId: storage.parseId,
  limits: { fileSize: config.maxFileSize },
  storageTimeoutMs: config.storageTimeoutMs,
});

const server = createServer(
  {
    // Node's default (300 s for a whole request) would cut a large upload on a slow link; an
    // idle connection is still closed after `server.timeout`, a slow header after headersTimeout.
    requestTimeout: 0,
  },
  app.handle,
);
server.timeout = 120_000;

server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host === undefined || config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  console.log(`rx-multipart demo listening on http://${host.includes(':') ? `[${host}]` : host}:${port} (storage: ${storage.description}, max file size: ${config.maxFileSize} bytes, pid ${process.pid})`);
});

let isStopping = false;

/**
 * Stops accepting connections, lets uploads in flight finish for SHUTDOWN_GRACE_MS, aborts the
 * rest (nothing of theirs stays stored), closes the storage's client, then lets the process end.
 * A second signal exits at once.
 * @param {NodeJS.Signals} signal
 */
async function stop(signal) {
  if (isStopping) process.exit(1);
  isStopping = true;
  console.log(`${signal}: stopping (${app.inFlight()} request(s) in flight, grace ${config.shutdownGraceMs} ms)`);
  // Stops listening, and (Node >= 19) closes keep-alive connections that are idle.
  server.close();
  await app.close(config.shutdownGraceMs);
  // Connections still open only linger to read the rest of a refused body.
  server.closeAllConnections();
  await storage.close();
  console.log('stopped');
}

for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT'])) {
  process.on(signal, () => {
    stop(signal).catch((error) => {
      console.error('shutdown failed:', error);
      process.exit(1);
    });
  });
}
