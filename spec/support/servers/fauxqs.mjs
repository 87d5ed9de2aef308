// Starts fauxqs (an S3/SQS/SNS emulator, here for its S3) on a free loopback port, with objects and
// multipart-upload parts kept as files under argv[2] so a test can see every byte it left behind,
// creates bucket argv[3], and prints "PORT <port> <ms to load the package> <ms to start the server>". ESM-only, hence its own process.
import { register } from 'node:module';
import { createServer } from 'node:net';

// fauxqs imports node:sqlite for its optional persistence (`dataDir`), which is not used here;
// where Node has no node:sqlite (Node 20), that import gets a stand-in that throws if ever used.
const started = performance.now();
try {
  await import('node:sqlite');
} catch {
  const stub = 'export class DatabaseSync { constructor() { throw new Error("node:sqlite is not available on this Node.js"); } }';
  const hooks = `export async function resolve(specifier, context, next) {
    return specifier === 'node:sqlite' ? { url: ${JSON.stringify(`data:text/javascript,${encodeURIComponent(stub)}`)}, shortCircuit: true } : next(specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
const { startFauxqs } = await import('fauxqs');

const [directory, bucket] = process.argv.slice(2);
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const loaded = performance.now();
const server = await startFauxqs({ port, host: '127.0.0.1', logger: false, s3StorageDir: directory });
server.createBucket(bucket);
console.log(`PORT ${port} ${Math.round(loaded - started)} ${Math.round(performance.now() - loaded)}`);
process.on('SIGTERM', () => void server.stop().finally(() => process.exit(0)));
