// Starts CongoDB (an in-memory MongoDB-wire server from @push.rocks/smartmongo) on a free
// loopback port and prints "PORT <port> <ms to load the package> <ms to start the server>".
// ESM-only, hence its own process; stops on SIGTERM. A line "CURSORS" on stdin is answered
// "CURSORS <n>": the cursors the server holds open, which a stream that was let go would leak.
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

const started = performance.now();
const { CongoServer } = await import('@push.rocks/smartmongo/dist_ts/congodb/index.js');
const loaded = performance.now();

/** A port that was free a moment ago: CongoServer reports the port it was given, not the one bound. */
const probePort = () =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

// Another test file's server may take the probed port before this one binds it: try again.
let server;
for (let attempt = 1; server === undefined; attempt++) {
  const candidate = new CongoServer({ port: await probePort(), host: '127.0.0.1' });
  try {
    await candidate.start();
    server = candidate;
  } catch (error) {
    if (error?.code !== 'EADDRINUSE' || attempt === 5) throw error;
  }
}
console.log(`PORT ${server.port} ${Math.round(loaded - started)} ${Math.round(performance.now() - loaded)}`);
createInterface({ input: process.stdin }).on('line', (line) => {
  // CongoDB keeps its cursors in its command router's map (smartmongo 2.2.0); no command lists them.
  if (line === 'CURSORS') console.log(`CURSORS ${server.commandRouter.cursors.size}`);
});
process.on('SIGTERM', () => void server.stop().finally(() => process.exit(0)));
