/**
 * The demo's settings, read once from the environment. Every variable is optional; the defaults
 * are what `npm start` runs with. demo/README.md has the same table.
 */

const MiB = 1024 * 1024;

/**
 * Reads the settings from `env`.
 * @param {NodeJS.ProcessEnv} env usually `process.env`.
 * @returns {{
 *   port: number, host: string | undefined, storage: 'disk' | 's3' | 'gridfs', uploadDir: string,
 *   maxFileSize: number, shutdownGraceMs: number, storageTimeoutMs: number,
 * }}
 */
export function readConfig(env) {
  const storage = (env.STORAGE ?? 'disk').toLowerCase();
  if (storage !== 'disk' && storage !== 's3' && storage !== 'gridfs') {
    throw new Error(`STORAGE must be disk, s3 or gridfs, not ${JSON.stringify(env.STORAGE)}`);
  }
  return {
    // PORT=0 asks the system for a free port; the log line says which one it got.
    port: integer(env, 'PORT', 3000),
    host: env.HOST === undefined || env.HOST === '' ? undefined : env.HOST,
    storage,
    uploadDir: env.UPLOAD_DIR === undefined || env.UPLOAD_DIR === '' ? './uploads' : env.UPLOAD_DIR,
    // Above the library's 100 MiB default so that the demo takes a 200 MiB file as it comes.
    maxFileSize: integer(env, 'MAX_FILE_SIZE', 512 * MiB),
    // How long SIGTERM lets uploads in flight finish before it aborts them.
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000),
    // How long one storage call (create, write, close) may take; also bounds each cleanup step.
    storageTimeoutMs: integer(env, 'STORAGE_TIMEOUT_MS', 30_000),
  };
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
function integer(env, name, fallback) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a whole number >= 0, not ${JSON.stringify(text)}`);
  return value;
}
