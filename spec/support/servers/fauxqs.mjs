// Starts fauxqs (an S3/SQS/SNS emulator, here for its S3) on a free loopback port, with objects and
// multipart-upload parts kept as files under argv[2] so a test can see every byte it left behind,
// creates bucket argv[3], and prints "PORT <port> <ms to load the package> <ms to start the server>
// <bound address>". ESM-only, hence its own process; stops on SIGTERM.
import { register } from 'node:module';
import { Server } from 'node:net';

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

// fauxqs 2.4.1 listens on 0.0.0.0 whatever `host` says (its `host` only names queue URLs), which
// would put a writable S3 endpoint on every interface while the tests run. This process serves
// nothing else, so every wildcard listen in it is narrowed to loopback.
const listen = Server.prototype.listen;
Server.prototype.listen = function listenOnLoopback(...args) {
  const [options] = args;
  if (typeof options === 'object' && options !== null && (options.host === '0.0.0.0' || options.host === '::')) {
    args[0] = { ...options, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};

const [directory, bucket] = process.argv.slice(2);
const loaded = performance.now();
// Port 0: the kernel picks a free port and fauxqs reports it, so parallel test files cannot race
// for one the way a probe-then-listen would.
const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false, s3StorageDir: directory });
server.createBucket(bucket);
console.log(`PORT ${server.port} ${Math.round(loaded - started)} ${Math.round(performance.now() - loaded)} ${new URL(server.address).hostname}`);
process.on('SIGTERM', () => void server.stop().finally(() => process.exit(0)));
