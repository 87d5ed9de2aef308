// Starts CongoDB (an in-memory MongoDB-wire server from @push.rocks/smartmongo) on a free
// loopback port and prints "PORT <n>". ESM-only, hence its own process; stops on SIGTERM.
import { createServer } from 'node:net';
import { CongoServer } from '@push.rocks/smartmongo/dist_ts/congodb/index.js';

const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const server = new CongoServer({ port, host: '127.0.0.1' });
await server.start();
console.log(`PORT ${port}`);
process.on('SIGTERM', () => void server.stop().finally(() => process.exit(0)));
