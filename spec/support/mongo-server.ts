/**
 * A MongoDB-protocol server for the GridFS tests: CongoDB from @push.rocks/smartmongo in a child
 * process on a free loopback port, or the real server at MONGODB_URI when that is set.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MongoClient, type Db } from 'mongodb';

export interface MongoUnderTest {
  readonly db: Db;
  readonly uri: string;
  /** Which server: 'CongoDB (@push.rocks/smartmongo 2.2.0)' or 'MONGODB_URI'. */
  readonly kind: string;
  /** CongoDB only: ms to load the package and to start the server, as the child measured them. */
  readonly loadMs?: number | undefined;
  readonly startMs?: number | undefined;
  /** From spawning the child (or connecting, for MONGODB_URI) to a connected client. */
  readonly readyMs: number;
  /** CongoDB only: freezes (SIGSTOP) and thaws (SIGCONT) the server process, a stalled server. */
  readonly pause?: (() => void) | undefined;
  readonly resume?: (() => void) | undefined;
  /** CongoDB only: how many cursors the server holds open (a killed or exhausted one is gone). */
  readonly openCursors?: (() => Promise<number>) | undefined;
  stop(): Promise<void>;
}

/** Starts (or connects to) a server and opens `dbName`, emptied first on a real server. */
export async function startMongo(dbName: string): Promise<MongoUnderTest> {
  const started = Date.now();
  const external = process.env.MONGODB_URI;
  if (external !== undefined && external !== '') {
    const client = await MongoClient.connect(external, { serverSelectionTimeoutMS: 5000 });
    // A database of its own per run, so a real server's other data is never touched.
    const db = client.db(`${dbName}-${process.pid}-${Date.now()}`);
    return {
      db,
      uri: external,
      kind: 'MONGODB_URI',
      readyMs: Date.now() - started,
      stop: async () => {
        await db.dropDatabase().catch(() => undefined);
        await client.close();
      },
    };
  }
  const child = spawn(process.execPath, [join(__dirname, 'servers', 'congo.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  // Answers to "CURSORS", in the order they were asked.
  const cursorAnswers: ((count: number) => void)[] = [];
  const [port, loadMs, startMs] = await new Promise<number[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`CongoDB exited with ${code} before it started`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('PORT ')) resolve(line.slice(5).split(' ').map(Number));
      if (line.startsWith('CURSORS ')) cursorAnswers.shift()?.(Number(line.slice(8)));
    });
  });
  const uri = `mongodb://127.0.0.1:${port}`;
  // CongoDB's hello carries a topologyVersion, so the driver's monitor asks it to stream hellos
  // (moreToCome), but it answers once: the monitor then fails ("Server ended moreToCome
  // unexpectedly") and clears the pool, failing whatever operation is in flight. Seen in a loaded
  // CI run, on the first heartbeat after 10 s. Polling asks one hello at a time.
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000, serverMonitoringMode: 'poll' });
  return {
    db: client.db(dbName),
    uri,
    kind: 'CongoDB (@push.rocks/smartmongo 2.2.0)',
    loadMs,
    startMs,
    readyMs: Date.now() - started,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    openCursors: () =>
      new Promise<number>((resolve) => {
        cursorAnswers.push(resolve);
        child.stdin!.write('CURSORS\n');
      }),
    stop: async () => {
      // A paused server (a test that failed mid-way) would answer neither the client nor SIGTERM.
      child.kill('SIGCONT');
      await client.close();
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
