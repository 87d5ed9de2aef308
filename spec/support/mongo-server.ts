/**
 * A MongoDB-protocol server for the GridFS tests: CongoDB from @push.rocks/smartmongo in a child
 * process on loopback, or the real server at MONGODB_URI when it is set.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MongoClient, type Db } from 'mongodb';

export interface MongoUnderTest {
  readonly db: Db;
  readonly uri: string;
  /** Which server: 'CongoDB (@push.rocks/smartmongo)' or 'MONGODB_URI'. */
  readonly kind: string;
  readonly startMs: number;
  stop(): Promise<void>;
}

export async function startMongo(dbName: string): Promise<MongoUnderTest> {
  const started = Date.now();
  let uri = process.env.MONGODB_URI;
  let stopServer = async (): Promise<void> => undefined;
  let kind = 'MONGODB_URI';
  if (uri === undefined) {
    const child = spawn(process.execPath, [join(__dirname, 'servers', 'congo.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`CongoDB exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.startsWith('PORT ')) resolve(line.slice(5));
      });
    });
    uri = `mongodb://127.0.0.1:${port}`;
    kind = 'CongoDB (@push.rocks/smartmongo)';
    stopServer = () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000 });
  const startMs = Date.now() - started;
  return {
    db: client.db(dbName),
    uri,
    kind,
    startMs,
    stop: async () => {
      await client.close();
      await stopServer();
    },
  };
}
