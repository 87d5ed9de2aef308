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
  return {
    demo,
    // A real server (MONGODB_URI) has cursors of others: there, only the demo's log is checked.
    isReading: async () => (mongo.openCursors === undefined ? false : (await mongo.openCursors()) > 0),
    stop: async () => {
      await demo.stop();
      await mongo.stop();
    },
  };
});
