/** Downloads from the demo on GridFS (CongoDB on loopback, or MONGODB_URI): ranges, resumes, conditions, release of the cursor. */
import { describeDownloads } from './support/download-suite';
import { startDemo } from './support/demo-process';
import { startMongo } from '../support/mongo-server';

describeDownloads('gridfs', async () => {
  const mongo = await startMongo('demo-downloads');
  const uri = new URL(mongo.uri);
  // The demo uses the database the URI names: the one this run's client opened (and drops at the end on a real server).
  uri.pathname = `/${mongo.db.databaseName}`;
  // See mongo-server.ts: CongoDB answers the streaming monitor once, so the demo's client polls.
  uri.searchParams.set('serverMonitoringMode', 'poll');
  const demo = await startDemo({
    STORAGE: 'gridfs',
    MONGODB_URI: uri.href,
    // 64 KiB chunks: the driver reads 101 chunks at a time, so a 48 MiB download keeps a cursor
    // open on the server for the rest (and CongoDB, which does not cut replies at 16 MiB as mongod
    // does, can serve it).
    GRIDFS_CHUNK_SIZE: String(64 * 1024),
  });
  const openCursors = async (): Promise<number> =>
    mongo.openCursors !== undefined
      ? mongo.openCursors()
      : Number(((await mongo.db.admin().command({ serverStatus: 1 })) as { metrics?: { cursor?: { open?: { total?: unknown } } } }).metrics?.cursor?.open?.total ?? 0);
  return {
    demo,
    // CongoDB reports its cursors; a real server (MONGODB_URI) counts them in serverStatus, all
    // clients' together: give the tests a server of their own.
    isReading: async () => (await openCursors()) > 0,
    stop: async () => {
      await demo.stop();
      await mongo.stop();
    },
  };
});
