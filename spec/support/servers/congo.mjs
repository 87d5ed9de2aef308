// Starts CongoDB (an in-memory MongoDB-wire server from @push.rocks/smartmongo) on a free
// loopback port and prints "PORT <port> <ms to load the package> <ms to start the server>".
// ESM-only, hence its own process; stops on SIGTERM.
import { createServer } from 'node:net';

const started = performance.now();
const { CongoServer } = await import('@push.rocks/smartmongo/dist_ts/congodb/index.js');
const loaded = performance.now();
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const server = new CongoServer({ port, host: '127.0.0.1' });
await server.start();
console.log(`PORT ${port} ${Math.round(loaded - started)} ${Math.round(performance.now() - loaded)}`);
process.on('SIGTERM', () => void server.stop().finally(() => process.exit(0)));
