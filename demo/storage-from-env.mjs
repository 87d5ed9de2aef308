/**
 * The storage the demo writes to, chosen by STORAGE: the local disk (default), S3 or GridFS.
 * The S3 and GridFS adapters and their client libraries are imported only when chosen, so
 * `npm start` needs neither installed.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createDiskStorage } from 'rx-multipart';

// The answers list each file's SHA-256 and downloads use it as their ETag, so the demo asks every
// storage for it (storages compute none by default).
const CHECKSUM = 'sha256';

/**
 * @typedef {object} DemoStorage
 * @property {import('rx-multipart').FileStorage<any>} storage where uploads go.
 * @property {string} description what to print at startup.
 * @property {(id: string) => unknown | undefined} parseId the storage's id for an id from a URL,
 *   or undefined when it cannot be one (a download then answers 404 without asking the storage).
 * @property {() => Promise<void>} close releases the storage's client.
 */

/**
 * Builds the storage `config.storage` names.
 * @param {ReturnType<typeof import('./config.mjs').readConfig>} config
 * @param {NodeJS.ProcessEnv} env for the S3 and MongoDB settings.
 * @returns {Promise<DemoStorage>}
 */
export async function createStorageFromEnv(config, env) {
  switch (config.storage) {
    case 's3':
      return createS3(env);
    case 'gridfs':
      return createGridFS(env);
    default:
      return createDisk(config.uploadDir);
  }
}

/** @param {string} uploadDir */
async function createDisk(uploadDir) {
  const directory = resolve(uploadDir);
  // Created now, not at the first upload, so that a bad path fails at startup.
  await mkdir(directory, { recursive: true });
  const storage = createDiskStorage({ directory, checksum: CHECKSUM });
  return {
    storage,
    description: `disk ${directory}`,
    parseId: (id) => (storage.pathOf(id) === undefined ? undefined : id),
    close: async () => {},
  };
}

/** @param {NodeJS.ProcessEnv} env */
async function createS3(env) {
  const bucket = required(env, 'S3_BUCKET');
  const { S3Client } = await importOptional('@aws-sdk/client-s3', 'STORAGE=s3');
  const { createS3Storage } = await importOptional('rx-multipart/storage/s3', 'STORAGE=s3');
  // Credentials and region come from the SDK's usual chain: AWS_ACCESS_KEY_ID,
  // AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_PROFILE ...
  const endpoint = env.S3_ENDPOINT === undefined || env.S3_ENDPOINT === '' ? undefined : env.S3_ENDPOINT;
  const client = new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    // A custom endpoint (MinIO, a local S3) usually serves buckets by path, not by host name.
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
  });
  return {
    storage: createS3Storage({ client, bucket, checksum: CHECKSUM }),
    description: `s3 ${endpoint ?? 'aws'} bucket ${bucket}`,
    parseId: (id) => id,
    close: async () => client.destroy(),
  };
}

/** @param {NodeJS.ProcessEnv} env */
async function createGridFS(env) {
  const uri = required(env, 'MONGODB_URI');
  const { MongoClient, ObjectId } = await importOptional('mongodb', 'STORAGE=gridfs');
  const { createGridFSStorage } = await importOptional('rx-multipart/storage/gridfs', 'STORAGE=gridfs');
  const client = new MongoClient(uri);
  await client.connect();
  // The database named in the URI's path, else 'rx-multipart'.
  const db = client.db(new URL(uri).pathname.slice(1) || 'rx-multipart');
  const chunkSizeBytes = chunkSize(env);
  return {
    storage: createGridFSStorage({ db, checksum: CHECKSUM, ...(chunkSizeBytes === undefined ? {} : { chunkSizeBytes }) }),
    description: `gridfs ${db.databaseName}`,
    parseId: (id) => (ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id) ? id : undefined),
    close: async () => client.close(),
  };
}

/**
 * GRIDFS_CHUNK_SIZE, or undefined for the driver's 255 KiB. The driver reads a file's chunks 101 at
 * a time: a server that does not cut a reply at 16 MiB as mongod does (the in-memory servers some
 * tests use) needs chunks under 162 KiB to serve files past 16 MiB.
 * @param {NodeJS.ProcessEnv} env
 * @returns {number | undefined}
 */
function chunkSize(env) {
  const text = env.GRIDFS_CHUNK_SIZE;
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`GRIDFS_CHUNK_SIZE must be a whole number of bytes > 0, not ${JSON.stringify(text)}`);
  return value;
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 */
function required(env, name) {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`${name} must be set`);
  return value;
}

/**
 * @param {string} specifier
 * @param {string} why
 * @returns {Promise<any>}
 */
async function importOptional(specifier, why) {
  try {
    return await import(specifier);
  } catch (error) {
    throw new Error(`${why} needs ${specifier}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
